package terraform

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/treetest"
)

// initCounter counts the terraform init commands a Runner logs.
type initCounter struct {
	mu    sync.Mutex
	inits int
}

func (c *initCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inits
}

// counting is the slog.Handler of an initCounter, with the attributes
// given to Logger.With.
type counting struct {
	c     *initCounter
	attrs []slog.Attr
}

func (h counting) Enabled(context.Context, slog.Level) bool { return true }
func (h counting) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "terraform command done" {
		return nil
	}
	for _, a := range h.attrs {
		if a.Key == "command" && a.Value.String() == "init" {
			h.c.mu.Lock()
			h.c.inits++
			h.c.mu.Unlock()
		}
	}
	return nil
}
func (h counting) WithAttrs(as []slog.Attr) slog.Handler {
	return counting{h.c, append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h counting) WithGroup(string) slog.Handler { return h }

// cachedRunner returns a sandboxed Runner with an InitCache and the
// counter of its inits.
func cachedRunner(t testing.TB) (*Runner, *initCounter) {
	r := realRunner(t)
	r.InitCache = &InitCache{Dir: filepath.Join(t.TempDir(), "init-cache")}
	c := &initCounter{}
	r.Logger = slog.New(counting{c: c})
	return r, c
}

const moduleCall = `module "app" {
  source = "../../modules/app"
}
`

func appModule(input string) string {
	return fmt.Sprintf("resource \"terraform_data\" \"app\" {\n  input = %q\n}\n", input)
}

// TestInitCache plans fresh checkouts one after the other, as planbot
// checks out every head afresh, and checks when init runs: a checkout
// whose init inputs match an earlier one skips it, and its plan is what
// a fresh init gives, including a changed local module; a changed lock
// file, module source, backend, scope or credential set runs init again.
func TestInitCache(t *testing.T) {
	r, inits := cachedRunner(t)
	ctx := context.Background()
	base := map[string]string{
		"envs/dev/main.tf":       moduleCall,
		"modules/app/main.tf":    appModule("one"),
		"modules/other/main.tf":  appModule("other"),
		"envs/dev/.placeholder":  "",
		"modules/app/README.txt": "",
	}
	with := func(changes map[string]string) map[string]string {
		files := map[string]string{}
		for k, v := range base {
			files[k] = v
		}
		for k, v := range changes {
			files[k] = v
		}
		return files
	}
	tests := []struct {
		name     string
		files    map[string]string
		scope    string
		env      map[string]string
		wantInit bool
		want     string // in the plan's output
	}{
		{name: "first plan runs init", files: base, wantInit: true, want: `"one"`},
		{name: "same inputs skip init", files: base, want: `"one"`},
		{name: "changed local module content: cached, planned from the checkout", files: with(map[string]string{"modules/app/main.tf": appModule("two")}), want: `"two"`},
		{name: "changed module source runs init", files: with(map[string]string{"envs/dev/main.tf": strings.Replace(moduleCall, "modules/app", "modules/other", 1)}), wantInit: true, want: `"other"`},
		{name: "changed lock file runs init", files: with(map[string]string{"envs/dev/.terraform.lock.hcl": "# no providers\n"}), wantInit: true, want: `"one"`},
		{name: "changed backend runs init", files: with(map[string]string{"envs/dev/backend.tf": "terraform {\n  backend \"local\" {\n    path = \"other.tfstate\"\n  }\n}\n"}), wantInit: true, want: `"one"`},
		{name: "another repository runs init", files: base, scope: "acme/other", wantInit: true, want: `"one"`},
		{name: "other credentials run init", files: base, env: map[string]string{"TF_VAR_token": "s3cr3t"}, wantInit: true, want: `"one"`},
		{name: "and are cached apart", files: base, env: map[string]string{"TF_VAR_token": "s3cr3t"}, want: `"one"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := treetest.New(t, tt.files)
			scope := tt.scope
			if scope == "" {
				scope = "acme/infra"
			}
			before := inits.count()
			res, err := r.Plan(ctx, filepath.Join(root, "envs/dev"), "", Root(root), CacheScope(scope), Env(tt.env))
			if err != nil || res.Status != planbot.StatusPlanned {
				t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
			}
			if ran := inits.count() > before; ran != tt.wantInit {
				t.Errorf("init ran: %v, want %v", ran, tt.wantInit)
			}
			if !strings.Contains(res.Output, tt.want) {
				t.Errorf("plan output lacks %s:\n%s", tt.want, res.Output)
			}
		})
	}
	// The entries hold no credentials in the clear.
	err := filepath.WalkDir(r.InitCache.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), "s3cr3t") {
			t.Errorf("%s holds a credential", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInitCacheNotUsed checks the runs that never use the cache: without
// a scope (applies), with a .terraform in the directory already, and
// with a module source that a fresh init could resolve differently.
func TestInitCacheNotUsed(t *testing.T) {
	r, inits := cachedRunner(t)
	ctx := context.Background()
	files := map[string]string{"envs/dev/main.tf": moduleCall, "modules/app/main.tf": appModule("one")}
	plan := func(root string, opts ...RunOption) {
		t.Helper()
		res, err := r.Plan(ctx, filepath.Join(root, "envs/dev"), "", append([]RunOption{Root(root)}, opts...)...)
		if err != nil || res.Status != planbot.StatusPlanned {
			t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
		}
	}
	plan(treetest.New(t, files), CacheScope("acme/infra")) // cached now
	before := inits.count()
	plan(treetest.New(t, files)) // no scope
	root := treetest.New(t, files)
	plan(root, CacheScope("acme/infra")) // cached: no init
	plan(root, CacheScope("acme/infra")) // .terraform exists: init as always
	if got := inits.count() - before; got != 2 {
		t.Errorf("inits = %d, want 2 (without a scope, and with .terraform present)", got)
	}
	for _, src := range []string{
		`source = "hashicorp/consul/aws"` + "\n  version = \"~> 0.1\"",
		`source = "git::https://example.com/vpc.git?ref=main"`,
		`source = "https://example.com/vpc.zip"`,
	} {
		root := treetest.New(t, map[string]string{"main.tf": "module \"m\" {\n  " + src + "\n}\n"})
		if _, err := initKey(root, root); !errors.Is(err, errUnpinned) {
			t.Errorf("initKey with %s = %v, want errUnpinned", src, err)
		}
	}
}

func TestPinned(t *testing.T) {
	sha := strings.Repeat("a1", 20)
	tests := []struct {
		source, version string
		want            bool
	}{
		{"hashicorp/consul/aws", "0.11.0", true},
		{"hashicorp/consul/aws", "= 0.11.0", true},
		{"app.terraform.io/acme/vpc/aws", "1.2.3", true},
		{"hashicorp/consul/aws", "~> 0.11", false},
		{"hashicorp/consul/aws", "", false},
		{"git::https://example.com/vpc.git?ref=" + sha, "", true},
		{"github.com/acme/vpc?ref=" + sha, "", true},
		{"git::https://example.com/vpc.git?ref=v1.2.0", "", false},
		{"git::https://example.com/vpc.git", "", false},
		{"https://example.com/vpc.zip", "", false},
		{"s3::https://s3.amazonaws.com/bucket/vpc.zip", "", false},
	}
	for _, tt := range tests {
		if got := pinned(tt.source, tt.version); got != tt.want {
			t.Errorf("pinned(%q, %q) = %v, want %v", tt.source, tt.version, got, tt.want)
		}
	}
}

// BenchmarkPlanInitCache plans a root that calls a module from git,
// pinned to a commit, in a fresh checkout per plan (as planbot checks out
// every head afresh): once without the init cache, then with it (a hit).
// uncached-ms and cached-ms are the two plans of an iteration, ratio is
// cached over uncached, measured in the same run.
func BenchmarkPlanInitCache(b *testing.B) {
	r, _ := cachedRunner(b)
	ctx := context.Background()
	modules := b.TempDir()
	repo := filepath.Join(modules, "vpc.git")
	sha := gitModule(b, repo, appModule("vpc"))
	// The sandbox lets terraform read its checkout only, so the module's
	// repository is copied into it, as a vendored repository would be.
	// Every checkout is made afresh at the same path, so that the source,
	// an absolute file URL, stays the same, as a remote URL would.
	dir := filepath.Join(b.TempDir(), "checkout")
	source := fmt.Sprintf("git::file://%s?ref=%s", filepath.Join(dir, "vpc.git"), sha)
	root := func() string {
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		write := func(name, body string) {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		write("envs/dev/main.tf", fmt.Sprintf("module \"vpc\" {\n  source = %q\n}\n", source))
		if out, err := exec.Command("cp", "-a", repo, filepath.Join(dir, "vpc.git")).CombinedOutput(); err != nil {
			b.Fatalf("copy module repository: %v: %s", err, out)
		}
		return dir
	}
	plan := func(cached bool) time.Duration {
		dir := root()
		opts := []RunOption{Root(dir)}
		if cached {
			opts = append(opts, CacheScope("acme/infra"))
		}
		start := time.Now()
		res, err := r.Plan(ctx, filepath.Join(dir, "envs/dev"), "", opts...)
		d := time.Since(start)
		if err != nil || res.Status != planbot.StatusPlanned {
			b.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
		}
		return d
	}
	plan(true) // fills the cache
	if *benchInitLog {
		r.Logger = testLogger(b)
	}
	var uncached, cached time.Duration
	for b.Loop() {
		uncached += plan(false)
		cached += plan(true)
	}
	n := float64(b.N)
	b.ReportMetric(float64(uncached.Milliseconds())/n, "uncached-ms")
	b.ReportMetric(float64(cached.Milliseconds())/n, "cached-ms")
	b.ReportMetric(float64(cached)/float64(uncached), "ratio")
}

var benchInitLog = flag.Bool("initlog", false, "log the terraform commands of BenchmarkPlanInitCache")

// gitModule makes a git repository at dir with one commit holding main.tf
// and returns the commit.
func gitModule(t testing.TB, dir, body string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "--quiet")
	git("add", "main.tf")
	git("commit", "--quiet", "-m", "module")
	return git("rev-parse", "HEAD")
}

// TestInitCacheTamperedProvider changes the provider binary in a cache
// entry, as a run that could write the cache would, and checks that the
// next plan of the same inputs does not run it: terraform checks the
// installed providers against the lock file before it plans, and planbot
// then runs init after all. The provider is a stand-in installed from a
// local mirror (it cannot serve a plan, and no registry is reachable
// here), so every plan fails; what matters is why.
func TestInitCacheTamperedProvider(t *testing.T) {
	r, _ := cachedRunner(t)
	var logs logtest.Buffer
	r.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mirror := t.TempDir()
	r.PluginCacheDir = mirror // readable by the sandboxed runs
	pkg := filepath.Join(mirror, "registry.terraform.io/acme/dummy/1.0.0/linux_amd64")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "/bin/true", filepath.Join(pkg, "terraform-provider-dummy_v1.0.0")).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	files := map[string]string{"main.tf": "terraform {\n  required_providers {\n    dummy = {\n      source  = \"acme/dummy\"\n      version = \"1.0.0\"\n    }\n  }\n}\n"}
	// An init from the mirror alone, by hand, writes the lock file the
	// roots commit and the .terraform the cache keeps.
	scratch := treetest.New(t, files)
	home := t.TempDir()
	rc := filepath.Join(home, ".terraformrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", mirror)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(r.Bin, "init", "-input=false", "-no-color")
	cmd.Dir = scratch
	cmd.Env = []string{"HOME=" + home, "TF_CLI_CONFIG_FILE=" + rc, "PATH=" + os.Getenv("PATH"), "CHECKPOINT_DISABLE=1"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init from the mirror: %v\n%s", err, out)
	}
	lock, err := os.ReadFile(filepath.Join(scratch, ".terraform.lock.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	files[".terraform.lock.hcl"] = string(lock)
	root := treetest.New(t, files)
	s, err := r.open(root, Root(root), CacheScope("acme/infra"))
	if err != nil {
		t.Fatal(err)
	}
	key := s.initCacheKey()
	s.close()
	if key == "" {
		t.Fatal("no cache key for the root")
	}
	if err := r.InitCache.save(key, scratch); err != nil {
		t.Fatal(err)
	}
	// Terraform links a provider of an unpacked mirror into .terraform
	// (the entry keeps the link); the tampering puts a file there instead.
	platform := filepath.Join(r.InitCache.Dir, key, entryData, "providers/registry.terraform.io/acme/dummy/1.0.0/linux_amd64")
	if err := os.RemoveAll(platform); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(platform, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "/bin/false", filepath.Join(platform, "terraform-provider-dummy_v1.0.0")).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	res, err := r.Plan(context.Background(), root, "", Root(root), CacheScope("acme/infra"))
	if err != nil || res.Status != "failed" {
		t.Fatalf("plan = %q, %v: %s", res.Status, err, res.Error)
	}
	if l := logs.String(); !strings.Contains(l, "init skipped: cached") ||
		!strings.Contains(l, "plan failed after a cached init") || !strings.Contains(l, "does not match any of the checksums") {
		t.Errorf("the plan did not stop at the tampered provider, then run init:\n%s", l)
	}
}

// TestSandboxGitModule plans a root whose module comes from git, in the
// sandbox: terraform runs git to fetch it, and git, which cannot read the
// system's /etc/gitconfig there, must be told not to.
func TestSandboxGitModule(t *testing.T) {
	r := realRunner(t)
	dir := treetest.New(t, nil)
	sha := gitModule(t, filepath.Join(dir, "vpc.git"), appModule("vpc"))
	source := fmt.Sprintf("git::file://%s?ref=%s", filepath.Join(dir, "vpc.git"), sha)
	if err := os.MkdirAll(filepath.Join(dir, "envs/dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "envs/dev/main.tf"), []byte(fmt.Sprintf("module \"vpc\" {\n  source = %q\n}\n", source)), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := r.Plan(context.Background(), filepath.Join(dir, "envs/dev"), "", Root(dir))
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
	}
	if res.Changes.Add != 1 {
		t.Errorf("Plan adds %d, want the module's resource", res.Changes.Add)
	}
}
