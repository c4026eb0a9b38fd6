package checkrun

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/event"
	"github.com/planbot/planbot/golden"
)

// fmtOutput is what `terraform fmt -no-color -check -diff -list=true`
// (1.11) printed for a root with two badly formatted lines.
const fmtOutput = `main.tf
--- old/main.tf
+++ new/main.tf
@@ -1,7 +1,7 @@
 resource "terraform_data" "x" {
   input = "a"
-    foo=1
+  foo   = 1
 }
 module "m" {
- source = "./mod"
+  source = "./mod"
 }`

// planError is what planbot records when `terraform plan -no-color`
// (1.11) fails on two unsupported arguments, one in a local module.
const planError = `terraform plan failed:
Error: Unsupported argument

  on main.tf line 3, in resource "terraform_data" "x":
   3:     foo=1

An argument named "foo" is not expected here.

Error: Unsupported argument

  on ../../modules/app/main.tf line 2, in resource "terraform_data" "y":
   2:   nope = 1

An argument named "nope" is not expected here.

Error: Invalid reference

  on ../../../elsewhere.tf line 9:
   9:   x = y

A reference outside the repository.`

// colourError is a diagnostic as terraform prints it with colour on.
const colourError = `╷
│ Error: Missing required argument
│
│   on variables.tf line 12, in module "app":
│   12: module "app" {
│
│ The argument "name" is required, but no definition was found.
╵`

// pr12 is a pull request as the plans of these tests come from; pr3 is
// one with only the fields a check run needs.
var (
	pr12 = planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 12, HeadSHA: "0123456789abcdef0123456789abcdef01234567", HTMLURL: "https://github.example/acme/infra/pull/12"}
	pr3  = planbot.PullRequest{Number: 3, HeadSHA: "abc"}
)

func TestAnnotations(t *testing.T) {
	dev := planbot.Project{Name: "dev", Dir: "envs/dev", Kind: planbot.KindTerraform}
	tests := []struct {
		name string
		res  planbot.Result
		want []Annotation
	}{
		{name: "fmt hunk", res: planbot.Result{Project: dev, Fmt: fmtOutput}, want: []Annotation{{
			Path: "envs/dev/main.tf", StartLine: 1, EndLine: 7, Level: "warning", Title: "Not formatted",
			Message:    "terraform fmt would change these lines; run `terraform fmt`.",
			RawDetails: strings.Join(strings.Split(fmtOutput, "\n")[3:], "\n"),
		}}},
		{name: "errors with a file and line", res: planbot.Result{Project: dev, Status: planbot.StatusFailed, Error: planError}, want: []Annotation{
			{Path: "envs/dev/main.tf", StartLine: 3, EndLine: 3, Level: "failure", Title: "Unsupported argument",
				Message: "Unsupported argument\n\nAn argument named \"foo\" is not expected here."},
			{Path: "modules/app/main.tf", StartLine: 2, EndLine: 2, Level: "failure", Title: "Unsupported argument",
				Message: "Unsupported argument\n\nAn argument named \"nope\" is not expected here."},
		}},
		{name: "error with colour", res: planbot.Result{Project: dev, Status: planbot.StatusFailed, Error: colourError}, want: []Annotation{
			{Path: "envs/dev/variables.tf", StartLine: 12, EndLine: 12, Level: "failure", Title: "Missing required argument",
				Message: "Missing required argument\n\nThe argument \"name\" is required, but no definition was found."},
		}},
		{name: "error without a place", res: planbot.Result{Project: dev, Status: planbot.StatusFailed, Error: "terraform init failed:\nError: Failed to query available provider packages"}},
		{name: "root module at the repository's root", res: planbot.Result{Project: planbot.Project{Name: ".", Dir: "."}, Fmt: fmtOutput}, want: []Annotation{{
			Path: "main.tf", StartLine: 1, EndLine: 7, Level: "warning", Title: "Not formatted",
			Message:    "terraform fmt would change these lines; run `terraform fmt`.",
			RawDetails: strings.Join(strings.Split(fmtOutput, "\n")[3:], "\n"),
		}}},
		{name: "deleted root", res: planbot.Result{Project: planbot.Project{Name: "old", Dir: "envs/old", Deleted: true}, Fmt: fmtOutput, Error: planError}},
		{name: "overlay", res: planbot.Result{Project: planbot.Project{Name: "k8s/prod", Dir: "k8s/prod", Kind: planbot.KindKustomize}, Error: planError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(Annotations(tt.res), tt.want); diff != "" {
				t.Errorf("Annotations (-got +want):\n%s", diff)
			}
		})
	}
}

// bigFmt returns the fmt output of a file with n separate badly formatted
// lines, one hunk each.
func bigFmt(n int) string {
	var b strings.Builder
	b.WriteString("main.tf\n--- old/main.tf\n+++ new/main.tf\n")
	for i := range n {
		fmt.Fprintf(&b, "@@ -%d,3 +%d,3 @@\n resource \"terraform_data\" \"r%d\" {\n-input=%d\n+  input = %d\n }\n", 10*i+1, 10*i+1, i, i, i)
	}
	return b.String()
}

func TestAnnotationsCapped(t *testing.T) {
	res := planbot.Result{Project: planbot.Project{Name: "dev", Dir: "envs/dev"}, Status: planbot.StatusPlanned, Fmt: bigFmt(MaxRunAnnotations + 30)}
	if n := len(Annotations(res)); n != MaxRunAnnotations+30 {
		t.Fatalf("parsed %d annotations, want %d", n, MaxRunAnnotations+30)
	}
	run := Plan(pr3, res, comment.Options{})
	if n := len(run.Annotations); n != MaxRunAnnotations {
		t.Errorf("run carries %d annotations, want at most %d", n, MaxRunAnnotations)
	}
	if a := run.Annotations[60]; a.StartLine != 601 || a.EndLine != 603 {
		t.Errorf("annotation 61 marks lines %d-%d, want 601-603", a.StartLine, a.EndLine)
	}
}

// planText returns a plan output of about n bytes made of units, ending
// with terraform's count line.
func planText(n int, unit string) string {
	var b strings.Builder
	b.WriteString("Terraform will perform the following actions:\n\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "  # terraform_data.r[%d] will be created\n  + resource \"terraform_data\" \"r\" {\n      + input = \"%s\"\n    }\n\n", i, strings.Repeat(unit, 20))
	}
	b.WriteString("Plan: 999 to add, 0 to change, 0 to destroy.\n")
	return b.String()
}

func TestPlanRun(t *testing.T) {
	dev := planbot.Project{Name: "envs/dev", Dir: "envs/dev", Kind: planbot.KindTerraform}
	const secret = "s3cr3t-token-value"
	tests := []struct {
		name           string
		res            planbot.Result
		wantConclusion string
		wantTitle      string
		wantActions    []string
	}{
		{name: "changes", res: planbot.Result{Project: dev, Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.", Changes: planbot.Changes{Add: 1}, Output: "  + resource \"terraform_data\" \"x\" {\n      + input = \"" + secret + "\"\n    }\n\nPlan: 1 to add, 0 to change, 0 to destroy."},
			wantConclusion: "success", wantTitle: "Terraform plan: 1 to add, 0 to change, 0 to destroy", wantActions: []string{ActionApply, ActionReplan}},
		{name: "replaces", res: planbot.Result{Project: dev, Status: planbot.StatusPlanned, Changes: planbot.Changes{Replace: 2, Replaces: []string{"a.b", "a.c"}}},
			wantConclusion: "success", wantTitle: "Terraform plan: 2 to add, 0 to change, 2 to destroy (2 replaced) — destroys resources", wantActions: []string{ActionApply, ActionReplan}},
		{name: "no changes", res: planbot.Result{Project: dev, Status: planbot.StatusNoChange, Summary: "No changes."},
			wantConclusion: "neutral", wantTitle: "Terraform plan: no changes", wantActions: []string{ActionReplan}},
		{name: "failed", res: planbot.Result{Project: dev, Status: planbot.StatusFailed, Error: strings.Replace(planError, "is not expected here", "is not expected here ("+secret+")", 1)},
			wantConclusion: "failure", wantTitle: "Terraform plan failed", wantActions: []string{ActionReplan}},
		{name: "locked", res: planbot.Result{Project: dev, Status: planbot.StatusLocked, LockedBy: 7},
			wantConclusion: "failure", wantTitle: "Locked by #7", wantActions: []string{ActionReplan}},
		{name: "overlay", res: planbot.Result{Project: planbot.Project{Name: "k8s/prod", Dir: "k8s/prod", Kind: planbot.KindKustomize}, Status: planbot.StatusPlanned, Manifest: &planbot.ManifestDiff{Changed: 1}},
			wantConclusion: "success", wantTitle: "Kustomize diff: 0 added, 1 changed, 0 removed", wantActions: []string{ActionApply, ActionReplan}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := Plan(pr12, tt.res, comment.Options{Secrets: []string{secret}})
			if run.Name != "planbot plan: "+tt.res.Project.Name || run.HeadSHA != pr12.HeadSHA || run.Status != Completed || run.DetailsURL != pr12.HTMLURL {
				t.Errorf("run = %q at %s, %s, details %q", run.Name, run.HeadSHA, run.Status, run.DetailsURL)
			}
			if ref, ok := event.ParseCheckRunRef(run.ExternalID); !ok || ref != (event.CheckRunRef{PR: 12, Project: tt.res.Project.Name}) {
				t.Errorf("external_id %q reads back as %+v, %v", run.ExternalID, ref, ok)
			}
			if run.Conclusion != tt.wantConclusion || run.Title != tt.wantTitle {
				t.Errorf("conclusion %q, title %q; want %q, %q", run.Conclusion, run.Title, tt.wantConclusion, tt.wantTitle)
			}
			var ids []string
			for _, a := range run.Actions {
				ids = append(ids, a.Identifier)
				if n := utf8.RuneCountInString(a.Label); n == 0 || n > MaxLabel {
					t.Errorf("label %q has %d characters", a.Label, n)
				}
				if n := utf8.RuneCountInString(a.Description); n == 0 || n > MaxDescription {
					t.Errorf("description %q has %d characters", a.Description, n)
				}
				if n := utf8.RuneCountInString(a.Identifier); n == 0 || n > MaxIdentifier {
					t.Errorf("identifier %q has %d characters", a.Identifier, n)
				}
			}
			if len(run.Actions) > MaxActions {
				t.Errorf("%d actions", len(run.Actions))
			}
			if diff := cmp.Diff(ids, tt.wantActions); diff != "" {
				t.Errorf("actions (-got +want):\n%s", diff)
			}
			if run.Summary == "" {
				t.Error("empty summary")
			}
			shown := []string{run.Summary, run.Text, run.Title}
			for _, a := range run.Annotations {
				shown = append(shown, a.Title, a.Message, a.RawDetails)
			}
			for _, s := range shown {
				if strings.Contains(s, secret) {
					t.Errorf("the secret is in the run:\n%s", s)
				}
			}
		})
	}
}

// TestPlanRunFitsTheLimits renders plans longer than the Checks API takes:
// the text stays within 65,535 bytes, in one closed diff block, and keeps
// the plan's start and its count line.
func TestPlanRunFitsTheLimits(t *testing.T) {
	for _, tt := range []struct {
		name string
		out  string
		full bool // the text uses most of the limit
	}{
		{"70,000 characters", planText(70000, "x"), true},
		{"multi-byte", planText(100000, "é"), true},
		{"one long line", "Terraform will perform the following actions:\n" + strings.Repeat("y", 90000) + "\nPlan: 999 to add, 0 to change, 0 to destroy.\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := planbot.Result{Project: planbot.Project{Name: "dev", Dir: "envs/dev"}, Status: planbot.StatusPlanned, Output: tt.out, Fmt: bigFmt(400),
				Summary: "Plan: 999 to add, 0 to change, 0 to destroy.", Changes: planbot.Changes{Add: 999}}
			run := Plan(pr3, res, comment.Options{})
			if len(run.Text) > comment.CheckLimit || len(run.Summary) > comment.CheckLimit {
				t.Fatalf("text %d bytes, summary %d bytes; the limit is %d", len(run.Text), len(run.Summary), comment.CheckLimit)
			}
			if tt.full && len(run.Text) < comment.CheckLimit*3/4 {
				t.Errorf("text cut to %d bytes, far below the limit", len(run.Text))
			}
			if !strings.HasPrefix(run.Text, "```diff\n") || !strings.HasSuffix(strings.TrimRight(run.Text, "\n"), "```") {
				t.Errorf("text is not one closed diff block: starts %q, ends %q", run.Text[:20], run.Text[len(run.Text)-20:])
			}
			if !strings.Contains(run.Text, "Terraform will perform") || !strings.Contains(run.Text, "Plan: 999 to add") {
				t.Error("the text lost the plan's start or its count line")
			}
			if !strings.Contains(run.Text, "omitted") {
				t.Error("the text does not say that lines were left out")
			}
		})
	}
}

// TestPlanGolden renders the check run of a plan that destroys a resource
// and has a formatting problem, as GitHub receives it.
func TestPlanGolden(t *testing.T) {
	res := planbot.Result{
		Project: planbot.Project{Name: "envs/dev", Dir: "envs/dev", Kind: planbot.KindTerraform},
		Status:  planbot.StatusPlanned,
		Summary: "Plan: 1 to add, 0 to change, 1 to destroy.",
		Changes: planbot.Changes{Add: 1, Destroy: 1, Destroys: []string{"terraform_data.old"}},
		Output: `Terraform will perform the following actions:

  # terraform_data.new will be created
  + resource "terraform_data" "new" {
      + id    = (known after apply)
      + input = "b"
    }

  # terraform_data.old will be destroyed
  - resource "terraform_data" "old" {
      - id    = "4f1c" -> null
      - input = "a" -> null
    }

Plan: 1 to add, 0 to change, 1 to destroy.`,
		Fmt: fmtOutput,
	}
	run := Plan(pr12, res, comment.Options{})
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nhead_sha: %s\nexternal_id: %s\ndetails_url: %s\nstatus: %s\nconclusion: %s\ntitle: %s\n",
		run.Name, run.HeadSHA, run.ExternalID, run.DetailsURL, run.Status, run.Conclusion, run.Title)
	for _, a := range run.Actions {
		fmt.Fprintf(&b, "action: %s (%s): %s\n", a.Label, a.Identifier, a.Description)
	}
	for _, a := range run.Annotations {
		fmt.Fprintf(&b, "annotation: %s:%d-%d %s %q: %s\n", a.Path, a.StartLine, a.EndLine, a.Level, a.Title, a.Message)
	}
	fmt.Fprintf(&b, "--- summary\n%s--- text\n%s", run.Summary, run.Text)
	golden.Check(t, filepath.Join("testdata", "plan.golden"), b.String())
}
