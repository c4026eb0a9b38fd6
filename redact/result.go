package redact

import (
	"slices"

	"github.com/planbot/planbot"
)

// Result masks secrets, and the values of the project's sensitive
// variables, in everything a result shows: its output, error and fmt
// diff.
func Result(res planbot.Result, secrets []string) planbot.Result {
	all := slices.Concat(secrets, res.Sensitive)
	res.Output = String(res.Output, all)
	res.Error = String(res.Error, all)
	res.Fmt = String(res.Fmt, all)
	return res
}
