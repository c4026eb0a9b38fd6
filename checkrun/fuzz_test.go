package checkrun

import (
	"path"
	"strings"
	"testing"

	"github.com/planbot/planbot"
)

// FuzzAnnotations parses arbitrary fmt output and errors: it never panics,
// and every annotation marks lines of a file inside the repository.
func FuzzAnnotations(f *testing.F) {
	f.Add("envs/dev", fmtOutput, planError)
	f.Add(".", bigFmt(3), colourError)
	f.Add("a", "--- old/../../x.tf\n@@ -0,0 +1 @@\n+x", "Error: x\n  on /etc/passwd line 0:")
	f.Fuzz(func(t *testing.T, dir, fmtOut, errText string) {
		res := planbot.Result{Project: planbot.Project{Name: dir, Dir: dir}, Fmt: fmtOut, Error: errText}
		for _, a := range Annotations(res) {
			clean := path.Clean(a.Path)
			if a.Path == "" || path.IsAbs(a.Path) || clean == ".." || strings.HasPrefix(clean, "../") {
				t.Errorf("annotation outside the repository: %q", a.Path)
			}
			if a.StartLine < 1 || a.EndLine < a.StartLine {
				t.Errorf("annotation of lines %d-%d", a.StartLine, a.EndLine)
			}
			switch a.Level {
			case "warning", "failure":
			default:
				t.Errorf("level %q", a.Level)
			}
		}
	})
}
