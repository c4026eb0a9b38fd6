package kustomize

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
)

// changeSummary is the part of a ResourceChange that tests compare whole.
type changeSummary struct{ Group, Kind, Namespace, Name, Action string }

func summarize(md *planbot.ManifestDiff) []changeSummary {
	if md == nil {
		return nil
	}
	var s []changeSummary
	for _, r := range md.Resources {
		s = append(s, changeSummary{r.Group, r.Kind, r.Namespace, r.Name, r.Action})
	}
	return s
}

func findChange(t *testing.T, md *planbot.ManifestDiff, kind, name string) planbot.ResourceChange {
	t.Helper()
	for _, r := range md.Resources {
		if r.Kind == kind && (name == "" || r.Name == name) {
			return r
		}
	}
	t.Fatalf("no %s %s among the changes %+v", kind, name, summarize(md))
	return planbot.ResourceChange{}
}

func TestPlanReplicas(t *testing.T) {
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	edit(t, head, "k8s/base/deployment.yaml", "replicas: 2", "replicas: 3")

	overlays, err := Detect(head, []string{"k8s/base/deployment.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(overlays, []string{"k8s/overlays/prod", "k8s/overlays/staging"}); diff != "" {
		t.Fatalf("Detect mismatch (-got +want):\n%s", diff)
	}
	log, _ := logtest.Capture(t)
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			res, err := Plan(context.Background(), base, head, dir, Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != planbot.StatusPlanned || res.Error != "" {
				t.Fatalf("Status = %q, Error = %q, want planned", res.Status, res.Error)
			}
			if res.Duration <= 0 {
				t.Errorf("Duration = %v, want the time the plan took", res.Duration)
			}
			if diff := cmp.Diff(res.Project, planbot.Project{Name: dir, Dir: dir, Kind: planbot.KindKustomize}); diff != "" {
				t.Errorf("Project mismatch (-got +want):\n%s", diff)
			}
			if res.Summary != "0 added, 1 changed, 0 removed" {
				t.Errorf("Summary = %q", res.Summary)
			}
			ns := filepath.Base(dir)
			want := []changeSummary{{"apps", "Deployment", ns, "web", "changed"}}
			if diff := cmp.Diff(summarize(res.Manifest), want); diff != "" {
				t.Errorf("changes mismatch (-got +want):\n%s", diff)
			}
			d := findChange(t, res.Manifest, "Deployment", "web").Diff
			for _, l := range []string{"\n-  replicas: 2\n", "\n+  replicas: 3\n"} {
				if !strings.Contains(d, l) {
					t.Errorf("diff lacks %q:\n%s", l, d)
				}
			}
			if !strings.HasPrefix(d, "@@ -") {
				t.Errorf("diff does not start with a hunk header:\n%s", d)
			}
		})
	}
}

func TestPlanSecretLiteral(t *testing.T) {
	const oldLit, newLit = "hunter2-OLD-literal", "correct-horse-NEW-literal"
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	edit(t, head, "k8s/base/kustomization.yaml", "password="+oldLit, "password="+newLit)

	log, logs := logtest.Capture(t)
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Plan(context.Background(), base, head, "k8s/overlays/prod", Options{Logger: log, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != planbot.StatusPlanned {
		t.Fatalf("Status = %q, Error = %q", res.Status, res.Error)
	}
	secret := findChange(t, res.Manifest, "Secret", "")
	if !strings.HasPrefix(secret.Name, "db-creds-") {
		t.Errorf("Secret name = %q, want the generated db-creds-<hash>", secret.Name)
	}
	if !strings.HasPrefix(secret.Diff, "password: (changed)\n") || strings.Contains(secret.Diff, "username") {
		t.Errorf("Secret diff does not name exactly the changed key:\n%s", secret.Diff)
	}
	// The hash suffix changed: the same Secret, renamed, plus the
	// Deployment that refers to it; nothing added or removed.
	want := []changeSummary{
		{"", "Secret", "prod", secret.Name, "changed"},
		{"apps", "Deployment", "prod", "web", "changed"},
	}
	got := summarize(res.Manifest)
	if diff := cmp.Diff(got, want, cmpSortChanges); diff != "" {
		t.Errorf("changes mismatch (-got +want):\n%s", diff)
	}

	// Neither value, in any encoding, nor its digest appears anywhere.
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	headRes, err := Build(context.Background(), head, "k8s/overlays/prod", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, r := range headRes {
		for _, d := range r.SecretKeys {
			digests = append(digests, d)
		}
		if strings.Contains(r.YAML, newLit) || strings.Contains(r.YAML, base64.StdEncoding.EncodeToString([]byte(newLit))) {
			t.Errorf("rendered resource %s %s holds the secret value", r.Kind, r.Name)
		}
	}
	if len(digests) != 2 {
		t.Fatalf("got %d secret digests, want 2 (username, password)", len(digests))
	}
	var cached strings.Builder
	entries, _ := os.ReadDir(cache.dir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(cache.dir, e.Name()))
		cached.Write(data)
	}
	if cached.Len() == 0 {
		t.Fatal("the on-disk cache is empty")
	}
	for _, lit := range []string{oldLit, newLit} {
		b64 := base64.StdEncoding.EncodeToString([]byte(lit))
		for where, text := range map[string]string{"result": string(out), "log": logs.String(), "cache": cached.String()} {
			if strings.Contains(text, lit) || strings.Contains(text, b64) {
				t.Errorf("the %s holds the secret value %q", where, lit)
			}
		}
	}
	for _, d := range digests {
		if strings.Contains(string(out), d) {
			t.Errorf("the result holds a secret digest")
		}
	}
}

var cmpSortChanges = cmp.Transformer("sort", func(in []changeSummary) map[changeSummary]bool {
	m := make(map[changeSummary]bool)
	for _, c := range in {
		m[c] = true
	}
	return m
})

func TestPlanSecretKeys(t *testing.T) {
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	edit(t, head, "k8s/base/kustomization.yaml", "  - username=app\n", "  - host=db.internal\n")
	res, err := Plan(context.Background(), base, head, "k8s/overlays/staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret := findChange(t, res.Manifest, "Secret", "")
	if want := "host: (added)\nusername: (removed)\n"; !strings.HasPrefix(secret.Diff, want) {
		t.Errorf("Secret diff = %q, want it to start with %q", secret.Diff, want)
	}
	if strings.Contains(secret.Diff, "db.internal") {
		t.Errorf("Secret diff holds a value:\n%s", secret.Diff)
	}
}

func TestPlanFailedHead(t *testing.T) {
	const lit = "hunter2-OLD-literal"
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	// A patch for a resource that does not exist fails the build; the
	// error must name the problem and never the secret literal.
	write(t, head, "k8s/overlays/staging/debug.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nope\nspec:\n  replicas: 1\n")
	res, err := Plan(context.Background(), base, head, "k8s/overlays/staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != planbot.StatusFailed {
		t.Fatalf("Status = %q, want failed", res.Status)
	}
	if !strings.Contains(res.Error, "nope") || !strings.Contains(res.Error, "k8s/overlays/staging") {
		t.Errorf("Error = %q, want kustomize's message naming the patch target and the overlay", res.Error)
	}
	if strings.Contains(res.Error, lit) {
		t.Errorf("Error holds the secret literal: %q", res.Error)
	}
}

func TestRedactSecretLiteralFromError(t *testing.T) {
	// A literal without "=" makes kustomize quote it in its error; the
	// error must not carry it.
	const lit = "s3cret-without-a-key"
	root := t.TempDir()
	write(t, root, "o/kustomization.yaml", "secretGenerator:\n- name: s\n  literals:\n  - "+lit+"\n")
	_, err := Build(context.Background(), root, "o", Options{})
	if err == nil {
		t.Fatal("Build accepted a literal without a key")
	}
	if strings.Contains(err.Error(), lit) || !strings.Contains(err.Error(), "(redacted)") {
		t.Errorf("error = %v, want the literal replaced by (redacted)", err)
	}
}

func TestPlanNewAndDeleted(t *testing.T) {
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	write(t, head, "k8s/overlays/dev/kustomization.yaml", "namespace: dev\nresources:\n- ../../base\n")
	if err := os.RemoveAll(filepath.Join(head, "k8s/overlays/staging")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	res, err := Plan(ctx, base, head, "k8s/overlays/dev", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != planbot.StatusPlanned || !res.Manifest.New {
		t.Errorf("new overlay: Status = %q, New = %v; want planned, true", res.Status, res.Manifest.New)
	}
	// Deployment, Service, ConfigMap, generated ConfigMap and Secret.
	if res.Manifest.Added != 5 || res.Manifest.Changed+res.Manifest.Removed != 0 || res.Summary != "5 added, 0 changed, 0 removed" {
		t.Errorf("new overlay: %+v, Summary %q", summarize(res.Manifest), res.Summary)
	}
	dep := findChange(t, res.Manifest, "Deployment", "web")
	if !strings.HasPrefix(dep.Diff, "@@ -0,0 +1,") || !strings.Contains(dep.Diff, "\n+  replicas: 2\n") {
		t.Errorf("added Deployment diff:\n%s", dep.Diff)
	}

	res, err = Plan(ctx, base, head, "k8s/overlays/staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != planbot.StatusDeleted || res.Manifest.Removed != 5 || res.Manifest.New {
		t.Errorf("deleted overlay: Status = %q, manifest %+v", res.Status, summarize(res.Manifest))
	}
	if res.Summary != "Overlay deleted: 0 added, 0 changed, 5 removed" {
		t.Errorf("deleted overlay: Summary = %q", res.Summary)
	}

	res, err = Plan(ctx, base, head, "k8s/overlays/nope", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != planbot.StatusFailed || !strings.Contains(res.Error, "no kustomization in k8s/overlays/nope") {
		t.Errorf("missing overlay: Status = %q, Error = %q", res.Status, res.Error)
	}
}

func TestPlanNoChanges(t *testing.T) {
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	// A comment changes the input files but not the rendered output.
	edit(t, head, "k8s/base/service.yaml", "kind: Service\n", "kind: Service # the web front end\n")
	log, logs := logtest.Capture(t)
	cache, err := NewCache("")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Logger: log, Cache: cache}
	for i := range 2 {
		res, err := Plan(context.Background(), base, head, "k8s/overlays/prod", opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != planbot.StatusNoChange || res.Summary != "No changes." || len(res.Manifest.Resources) != 0 {
			t.Errorf("run %d: Status = %q, Summary = %q, changes %+v", i, res.Status, res.Summary, summarize(res.Manifest))
		}
	}
	if got := cache.Len(); got != 2 {
		t.Errorf("cache holds %d overlays, want 2 (base and head)", got)
	}
	if n := strings.Count(logs.String(), "cache_hit=true"); n != 2 {
		t.Errorf("second plan hit the cache %d times, want 2:\n%s", n, logs.String())
	}
}

func TestCacheSharesEqualInputs(t *testing.T) {
	// Base and head with equal inputs share one key and one build, even in
	// different directories, and a new Cache on the same directory reads
	// the entries back.
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	dir := t.TempDir()
	cache, err := NewCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Plan(context.Background(), base, head, "k8s/overlays/staging", Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != planbot.StatusNoChange {
		t.Fatalf("Status = %q", res.Status)
	}
	if cache.Len() != 1 {
		t.Errorf("cache holds %d overlays, want 1", cache.Len())
	}
	want, err := Build(context.Background(), head, "k8s/overlays/staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	reopened, err := NewCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, key := preparedKey(t, head, "k8s/overlays/staging")
	got, ok := reopened.get(key)
	if !ok {
		t.Fatal("the reopened cache misses the entry")
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("cached resources mismatch (-got +want):\n%s", diff)
	}
}

func TestKeyChangesWithInputs(t *testing.T) {
	base := extract(t, "app.txtar")
	key := func(root, dir string) string {
		t.Helper()
		_, k := preparedKey(t, root, dir)
		return k
	}
	tests := []struct {
		name    string
		change  func(root string)
		dir     string
		changes bool
	}{
		{name: "nothing", change: func(string) {}, dir: "k8s/overlays/prod"},
		{name: "base file", change: func(r string) { edit(t, r, "k8s/base/service.yaml", "port: 80", "port: 81") }, dir: "k8s/overlays/prod", changes: true},
		{name: "generator file", change: func(r string) { edit(t, r, "k8s/base/files/app.properties", "info", "debug") }, dir: "k8s/overlays/staging", changes: true},
		{name: "component", change: func(r string) { edit(t, r, "k8s/components/monitoring/kustomization.yaml", "true", "false") }, dir: "k8s/overlays/prod", changes: true},
		{name: "other overlay", change: func(r string) { edit(t, r, "k8s/overlays/staging/debug.yaml", "true", "false") }, dir: "k8s/overlays/prod"},
		{name: "new file in base", change: func(r string) { write(t, r, "k8s/base/extra.yaml", "x: 1\n") }, dir: "k8s/overlays/prod", changes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := copyTree(t, base)
			tt.change(head)
			if got := key(base, tt.dir) != key(head, tt.dir); got != tt.changes {
				t.Errorf("key changed = %v, want %v", got, tt.changes)
			}
		})
	}
}
