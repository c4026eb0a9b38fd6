package kustomize

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/planbot/planbot"
)

var fixtureDir = flag.String("fixture", "", "write the BenchmarkPlan2000 base and head trees under this directory (TestWriteLargeFixture)")

// largeFixtureApp is one application of writeLargeFixture: its index and
// image tag fill the Deployment, Service and ConfigMap.
const largeFixtureApp = `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%[1]d
spec:
  replicas: 2
  selector:
    matchLabels:
      app: app-%[1]d
  template:
    metadata:
      labels:
        app: app-%[1]d
    spec:
      containers:
      - name: app
        image: registry.example.com/app-%[1]d:%[2]s
        envFrom:
        - configMapRef:
            name: app-%[1]d
        ports:
        - containerPort: 8080
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
---
apiVersion: v1
kind: Service
metadata:
  name: app-%[1]d
spec:
  selector:
    app: app-%[1]d
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-%[1]d
data:
  LOG_LEVEL: info
  UPSTREAM: http://app-%[1]d.internal
`

// writeLargeFixture writes an overlay of n resources (a Deployment,
// Service and ConfigMap per application, 100 resources a file) to root.
// When changed is set, every 100th application gets another image tag, so
// about 1% of the Deployments differ.
func writeLargeFixture(t testing.TB, root string, n int, changed bool) {
	t.Helper()
	var kust strings.Builder
	kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	var file strings.Builder
	files := 0
	flush := func() {
		if file.Len() == 0 {
			return
		}
		name := fmt.Sprintf("apps-%03d.yaml", files)
		write(t, root, "k8s/base/"+name, file.String())
		fmt.Fprintf(&kust, "- %s\n", name)
		file.Reset()
		files++
	}
	for i := 0; i < n/3; i++ {
		tag := "1.0.0"
		if changed && i%100 == 0 {
			tag = "1.0.1"
		}
		fmt.Fprintf(&file, largeFixtureApp, i, tag)
		if (i+1)%33 == 0 {
			flush()
		}
	}
	flush()
	write(t, root, "k8s/base/kustomization.yaml", kust.String())
	write(t, root, "k8s/overlays/prod/kustomization.yaml", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
resources:
- ../../base
labels:
- pairs:
    env: prod
commonAnnotations:
  team: platform
`)
}

// TestWriteLargeFixture writes the benchmark's trees for a comparison with
// kubectl kustomize when -fixture is set (see docs).
func TestWriteLargeFixture(t *testing.T) {
	if *fixtureDir == "" {
		t.Skip("set -fixture DIR to write the benchmark trees")
	}
	writeLargeFixture(t, *fixtureDir+"/base", 2000, false)
	writeLargeFixture(t, *fixtureDir+"/head", 2000, true)
}

// BenchmarkPlan2000 plans an overlay of about 2,000 resources of which 1%
// changed. "cold" renders base and head (concurrently), "cold-sequential"
// renders them one after the other; "base-cached"
// finds base in the Cache, as it is after the first pull request against
// the same base commit, and renders head only; "both-cached" is a re-plan
// of unchanged commits, which hashes the inputs and diffs. See
// docs/performance.md for a comparison with kubectl kustomize.
func BenchmarkPlan2000(b *testing.B) {
	base, head := b.TempDir(), b.TempDir()
	writeLargeFixture(b, base, 2000, false)
	writeLargeFixture(b, head, 2000, true)
	ctx := context.Background()
	const dir = "k8s/overlays/prod"
	check := func(res planbot.Result) {
		if res.Status != planbot.StatusPlanned || res.Manifest.Changed != 7 {
			b.Fatalf("Status = %q, Error = %q, manifest %+v", res.Status, res.Error, summarize(res.Manifest))
		}
	}

	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			res, err := Plan(ctx, base, head, dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			check(res)
		}
	})
	// The same two renders one after the other, as a reviewer would run
	// them: cold must not be slower than this.
	b.Run("cold-sequential", func(b *testing.B) {
		for b.Loop() {
			baseRes, err := Build(ctx, base, dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			headRes, err := Build(ctx, head, dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if md := Diff(baseRes, headRes); md.Changed != 7 {
				b.Fatalf("manifest %+v", summarize(&md))
			}
		}
	})
	b.Run("base-cached", func(b *testing.B) {
		in, key := preparedKey(b, base, dir)
		baseRes, err := render(ctx, in, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			b.StopTimer()
			cache, _ := NewCache("")
			cache.remember(key, baseRes)
			b.StartTimer()
			res, err := Plan(ctx, base, head, dir, Options{Cache: cache})
			if err != nil {
				b.Fatal(err)
			}
			check(res)
		}
	})
	b.Run("both-cached", func(b *testing.B) {
		// A re-plan of the same commits: nothing is rendered.
		cache, _ := NewCache("")
		if _, err := Plan(ctx, base, head, dir, Options{Cache: cache}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := Plan(ctx, base, head, dir, Options{Cache: cache})
			if err != nil {
				b.Fatal(err)
			}
			check(res)
		}
	})
}
