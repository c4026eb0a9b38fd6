package release

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/golden"
)

const digest2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"

// TestSetImagesGolden bumps a kustomization with comments, odd key order
// and mixed quoting: the golden files show that everything but the bumped
// values is kept.
func TestSetImagesGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "odd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		images []Image
		want   []Change
	}{
		{name: "tag", images: []Image{{Name: "ghcr.io/acme/shop-api", Tag: "1.0.1"}},
			want: []Change{{Image: "ghcr.io/acme/shop-api", From: "1.0.0", To: "1.0.1"}}},
		{name: "digest", images: []Image{{Name: "ghcr.io/acme/shop-api", Digest: digest2}},
			want: []Change{{Image: "ghcr.io/acme/shop-api", From: "1.0.0", To: digest2}}},
		{name: "tag over digest", images: []Image{{Name: "ghcr.io/acme/shop-worker", Tag: "2.0"}},
			want: []Change{{Image: "ghcr.io/acme/shop-worker", From: "sha256:1111111111111111111111111111111111111111111111111111111111111111", To: "2.0"}}},
		{name: "added", images: []Image{{Name: "ghcr.io/acme/shop-cron", Tag: "3.1.4"}, {Name: "nginx", Tag: "1.28"}},
			want: []Change{{Image: "ghcr.io/acme/shop-cron", To: "3.1.4", Added: true}, {Image: "nginx", From: "1.27", To: "1.28"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changes, err := SetImages(in, tt.images)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(changes, tt.want); diff != "" {
				t.Errorf("changes (-got +want):\n%s", diff)
			}
			golden.Check(t, filepath.Join("testdata", "odd."+strings.ReplaceAll(tt.name, " ", "-")+".golden"), string(out))
		})
	}
}

// TestSetImagesOnlyImageLines checks that a conventionally formatted file
// changes only in its image lines.
func TestSetImagesOnlyImageLines(t *testing.T) {
	in := "namespace: staging\nresources:\n  - ../../base\nimages:\n  - name: ghcr.io/acme/shop-api\n    newTag: abc\n  - name: ghcr.io/acme/shop-worker\n    newTag: def\n"
	out, _, err := SetImages([]byte(in), []Image{{Name: "ghcr.io/acme/shop-api", Tag: "0123456789abcdef0123456789abcdef01234567"}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(in, "newTag: abc", "newTag: 0123456789abcdef0123456789abcdef01234567", 1)
	if diff := cmp.Diff(string(out), want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}

func TestSetImagesNoImages(t *testing.T) {
	in := "resources:\n- ../../base\n"
	out, changes, err := SetImages([]byte(in), []Image{{Name: "a/b", Tag: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := in + "images:\n- name: a/b\n  newTag: \"1\"\n"
	if diff := cmp.Diff(string(out), want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	if len(changes) != 1 || !changes[0].Added {
		t.Errorf("changes = %+v, want one added", changes)
	}
}

func TestSetImagesUnchanged(t *testing.T) {
	in := []byte("images:\n- name: a/b\n  newTag: x # same\n- name: a/c\n  digest: " + digest2 + "\n")
	out, changes, err := SetImages(in, []Image{{Name: "a/b", Tag: "x"}, {Name: "a/c", Digest: digest2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 || string(out) != string(in) {
		t.Errorf("SetImages of the current references changed %+v:\n%s", changes, out)
	}
}

func TestSetImagesErrors(t *testing.T) {
	tests := []struct {
		name, in string
		img      Image
		want     string
	}{
		{name: "both", in: "images: []", img: Image{Name: "a", Tag: "1", Digest: digest2}, want: "not both"},
		{name: "neither", in: "images: []", img: Image{Name: "a"}, want: "set a tag or a digest"},
		{name: "bad tag", in: "images: []", img: Image{Name: "a", Tag: "-x"}, want: "not a valid tag"},
		{name: "bad digest", in: "images: []", img: Image{Name: "a", Digest: "sha256:x"}, want: "not a sha256 digest"},
		{name: "images not a list", in: "images: {a: b}", img: Image{Name: "a", Tag: "1"}, want: "must be a list"},
		{name: "not a mapping", in: "- a\n", img: Image{Name: "a", Tag: "1"}, want: "parse kustomization"},
		{name: "bad yaml", in: "a: [", img: Image{Name: "a", Tag: "1"}, want: "parse kustomization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := SetImages([]byte(tt.in), []Image{tt.img})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
