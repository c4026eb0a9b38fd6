package terraform

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/planbot/planbot"
)

// versionArgs are the arguments of the version query.
func versionArgs() []string { return []string{"version", "-json"} }

// Version returns the version of the binary that runs projects of the
// engine UseEngine names (by default, of Bin), such as "1.11.4". It runs
// in the same minimal environment as every other command.
func (r *Runner) Version(ctx context.Context, opts ...RunOption) (string, error) {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	e, bin, err := r.binary(o.engine)
	if err != nil {
		return "", err
	}
	key, known := binaryIdentity(bin)
	if v, ok := r.Versions.get(key); known && ok {
		return v, nil
	}
	out, err := runVersion(ctx, bin, versionArgs()...)
	if err != nil {
		return "", err
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Version == "" {
		return "", fmt.Errorf("%s version: unexpected output %q", e.Command(), limit(string(out), 200))
	}
	if known {
		r.Versions.put(key, v.Version)
	}
	return v.Version, nil
}

// VersionMemo remembers the version each binary printed, so that a
// repository that pins terraform_version does not cost a version process
// per plan. It is keyed on binaryIdentity: a binary replaced in place is
// asked again. A nil VersionMemo remembers nothing.
type VersionMemo struct {
	mu   sync.Mutex
	seen map[string]string
}

func (m *VersionMemo) get(key string) (string, bool) {
	if m == nil {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.seen[key]
	return v, ok
}

func (m *VersionMemo) put(key, version string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]string{}
	}
	m.seen[key] = version
}

// binaryIdentity names the file bin is (after links) by its path, size
// and modification time; ok is false when bin cannot be looked at, and
// its version is then never remembered.
func binaryIdentity(bin string) (key string, ok bool) {
	fi, err := os.Stat(bin)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return fmt.Sprintf("%s\x00%d\x00%d", bin, fi.Size(), fi.ModTime().UnixNano()), true
}

// EngineOf returns the engine that runs a project whose configuration
// names e: e, or the engine of Bin when e is empty.
func (r *Runner) EngineOf(e planbot.Engine) planbot.Engine {
	return e.Or(r.Engine).Or(planbot.EngineTerraform)
}

// binary returns the engine that runs a project whose configuration
// names e, and that engine's binary. A missing binary is an ENOTFOUND
// error that says how to install one.
func (r *Runner) binary(e planbot.Engine) (planbot.Engine, string, error) {
	e = r.EngineOf(e)
	if e == r.EngineOf("") {
		if r.Bin == "" {
			return e, "", planbot.Errorf(planbot.EINVALID, "%s binary not configured", e.Command())
		}
		return e, r.Bin, nil
	}
	if bin := r.Others[e]; bin != "" {
		return e, bin, nil
	}
	return e, "", planbot.Errorf(planbot.ENOTFOUND,
		"this project runs on %s (`engine: %s` in .planbot.yaml), and planbot found no %s binary on PATH. %s",
		e.Name(), e, e.Command(), InstallHint(e))
}
