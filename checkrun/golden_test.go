package checkrun

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/golden"
)

// TestPlanGolden renders the check run of a plan that destroys a resource
// and has a formatting problem, as GitHub receives it.
func TestPlanGolden(t *testing.T) {
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 12, HeadSHA: "0123456789abcdef0123456789abcdef01234567", HTMLURL: "https://github.example/acme/infra/pull/12"}
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
	run := Plan(pr, res, comment.Options{})
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
