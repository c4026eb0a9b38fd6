package web

import (
	"strings"

	"github.com/planbot/planbot"
)

// Links names the page's addresses under its external URL, for the plan
// comment and the commit statuses.
type Links struct {
	// Base is the external URL, such as "https://planbot.example.com".
	Base string
}

// PullURL is the address of a pull request's page.
func (l Links) PullURL(repo planbot.Repo, pr int) string {
	return strings.TrimRight(l.Base, "/") + pullPath(repo.String(), pr)
}

// RunURL is the address of a run's live log.
func (l Links) RunURL(repo planbot.Repo, pr int, run string) string {
	return strings.TrimRight(l.Base, "/") + runPath(repo.String(), pr, run)
}
