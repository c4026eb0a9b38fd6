package runner

import (
	"fmt"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// gateInput is what the gates of /apply that need no GitHub call or
// checkout decide on.
type gateInput struct {
	PR planbot.PullRequest
	// Plans are the PR's saved plans at its head.
	Plans []store.Plan
	// Locks are the repository's locks; they are read only when the head
	// has no plan, to tell whether an older head was planned.
	Locks []store.Lock
	// OnlyName and OnlyDir are the command's -p and -d.
	OnlyName, OnlyDir string
	// WantHead, when set, is the head the apply was asked for: the
	// commit of the check run whose Apply button was clicked.
	WantHead string
	// History is the PR's audit log.
	History []audit.Entry
}

// refusal is why an /apply does not run.
type refusal struct {
	// Project is the project the refusal is about; "" for the whole PR.
	Project string
	Reason  string
	// Interrupted are apply intents without an outcome: the reply tells
	// that an earlier apply was interrupted, and nothing runs.
	Interrupted []audit.Entry
}

// gate checks, in order, that the PR is open and ready, that its head is
// the one the apply was asked for (when it names one), that its head is
// planned, that every selected plan succeeded, that no apply of them was
// interrupted, and that no plan predates an interrupted apply. It returns
// the first that fails, or nil, and the selected plans.
func gate(in gateInput) (*refusal, []store.Plan) {
	pr := in.PR
	switch {
	case pr.Merged:
		return &refusal{Reason: "this pull request is already merged."}, nil
	case pr.State != "open":
		return &refusal{Reason: "this pull request is closed."}, nil
	case pr.Draft:
		return &refusal{Reason: "this pull request is a draft; mark it ready for review first."}, nil
	case in.WantHead != "" && in.WantHead != pr.HeadSHA:
		return &refusal{Reason: fmt.Sprintf("this check run is for %s but head is %s; apply from the check run of the head, or run /plan.", short(in.WantHead), short(pr.HeadSHA))}, nil
	case len(in.Plans) == 0:
		return &refusal{Reason: noPlanReason(pr, in.Locks)}, nil
	}
	selected, err := selectPlans(in.Plans, in.OnlyName, in.OnlyDir)
	if err != nil {
		return &refusal{Reason: planbot.ErrorMessage(err)}, nil
	}
	for _, p := range selected {
		if r := statusGate(p, pr.HeadSHA); r != nil {
			return r, nil
		}
	}
	// An apply that was cut short is never run again, and a saved plan made
	// before such an apply is not applied.
	if pending := pendingApplies(in.History, pr.HeadSHA, selected); len(pending) > 0 {
		return &refusal{Interrupted: pending}, nil
	}
	for _, p := range selected {
		if replanNeeded(in.History, pr.HeadSHA, p.Project) {
			return &refusal{Project: p.Project, Reason: fmt.Sprintf("an earlier apply of `%s` at %s was interrupted and its plan was made before that; check the state, then run /plan and /apply again.", p.Project, short(pr.HeadSHA))}, nil
		}
	}
	return nil, selected
}

// statusGate refuses a plan that did not succeed at head.
func statusGate(p store.Plan, head string) *refusal {
	unplanned := &refusal{Project: p.Project, Reason: fmt.Sprintf("`%s` has no successful plan for %s (it %s); fix it and run /plan.", p.Project, short(head), p.Status)}
	switch planbot.Status(p.Status) {
	case planbot.StatusPlanned, planbot.StatusNoChange, planbot.StatusApplied:
		return nil
	case planbot.StatusDeleted:
		if p.Kind != string(planbot.KindKustomize) {
			return unplanned
		}
		return nil
	case planbot.StatusLocked:
		return &refusal{Project: p.Project, Reason: fmt.Sprintf("`%s` is locked by another pull request; run /plan once it is free.", p.Project)}
	}
	return unplanned
}

// noPlanReason tells why the head has no plan: the PR's locks name an
// older head when one was planned.
func noPlanReason(pr planbot.PullRequest, locks []store.Lock) string {
	for _, l := range locks {
		if l.PR == pr.Number && l.HeadSHA != "" && l.HeadSHA != pr.HeadSHA {
			return fmt.Sprintf("plan is for %s but head is %s, run /plan.", short(l.HeadSHA), short(pr.HeadSHA))
		}
	}
	return fmt.Sprintf("there is no plan for head %s, run /plan.", short(pr.HeadSHA))
}

func selectPlans(plans []store.Plan, name, dir string) ([]store.Plan, error) {
	var ps []planbot.Project
	for _, p := range plans {
		ps = append(ps, planbot.Project{Name: p.Project, Dir: p.Dir})
	}
	keep, err := filterProjects(ps, name, dir)
	if err != nil {
		return nil, err
	}
	var out []store.Plan
	for _, p := range plans {
		for _, k := range keep {
			if k.Name == p.Project {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// pendingApplies returns the apply intents without an outcome (see
// audit.PendingApplies) of the selected projects at head.
func pendingApplies(history []audit.Entry, head string, selected []store.Plan) []audit.Entry {
	var out []audit.Entry
	for _, e := range audit.PendingApplies(history) {
		for _, p := range selected {
			if e.HeadSHA == head && e.Project == p.Project {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// replanNeeded reports whether project's newest plan at head was made
// before its newest interrupted apply there: that plan was made against a
// state the interrupted apply may have changed. Audit entries are ordered
// by seq, so no clocks are compared.
func replanNeeded(history []audit.Entry, head, project string) bool {
	var interrupted, planned int64
	for _, e := range history {
		if e.HeadSHA != head || e.Project != project {
			continue
		}
		switch e.Action {
		case audit.ActionApplyInterrupted:
			interrupted = e.Seq
		case audit.ActionPlan:
			planned = e.Seq
		}
	}
	return interrupted > planned
}
