package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/store"
)

const (
	testRepo   = "acme/infra"
	testSecret = "It's a Secret to Everybody"
)

// infraFiles is the fixture repository: two roots sharing a module, only
// terraform_data resources with local state.
func infraFiles() map[string]string {
	return map[string]string{
		".github/CODEOWNERS": "* @acme/platform\nenvs/prod/ @alice\nk8s/ @acme/sre @bob\n",
		"modules/app/main.tf": `variable "name" {
  type = string
}

resource "terraform_data" "app" {
  input = var.name
}
`,
		"envs/dev/main.tf":  rootTF("dev"),
		"envs/prod/main.tf": rootTF("prod"),
		"README.md":         "# infra\n",
		"k8s/base/kustomization.yaml": `resources:
  - deployment.yaml
  - service.yaml
  - configmap.yaml
secretGenerator:
  - name: db-creds
    literals:
      - password=` + secretLiteral + `
`,
		"k8s/base/deployment.yaml":                deployment(2),
		"k8s/base/service.yaml":                   "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - port: 80\n",
		"k8s/base/configmap.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  LOG_LEVEL: info\n",
		"k8s/overlays/staging/kustomization.yaml": "namespace: staging\nresources:\n  - ../../base\n",
		"k8s/overlays/prod/kustomization.yaml":    "namespace: prod\nresources:\n  - ../../base\n",
	}
}

// secretLiteral is the value of the fixture's generated Secret; it must
// never appear in anything planbot writes.
const secretLiteral = "hunter2-Xq9-literal"

func deployment(replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
          envFrom:
            - secretRef:
                name: db-creds
`, replicas)
}

func rootTF(name string) string {
	return fmt.Sprintf(`module "app" {
  source = "../../modules/app"
  name   = %q
}
`, name)
}

// testEnv is a running planbot server in this process, wired to a fake
// GitHub.
type testEnv struct {
	t    *testing.T
	logs *logtest.Buffer
	gh   *githubfake.Server
	url  string
	// metricsURL is the root /metrics is served under: the webhook
	// listener's, or --metrics-addr's.
	metricsURL string
	dataDir    string
	m          *Main
	cancel     context.CancelFunc
	done       chan error
}

// newFake returns a fake GitHub with the fixture repository installed and
// the usual people: alice and bob (write), the platform team, a read-only
// user.
func newFake(t *testing.T) *githubfake.Server {
	gh := githubfake.New(t)
	gh.CreateRepo(testRepo, infraFiles())
	gh.AddInstallation(1, testRepo)
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		gh.SetCollaborator(testRepo, u, "write")
	}
	gh.SetCollaborator(testRepo, "rita", "read")
	gh.AddTeamMember("acme", "platform", "dave")
	gh.AddTeamMember("acme", "platform", "erin")
	return gh
}

// serverArgs returns the flags of a server for gh with its data in dataDir,
// with a short job lease and drain timeout.
func serverArgs(t *testing.T, gh *githubfake.Server, dataDir string, extra ...string) []string {
	t.Helper()
	args := append(appArgs(t, gh, dataDir), "--job-lease=3s", "--drain-timeout=30s")
	return append(args, extra...)
}

// appArgs returns the flags a server for gh with its data in dataDir
// needs: a loopback address, the App and its webhook secret.
func appArgs(t testing.TB, gh *githubfake.Server, dataDir string) []string {
	t.Helper()
	return []string{
		"--addr=127.0.0.1:0",
		"--data-dir=" + dataDir,
		"--github-api-url=" + gh.APIURL(),
		fmt.Sprintf("--github-app-id=%d", gh.AppID()),
		"--github-app-key-file=" + gh.WritePrivateKey(),
		"--webhook-secret-file=" + writeSecret(t, "secret", testSecret+"\n"),
	}
}

// writeSecret writes content to a file called name, of mode 0600 as an
// operator keeps a secret, in a new temporary directory and returns its
// path.
func writeSecret(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// credentialsDir returns a --credentials-dir whose plan and apply sets
// give TF_VAR_token the values plan and apply.
func credentialsDir(t testing.TB, plan, apply string) string {
	t.Helper()
	dir := t.TempDir()
	for name, value := range map[string]string{"plan.env": plan, "apply.env": apply} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("TF_VAR_token="+value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startServer runs a planbot server in this process until the test ends.
func startServer(t *testing.T, gh *githubfake.Server, dataDir string, extra ...string) *testEnv {
	t.Helper()
	logger, logs := logtest.Capture(t)
	m := &Main{Options: serverOptions(t, serverArgs(t, gh, dataDir, extra...)), Logger: logger}
	if err := m.Listen(); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, logs: logs, gh: gh, url: "http://" + m.Addr() + "/webhook", metricsURL: "http://" + m.Addr(), dataDir: dataDir}
	if a := m.MetricsAddr(); a != "" {
		e.metricsURL = "http://" + a
	}
	e.run(m)
	return e
}

// serverOptions parses a server's flags, with no environment.
func serverOptions(t testing.TB, args []string) config.Server {
	t.Helper()
	opts, err := config.ParseServer(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// run runs m, which listens already, until the test ends, and waits
// until it answers on /healthz.
func (e *testEnv) run(m *Main) {
	e.t.Helper()
	e.m = m
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() {
		err := m.Run(ctx)
		m.Close()
		e.done <- err
	}()
	e.t.Cleanup(e.stop)
	waitFor(e.t, 20*time.Second, "server healthy", func() bool { return healthy(m.Addr()) })
}

// healthy reports whether the server on addr answers /healthz with 200.
func healthy(addr string) bool {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (e *testEnv) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("server: %v", err)
		}
	case <-time.After(60 * time.Second):
		e.t.Error("server did not stop")
	}
}

// deliver sends a webhook and checks the status code.
func (e *testEnv) deliver(event string, payload []byte, wantStatus int) string {
	e.t.Helper()
	resp, id, err := e.gh.Deliver(context.Background(), e.url, testSecret, event, payload)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("deliver %s: status %d, want %d", event, resp.StatusCode, wantStatus)
	}
	return id
}

// openDB opens the server's database; the caller closes it.
func (e *testEnv) openDB() store.Store {
	e.t.Helper()
	return openStore(e.t, filepath.Join(e.dataDir, "planbot.db"))
}

// openStore opens a server's database, a SQLite file or a PostgreSQL DSN,
// logging nowhere; the caller closes it.
func openStore(t testing.TB, database string) store.Store {
	t.Helper()
	st, err := OpenStore(context.Background(), database, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitJob waits until the job of a delivery is finished.
func (e *testEnv) waitJob(delivery string) {
	e.t.Helper()
	st := e.openDB()
	defer st.Close()
	waitJobOf(e.t, st, delivery, 3*time.Minute, "job of delivery "+delivery, func(j *store.Job) bool {
		return j.State == "done" || j.State == "failed"
	})
}

// waitJobOf waits up to timeout until the job of delivery in st satisfies
// cond, and returns it; what names the wait.
func waitJobOf(t *testing.T, st store.Store, delivery string, timeout time.Duration, what string, cond func(*store.Job) bool) *store.Job {
	t.Helper()
	var j *store.Job
	waitFor(t, timeout, what, func() bool {
		var err error
		j, err = st.Job(context.Background(), delivery)
		return err == nil && cond(j)
	})
	return j
}

// close closes a PR on GitHub and waits until planbot processed it.
func (e *testEnv) close(n int) {
	e.t.Helper()
	e.gh.ClosePR(testRepo, n)
	e.waitJob(e.deliver("pull_request", e.gh.PullRequestEvent("closed", testRepo, n), http.StatusAccepted))
}

// command posts a comment as user, delivers it and returns planbot's reply.
func (e *testEnv) command(n int, user, body string) string {
	e.t.Helper()
	before := len(botComments(e.gh, n))
	c := e.gh.AddComment(testRepo, n, user, body)
	e.deliver("issue_comment", e.gh.IssueCommentEvent(testRepo, n, c), http.StatusAccepted)
	return e.waitReply(n, before, user, "reply to "+body)
}

// waitReply waits for planbot's reply to user on PR n, among its comments
// after the first before ones, and returns it; what names the wait.
func (e *testEnv) waitReply(n, before int, user, what string) string {
	e.t.Helper()
	var reply string
	waitFor(e.t, 3*time.Minute, what, func() bool {
		cs := botComments(e.gh, n)
		for _, c := range cs[min(before, len(cs)):] {
			if strings.HasPrefix(c.Body, "@"+user) {
				reply = c.Body
				return true
			}
		}
		return false
	})
	return reply
}

// openPlanned opens a PR with the given change and waits for its plan,
// which must have the given outcome.
func (e *testEnv) openPlanned(branch, author string, files map[string]string, want string) githubfake.PR {
	e.t.Helper()
	sha := e.gh.Commit(testRepo, branch, files, nil, "change "+branch)
	return e.openCommitted(branch, author, "Change "+branch, sha, want)
}

// openCommitted opens a PR of branch, whose head is sha, and waits for its
// plan, which must have the given outcome.
func (e *testEnv) openCommitted(branch, author, title, sha, want string) githubfake.PR {
	e.t.Helper()
	pr := e.gh.OpenPR(testRepo, branch, "main", author, title)
	e.deliver("pull_request", e.gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(e.t, e.gh, sha, "planbot/plan"); got != want {
		e.t.Fatalf("plan of %s = %s, want %s", branch, got, want)
	}
	return e.gh.PR(testRepo, pr.Number)
}

func devChange(name string) map[string]string {
	return map[string]string{"envs/dev/main.tf": rootTF(name)}
}

// renameDev commits devChange(name) to branch and opens carol's pull
// request of it, without delivering its webhook; it returns the head and
// the pull request.
func renameDev(gh *githubfake.Server, branch, name string) (string, githubfake.PR) {
	sha := gh.Commit(testRepo, branch, devChange(name), nil, "rename dev")
	return sha, gh.OpenPR(testRepo, branch, "main", "carol", "Rename dev")
}

func prodChange(name string) map[string]string {
	return map[string]string{"envs/prod/main.tf": rootTF(name)}
}

// mergeRequests returns the bodies of the merge calls made for PR n.
func mergeRequests(gh *githubfake.Server, n int) []map[string]any {
	var out []map[string]any
	for _, r := range gh.Requests() {
		if r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/pulls/"+itoa(n)+"/merge") {
			var m map[string]any
			json.Unmarshal([]byte(r.Body), &m)
			out = append(out, m)
		}
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// status returns the newest state of a commit status context, "" if none.
func status(gh *githubfake.Server, sha, context string) (state, desc string) {
	for _, s := range gh.Statuses(testRepo, sha) {
		if strings.EqualFold(s.Context, context) {
			return s.State, s.Description
		}
	}
	return "", ""
}

// waitStatus waits until a status context on sha leaves pending.
func waitStatus(t *testing.T, gh *githubfake.Server, sha, context string) string {
	t.Helper()
	var state string
	waitFor(t, 3*time.Minute, context+" on "+sha[:7], func() bool {
		state, _ = status(gh, sha, context)
		return state != "" && state != "pending"
	})
	return state
}

// botComments returns planbot's comments on a PR.
func botComments(gh *githubfake.Server, n int) []githubfake.Comment {
	var out []githubfake.Comment
	for _, c := range gh.Comments(testRepo, n) {
		if c.User == gh.BotLogin() {
			out = append(out, c)
		}
	}
	return out
}

// planComment returns planbot's single plan comment, failing if there is
// not exactly one.
func planComment(t *testing.T, gh *githubfake.Server, n int) githubfake.Comment {
	t.Helper()
	var plans []githubfake.Comment
	for _, c := range botComments(gh, n) {
		if strings.Contains(c.Body, "<!-- planbot:plan") {
			plans = append(plans, c)
		}
	}
	if len(plans) != 1 {
		t.Fatalf("want exactly one plan comment on #%d, got %d", n, len(plans))
	}
	return plans[0]
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
