package codeowners

import (
	"fmt"
	"slices"
	"strings"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
)

// Input is what the approval rule is evaluated on.
type Input struct {
	Repo   planbot.Repo
	Number int
	// Author is the pull request author; their own reviews never count.
	Author string
	// HeadSHA is the commit that would be applied. Only approvals of this
	// exact commit count.
	HeadSHA string
	// Paths are the changed paths of the project, including the previous
	// path of renamed files (see Paths).
	Paths []string
	// Reviews are the pull request's reviews in chronological order. Check
	// fills them in from GitHub.
	Reviews []planbot.Review
	// MinApprovals is the number of approvals from users with write access
	// that a project none of whose files has a code owner needs. Zero means
	// one.
	MinApprovals int
}

// Paths returns the paths a set of changed files touches: each file's path
// and, for renames, its previous path, without duplicates.
func Paths(files []planbot.ChangedFile) []string {
	var out []string
	for _, f := range files {
		for _, p := range []string{f.Path, f.PreviousPath} {
			if p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Facts are what GitHub says about the reviewers: their permission on the
// repository and their team memberships. Logins and team slugs are keys in
// lower case.
type Facts struct {
	// Permission maps a login to "admin", "write", "read" or "none". A
	// missing login has no permission.
	Permission map[string]string
	// Members maps "org/team" to the logins known to be active members.
	Members map[string][]string
}

func (f Facts) canWrite(login string) bool {
	switch f.Permission[strings.ToLower(login)] {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

func (f Facts) isMember(team, login string) bool {
	return slices.Contains(f.Members[strings.ToLower(team)], strings.ToLower(login))
}

// Requirement is an owning rule (or, for a project without code owners,
// the write-access rule) that the current approvals do not satisfy.
type Requirement struct {
	// Rule is the CODEOWNERS rule as File.RuleRef formats it, "" for the
	// write-access rule of a project without code owners.
	Rule string
	// Line is the rule's line number, 0 for the write-access rule.
	Line int
	// Files are the project's paths the rule owns.
	Files []string
	// Owners are the owners, as written, whose approval would satisfy the
	// rule.
	Owners []string
	// Unresolvable are the owners planbot cannot map to a GitHub login
	// (email addresses).
	Unresolvable []string
	// Reason says in one sentence what is missing.
	Reason string
	// Notes explain reviews that were not counted, such as an approval of
	// an older commit.
	Notes []string
}

// Block is a reviewer whose latest review requests changes.
type Block struct {
	Login string
	// Rule is the CODEOWNERS rule that makes the reviewer an owner of one
	// of the project's files, or "write access" when the reviewer is not an
	// owner but may write to the repository.
	Rule string
}

// Decision is the outcome of evaluating the approval rule.
type Decision struct {
	// Approved reports whether the project may be applied.
	Approved bool
	// Missing lists the unsatisfied requirements.
	Missing []Requirement
	// Blocking lists the reviewers whose requested changes block.
	Blocking []Block
	// Approvers lists each approval that counted with the rule it
	// satisfied.
	Approvers []audit.Approver
	// Unowned reports whether none of the project's files has a code
	// owner, so that any approval from a user with write access counts.
	Unowned bool
	// Error is set when the approval rule could not be evaluated at all.
	Error string
}

// Reason returns a short, human-readable explanation of why the decision is
// not approved, "" when it is.
func (d Decision) Reason() string {
	if d.Approved {
		return ""
	}
	var lines []string
	if d.Error != "" {
		lines = append(lines, d.Error)
	}
	for _, b := range d.Blocking {
		lines = append(lines, fmt.Sprintf("@%s requested changes (%s)", b.Login, b.Rule))
	}
	for _, m := range d.Missing {
		if len(m.Notes) > 0 {
			lines = append(lines, m.Reason+" ("+strings.Join(m.Notes, "; ")+")")
			continue
		}
		lines = append(lines, m.Reason)
	}
	return strings.Join(lines, "\n")
}

// writeAccessRule is the Approver.Rule of approvals counted for a project
// without code owners.
const writeAccessRule = "write access (no code owners)"

// review is a reviewer's effective review.
type review struct {
	login    string // as GitHub spells it
	state    string
	commitID string
}

// effectiveReviews returns each reviewer's effective review in order of
// first appearance: their last APPROVED, CHANGES_REQUESTED or DISMISSED
// review (COMMENTED and PENDING reviews change nothing). The author and
// reviews without a user are left out.
func effectiveReviews(reviews []planbot.Review, author string) []review {
	var out []review
	index := map[string]int{}
	for _, r := range reviews {
		if r.User == "" || strings.EqualFold(r.User, author) {
			continue
		}
		state := strings.ToUpper(r.State)
		switch state {
		case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
		default:
			continue
		}
		key := strings.ToLower(r.User)
		rv := review{login: r.User, state: state, commitID: r.CommitID}
		if i, ok := index[key]; ok {
			out[i] = rv
			continue
		}
		index[key] = len(out)
		out = append(out, rv)
	}
	return out
}

// owningRule is a rule with owners that wins for some of the project's
// paths.
type owningRule struct {
	rule  Rule
	files []string
}

// owningRules groups paths by their winning rule, keeping only rules with
// owners, ordered by line.
func owningRules(f *File, paths []string) []owningRule {
	var out []owningRule
	if f == nil {
		return nil
	}
	for _, p := range paths {
		r, ok := f.Match(p)
		if !ok || len(r.Owners) == 0 {
			continue
		}
		i := slices.IndexFunc(out, func(o owningRule) bool { return o.rule.Line == r.Line })
		if i < 0 {
			out = append(out, owningRule{rule: r})
			i = len(out) - 1
		}
		if !slices.Contains(out[i].files, p) {
			out[i].files = append(out[i].files, p)
		}
	}
	slices.SortFunc(out, func(a, b owningRule) int { return a.rule.Line - b.rule.Line })
	return out
}

// isOwner reports whether login is one of r's owners: a listed user or an
// active member of a listed team. Email owners never match.
func isOwner(r Rule, login string, facts Facts) bool {
	for _, o := range r.Owners {
		switch ownerKind(o) {
		case kindUser:
			if strings.EqualFold(o[1:], login) {
				return true
			}
		case kindTeam:
			if facts.isMember(o[1:], login) {
				return true
			}
		}
	}
	return false
}

// Evaluate decides whether the project whose changed paths are in.Paths may
// be applied. f may be nil or empty when the base branch has no CODEOWNERS.
// The rule, stricter than GitHub's:
//
//   - every path whose winning rule has owners needs an approval from one
//     of those owners (a listed user or an active member of a listed team);
//     one approval can satisfy several rules;
//   - an approval counts only if it is the reviewer's latest review that is
//     not COMMENTED or PENDING, it is not DISMISSED, it was given on
//     in.HeadSHA, the reviewer is not the author, and the reviewer has
//     write, maintain or admin permission;
//   - a reviewer whose latest such review is CHANGES_REQUESTED blocks when
//     they own one of the project's files or have write access;
//   - a winning rule whose owners are all email addresses cannot be
//     checked and refuses, as a configuration error;
//   - when no path has an owner, in.MinApprovals (default one) counting
//     approvals from users with write access are needed.
func Evaluate(f *File, in Input, facts Facts) Decision {
	var d Decision
	if in.HeadSHA == "" {
		d.Error = "the head commit of the pull request is unknown"
		return d
	}
	reviews := effectiveReviews(in.Reviews, in.Author)
	counting := countingApprovals(reviews, in.HeadSHA, facts)
	rules := owningRules(f, in.Paths)
	d.Unowned = len(rules) == 0
	for _, o := range rules {
		approvers, missing := checkRule(f, o, reviews, counting, in.HeadSHA, facts)
		d.Approvers = append(d.Approvers, approvers...)
		if missing != nil {
			d.Missing = append(d.Missing, *missing)
		}
	}
	if d.Unowned {
		approvers, missing := checkUnowned(in, reviews, counting, facts)
		d.Approvers = append(d.Approvers, approvers...)
		if missing != nil {
			d.Missing = append(d.Missing, *missing)
		}
	}
	d.Blocking = blockers(f, rules, reviews, facts)
	d.Approved = len(d.Missing) == 0 && len(d.Blocking) == 0
	return d
}

// countingApprovals returns the approvals that count: given on head by
// users with write access.
func countingApprovals(reviews []review, head string, facts Facts) []review {
	var counting []review
	for _, r := range reviews {
		if r.state == "APPROVED" && r.commitID == head && facts.canWrite(r.login) {
			counting = append(counting, r)
		}
	}
	return counting
}

// checkRule returns the approvers that satisfy the owning rule o, or the
// requirement it leaves unmet.
func checkRule(f *File, o owningRule, reviews, counting []review, head string, facts Facts) ([]audit.Approver, *Requirement) {
	ref := f.RuleRef(o.rule)
	var owners, emails []string
	for _, w := range o.rule.Owners {
		if ownerKind(w) == kindEmail {
			emails = append(emails, w)
		} else {
			owners = append(owners, w)
		}
	}
	req := Requirement{Rule: ref, Line: o.rule.Line, Files: o.files, Owners: owners, Unresolvable: emails}
	if len(owners) == 0 {
		req.Reason = fmt.Sprintf("%s: every owner is an email address, which planbot cannot match to a GitHub user; use @user or @org/team owners", ref)
		return nil, &req
	}
	var approvers []audit.Approver
	for _, r := range counting {
		if isOwner(o.rule, r.login, facts) {
			approvers = append(approvers, audit.Approver{Login: r.login, Rule: ref})
		}
	}
	if len(approvers) > 0 {
		return approvers, nil
	}
	req.Notes = approvalNotes(reviews, head, facts, func(login string) bool { return isOwner(o.rule, login, facts) })
	req.Reason = fmt.Sprintf("%s needs an approval of %s from one of %s (owners by %s)",
		strings.Join(o.files, ", "), short(head), strings.Join(owners, ", "), ref)
	return nil, &req
}

// checkUnowned returns the approvers of a project none of whose changed
// files has an owner, and the requirement it leaves unmet when they are
// fewer than in.MinApprovals.
func checkUnowned(in Input, reviews, counting []review, facts Facts) ([]audit.Approver, *Requirement) {
	min := in.MinApprovals
	if min <= 0 {
		min = 1
	}
	var approvers []audit.Approver
	for _, r := range counting {
		approvers = append(approvers, audit.Approver{Login: r.login, Rule: writeAccessRule})
	}
	if len(counting) >= min {
		return approvers, nil
	}
	return approvers, &Requirement{
		Files:  slices.Clone(in.Paths),
		Reason: fmt.Sprintf("no changed file of this project has a code owner, so it needs %d approval(s) of %s from users with write access; it has %d", min, short(in.HeadSHA), len(counting)),
		Notes:  approvalNotes(reviews, in.HeadSHA, facts, func(string) bool { return true }),
	}
}

// approvalNotes explains why the approvals of the reviewers that concern
// says matter do not count: they are of an older commit than head, or
// their author has no write access.
func approvalNotes(reviews []review, head string, facts Facts, concern func(login string) bool) []string {
	var notes []string
	for _, r := range reviews {
		if !concern(r.login) {
			continue
		}
		switch {
		case r.state != "APPROVED":
		case r.commitID != head:
			notes = append(notes, fmt.Sprintf("@%s approved an older commit %s", r.login, short(r.commitID)))
		case !facts.canWrite(r.login):
			notes = append(notes, fmt.Sprintf("@%s approved but has no write access", r.login))
		}
	}
	return notes
}

// blockers returns the reviewers whose latest review requests changes and
// who own one of the project's files or have write access.
func blockers(f *File, rules []owningRule, reviews []review, facts Facts) []Block {
	var blocks []Block
	for _, r := range reviews {
		if r.state != "CHANGES_REQUESTED" {
			continue
		}
		i := slices.IndexFunc(rules, func(o owningRule) bool { return isOwner(o.rule, r.login, facts) })
		switch {
		case i >= 0:
			blocks = append(blocks, Block{Login: r.login, Rule: f.RuleRef(rules[i].rule)})
		case facts.canWrite(r.login):
			blocks = append(blocks, Block{Login: r.login, Rule: "write access"})
		}
	}
	return blocks
}

// short abbreviates a commit SHA.
func short(sha string) string {
	if sha == "" {
		return "(unknown commit)"
	}
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
