package planbot

// Repository is a repository the App is installed on, as GitHub lists it.
type Repository struct {
	Repo Repo
	// Installation is the App installation that reaches it.
	Installation int64
	// CloneURL is the HTTPS clone URL, without credentials.
	CloneURL      string
	DefaultBranch string
}

// Issue is a GitHub issue (never a pull request).
type Issue struct {
	Number int
	Title  string
	Body   string
	// State is "open" or "closed".
	State string
	// ClosedBy is the login that closed it last, "" when it never was.
	ClosedBy string
	Labels   []string
	HTMLURL  string
}

// IssueEdit changes an issue; empty fields are left as they are.
type IssueEdit struct {
	Body string
	// State is "open" or "closed".
	State string
	// StateReason is completed, not_planned or reopened.
	StateReason string
}
