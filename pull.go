package planbot

import "time"

// PullRequest is the part of a GitHub pull request that planbot acts on.
// It is always read fresh from the REST API before a gate is evaluated.
type PullRequest struct {
	Repo   Repo
	Number int
	Title  string
	// Body is the pull request's description.
	Body   string
	Author string
	// State is "open" or "closed".
	State  string
	Draft  bool
	Merged bool
	// Mergeable is nil while GitHub is still computing it.
	Mergeable *bool
	HeadSHA   string
	HeadRef   string
	// HeadRepo is the full name of the head repository, "" when it was
	// deleted. A PR is from a fork when HeadRepoID differs from BaseRepoID.
	HeadRepo     string
	HeadRepoID   int64
	BaseSHA      string
	BaseRef      string
	BaseRepoID   int64
	CloneURL     string
	HTMLURL      string
	ChangedFiles int
}

// IsFork reports whether the PR's head lives in another repository.
func (p PullRequest) IsFork() bool {
	return p.HeadRepoID == 0 || p.HeadRepoID != p.BaseRepoID
}

// ChangedFile is one entry of a PR's file list.
type ChangedFile struct {
	Path string
	// PreviousPath is set for renames.
	PreviousPath string
	// Status is GitHub's: added, removed, modified, renamed, ...
	Status string
}

// Comment is an issue (PR conversation) comment.
type Comment struct {
	ID     int64
	NodeID string
	User   string
	Body   string
}

// Review is a pull request review as the REST API lists it.
type Review struct {
	ID   int64
	User string
	// State is upper case: APPROVED, CHANGES_REQUESTED, COMMENTED,
	// DISMISSED or PENDING.
	State       string
	CommitID    string
	SubmittedAt time.Time
}
