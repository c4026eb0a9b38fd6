package terraform

import (
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// reservedPrefix is the prefix of planbot's own configuration variables
// (the App key path, the webhook secret, the database DSN). No variable
// with it ever reaches terraform, even when allowlisted.
const reservedPrefix = "PLANBOT_"

// reservedNames are variables planbot sets itself for every run, or that
// would undo the sandbox's provider rules; they are never copied.
var reservedNames = map[string]bool{
	"HOME": true, "TMPDIR": true, "TF_PLUGIN_CACHE_DIR": true, "TF_CLI_CONFIG_FILE": true, "CHECKPOINT_DISABLE": true,
}

// Environ returns the environment of a terraform process in the form that
// tfexec's SetEnv takes: PATH from environ, HOME set to home,
// CHECKPOINT_DISABLE=1, and the variables named in allow that are set in
// environ. Everything else in environ is dropped.
//
// Names starting with PLANBOT_ are never copied. Neither are the names
// tfexec reserves for itself (TF_CLI_ARGS*, TF_VAR_*, TF_INPUT,
// TF_IN_AUTOMATION, TF_LOG*, TF_WORKSPACE, ...): tfexec sets
// TF_IN_AUTOMATION=1 on every process and passes -input=false to every
// command that could prompt, and it refuses an environment that contains
// them. The dropped names are returned so that the caller can log them.
func Environ(environ []string, home string, allow []string) (env map[string]string, dropped []string) {
	process := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := process[k]; !dup {
			process[k] = v
		}
	}

	env = map[string]string{
		"PATH":               process["PATH"],
		"HOME":               home,
		"CHECKPOINT_DISABLE": "1",
	}
	for _, name := range allow {
		if strings.HasPrefix(strings.ToUpper(name), reservedPrefix) || reservedNames[name] {
			dropped = append(dropped, name)
			continue
		}
		if len(tfexec.ProhibitedEnv(map[string]string{name: ""})) > 0 {
			dropped = append(dropped, name)
			continue
		}
		if v, ok := process[name]; ok {
			env[name] = v
		}
	}
	sort.Strings(dropped)
	return env, dropped
}

// commandEnv returns env as a sorted list of "KEY=VALUE" for a process
// that planbot starts itself rather than through tfexec. It adds the
// variables tfexec would add: TF_IN_AUTOMATION=1 and TF_INPUT=0.
func commandEnv(env map[string]string) []string {
	out := make([]string, 0, len(env)+2)
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	out = append(out, "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	sort.Strings(out)
	return out
}
