package codeowners

import (
	"context"
	"fmt"
	"strings"

	"github.com/planbot/planbot"
)

// FileGetter is what Load needs from GitHub.
type FileGetter interface {
	// GetFile returns the content of path at ref, or an error with code
	// planbot.ENOTFOUND when there is no such file.
	GetFile(ctx context.Context, repo planbot.Repo, path, ref string) ([]byte, error)
}

// GitHub is what Load and Check need from GitHub.
type GitHub interface {
	// GetFile returns the content of path at ref, or an error with code
	// planbot.ENOTFOUND when there is no such file.
	GetFile(ctx context.Context, repo planbot.Repo, path, ref string) ([]byte, error)
	// ListReviews returns all reviews of a pull request in chronological
	// order.
	ListReviews(ctx context.Context, repo planbot.Repo, number int) ([]planbot.Review, error)
	// IsTeamMember reports whether user is an active member of org/team.
	IsTeamMember(ctx context.Context, org, team, user string) (bool, error)
	// Permission returns user's legacy permission on repo: "admin",
	// "write", "read" or "none".
	Permission(ctx context.Context, repo planbot.Repo, user string) (string, error)
}

// Load reads the CODEOWNERS file that governs a pull request from its base
// commit, trying the locations in the order of Locations. When there is
// none it returns an empty File with Path "". A file of MaxSize or more is
// an error.
func Load(ctx context.Context, gh FileGetter, repo planbot.Repo, baseSHA string) (*File, error) {
	if baseSHA == "" {
		return nil, planbot.Errorf(planbot.EINVALID, "cannot read CODEOWNERS: the base commit is unknown")
	}
	for _, p := range Locations() {
		data, err := gh.GetFile(ctx, repo, p, baseSHA)
		if planbot.ErrorCode(err) == planbot.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s at %s: %w", p, baseSHA, err)
		}
		return Parse(p, data)
	}
	return &File{}, nil
}

// Check lists the pull request's reviews, asks GitHub about the reviewers'
// permissions and the team memberships that matter, and evaluates the
// approval rule (see Evaluate). Each permission and membership is looked up
// at most once. Any lookup failure other than "not found" is returned as an
// error, so that the caller refuses to apply.
func Check(ctx context.Context, gh GitHub, f *File, in Input) (Decision, error) {
	reviews, err := gh.ListReviews(ctx, in.Repo, in.Number)
	if err != nil {
		return Decision{}, fmt.Errorf("list reviews of %s#%d: %w", in.Repo, in.Number, err)
	}
	in.Reviews = reviews

	facts := Facts{Permission: map[string]string{}, Members: map[string][]string{}}
	var teams []string
	for _, o := range owningRules(f, in.Paths) {
		for _, w := range o.rule.Owners {
			if ownerKind(w) == kindTeam && !containsFold(teams, w[1:]) {
				teams = append(teams, w[1:])
			}
		}
	}
	for _, r := range effectiveReviews(reviews, in.Author) {
		if r.state == "DISMISSED" {
			continue
		}
		login := strings.ToLower(r.login)
		if _, done := facts.Permission[login]; done {
			continue
		}
		perm, err := gh.Permission(ctx, in.Repo, r.login)
		switch {
		case planbot.ErrorCode(err) == planbot.ENOTFOUND:
			perm = "none"
		case err != nil:
			return Decision{}, fmt.Errorf("permission of %s on %s: %w", r.login, in.Repo, err)
		}
		facts.Permission[login] = strings.ToLower(perm)
		for _, t := range teams {
			org, slug, _ := strings.Cut(t, "/")
			ok, err := gh.IsTeamMember(ctx, org, slug, r.login)
			switch {
			case planbot.ErrorCode(err) == planbot.ENOTFOUND:
				ok = false
			case err != nil:
				return Decision{}, fmt.Errorf("membership of %s in %s: %w", r.login, t, err)
			}
			if ok {
				key := strings.ToLower(t)
				facts.Members[key] = append(facts.Members[key], login)
			}
		}
	}
	return Evaluate(f, in, facts), nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
