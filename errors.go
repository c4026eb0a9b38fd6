package planbot

import "errors"

// ErrDryRun is returned, wrapped, by an adapter's write method (the GitHub
// client's merge, terraform apply) when the adapter runs in dry-run mode:
// it checked what it could without a side effect and did not write. A flow
// records such a result as the outcome dry_run, never as done.
var ErrDryRun = errors.New("dry run: not done")

func asError(err error, target **Error) bool { return errors.As(err, target) }
