package statetest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Apply applies a root, its files by name, with the terraform on PATH, as
// a team would have before planbot sees it: a root whose backend is a
// Server's Backend leaves its resources there.
func Apply(t testing.TB, files map[string]string) {
	t.Helper()
	ApplyWith(t, "terraform", files)
}

// ApplyWith applies a root as Apply does, with the binary bin: a path,
// or a name on PATH such as "tofu".
func ApplyWith(t testing.TB, bin string, files map[string]string) {
	t.Helper()
	work := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-input=false"}, {"apply", "-input=false", "-auto-approve"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("statetest: %s %s: %v\n%s", bin, args[0], err, out)
		}
	}
}

// SetDataInput changes the state under name behind terraform's back, as a
// change made outside terraform does: every terraform_data instance's
// input and output become value, and the serial moves on.
func (s *Server) SetDataInput(name, value string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var st map[string]any
	if err := json.Unmarshal(s.states[name], &st); err != nil {
		s.t.Fatalf("statetest: state %s: %v", name, err)
	}
	resources, _ := st["resources"].([]any)
	for _, r := range resources {
		instances, _ := r.(map[string]any)["instances"].([]any)
		for _, in := range instances {
			attrs := in.(map[string]any)["attributes"].(map[string]any)
			// terraform_data keeps dynamic values with their type.
			attrs["input"] = map[string]any{"value": value, "type": "string"}
			attrs["output"] = map[string]any{"value": value, "type": "string"}
		}
	}
	st["serial"] = st["serial"].(float64) + 1
	b, err := json.Marshal(st)
	if err != nil {
		s.t.Fatal(err)
	}
	s.states[name] = b
	s.writes[name]++
}
