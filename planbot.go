// Package planbot holds the domain types that planbot's packages share: the
// repository and pull request a piece of work is about, the projects found
// in a change, the result of planning one project, and the small error type
// whose codes are mapped to HTTP statuses and PR comment wording in one place
// each.
//
// Subpackages hold one capability each (store, webhook, runner, comment, ...)
// and depend on this package, never the reverse.
package planbot

import (
	"fmt"
	"strings"
	"time"
)

// Repo names a GitHub repository.
type Repo struct {
	Owner string
	Name  string
}

// ParseRepo parses "owner/name".
func ParseRepo(s string) (Repo, error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return Repo{}, Errorf(EINVALID, "invalid repository %q: want owner/name", s)
	}
	return Repo{Owner: owner, Name: name}, nil
}

// String returns "owner/name".
func (r Repo) String() string { return r.Owner + "/" + r.Name }

// Kind is the kind of a project.
type Kind string

// The project kinds.
const (
	KindTerraform Kind = "terraform"
	KindKustomize Kind = "kustomize"
)

// Project is one unit that is planned and applied on its own: a Terraform
// root module in one workspace, or a Kustomize overlay.
type Project struct {
	// Name identifies the project in commands (-p NAME). It defaults to Dir.
	Name string
	// Dir is the repo-relative, slash-separated directory ("." for the root).
	Dir string
	// Workspace is the Terraform workspace ("default" when empty).
	Workspace string
	Kind      Kind
	// Engine runs a Terraform project: the one .planbot.yaml names, or ""
	// for the server's default. Planning resolves it, so the project of
	// a Result names the engine that planned it, and that engine applies
	// it.
	Engine Engine `json:",omitempty"`
	// Deleted reports whether the change deletes the project's directory.
	// A deleted Terraform root is planned from the base commit's copy as
	// a destroy of everything in its state.
	Deleted bool `json:",omitempty"`
}

// WorkspaceName returns the terraform workspace the project plans in:
// Workspace, or "default" when it names none.
func (p Project) WorkspaceName() string {
	if p.Workspace == "" {
		return "default"
	}
	return p.Workspace
}

// LockKey returns the key under which the project is locked.
func (p Project) LockKey() string {
	return p.Dir + "@" + p.WorkspaceName()
}

// Status is the outcome of planning or applying one project.
type Status string

// The statuses of a project result.
const (
	StatusPlanned  Status = "planned" // a plan with changes
	StatusNoChange Status = "no_changes"
	StatusFailed   Status = "failed"
	StatusLocked   Status = "locked"  // another PR holds the project's lock
	StatusDeleted  Status = "deleted" // the project's dir is gone on head
	StatusApplied  Status = "applied"
)

// Changes counts what a Terraform plan does, read from the plan's JSON.
type Changes struct {
	Add, Change, Destroy, Replace, Import, Move int
	// OutputsChanged reports whether the plan changes any root output.
	OutputsChanged bool
	// Destroys, Replaces, Moves and Imports list resource addresses.
	Destroys, Replaces, Moves, Imports []string
	// Drift lists the addresses of resources changed outside of Terraform.
	Drift []string
}

// ResourceChange is one Kubernetes resource that differs between base and
// head of a Kustomize overlay.
type ResourceChange struct {
	Group, Kind, Namespace, Name string
	// Action is "added", "removed" or "changed".
	Action string
	// Diff is a unified diff of the normalized YAML; for Secrets it only
	// names the keys that changed, never their values.
	Diff string
}

// ManifestDiff is the per-resource difference of one Kustomize overlay.
type ManifestDiff struct {
	Added, Changed, Removed int
	// New reports whether the overlay does not exist on base.
	New       bool
	Resources []ResourceChange
}

// Result is the outcome of planning (or applying) one project.
type Result struct {
	Project Project
	Status  Status
	// Summary is terraform's one-line verdict ("Plan: 1 to add, 0 to
	// change, 0 to destroy." or "No changes.").
	Summary string
	Changes Changes
	// Output is the human-readable plan, already redacted.
	Output string
	// Fmt is the output of `terraform fmt -check -diff` when files are not
	// formatted, empty otherwise.
	Fmt string
	// Error is a readable description of what failed, already redacted.
	Error string
	// Duration is how long the project took.
	Duration time.Duration
	// PlanFile is the absolute path of the saved plan and PlanSHA256 its
	// hex digest.
	PlanFile   string
	PlanSHA256 string
	// LockedBy is the PR holding the project's lock when Status is
	// StatusLocked.
	LockedBy int
	// Manifest is set for Kustomize projects.
	Manifest *ManifestDiff
	// Sensitive holds the values of variables marked sensitive, so that
	// they can be masked in everything posted. It is never stored.
	Sensitive []string `json:"-"`
}

// Error codes. They map to HTTP statuses in package webhook and to PR
// comment wording in package comment.
const (
	EINVALID      = "invalid"
	EUNAUTHORIZED = "unauthorized"
	ECONFLICT     = "conflict"
	ENOTFOUND     = "not_found"
	EINTERNAL     = "internal"
)

// Error is an error with a code and a message that is safe to show to users.
// Internal details stay in Err, which is logged but never posted.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if asError(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the message of the
// first *Error in its chain, or a generic text for internal errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if asError(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error, see the planbot logs"
}
