package event

import (
	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
)

// PullRequest converts go-github's pull request, from a webhook payload
// or the REST API, to planbot's. An empty repo is taken from the base.
func PullRequest(repo planbot.Repo, pr *github.PullRequest) planbot.PullRequest {
	p := planbot.PullRequest{
		Repo:         repo,
		Number:       pr.GetNumber(),
		Title:        pr.GetTitle(),
		Body:         pr.GetBody(),
		Author:       pr.GetUser().GetLogin(),
		State:        pr.GetState(),
		Draft:        pr.GetDraft(),
		Merged:       pr.GetMerged(),
		Mergeable:    pr.Mergeable,
		HeadSHA:      pr.GetHead().GetSHA(),
		HeadRef:      pr.GetHead().GetRef(),
		BaseSHA:      pr.GetBase().GetSHA(),
		BaseRef:      pr.GetBase().GetRef(),
		BaseRepoID:   pr.GetBase().GetRepo().GetID(),
		CloneURL:     pr.GetBase().GetRepo().GetCloneURL(),
		HTMLURL:      pr.GetHTMLURL(),
		ChangedFiles: pr.GetChangedFiles(),
	}
	if hr := pr.GetHead().GetRepo(); hr != nil {
		p.HeadRepo = hr.GetFullName()
		p.HeadRepoID = hr.GetID()
	}
	if p.Repo == (planbot.Repo{}) {
		p.Repo = planbot.Repo{Owner: pr.GetBase().GetRepo().GetOwner().GetLogin(), Name: pr.GetBase().GetRepo().GetName()}
	}
	return p
}
