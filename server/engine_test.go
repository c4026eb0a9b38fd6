package server

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/runner/terraform/statetest"
)

// testEngine is an engine the end-to-end tests that touch terraform run
// with: plans, applies, destroys, the http backend and the sandbox. The
// other tests run with terraform only.
type testEngine struct {
	engine planbot.Engine
	// args select the engine on the server's command line.
	args []string
}

// forEachEngine runs test once per engine, as the subtests "terraform"
// (the terraform on PATH, planbot's default) and "tofu"
// (--terraform-bin=tofu, looked up on PATH). CI installs both; a missing
// one fails the test.
func forEachEngine(t *testing.T, test func(t *testing.T, eng testEngine)) {
	for _, eng := range []testEngine{
		{engine: planbot.EngineTerraform},
		{engine: planbot.EngineOpenTofu, args: []string{"--terraform-bin=tofu"}},
	} {
		t.Run(eng.engine.Command(), func(t *testing.T) {
			b, err := terraform.FindEngine(context.Background(), eng.engine)
			if err != nil {
				t.Fatalf("%s is required for this test (.ci/run installs it): %v", eng.engine.Name(), err)
			}
			t.Logf("%s: %s", eng.engine.Name(), b.Path)
			test(t, eng)
		})
	}
}

// start starts a server that runs projects with the engine.
func (eng testEngine) start(t *testing.T, gh *githubfake.Server, dataDir string, extra ...string) *testEnv {
	t.Helper()
	return startServer(t, gh, dataDir, append(append([]string{}, eng.args...), extra...)...)
}

// seed applies a root with the engine's binary, as seedRoot does.
func (eng testEngine) seed(t *testing.T, e *testEnv, dir string, files map[string]string) {
	t.Helper()
	seedRootWith(t, e, eng.engine.Command(), dir, files)
}

// wantNamed checks that a plan comment names the engine as it should:
// OpenTofu projects say so, Terraform ones (the usual engine) say
// nothing.
func (eng testEngine) wantNamed(t *testing.T, body string) {
	t.Helper()
	named := strings.Contains(body, "· OpenTofu") && strings.Contains(body, "(OpenTofu)")
	if want := eng.engine == planbot.EngineOpenTofu; named != want {
		t.Errorf("comment names OpenTofu = %v, want %v:\n%s", named, want, body)
	}
}

// wantStatusNamed checks that the description of the planbot/plan status
// of sha says OpenTofu when the engine is OpenTofu.
func (eng testEngine) wantStatusNamed(t *testing.T, gh *githubfake.Server, sha string) {
	t.Helper()
	_, desc := status(gh, sha, "planbot/plan")
	if got, want := strings.HasPrefix(desc, "OpenTofu: "), eng.engine == planbot.EngineOpenTofu; got != want {
		t.Errorf("planbot/plan description %q starts with \"OpenTofu: \" = %v, want %v", desc, got, want)
	}
}

// wantWriter checks that the state called name was last written by the
// engine's binary.
func (eng testEngine) wantWriter(t *testing.T, states *statetest.Server, name string) {
	t.Helper()
	v, err := exec.Command(eng.engine.Command(), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(v), "\n")
	if w := states.WriterVersion(name); w == "" || !strings.HasSuffix(first, " v"+w) {
		t.Errorf("state %s was written by version %q, want the one of %q", name, w, first)
	}
}
