package runner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
)

// interrupted answers an /apply that found apply intents without an
// outcome: it records each as apply_interrupted, runs nothing, and says
// what to do.
func (a *Applier) interrupted(ctx context.Context, gh statusSetter, req ApplyRequest, pr planbot.PullRequest, pending []audit.Entry, log *slog.Logger) string {
	if err := gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "failure", "an earlier apply was interrupted; its outcome is unknown", pullURL(a.Pages, pr)); err != nil {
		log.Warn("set apply status", "err", err)
	}
	return a.interruptedText(ctx, req, pending, log)
}

// interruptedText records each of the intents as apply_interrupted and
// returns the reply that explains it.
func (a *Applier) interruptedText(ctx context.Context, req ApplyRequest, pending []audit.Entry, log *slog.Logger) string {
	var b strings.Builder
	seen := make(map[string]bool)
	var names []string
	for _, in := range pending {
		e := audit.Entry{
			Repo: in.Repo, PR: in.PR, HeadSHA: in.HeadSHA, BaseSHA: in.BaseSHA, Project: in.Project,
			Action: audit.ActionApplyInterrupted, Actor: req.Actor, Approvers: in.Approvers, Outcome: "unknown",
			Detail:     fmt.Sprintf("apply requested by %s (seq %d) has no outcome; found by delivery %s, not run again", in.Actor, in.Seq, req.Delivery),
			PlanSHA256: in.PlanSHA256, DeliveryID: in.DeliveryID,
		}
		appendAudit(ctx, a.Audit, log, e)
		a.Metrics.applied("interrupted")
		log.Warn("earlier apply interrupted; not run again", "project", in.Project, "sha", in.HeadSHA, "intent_seq", in.Seq, "intent_delivery", in.DeliveryID)
		if !seen[in.Project] {
			seen[in.Project] = true
			names = append(names, "`"+in.Project+"`")
		}
	}
	fmt.Fprintf(&b, "⚠️ **an earlier apply was interrupted**: planbot stopped while it applied %s at %s, before it could record how that apply ended, so **its outcome is unknown**: terraform may have changed some, all or none of the resources. planbot does not run that apply again.\n\n",
		strings.Join(names, ", "), short(pending[0].HeadSHA))
	b.WriteString("To go on:\n\n")
	b.WriteString("1. Check the state: look at the resources and the state's history in your backend, and release a stale state lock (`terraform force-unlock`) if one was left behind.\n")
	b.WriteString("2. Comment `/plan`: the new plan shows what is left to do.\n")
	b.WriteString("3. Once the new plan is reviewed, comment `/apply` again.\n")
	return b.String()
}
