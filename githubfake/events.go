package githubfake

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Event is a webhook GitHub would send: its X-GitHub-Event and payload.
type Event struct {
	Name    string
	Payload []byte
}

// Events returns the webhooks GitHub would have sent so far for what the
// App wrote (refs, pull requests, merges), oldest first, without
// forgetting them. The fake never delivers webhooks by itself: tests send
// these with Deliver.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// TakeEvents returns the webhooks of Events and forgets them.
func (s *Server) TakeEvents() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.events
	s.events = nil
	return ev
}

// emit records a webhook GitHub would send. The caller holds mu.
func (s *Server) emit(name string, payload []byte) {
	s.events = append(s.events, Event{Name: name, Payload: payload})
}

// emitPull records a pull_request webhook of action, sent by sender. The
// caller holds mu.
func (s *Server) emitPull(action string, rp *repo, pr *pull, sender string) {
	var m map[string]any
	if err := json.Unmarshal(s.pullRequestEvent(action, rp, pr), &m); err != nil {
		s.t.Errorf("githubfake: %v", err)
		return
	}
	m["sender"] = s.userJSON(sender)
	s.emit("pull_request", s.marshal(m))
}

// pushed records what GitHub sends when the App moved ref of rp from
// before ("" when created) to after: push, and for a branch, pull_request
// synchronize for each open pull request whose head it is. The caller
// holds mu.
func (s *Server) pushed(rp *repo, ref, before, after string, forced bool) {
	s.emit("push", s.pushPayload(rp, ref, before, after, s.BotLogin(), forced))
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return
	}
	moved := map[*pull]string{}
	for _, base := range s.repos {
		for _, pr := range base.pulls {
			if pr.headRepo == rp && pr.headRef == branch && pr.state == "open" {
				moved[pr] = pr.headSHA
			}
		}
	}
	s.syncPulls(rp, branch)
	for _, base := range s.repos {
		for _, n := range sortedPulls(base) {
			pr := base.pulls[n]
			if old, ok := moved[pr]; ok && old != pr.headSHA {
				s.emitPull("synchronize", base, pr, s.BotLogin())
			}
		}
	}
}

// mergedEvents records what GitHub sends when the App merged pr and moved
// its base branch from base: pull_request closed (merged) and push. The
// caller holds mu.
func (s *Server) mergedEvents(rp *repo, pr *pull, base string) {
	s.emitPull("closed", rp, pr, pr.mergedBy)
	s.emit("push", s.pushPayload(rp, "refs/heads/"+pr.baseRef, base, pr.mergeCommitSHA, pr.mergedBy, false))
}

// commitJSON returns the head_commit object of a push payload for the
// commit sha, or nil. The caller holds mu.
func (s *Server) commitJSON(rp *repo, sha string) map[string]any {
	out, err := s.git(s.t.Context(), rp.dir, nil, nil, "log", "-1", "--format=%H%x00%T%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%B", sha)
	if err != nil {
		return nil
	}
	f := strings.SplitN(out, "\x00", 8)
	if len(f) < 8 {
		return nil
	}
	return map[string]any{
		"id": f[0], "tree_id": f[1], "distinct": true, "message": strings.TrimRight(f[7], "\n"), "timestamp": f[4],
		"url":       s.srv.URL + "/" + rp.fullName() + "/commit/" + f[0],
		"author":    map[string]any{"name": f[2], "email": f[3]},
		"committer": map[string]any{"name": f[5], "email": f[6]},
		"added":     []any{}, "removed": []any{}, "modified": []any{},
	}
}

// pushPayload returns a push payload: ref moved from before ("" or zeros
// when created) to after, by pusher. For a tag, after is what the ref
// points at (the tag object of an annotated tag) and commits is empty;
// head_commit is the commit either way. The caller holds mu.
func (s *Server) pushPayload(rp *repo, ref, before, after, pusher string, forced bool) []byte {
	zero := strings.Repeat("0", 40)
	if before == "" {
		before = zero
	}
	head := s.commitJSON(rp, after+"^{commit}")
	commits := []any{}
	if head != nil && strings.HasPrefix(ref, "refs/heads/") {
		commits = append(commits, head)
	}
	var headCommit any
	if head != nil {
		headCommit = head
	}
	m := map[string]any{
		"ref": ref, "before": before, "after": after,
		"created": before == zero, "deleted": false, "forced": forced, "base_ref": nil,
		"compare":     fmt.Sprintf("%s/%s/compare/%s...%s", s.srv.URL, rp.fullName(), before[:12], after[:12]),
		"commits":     commits,
		"head_commit": headCommit,
		"pusher":      map[string]any{"name": pusher, "email": pusher + "@users.noreply.github.com"},
	}
	s.common(m, rp, pusher)
	return s.marshal(m)
}

// CreateTag creates the tag name on the commit ref (sha or branch) of a
// repository, as a person pushing it would, and returns what the tag ref
// points at: the commit for a lightweight tag, the tag object for an
// annotated one (tagged by tagger).
func (s *Server) CreateTag(fullName, name, ref string, annotated bool, tagger string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	sha := s.resolveRef(rp, ref)
	if sha == "" {
		s.t.Fatalf("githubfake: no commit %q in %s", ref, fullName)
	}
	if !annotated {
		s.mustGit(rp.dir, nil, nil, "update-ref", "refs/tags/"+name, sha, strings.Repeat("0", 40))
		return sha
	}
	env := []string{"GIT_COMMITTER_NAME=" + tagger, "GIT_COMMITTER_EMAIL=" + tagger + "@users.noreply.github.com", "GIT_COMMITTER_DATE=" + s.now().Format("2006-01-02T15:04:05Z")}
	s.mustGit(rp.dir, nil, env, "tag", "-a", "-m", "release "+name, name, sha)
	return s.mustGit(rp.dir, nil, nil, "rev-parse", "refs/tags/"+name)
}

// TagPushEvent returns the push payload of the creation of the tag name,
// pushed by pusher: ref refs/tags/<name>, before all zeros, after what
// the tag ref points at, created true, no commits.
func (s *Server) TagPushEvent(fullName, name, pusher string) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	after := s.mustGit(rp.dir, nil, nil, "rev-parse", "refs/tags/"+name)
	return s.pushPayload(rp, "refs/tags/"+name, "", after, pusher, false)
}
