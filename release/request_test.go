package release

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/errtest"
)

func shopRelease(t *testing.T) config.Release {
	t.Helper()
	r, err := config.ParseRepo([]byte(`version: 1
release:
  image_tag: "{{.ShortSHA}}"
  allowed_repos: [acme/shop, acme/k8s]
  products:
    - name: shop
      services:
        - {name: api, image: ghcr.io/acme/shop-api}
        - {name: worker, image: ghcr.io/acme/shop-worker}
    - name: cart
      services:
        - {name: web, image: ghcr.io/acme/cart-web}
  environments:
    - {name: staging, overlays: [k8s/staging]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return r.Release
}

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestFromTag(t *testing.T) {
	rel := shopRelease(t)
	at := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		name, tag, source string
		want              []Image
		wantErr           string
	}{
		{name: "one service", tag: "shop/staging/2026/12/02/1030-ana-api", source: "acme/k8s",
			want: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "0123456"}}},
		{name: "every service", tag: "shop/staging/2026/12/02/1030-ana", source: "acme/k8s",
			want: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "0123456"}, {Name: "ghcr.io/acme/shop-worker", Tag: "0123456"}}},
		{name: "listed order", tag: "shop/staging/2026/12/02/1030-ana-worker,api", source: "acme/shop",
			want: []Image{{Name: "ghcr.io/acme/shop-worker", Tag: "0123456"}, {Name: "ghcr.io/acme/shop-api", Tag: "0123456"}}},
		{name: "not allowed", tag: "shop/staging/2026/12/02/1030-ana", source: "acme/other", wantErr: "acme/other may not release into acme/k8s"},
		{name: "no match", tag: "v1.0.0", source: "acme/k8s", wantErr: "does not match the pattern"},
		{name: "unknown product", tag: "shoe/staging/2026/12/02/1030-ana", source: "acme/k8s", wantErr: `unknown product "shoe" (want one of shop, cart)`},
		{name: "unknown env", tag: "shop/prod/2026/12/02/1030-ana", source: "acme/k8s", wantErr: `unknown environment "prod" (want one of staging)`},
		{name: "unknown service", tag: "shop/staging/2026/12/02/1030-ana-web", source: "acme/k8s", wantErr: `product shop has no service "web" (want one of api, worker)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := FromTag(rel, "acme/k8s", tt.source, tt.tag, sha, "ana", at)
			if errtest.Want(t, err, tt.wantErr) {
				if planbot.ErrorCode(err) != planbot.EINVALID {
					t.Fatalf("error = %v, want an EINVALID one", err)
				}
				return
			}
			if diff := cmp.Diff(req.Images, tt.want); diff != "" {
				t.Errorf("images (-got +want):\n%s", diff)
			}
			if req.Branch() != "planbot/release/staging/shop" || req.Trigger != TriggerTag || req.Origin != tt.tag {
				t.Errorf("request = %+v", req)
			}
		})
	}
}

func TestFromImages(t *testing.T) {
	rel := shopRelease(t)
	tests := []struct {
		name    string
		env     string
		images  []Image
		wantErr string
	}{
		{name: "ok", env: "staging", images: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "1.0.1"}, {Name: "ghcr.io/acme/shop-worker", Digest: "sha256:" + strings.Repeat("a", 64)}}},
		{name: "unknown env", env: "prod", images: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "1"}}, wantErr: `unknown environment "prod"`},
		{name: "unknown image", env: "staging", images: []Image{{Name: "ghcr.io/acme/nope", Tag: "1"}}, wantErr: `unknown image "ghcr.io/acme/nope"`},
		{name: "two products", env: "staging", images: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "1"}, {Name: "ghcr.io/acme/cart-web", Tag: "1"}}, wantErr: "release one product at a time"},
		{name: "twice", env: "staging", images: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "1"}, {Name: "ghcr.io/acme/shop-api", Tag: "2"}}, wantErr: "listed twice"},
		{name: "no images", env: "staging", wantErr: "no images"},
		{name: "tag and digest", env: "staging", images: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "1", Digest: "sha256:" + strings.Repeat("a", 64)}}, wantErr: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := FromImages(rel, tt.env, tt.images, "ci", TriggerAPI, "POST /api/v1/releases", time.Now())
			if errtest.Want(t, err, tt.wantErr) {
				return
			}
			if req.Product != "shop" {
				t.Fatalf("FromImages = %+v, %v", req, err)
			}
		})
	}
}

func TestBodyRoundTrip(t *testing.T) {
	req := Request{Env: "staging", Product: "shop", Images: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "1.0.2"}, {Name: "ghcr.io/acme/shop-worker", Tag: "9"}},
		Actor: "ci | <script> -->", Trigger: TriggerAPI, Origin: "POST /api/v1/releases", At: time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)}
	b := Body{Request: req, Changes: []Change{{Image: "ghcr.io/acme/shop-api", From: "1.0.1", To: "1.0.2"}}, Supersedes: []int{4}, Rollback: true, AutoMerge: true}
	out := b.Render()
	for _, want := range []string{
		"| `ghcr.io/acme/shop-api` | `1.0.1` | `1.0.2` | ci \\| &lt;script&gt; --&gt; | 2026-12-02 10:30 UTC | api POST /api/v1/releases |",
		"| `ghcr.io/acme/shop-worker` | `(already set)` | `9` |",
		"Supersedes #4, closed.", "Rollback", "auto_merge",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("body lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "-->") != 1 {
		t.Errorf("the actor closes the marker early:\n%s", out)
	}
	got, ok := Parse(out)
	if !ok {
		t.Fatalf("Parse of the rendered body failed:\n%s", out)
	}
	if diff := cmp.Diff(got, req); diff != "" {
		t.Errorf("round trip (-got +want):\n%s", diff)
	}
	if _, ok := Parse("no marker here"); ok {
		t.Error("Parse accepted a body without marker")
	}
	if _, ok := Parse(markerStart + `{"env":"a","product":"b","images":[{"name":"x"}]}` + markerEnd); ok {
		t.Error("Parse accepted an image without tag or digest")
	}
	if got := req.Title(true); got != "Roll back shop to staging: shop-api 1.0.2, shop-worker 9" {
		t.Errorf("Title = %q", got)
	}
}
