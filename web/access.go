package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// accessTTL is how long what a user may see is cached: a change of their
// access on GitHub shows within this time.
const accessTTL = time.Minute

// errTokenRevoked is returned when GitHub no longer accepts the user's
// token: they log in again.
var errTokenRevoked = errors.New("the user token is no longer valid")

// repoAccess is a repository the user can read.
type repoAccess struct {
	FullName     string
	Installation int64
	// Write reports whether the user may push (write, maintain or admin).
	Write bool
}

// access is what a user may see: the repositories of the App's
// installations they can read, by lower-case full name.
type access map[string]repoAccess

// repo returns the user's access to a repository, and false when they
// cannot read it (or the App is not installed on it).
func (a access) repo(fullName string) (repoAccess, bool) {
	r, ok := a[strings.ToLower(fullName)]
	return r, ok
}

// sorted returns the repositories by name.
func (a access) sorted() []repoAccess {
	out := make([]repoAccess, 0, len(a))
	for _, r := range a {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName < out[j].FullName })
	return out
}

type cachedAccess struct {
	access access
	until  time.Time
}

// userClient returns a GitHub REST client that acts as the user.
func (h *Handler) userClient(token string) (*github.Client, error) {
	c := github.NewClient(h.Client).WithAuthToken(token)
	u, err := url.Parse(strings.TrimRight(h.APIURL, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("web: GitHub API URL: %w", err)
	}
	c.BaseURL = u
	return c, nil
}

// userLogin returns the login of the user a token belongs to.
func (h *Handler) userLogin(ctx context.Context, token string) (string, error) {
	c, err := h.userClient(token)
	if err != nil {
		return "", err
	}
	u, _, err := c.Users.Get(ctx, "")
	if err != nil {
		return "", err
	}
	return u.GetLogin(), nil
}

// accessOf returns what the session's user may see, from the cache when
// it is fresh, else from GitHub with their token: the App's
// installations they can access and, in each, the repositories they can
// read with their permissions. A user token never sees more than both
// the user and the App may.
func (h *Handler) accessOf(ctx context.Context, s session) (access, error) {
	h.mu.Lock()
	c, ok := h.access[s.ID]
	h.mu.Unlock()
	if ok && h.now().Before(c.until) {
		return c.access, nil
	}
	acc, err := h.fetchAccess(ctx, s.Token)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	for id, c := range h.access {
		if !now.Before(c.until) {
			delete(h.access, id)
		}
	}
	h.access[s.ID] = cachedAccess{access: acc, until: now.Add(accessTTL)}
	return acc, nil
}

// forget drops a session's cached access.
func (h *Handler) forget(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.access, id)
}

func (h *Handler) fetchAccess(ctx context.Context, token string) (access, error) {
	c, err := h.userClient(token)
	if err != nil {
		return nil, err
	}
	acc := access{}
	opt := &github.ListOptions{PerPage: 100}
	for {
		ins, resp, err := c.Apps.ListUserInstallations(ctx, opt)
		if err != nil {
			return nil, userError(resp, err)
		}
		for _, in := range ins {
			if err := addRepos(ctx, c, in.GetID(), acc); err != nil {
				return nil, err
			}
		}
		if resp.NextPage == 0 {
			return acc, nil
		}
		opt.Page = resp.NextPage
	}
}

// addRepos adds the repositories of one installation the user can read.
func addRepos(ctx context.Context, c *github.Client, installation int64, acc access) error {
	opt := &github.ListOptions{PerPage: 100}
	for {
		repos, resp, err := c.Apps.ListUserRepos(ctx, installation, opt)
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil // none of it is theirs
		}
		if err != nil {
			return userError(resp, err)
		}
		for _, r := range repos.Repositories {
			p := r.GetPermissions()
			if !p["pull"] && !p["push"] && !p["admin"] {
				continue
			}
			acc[strings.ToLower(r.GetFullName())] = repoAccess{
				FullName: r.GetFullName(), Installation: installation, Write: p["push"] || p["admin"] || p["maintain"],
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}

func userError(resp *github.Response, err error) error {
	if resp != nil && resp.StatusCode == http.StatusUnauthorized {
		return errTokenRevoked
	}
	return err
}
