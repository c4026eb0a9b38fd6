package comment

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/planbot/planbot/golden"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/redact/redacttest"
)

var testRepo = planbot.Repo{Owner: "acme", Name: "infra"}

const testSHA = "0123456789abcdef0123456789abcdef01234567"

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func report(results ...planbot.Result) Report {
	return Report{
		Repo:    testRepo,
		PR:      7,
		HeadSHA: testSHA,
		HeadURL: "https://github.com/acme/infra/commit/" + testSHA,
		Results: results,
		Command: "plan",
	}
}

func tf(dir string) planbot.Project {
	return planbot.Project{Name: dir, Dir: dir, Workspace: "default", Kind: planbot.KindTerraform}
}

// tofu returns a Terraform project that OpenTofu runs.
func tofu(dir string) planbot.Project {
	p := tf(dir)
	p.Engine = planbot.EngineOpenTofu
	return p
}

// createOnly is terraform's output for a plan that only creates.
const createOnly = `Terraform used the selected providers to generate the following execution
plan. Resource actions are indicated with the following symbols:
  + create

Terraform will perform the following actions:

  # terraform_data.new will be created
  + resource "terraform_data" "new" {
      + id     = (known after apply)
      + input  = "hello"
      + output = (known after apply)
    }

Plan: 1 to add, 0 to change, 0 to destroy.
`

const destroyOnly = `Terraform will perform the following actions:

  # terraform_data.old will be destroyed
  # (because terraform_data.old is not in configuration)
  - resource "terraform_data" "old" {
      - id     = "786756a6-916a-6a80-d801-3f2f55256c4a" -> null
      - input  = "bye" -> null
      - output = "bye" -> null
    }

Plan: 0 to add, 0 to change, 1 to destroy.
`

const replaceOnly = `Terraform will perform the following actions:

  # terraform_data.web must be replaced
-/+ resource "terraform_data" "web" {
      ~ id               = "7f9430a6-0b2a-a472-61b6-a1d04b8d64d3" -> (known after apply)
      ~ triggers_replace = [
          ~ "a" -> "b",
        ]
        # (1 unchanged attribute hidden)
    }

Plan: 1 to add, 0 to change, 1 to destroy.
`

func goldenCases(t testing.TB) []struct {
	name string
	r    Report
	opts Options
} {
	mixed := fixture(t, "plan-mixed.txt")
	var forty []planbot.Result
	for i := range 40 {
		res := planbot.Result{Project: tf(fmt.Sprintf("envs/team-%02d", i)), Duration: time.Duration(i) * 1500 * time.Millisecond}
		switch i % 5 {
		case 0:
			res.Status = planbot.StatusNoChange
			res.Summary = "No changes."
		case 1:
			res.Status = planbot.StatusPlanned
			res.Summary = "Plan: 1 to add, 0 to change, 0 to destroy."
			res.Changes = planbot.Changes{Add: 1}
			res.Output = createOnly
		case 2:
			res.Status = planbot.StatusFailed
			res.Error = fixture(t, "error.txt")
		case 3:
			res.Status = planbot.StatusLocked
			res.LockedBy = 100 + i
		case 4:
			res.Status = planbot.StatusPlanned
			res.Project.Workspace = "staging"
			res.Summary = "Plan: 0 to add, 0 to change, 1 to destroy."
			res.Changes = planbot.Changes{Destroy: 1, Destroys: []string{"terraform_data.old"}}
			res.Output = destroyOnly
		}
		forty = append(forty, res)
	}
	return []struct {
		name string
		r    Report
		opts Options
	}{
		{
			name: "no-changes",
			r: report(
				planbot.Result{Project: tf("envs/prod"), Status: planbot.StatusNoChange, Summary: "No changes.", Duration: 2300 * time.Millisecond},
				planbot.Result{Project: planbot.Project{Name: "apps/web", Dir: "apps/web", Kind: planbot.KindKustomize}, Status: planbot.StatusNoChange, Manifest: &planbot.ManifestDiff{}},
			),
		},
		{
			name: "create-only",
			r: report(planbot.Result{Project: tf("envs/dev"), Status: planbot.StatusPlanned,
				Summary: "Plan: 1 to add, 0 to change, 0 to destroy.", Changes: planbot.Changes{Add: 1},
				Output: createOnly, Duration: 12 * time.Second}),
		},
		{
			name: "destroy",
			r: report(planbot.Result{Project: tf("envs/prod"), Status: planbot.StatusPlanned,
				Summary: "Plan: 0 to add, 0 to change, 1 to destroy.",
				Changes: planbot.Changes{Destroy: 1, Destroys: []string{"terraform_data.old"}},
				Output:  destroyOnly, Duration: 75 * time.Second}),
		},
		{
			name: "replace",
			r: report(planbot.Result{Project: planbot.Project{Name: "web-prod", Dir: "envs/web", Workspace: "prod", Kind: planbot.KindTerraform},
				Status:  planbot.StatusPlanned,
				Summary: "Plan: 1 to add, 0 to change, 1 to destroy.",
				Changes: planbot.Changes{Replace: 1, Replaces: []string{"terraform_data.web"}},
				Output:  replaceOnly}),
		},
		{
			name: "moved",
			r: report(planbot.Result{Project: tf("."), Status: planbot.StatusPlanned,
				Summary: "Plan: 2 to add, 1 to change, 2 to destroy.",
				Changes: planbot.Changes{Add: 1, Change: 1, Destroy: 1, Replace: 1, Move: 1, OutputsChanged: true,
					Destroys: []string{"terraform_data.old"}, Replaces: []string{"terraform_data.web"},
					Moves: []string{"terraform_data.after"}, Imports: []string{`aws_s3_bucket.logs["eu"]`},
					Drift: []string{"terraform_data.keep"}},
				Output: mixed, Duration: 4 * time.Second}),
		},
		{
			name: "error",
			r: report(
				planbot.Result{Project: tf("envs/broken"), Status: planbot.StatusFailed, Error: fixture(t, "error.txt"), Duration: time.Second},
				planbot.Result{Project: tf("envs/dev"), Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.", Changes: planbot.Changes{Add: 1}, Output: createOnly},
			),
		},
		{
			// An OpenTofu project next to a Terraform one: its heading,
			// table row, drift and fmt lines name OpenTofu.
			name: "opentofu",
			r: report(
				planbot.Result{Project: tofu("envs/tofu"), Status: planbot.StatusPlanned,
					Summary: "Plan: 1 to add, 0 to change, 1 to destroy.",
					Changes: planbot.Changes{Add: 1, Destroy: 1, Replace: 1, Replaces: []string{"terraform_data.web"}, Drift: []string{"terraform_data.keep"}},
					Fmt:     fixture(t, "fmt.txt"), Output: strings.ReplaceAll(replaceOnly, "Terraform", "OpenTofu"), Duration: 3 * time.Second},
				planbot.Result{Project: tofu("envs/same"), Status: planbot.StatusNoChange, Summary: "No changes."},
				planbot.Result{Project: tf("envs/dev"), Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.", Changes: planbot.Changes{Add: 1}, Output: createOnly},
			),
		},
		{
			name: "fmt",
			r:    report(planbot.Result{Project: tf("modules/net"), Status: planbot.StatusNoChange, Summary: "No changes.", Fmt: fixture(t, "fmt.txt")}),
		},
		{
			name: "kustomize",
			r: report(planbot.Result{
				Project: planbot.Project{Name: "web-prod", Dir: "overlays/prod", Kind: planbot.KindKustomize},
				Status:  planbot.StatusPlanned,
				Manifest: &planbot.ManifestDiff{Added: 1, Changed: 1, Removed: 1, Resources: []planbot.ResourceChange{
					{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "frontend", Action: "changed",
						Diff: "--- base\n+++ head\n@@ -5,3 +5,3 @@\n spec:\n-  replicas: 2\n+  replicas: 3\n"},
					{Kind: "ConfigMap", Namespace: "web", Name: "settings", Action: "added", Diff: "+apiVersion: v1\n+kind: ConfigMap\n+data:\n+  mode: fast\n"},
					{Kind: "ClusterRole", Name: "reader", Action: "removed", Diff: "-apiVersion: rbac.authorization.k8s.io/v1\n-kind: ClusterRole\n"},
				}},
				Duration: 800 * time.Millisecond,
			}),
		},
		{
			name: "locked-deleted-notes",
			r: func() Report {
				r := report(
					planbot.Result{Project: tf("envs/a"), Status: planbot.StatusLocked, LockedBy: 12},
					planbot.Result{Project: tf("envs/old"), Status: planbot.StatusDeleted},
				)
				r.Notes = []string{"envs/old was deleted; its state is not destroyed by planbot.", "planbot.yaml: unknown key \"workspcae\"\non line 3"}
				return r
			}(),
		},
		{
			name: "deleted-root",
			r: report(
				planbot.Result{Project: planbot.Project{Name: "envs/old", Dir: "envs/old", Workspace: "default", Kind: planbot.KindTerraform, Deleted: true},
					Status: planbot.StatusPlanned, Summary: "Plan: 0 to add, 0 to change, 2 to destroy.",
					Changes: planbot.Changes{Destroy: 2, Destroys: []string{"terraform_data.a", "terraform_data.b"}},
					Output:  destroyOnly, Duration: 3 * time.Second},
				planbot.Result{Project: planbot.Project{Name: "envs/empty", Dir: "envs/empty", Workspace: "default", Kind: planbot.KindTerraform, Deleted: true},
					Status: planbot.StatusNoChange, Summary: "No changes.", Duration: time.Second},
				planbot.Result{Project: planbot.Project{Name: "envs/gone", Dir: "envs/gone", Workspace: "default", Kind: planbot.KindTerraform, Deleted: true},
					Status: planbot.StatusFailed, Error: "terraform init failed:\nError refreshing state: connection refused"},
			),
		},
		{
			name: "deleted-root-applied",
			r: func() Report {
				r := report(planbot.Result{Project: planbot.Project{Name: "envs/old", Dir: "envs/old", Workspace: "default", Kind: planbot.KindTerraform, Deleted: true},
					Status: planbot.StatusApplied, Summary: "Plan: 0 to add, 0 to change, 2 to destroy.",
					Changes: planbot.Changes{Destroy: 2, Destroys: []string{"terraform_data.a", "terraform_data.b"}},
					Output:  "terraform_data.a: Destroying... [id=1]\nterraform_data.a: Destruction complete after 0s\n"})
				r.Command = "apply"
				return r
			}(),
		},
		{
			name: "apply",
			r: func() Report {
				r := report(planbot.Result{Project: tf("envs/dev"), Status: planbot.StatusApplied, Summary: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.",
					Changes: planbot.Changes{Add: 1}, Output: "terraform_data.new: Creating...\nterraform_data.new: Creation complete after 0s [id=1]\n"})
				r.Command = "apply"
				return r
			}(),
		},
		{
			name: "config-error",
			r: func() Report {
				r := report()
				r.Error = ".planbot.yaml:3: merge_method: must be merge, squash or rebase, not \"fastforward\""
				return r
			}(),
		},
		{
			name: "approvals",
			r: func() Report {
				r := report(planbot.Result{Project: tf("envs/prod"), Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.", Changes: planbot.Changes{Add: 1}})
				r.Approvals = &Approvals{File: ".github/CODEOWNERS", Rules: []ApprovalRule{
					{Line: 1, Owners: []string{"@acme/platform"}, Files: []string{"modules/a.tf", "modules/b.tf", "modules/c.tf", "modules/d.tf"}},
					{Line: 2, Owners: []string{"@alice", "ops@example.com"}, Files: []string{"envs/prod/main.tf"}},
				}}
				return r
			}(),
		},
		{
			name: "approvals-unowned",
			r: func() Report {
				r := report(planbot.Result{Project: tf("envs/dev"), Status: planbot.StatusNoChange, Summary: "No changes."})
				r.Approvals = &Approvals{File: "CODEOWNERS"}
				return r
			}(),
		},
		{name: "forty-projects", r: report(forty...)},
		{name: "empty", r: report()},
		{
			name: "split",
			r: report(
				planbot.Result{Project: tf("envs/big"), Status: planbot.StatusPlanned, Summary: "Plan: 120 to add, 0 to change, 0 to destroy.",
					Changes: planbot.Changes{Add: 120}, Output: strings.Repeat(createOnly, 10)},
				planbot.Result{Project: tf("envs/small"), Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.",
					Changes: planbot.Changes{Add: 1}, Output: createOnly},
			),
			opts: Options{Limit: 3000, MaxOutputRunes: 5000},
		},
		{
			name: "secrets",
			r: report(planbot.Result{Project: tf("envs/dev"), Status: planbot.StatusFailed,
				Error:  "provider error: token ghp_0123456789abcdefghijABCDEFGHIJ012345 rejected; password=hunter22 for AKIAIOSFODNN7EXAMPLE",
				Output: "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n  + password = (sensitive value)\n"}),
			opts: Options{Secrets: []string{"hunter22"}},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			parts := Render(tc.r, tc.opts)
			checkParts(t, tc.r, parts, tc.opts.withDefaults().Limit)
			var b strings.Builder
			for i, p := range parts {
				fmt.Fprintf(&b, "==== part %d/%d (%d runes) ====\n%s", i+1, len(parts), utf8.RuneCountInString(p), p)
			}
			checkGolden(t, tc.name, b.String())
		})
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), got)
}

var fenceRE = regexp.MustCompile("^ *(`{3,})(.*)$")

// checkParts asserts the invariants every render must hold.
func checkParts(t *testing.T, r Report, parts []string, limit int) {
	t.Helper()
	if len(parts) == 0 {
		t.Fatal("Render returned no parts")
	}
	for i, p := range parts {
		k := i + 1
		if n := utf8.RuneCountInString(p); n > limit || n == 0 {
			t.Errorf("part %d has %d runes, want 1..%d", k, n, limit)
		}
		if !strings.HasPrefix(p, Marker(r.PR, k)+"\n") {
			t.Errorf("part %d does not start with its marker: %.80q", k, p)
		}
		if len(parts) > 1 && !strings.Contains(p, fmt.Sprintf("part %d/%d", k, len(parts))) {
			t.Errorf("part %d does not say part %d/%d", k, k, len(parts))
		}
		if !strings.Contains(p, shortSHA(r.HeadSHA)) {
			t.Errorf("part %d does not name the head SHA", k)
		}
		fence, details := "", 0
		for n, line := range strings.Split(p, "\n") {
			if m := fenceRE.FindStringSubmatch(line); m != nil {
				switch {
				case fence == "":
					fence = m[1]
				case m[1] == fence && strings.TrimSpace(m[2]) == "":
					fence = ""
				}
				continue
			}
			if fence != "" {
				continue
			}
			details += strings.Count(line, "<details")
			details -= strings.Count(line, "</details>")
			if details < 0 {
				t.Errorf("part %d line %d closes a <details> that is not open", k, n+1)
			}
		}
		if fence != "" {
			t.Errorf("part %d ends inside a %s fence", k, fence)
		}
		if details != 0 {
			t.Errorf("part %d leaves %d <details> open", k, details)
		}
	}
	first := parts[0]
	for _, res := range r.Results {
		row := "| " + projectCell(res.Project) + " | "
		if !strings.Contains(first, row) {
			t.Errorf("part 1 has no summary row for %s", res.Project.Dir)
		}
	}
}

func TestRenderHugePlan(t *testing.T) {
	out := redacttest.Plan(10 << 20)
	r := report(
		planbot.Result{Project: tf("envs/huge"), Status: planbot.StatusPlanned, Summary: "Plan: many to add, 0 to change, 0 to destroy.",
			Changes: planbot.Changes{Add: 1}, Output: out},
		planbot.Result{Project: tf("envs/small"), Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.",
			Changes: planbot.Changes{Add: 1}, Output: createOnly},
	)
	parts := Render(r, Options{})
	checkParts(t, r, parts, DefaultLimit)
	all := strings.Join(parts, "")
	if !strings.Contains(all, "lines omitted …") {
		t.Error("the huge plan is not cut in the middle")
	}
	if !strings.Contains(all, `!   key    = "k/0"`) && !strings.Contains(all, `+       key    = "k/0"`) {
		t.Error("the head of the huge plan is missing")
	}
	if !strings.Contains(all, "Plan: many to add") {
		t.Error("the tail of the huge plan is missing")
	}
	// The golden file keeps a digest: each part's size, head and tail.
	var b strings.Builder
	for i, p := range parts {
		lines := strings.Split(strings.TrimRight(p, "\n"), "\n")
		fmt.Fprintf(&b, "==== part %d/%d (%d runes, sha256 %x) ====\n", i+1, len(parts), utf8.RuneCountInString(p), sha256.Sum256([]byte(p)))
		b.WriteString(strings.Join(lines[:min(8, len(lines))], "\n") + "\n…\n")
		b.WriteString(strings.Join(lines[max(0, len(lines)-4):], "\n") + "\n")
	}
	checkGolden(t, "huge-plan", b.String())
}

func TestPlanDiffLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "create", in: `  + resource "a" "b" {`, want: `+   resource "a" "b" {`},
		{name: "nested create", in: `      + id = (known after apply)`, want: `+       id = (known after apply)`},
		{name: "destroy", in: `  - resource "a" "b" {`, want: `-   resource "a" "b" {`},
		{name: "update", in: `      ~ input  = "v1" -> "v2"`, want: `!       input  = "v1" -> "v2"`},
		{name: "replace", in: `-/+ resource "a" "b" {`, want: `!   resource "a" "b" {`},
		{name: "create before destroy", in: `+/- resource "a" "b" {`, want: `!   resource "a" "b" {`},
		{name: "read", in: ` <= data "a" "b" {`, want: ` <= data "a" "b" {`},
		{name: "comment", in: `  # a.b will be created`, want: `  # a.b will be created`},
		{name: "unchanged", in: `        id     = "x"`, want: `        id     = "x"`},
		{name: "bare marker", in: `  ~`, want: `!  `},
		{name: "column zero text", in: `@@ not a hunk`, want: ` @@ not a hunk`},
		{name: "empty", in: ``, want: ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planDiffLine(tc.in)
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("planDiffLine(%q) (-got +want):\n%s", tc.in, diff)
			}
			if utf8.RuneCountInString(got) != utf8.RuneCountInString(tc.in) && tc.name != "column zero text" {
				t.Errorf("planDiffLine(%q) changed the width", tc.in)
			}
		})
	}
}

func TestCapText(t *testing.T) {
	var lines []string
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("line %04d", i))
	}
	in := strings.Join(lines, "\n") + "\n"
	got := capText(in, 600)
	if n := utf8.RuneCountInString(got); n > 600+40 {
		t.Errorf("capText kept %d runes, want about 600", n)
	}
	if !strings.HasPrefix(got, "line 0000\n") || !strings.HasSuffix(got, "line 0999\n") {
		t.Errorf("capText lost the head or the tail:\n%s", got)
	}
	m := regexp.MustCompile(`\n… (\d+) lines omitted …\n`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("capText has no omission line:\n%s", got)
	}
	kept := strings.Count(got, "line ")
	if want := fmt.Sprint(1000 - kept); m[1] != want {
		t.Errorf("capText says %s lines omitted, want %s", m[1], want)
	}
	if got := capText("short\n", 600); got != "short\n" {
		t.Errorf("capText changed a short text: %q", got)
	}
}

func TestClipLine(t *testing.T) {
	long := strings.Repeat("é", 500)
	for _, n := range []int{1, 2, 10, 30, 100, 499, 500} {
		got := clipLine(long, n)
		if c := utf8.RuneCountInString(got); c > n {
			t.Errorf("clipLine(_, %d) has %d runes", n, c)
		}
	}
	if got := clipLine(long, 100); !strings.HasSuffix(got, "more characters)") {
		t.Errorf("clipLine does not say what it cut: %q", got)
	}
}

func TestFenceOutlastsContent(t *testing.T) {
	r := report(planbot.Result{Project: tf("x"), Status: planbot.StatusFailed,
		Error: "bad heredoc:\n```\n</details>\n````\nend"})
	parts := Render(r, Options{})
	checkParts(t, r, parts, DefaultLimit)
	if !strings.Contains(parts[0], "`````text\n") {
		t.Errorf("the fence is not longer than the content's backtick runs:\n%s", parts[0])
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{name: "zero", d: 0, want: "–"},
		{name: "sub-second", d: 850 * time.Millisecond, want: "0.8s"},
		{name: "seconds", d: 42 * time.Second, want: "42s"},
		{name: "minutes", d: 125 * time.Second, want: "2m05s"},
		{name: "hours", d: 3*time.Hour + 7*time.Minute, want: "3h07m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(duration(tc.d), tc.want); diff != "" {
				t.Errorf("duration(%v) (-got +want):\n%s", tc.d, diff)
			}
		})
	}
}

func BenchmarkRenderHugePlan(b *testing.B) {
	r := report(planbot.Result{Project: tf("envs/huge"), Status: planbot.StatusPlanned, Output: redacttest.Plan(10 << 20)})
	b.SetBytes(10 << 20)
	for b.Loop() {
		Render(r, Options{})
	}
}

func tfResult(dir, output string) planbot.Result {
	return planbot.Result{Project: tf(dir), Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.",
		Changes: planbot.Changes{Add: 1}, Output: output}
}
