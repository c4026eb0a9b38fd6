package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/planbot/planbot/audit/auditcmd"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/store"
)

// liveSecret is a plan credential that the slow plan prints; the live
// log must mask it.
const liveSecret = "live-s3cr3t-Zq7wP"

// screenshotsEnv names the directory the browser tests write the
// documentation's screenshots to (docs/img); unset, they write none.
const screenshotsEnv = "PLANBOT_SCREENSHOTS"

// gate is an HTTP endpoint that a plan reads as remote state: it answers
// only once released, so the test decides when the plan may finish.
type gate struct {
	srv     *http.Server
	addr    string
	mu      sync.Mutex
	waiting int // requests that arrived
	open    chan struct{}
}

func newGate(t *testing.T) *gate {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{addr: l.Addr().String(), open: make(chan struct{})}
	g.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.waiting++
		g.mu.Unlock()
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"version":4,"terraform_version":"1.5.7","serial":1,"lineage":"gate","outputs":{},"resources":[]}`)
	})}
	go g.srv.Serve(l)
	t.Cleanup(func() { g.release(); g.srv.Close() })
	return g
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// slowRoot is a Terraform root whose plan waits for the gate, after
// printing its progress, and whose plan shows the token credential.
func slowRoot(gateAddr string) string {
	return fmt.Sprintf(`variable "token" {
  type    = string
  default = ""
}

data "terraform_remote_state" "gate" {
  backend = "http"
  config = {
    address = "http://%s/state"
  }
}

resource "terraform_data" "slow" {
  input = "${var.token}-${length(data.terraform_remote_state.gate.outputs)}"
}
`, gateAddr)
}

// webEnv is a server with its web page, a fake GitHub and a headless
// Chromium.
type webEnv struct {
	*testEnv
	base    string // the page's URL
	browser context.Context
	shots   string // where documentation screenshots go, "" for none
	st      store.Store
	tabs    atomic.Int32
}

// startWebServer starts planbot with its web page on the same listener,
// its plans given liveSecret as a credential.
func startWebServer(t *testing.T, gh *githubfake.Server) *webEnv {
	t.Helper()
	secretFile := writeSecret(t, "client-secret", gh.ClientSecret()+"\n")
	creds := credentialsDir(t, liveSecret, liveSecret)
	addr := githubfake.FreeAddr(t)
	base := "http://" + addr
	e := startServer(t, gh, t.TempDir(), "--addr="+addr, "--github-client-id="+gh.ClientID(), "--github-client-secret-file="+secretFile,
		"--github-web-url="+gh.URL()+"/", "--external-url="+base, "--credentials-dir="+creds)
	w := &webEnv{testEnv: e, base: base, shots: os.Getenv(screenshotsEnv)}
	// Nothing planbot writes may hold the credential or the client secret.
	t.Cleanup(func() {
		for _, c := range gh.Comments(testRepo, 1) {
			if strings.Contains(c.Body, liveSecret) {
				t.Errorf("a comment holds the plan credential")
			}
		}
		if strings.Contains(e.logs.String(), liveSecret) || strings.Contains(e.logs.String(), gh.ClientSecret()) || strings.Contains(e.logs.String(), "ghu_") {
			t.Errorf("the log holds a credential, the client secret or a user token")
		}
	})
	return w
}

// newBrowser starts headless Chromium from Debian's chromium package. The
// test fails without it: CI installs it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is required for the browser tests (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 800))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// tab opens a tab with its own cookies: one person's browser. A test that
// fails leaves a screenshot of the tab in its artifact directory.
func (w *webEnv) tab(t *testing.T) context.Context {
	t.Helper()
	if w.browser == nil {
		t.Fatal("no browser: call newBrowser first")
	}
	ctx, cancel := chromedp.NewContext(w.browser, chromedp.WithNewBrowserContext())
	// The artifact directory is made now, so that it outlives the
	// screenshot below (cleanups run last first).
	shot := filepath.Join(t.ArtifactDir(), fmt.Sprintf("failure-%d.png", w.tabs.Add(1)))
	t.Cleanup(func() {
		if t.Failed() {
			w.screenshot(t, ctx, shot)
		}
		cancel()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 720)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// screenshot writes the tab as a PNG.
func (w *webEnv) screenshot(t *testing.T, ctx context.Context, path string) {
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		t.Logf("screenshot %s: %v", path, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// docShot writes a documentation screenshot when screenshotsEnv is set.
func (w *webEnv) docShot(t *testing.T, ctx context.Context, name string) {
	if w.shots != "" {
		w.screenshot(t, ctx, filepath.Join(w.shots, name+".png"))
	}
}

// within runs f on the tab ctx with a timeout, failing the test with what
// on error.
func within[T any](t *testing.T, ctx context.Context, what string, f func(context.Context) (T, error)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	v, err := f(ctx)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs browser actions with a timeout, failing the test on error.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	within(t, ctx, what, func(ctx context.Context) (chromedp.Void, error) {
		return chromedp.Void{}, chromedp.Do(ctx, actions...)
	})
}

// text returns the text of the first element sel selects.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return within(t, ctx, "text of "+sel, func(ctx context.Context) (string, error) {
		return chromedp.Run(ctx, chromedp.Text(sel))
	})
}

// navigate loads a page and returns its HTTP status.
func navigate(t *testing.T, ctx context.Context, url string) int64 {
	t.Helper()
	return within(t, ctx, "navigate to "+url, func(ctx context.Context) (*network.Response, error) {
		return chromedp.RunResponse(ctx, chromedp.Navigate(url))
	}).Status
}

// login logs a person in through the page and the fake's authorize page,
// and returns their tab.
func (w *webEnv) login(t *testing.T, login string) context.Context {
	t.Helper()
	ctx := w.tab(t)
	navigate(t, ctx, w.base+"/")
	do(t, ctx, "authorize as "+login, chromedp.WaitVisible("#login"), chromedp.SetValue("#login", login))
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(rctx, chromedp.Click("#authorize")); err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if got := text(t, ctx, ".user"); got != "@"+login {
		t.Fatalf("logged in as %q, want @%s", got, login)
	}
	return ctx
}

// openPR opens author's pull request changing files and returns its
// number.
func openPR(t *testing.T, gh *githubfake.Server, author, branch string, files map[string]string) int {
	t.Helper()
	gh.Commit(testRepo, branch, files, nil, "change "+branch)
	return gh.OpenPR(testRepo, branch, "main", author, "Change "+branch).Number
}

func TestBrowser(t *testing.T) {
	gh := newFake(t)
	gh.SetCollaborator(testRepo, "rita", "read")
	g := newGate(t)
	w := startWebServer(t, gh)
	w.browser = newBrowser(t)

	dev := openPR(t, gh, "alice", "dev", map[string]string{"envs/dev/main.tf": rootTF("dev2")})
	w.waitJob(w.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, dev), http.StatusAccepted))

	t.Run("read user sees the plan", func(t *testing.T) { testBrowserPull(t, w, dev) })
	t.Run("no access, no trace", func(t *testing.T) { testBrowserNoAccess(t, w, dev) })
	t.Run("unlock needs write access", func(t *testing.T) { testBrowserUnlock(t, w, dev) })
	t.Run("live log", func(t *testing.T) { testBrowserLive(t, w, g) })
	t.Run("audit filter and export", func(t *testing.T) { testBrowserAudit(t, w) })
}

func testBrowserPull(t *testing.T, w *webEnv, pr int) {
	ctx := w.login(t, "rita")
	if home := text(t, ctx, "main"); !strings.Contains(home, testRepo) || !strings.Contains(home, fmt.Sprintf("#%d", pr)) {
		t.Errorf("rita's home page lacks %s #%d:\n%s", testRepo, pr, home)
	}
	w.docShot(t, ctx, "home")
	if st := navigate(t, ctx, fmt.Sprintf("%s/%s/pull/%d", w.base, testRepo, pr)); st != http.StatusOK {
		t.Fatalf("PR page: %d", st)
	}
	if title := text(t, ctx, "#title"); title != "Change dev" {
		t.Errorf("title %q", title)
	}
	plan := text(t, ctx, `section[data-project="envs/dev"]`)
	for _, want := range []string{"planned", "Plan: 1 to add, 0 to change, 0 to destroy.", `module.app.terraform_data.app will be created`, `"dev2"`} {
		if !strings.Contains(plan, want) {
			t.Errorf("the dev project's section lacks %q:\n%s", want, plan)
		}
	}
	if page := text(t, ctx, "main"); !strings.Contains(page, "not approved") || !strings.Contains(page, "@alice") && !strings.Contains(page, "alice") {
		t.Errorf("the approvals section does not say what is needed:\n%s", page)
	}
	w.docShot(t, ctx, "pull")
	testPhoneDark(t, w, ctx)
}

// testPhoneDark checks the page on a phone in dark mode: nothing wider
// than the screen but the scrolling tables and plan outputs, and a dark
// background.
func testPhoneDark(t *testing.T, w *webEnv, ctx context.Context) {
	do(t, ctx, "emulate a phone in dark mode", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
			})
			return err
		}))
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || overflow {
		t.Errorf("the page is wider than a phone's screen (%v)", err)
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if err != nil || bg != "rgb(13, 17, 23)" {
		t.Errorf("dark mode background %q (%v), want rgb(13, 17, 23)", bg, err)
	}
	w.docShot(t, ctx, "pull-phone-dark")
}

func testBrowserNoAccess(t *testing.T, w *webEnv, pr int) {
	ctx := w.login(t, "mallory")
	if home := text(t, ctx, "main"); strings.Contains(home, testRepo) || strings.Contains(home, "envs/") {
		t.Errorf("mallory's home page shows the repository:\n%s", home)
	}
	for _, p := range []string{fmt.Sprintf("/%s/pull/%d", testRepo, pr), "/acme/nonexistent/pull/1"} {
		if st := navigate(t, ctx, w.base+p); st != http.StatusNotFound {
			t.Errorf("GET %s as mallory: %d, want 404", p, st)
		}
		if page := text(t, ctx, "main"); strings.Contains(page, testRepo) || strings.Contains(page, "Change dev") {
			t.Errorf("the 404 page shows the repository:\n%s", page)
		}
	}
	for _, p := range []string{"/locks", "/audit"} {
		navigate(t, ctx, w.base+p)
		if page := text(t, ctx, "main"); strings.Contains(page, testRepo) || strings.Contains(page, "envs/dev") {
			t.Errorf("%s shows the repository to mallory:\n%s", p, page)
		}
	}
}

func testBrowserUnlock(t *testing.T, w *webEnv, pr int) {
	release := `#locks button.release`
	rita := w.login(t, "rita")
	navigate(t, rita, w.base+"/locks")
	w.docShot(t, rita, "locks")
	rctx, cancel := context.WithTimeout(rita, 90*time.Second)
	resp, err := chromedp.RunResponse(rctx, chromedp.Click(release))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden || !strings.Contains(text(t, rita, "main"), "needs write access") {
		t.Errorf("rita's release: %d %q, want 403 saying write access is needed", resp.Status, text(t, rita, "main"))
	}
	locks, err := w.openStore().Locks(context.Background(), testRepo)
	if err != nil || len(locks) != 1 {
		t.Fatalf("locks after rita's release: %+v %v, want the one still held", locks, err)
	}

	alice := w.login(t, "alice")
	navigate(t, alice, w.base+"/locks")
	rctx, cancel = context.WithTimeout(alice, 90*time.Second)
	resp, err = chromedp.RunResponse(rctx, chromedp.Click(release))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || !strings.Contains(text(t, alice, "main"), "Released "+testRepo+" envs/dev") {
		t.Errorf("alice's release: %d %q", resp.Status, text(t, alice, "main"))
	}
	st := w.openStore()
	if locks, _ := st.Locks(context.Background(), testRepo); len(locks) != 0 {
		t.Errorf("locks after alice's release: %+v", locks)
	}
	entries, _ := st.Audit(context.Background(), auditFilterPR(pr))
	last := entries[len(entries)-1]
	if last.Action != "unlock" || last.Actor != "alice" || last.Project != "envs/dev" {
		t.Errorf("last audit entry of #%d = %+v, want an unlock of dev by alice", pr, last)
	}
	var told bool
	for _, c := range w.gh.Comments(testRepo, pr) {
		told = told || strings.Contains(c.Body, "@alice released the lock of `envs/dev`")
	}
	if !told {
		t.Errorf("#%d was not told of the release", pr)
	}
}

func testBrowserLive(t *testing.T, w *webEnv, g *gate) {
	gh := w.gh
	pr := openPR(t, gh, "bob", "slow", map[string]string{"envs/slow/main.tf": slowRoot(g.addr)})
	delivery := w.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr), http.StatusAccepted)
	head := gh.PR(testRepo, pr).HeadSHA
	// While the plan runs, the status links to its live log.
	var target string
	waitFor(t, 3*time.Minute, "the pending plan status", func() bool {
		for _, s := range gh.Statuses(testRepo, head) {
			if s.Context == runner.StatusPlan && s.State == "pending" {
				target = s.TargetURL
				return true
			}
		}
		return false
	})
	if want := fmt.Sprintf("%s/%s/pull/%d/runs/%s", w.base, testRepo, pr, delivery); target != want {
		t.Fatalf("pending status target %q, want the live log %q", target, want)
	}
	// The page follows the run from wherever it is, even before
	// terraform printed anything.
	ctx := w.login(t, "rita")
	navigate(t, ctx, target)
	do(t, ctx, "wait for the plan to block on the gate", chromedp.Poll[chromedp.Void](
		`document.getElementById("log").textContent.includes("data.terraform_remote_state.gate: Reading...")`, chromedp.WithPollingTimeout(3*time.Minute)))
	// The plan cannot have ended: the gate holds it.
	if j, err := w.openStore().Job(context.Background(), delivery); err != nil || j.State != "running" {
		t.Fatalf("job while the gate is closed: %+v %v, want running", j, err)
	}
	if len(botComments(gh, pr)) != 0 {
		t.Fatal("a plan comment was posted while the plan was blocked")
	}
	if st := text(t, ctx, "#state"); st != "Running…" {
		t.Errorf("state while running %q", st)
	}
	w.docShot(t, ctx, "live")
	g.release()
	do(t, ctx, "wait for the end", chromedp.WaitVisible("#result"))
	log := text(t, ctx, "#log")
	if strings.Contains(log, liveSecret) {
		t.Errorf("the live log shows the credential:\n%s", log)
	}
	if !strings.Contains(log, `"***-0"`) {
		t.Errorf("the live log lacks the masked plan line:\n%s", log)
	}
	if st := text(t, ctx, "#state"); !strings.HasPrefix(st, "Finished: ") {
		t.Errorf("state after the end %q", st)
	}
	w.waitJob(delivery)
	if c := planComment(t, gh, pr); !strings.Contains(c.Body, fmt.Sprintf("%s/%s/pull/%d", w.base, testRepo, pr)) {
		t.Errorf("the plan comment does not link to the PR's page:\n%s", c.Body)
	}
	if state, _ := status(gh, head, runner.StatusPlan); state != "success" {
		t.Errorf("plan status %q", state)
	}
	for _, s := range gh.Statuses(testRepo, head) {
		if s.Context == runner.StatusPlan && s.State == "success" && s.TargetURL != fmt.Sprintf("%s/%s/pull/%d", w.base, testRepo, pr) {
			t.Errorf("final status target %q, want the PR's page", s.TargetURL)
		}
	}
}

func testBrowserAudit(t *testing.T, w *webEnv) {
	ctx := w.login(t, "alice")
	navigate(t, ctx, w.base+"/audit")
	if badge := text(t, ctx, "#verify"); !strings.Contains(badge, "verifies") {
		t.Errorf("verify badge %q", badge)
	}
	head := text(t, ctx, "#head-hash")
	if page := text(t, ctx, "main"); !strings.Contains(page, "bob") {
		t.Fatalf("the unfiltered log has no entry by bob:\n%s", page)
	}
	do(t, ctx, "filter by actor", chromedp.SetValue("#actor", "alice"))
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	_, err := chromedp.RunResponse(rctx, chromedp.Click("#filter"))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	actors, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("td.actor")).map(td => td.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(actors) == 0 {
		t.Fatal("no entry by alice")
	}
	for _, a := range actors {
		if a != "alice" {
			t.Errorf("filtered by actor alice, an entry by %q", a)
		}
	}
	w.docShot(t, ctx, "audit")
	// The browser downloads the whole log; planbot audit verifies it.
	export, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.getElementById("export-all").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := auditcmd.Main(context.Background(), []string{"--verify", "--file", file}, nil, &out, &errOut); code != 0 {
		t.Fatalf("planbot audit --verify --file: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), head) {
		t.Errorf("planbot audit --verify printed %q, want the page's head hash %s", out.String(), head)
	}
	var all bytes.Buffer
	if code := auditcmd.Main(context.Background(), []string{"--json", "--database", filepath.Join(w.dataDir, "planbot.db")}, openForAudit, &all, &errOut); code != 0 {
		t.Fatalf("planbot audit --json: exit %d %s", code, errOut.String())
	}
	if all.String() != export {
		t.Errorf("the page's export differs from planbot audit --json:\npage:\n%s\ncli:\n%s", export, all.String())
	}

	navigate(t, ctx, w.base+"/health")
	if h := text(t, ctx, "#health"); !strings.Contains(h, "0 waiting") || !strings.Contains(h, "on (Landlock)") || !strings.Contains(h, "none yet") {
		t.Errorf("health page:\n%s", h)
	}
	w.docShot(t, ctx, "health")
}

// openStore returns a store on the server's database, opened once.
func (w *webEnv) openStore() store.Store {
	w.t.Helper()
	if w.st == nil {
		st := w.openDB()
		w.st = st
		w.t.Cleanup(func() { st.Close() })
	}
	return w.st
}

func auditFilterPR(pr int) store.AuditFilter { return store.AuditFilter{Repo: testRepo, PR: pr} }

// openForAudit opens the database for planbot audit, as cmd/planbot does.
func openForAudit(ctx context.Context, database string) (auditcmd.Lister, func() error, error) {
	st, err := OpenStore(ctx, database, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	return st, st.Close, nil
}
