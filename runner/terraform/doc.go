// Package terraform runs Terraform for one project: it checks formatting,
// initialises the working directory, selects the workspace, saves a plan,
// reads the plan back as JSON and as text, and later applies exactly that
// saved plan.
//
// The model follows hashicorp/terraform-exec, which does most of the work:
// every terraform process gets an explicit, minimal environment (see
// [Environ]), its own process group that is killed when the context ends,
// bounded output, and the project directory as its working directory.
// Terraform plans execute code from pull requests, so the environment is a
// security boundary: the variables that configure planbot itself
// (PLANBOT_*) never reach terraform.
//
// A plan is recorded in a [planbot.Result]: the counts of what it does
// (from `terraform show -json`), terraform's own summary line and
// human-readable plan (what `terraform plan` printed, trimmed to exactly
// what `terraform show` prints for the saved plan), and the path and
// SHA-256 of the saved plan file.
//
// A plan starts four terraform processes, one at a time: `fmt -check`,
// `init`, `plan` and `show -json`; no `init` when the Runner's InitCache
// holds the init of the same inputs, and no `fmt` when the caller checked
// the formatting already (FmtCheck, Formatted). planbot builds these commands
// itself rather than through tfexec, which would first run `terraform
// version`, and reads the selected workspace from the data directory as
// `terraform workspace show` does. [Runner.Apply] refuses a plan file whose digest
// differs from the one recorded when it was planned, or that was made in
// another workspace than the one selected.
//
// [Runner.PlanDestroy] plans the destruction of everything in a root's
// state, for a root that a change deletes, in a copy of the root from
// before the change; it runs like Plan and its plan is applied the same
// way. The backend is asked for workspaces only when the project names a
// workspace other than "default", so backends without workspaces work.
//
// A saved plan is portable: its bytes can be stored and applied by another
// planbot process in a fresh checkout of the same commit, once
// [Runner.Prepare] has run init and selected the workspace there, the same
// steps Plan takes before planning.
package terraform
