package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestPrerenderOnPush pushes to the default branch, which renders its
// Kustomize overlays into the render cache, and then plans a pull request
// based on it: the plan renders only the head of each overlay and finds its
// base in the cache.
func TestPrerenderOnPush(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())

	before := gh.Branch(testRepo, "main")
	gh.Commit(testRepo, "main", map[string]string{"k8s/base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  LOG_LEVEL: debug\n"}, nil, "debug logs")
	e.waitJob(e.deliver("push", gh.PushEvent(testRepo, "main", before, "alice"), http.StatusAccepted))
	// A push to another branch is not work.
	gh.Commit(testRepo, "scale-web", map[string]string{"k8s/base/deployment.yaml": deployment(5)}, nil, "scale web")
	e.deliver("push", gh.PushEvent(testRepo, "scale-web", "", "alice"), http.StatusAccepted)

	mark := len(e.logs.String())
	hits, misses := renders(e.logs.String())
	if hits != 0 || misses != 2 {
		t.Fatalf("the push rendered %d overlays (%d from the cache), want the 2 overlays of main", misses, hits)
	}

	pr := gh.OpenPR(testRepo, "scale-web", "main", "carol", "Scale web")
	e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, pr.HeadSHA, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success", got)
	}
	mustContain(t, planComment(t, gh, pr.Number).Body, "k8s/overlays/staging", "k8s/overlays/prod")
	hits, misses = renders(e.logs.String()[mark:])
	if hits != 2 || misses != 2 {
		t.Errorf("the plan rendered %d overlays and found %d in the cache, want 2 (the heads) and 2 (the bases)", misses, hits)
	}
}

// renders counts the Kustomize builds in a server log that found their
// result in the render cache and those that rendered.
func renders(log string) (hits, misses int) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="kustomize build"`) {
			continue
		}
		if strings.Contains(line, "cache_hit=true") {
			hits++
		} else {
			misses++
		}
	}
	return hits, misses
}
