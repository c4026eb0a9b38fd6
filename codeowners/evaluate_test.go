package codeowners

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
)

const (
	head = "2222222222222222222222222222222222222222"
	old  = "1111111111111111111111111111111111111111"
)

// testOwners is the CODEOWNERS file the evaluation tests use.
const testOwners = `# planbot test owners
* @acme/platform
/envs/prod/ @alice
/modules/ @acme/platform @bob
/docs/
/legacy/ legacy@example.com
/shared/ @Alice ops@example.com
`

// Rule references of testOwners.
const (
	ruleAll     = ".github/CODEOWNERS:2 * @acme/platform"
	ruleProd    = ".github/CODEOWNERS:3 /envs/prod/ @alice"
	ruleModules = ".github/CODEOWNERS:4 /modules/ @acme/platform @bob"
	ruleLegacy  = ".github/CODEOWNERS:6 /legacy/ legacy@example.com"
)

// testFacts: mallory is the author. carol and dave are in the platform
// team, dave with read access only; eve may write but owns nothing; frank
// may only read.
var testFacts = Facts{
	Permission: map[string]string{
		"alice": "write", "bob": "admin", "carol": "write", "dave": "read",
		"eve": "maintain", "frank": "read", "mallory": "write",
	},
	Members: map[string][]string{"acme/platform": {"carol", "dave", "mallory"}},
}

func rv(user, state, sha string) planbot.Review {
	return planbot.Review{User: user, State: state, CommitID: sha}
}

// approved is the decision that approvers approve.
func approved(approvers ...audit.Approver) Decision {
	return Decision{Approved: true, Approvers: approvers}
}

// by is login's approval through rule.
func by(login, rule string) audit.Approver {
	return audit.Approver{Login: login, Rule: rule}
}

// checkDecision compares a decision with the wanted one, whose
// requirements need not spell out their reasons.
func checkDecision(t *testing.T, got, want Decision) {
	t.Helper()
	opts := cmp.Options{cmpopts.IgnoreFields(Requirement{}, "Reason"), cmpopts.EquateEmpty()}
	if diff := cmp.Diff(got, want, opts); diff != "" {
		t.Errorf("decision mismatch (-got +want):\n%s", diff)
	}
}

func TestEvaluate(t *testing.T) {
	f, err := Parse(".github/CODEOWNERS", []byte(testOwners))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    *File // defaults to testOwners
		paths   []string
		reviews []planbot.Review
		min     int
		headSHA string // defaults to head
		want    Decision
	}{
		{
			name:  "no approval is refused",
			paths: []string{"envs/dev/main.tf"},
			want: Decision{Missing: []Requirement{{
				Rule: ruleAll, Line: 2, Files: []string{"envs/dev/main.tf"}, Owners: []string{"@acme/platform"},
			}}},
		},
		{
			name:    "team member approval is enough",
			paths:   []string{"envs/dev/main.tf", "envs/dev/vars.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head)},
			want:    approved(by("carol", ruleAll)),
		},
		{
			name:    "prod approved only by platform is refused naming alice",
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleProd, Line: 3, Files: []string{"envs/prod/main.tf"}, Owners: []string{"@alice"},
			}}},
		},
		{
			name:    "prod approved by alice",
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("alice", "APPROVED", head)},
			want:    approved(by("alice", ruleProd)),
		},
		{
			name:    "owner logins compare case-insensitively",
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("ALICE", "approved", head)},
			want:    approved(by("ALICE", ruleProd)),
		},
		{
			name:    "approval of an older commit is refused",
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("alice", "APPROVED", old)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleProd, Line: 3, Files: []string{"envs/prod/main.tf"}, Owners: []string{"@alice"},
				Notes: []string{"@alice approved an older commit 1111111"},
			}}},
		},
		{
			name:    "approval without commit id is refused",
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("alice", "APPROVED", "")},
			want: Decision{Missing: []Requirement{{
				Rule: ruleProd, Line: 3, Files: []string{"envs/prod/main.tf"}, Owners: []string{"@alice"},
				Notes: []string{"@alice approved an older commit (unknown commit)"},
			}}},
		},
		{
			name:    "read-only team member does not count",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("dave", "APPROVED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleAll, Line: 2, Files: []string{"envs/dev/main.tf"}, Owners: []string{"@acme/platform"},
				Notes: []string{"@dave approved but has no write access"},
			}}},
		},
		{
			name:    "non-owner approval does not count",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("eve", "APPROVED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleAll, Line: 2, Files: []string{"envs/dev/main.tf"}, Owners: []string{"@acme/platform"},
			}}},
		},
		{
			name:    "changes requested by an owner blocks",
			paths:   []string{"envs/prod/main.tf", "envs/dev/main.tf"},
			reviews: []planbot.Review{rv("alice", "APPROVED", head), rv("carol", "CHANGES_REQUESTED", head)},
			want: Decision{
				Missing:   []Requirement{{Rule: ruleAll, Line: 2, Files: []string{"envs/dev/main.tf"}, Owners: []string{"@acme/platform"}}},
				Approvers: []audit.Approver{by("alice", ruleProd)},
				Blocking:  []Block{{Login: "carol", Rule: ruleAll}},
			},
		},
		{
			name:    "changes requested on an old commit still blocks",
			paths:   []string{"modules/vpc/main.tf"},
			reviews: []planbot.Review{rv("carol", "CHANGES_REQUESTED", old), rv("bob", "APPROVED", head)},
			want: Decision{
				Approvers: []audit.Approver{by("bob", ruleModules)},
				Blocking:  []Block{{Login: "carol", Rule: ruleModules}},
			},
		},
		{
			name:    "later approval lifts requested changes",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "CHANGES_REQUESTED", old), rv("carol", "APPROVED", head)},
			want:    approved(by("carol", ruleAll)),
		},
		{
			name:    "changes requested by a non-owner with write access blocks",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head), rv("eve", "CHANGES_REQUESTED", head)},
			want: Decision{
				Approvers: []audit.Approver{by("carol", ruleAll)},
				Blocking:  []Block{{Login: "eve", Rule: "write access"}},
			},
		},
		{
			name:    "changes requested by a read-only non-owner does not block",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head), rv("frank", "CHANGES_REQUESTED", head)},
			want:    approved(by("carol", ruleAll)),
		},
		{
			name:    "dismissed approval does not count",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "DISMISSED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleAll, Line: 2, Files: []string{"envs/dev/main.tf"}, Owners: []string{"@acme/platform"},
			}}},
		},
		{
			name:    "dismissed changes request no longer blocks",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("eve", "DISMISSED", head), rv("carol", "APPROVED", head)},
			want:    approved(by("carol", ruleAll)),
		},
		{
			name:    "comment after approval keeps the approval",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head), rv("carol", "COMMENTED", head), rv("carol", "PENDING", "")},
			want:    approved(by("carol", ruleAll)),
		},
		{
			name:    "approval of an old commit then comment on head is not current",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", old), rv("carol", "COMMENTED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleAll, Line: 2, Files: []string{"envs/dev/main.tf"}, Owners: []string{"@acme/platform"},
				Notes: []string{"@carol approved an older commit 1111111"},
			}}},
		},
		{
			name:    "author self-approval does not count",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("Mallory", "APPROVED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleAll, Line: 2, Files: []string{"envs/dev/main.tf"}, Owners: []string{"@acme/platform"},
			}}},
		},
		{
			name:    "one approval satisfies several rules",
			paths:   []string{"modules/vpc/main.tf", "envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head)},
			want:    approved(by("carol", ruleAll), by("carol", ruleModules)),
		},
		{
			name:    "renamed out of prod needs alice",
			paths:   Paths([]planbot.ChangedFile{{Path: "envs/staging/main.tf", PreviousPath: "envs/prod/main.tf", Status: "renamed"}}),
			reviews: []planbot.Review{rv("carol", "APPROVED", head)},
			want: Decision{
				Missing:   []Requirement{{Rule: ruleProd, Line: 3, Files: []string{"envs/prod/main.tf"}, Owners: []string{"@alice"}}},
				Approvers: []audit.Approver{by("carol", ruleAll)},
			},
		},
		{
			name:    "unowned files impose nothing next to owned ones",
			paths:   []string{"docs/README.md", "envs/prod/main.tf"},
			reviews: []planbot.Review{rv("alice", "APPROVED", head)},
			want:    approved(by("alice", ruleProd)),
		},
		{
			name:  "unowned project needs one write approval",
			paths: []string{"docs/README.md"},
			want: Decision{Unowned: true, Missing: []Requirement{{
				Files: []string{"docs/README.md"},
			}}},
		},
		{
			name:    "unowned project approved by any writer",
			paths:   []string{"docs/README.md"},
			reviews: []planbot.Review{rv("eve", "APPROVED", head)},
			want:    Decision{Approved: true, Unowned: true, Approvers: []audit.Approver{by("eve", writeAccessRule)}},
		},
		{
			name:    "unowned project ignores author and readers",
			paths:   []string{"docs/README.md"},
			reviews: []planbot.Review{rv("mallory", "APPROVED", head), rv("frank", "APPROVED", head)},
			want: Decision{Unowned: true, Missing: []Requirement{{
				Files: []string{"docs/README.md"},
				Notes: []string{"@frank approved but has no write access"},
			}}},
		},
		{
			name:    "unowned project with a higher minimum",
			paths:   []string{"docs/README.md"},
			reviews: []planbot.Review{rv("eve", "APPROVED", head)},
			min:     2,
			want: Decision{Unowned: true, Approvers: []audit.Approver{by("eve", writeAccessRule)}, Missing: []Requirement{{
				Files: []string{"docs/README.md"},
			}}},
		},
		{
			name:    "unowned project blocked by changes requested",
			paths:   []string{"docs/README.md"},
			reviews: []planbot.Review{rv("eve", "APPROVED", head), rv("bob", "CHANGES_REQUESTED", head)},
			want: Decision{Unowned: true, Approvers: []audit.Approver{by("eve", writeAccessRule)},
				Blocking: []Block{{Login: "bob", Rule: "write access"}}},
		},
		{
			name:    "no CODEOWNERS file",
			file:    &File{},
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("eve", "APPROVED", head)},
			want:    Decision{Approved: true, Unowned: true, Approvers: []audit.Approver{by("eve", writeAccessRule)}},
		},
		{
			name:    "email-only owners fail closed",
			paths:   []string{"legacy/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head), rv("alice", "APPROVED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ruleLegacy, Line: 6, Files: []string{"legacy/main.tf"}, Unresolvable: []string{"legacy@example.com"},
			}}},
		},
		{
			name:    "email owners are reported next to resolvable ones",
			paths:   []string{"shared/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head)},
			want: Decision{Missing: []Requirement{{
				Rule: ".github/CODEOWNERS:7 /shared/ @Alice ops@example.com", Line: 7, Files: []string{"shared/main.tf"},
				Owners: []string{"@Alice"}, Unresolvable: []string{"ops@example.com"},
			}}},
		},
		{
			name:    "unknown head commit is refused",
			paths:   []string{"envs/dev/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", "")},
			headSHA: "-",
			want:    Decision{Error: "the head commit of the pull request is unknown"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := f
			if tt.file != nil {
				file = tt.file
			}
			sha := head
			if tt.headSHA == "-" {
				sha = ""
			}
			got := Evaluate(file, Input{
				Author: "mallory", HeadSHA: sha, Paths: tt.paths, Reviews: tt.reviews, MinApprovals: tt.min,
			}, testFacts)
			checkDecision(t, got, tt.want)
			if got.Approved != (got.Reason() == "") {
				t.Errorf("Approved = %v but Reason() = %q", got.Approved, got.Reason())
			}
		})
	}
}

func TestDecisionReason(t *testing.T) {
	f, err := Parse(".github/CODEOWNERS", []byte(testOwners))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		paths   []string
		reviews []planbot.Review
		want    []string
	}{
		{
			name:    "names the missing owner and the rule",
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("carol", "APPROVED", head), rv("bob", "CHANGES_REQUESTED", head)},
			want:    []string{"envs/prod/main.tf", "@alice", ruleProd, "2222222", "@bob requested changes (write access)"},
		},
		{
			name:    "explains why a review did not count",
			paths:   []string{"envs/prod/main.tf"},
			reviews: []planbot.Review{rv("alice", "APPROVED", old)},
			want:    []string{"@alice", "(@alice approved an older commit 1111111)"},
		},
		{
			name:  "explains the email configuration error",
			paths: []string{"legacy/x"},
			want:  []string{ruleLegacy, "email address"},
		},
		{
			name:  "explains the unowned rule",
			paths: []string{"docs/a.md"},
			want:  []string{"no changed file of this project has a code owner", "1 approval(s)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(f, Input{Author: "mallory", HeadSHA: head, Paths: tt.paths, Reviews: tt.reviews}, testFacts)
			reason := d.Reason()
			for _, w := range tt.want {
				if !strings.Contains(reason, w) {
					t.Errorf("Reason() = %q, missing %q", reason, w)
				}
			}
		})
	}
}

func TestPaths(t *testing.T) {
	got := Paths([]planbot.ChangedFile{
		{Path: "a/new.tf", PreviousPath: "a/old.tf", Status: "renamed"},
		{Path: "b.tf", Status: "modified"},
		{Path: "a/old.tf", Status: "added"},
	})
	if diff := cmp.Diff(got, []string{"a/new.tf", "a/old.tf", "b.tf"}); diff != "" {
		t.Errorf("Paths mismatch (-got +want):\n%s", diff)
	}
}
