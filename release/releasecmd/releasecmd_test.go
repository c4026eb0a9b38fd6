package releasecmd

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/errtest"
	"github.com/planbot/planbot/release"
)

const token = "pbt_0123456789abcdef0123"

func tokenFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseOptions(t *testing.T) {
	env := map[string]string{"PLANBOT_URL": "https://planbot.example.com", "PLANBOT_IMAGE": "ghcr.io/a/x=1,ghcr.io/a/y@sha256:" + strings.Repeat("0", 64)}
	getenv := func(k string) string { return env[k] }
	base := []string{"--api-token-file", "/t", "--repo", "acme/k8s", "--environment", "staging"}
	tests := []struct {
		name    string
		args    []string
		want    []release.Image
		wantErr string
	}{
		{name: "images from the environment", args: base, want: []release.Image{{Name: "ghcr.io/a/x", Tag: "1"}, {Name: "ghcr.io/a/y", Digest: "sha256:" + strings.Repeat("0", 64)}}},
		{name: "flags win", args: append(base, "--image", "ghcr.io/a/z=2", "--image", "ghcr.io/a/w=3"), want: []release.Image{{Name: "ghcr.io/a/z", Tag: "2"}, {Name: "ghcr.io/a/w", Tag: "3"}}},
		{name: "bad image", args: append(base, "--image", "ghcr.io/a/z"), wantErr: "neither NAME=TAG nor NAME@DIGEST"},
		{name: "bad tag", args: append(base, "--image", "ghcr.io/a/z=-1"), wantErr: "not a valid tag"},
		{name: "no repo", args: []string{"--api-token-file", "/t", "--environment", "staging"}, wantErr: "repo must be owner/name"},
		{name: "extra argument", args: append(base, "now"), wantErr: "unexpected arguments: now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOptions(tt.args, getenv)
			if errtest.Want(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(o.Request.Images, tt.want); diff != "" {
				t.Errorf("images (-got +want):\n%s", diff)
			}
		})
	}
}

// TestMain posts the release, polls while it is queued, and prints the
// pull request; a refusal exits 1 with the reason.
func TestMainPolls(t *testing.T) {
	var polls atomic.Int32
	var posted release.APIRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"missing or invalid bearer token"}`)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/releases":
			json.NewDecoder(r.Body).Decode(&posted)
			if posted.Environment == "qa" {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"unknown environment \"qa\""}`)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"id":"release-1","state":"queued","poll":"/api/v1/releases/release-1"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/releases/release-1":
			if polls.Add(1) < 2 {
				io.WriteString(w, `{"id":"release-1","state":"running"}`)
				return
			}
			io.WriteString(w, `{"id":"release-1","state":"opened","pr":7,"url":"https://github.com/acme/k8s/pull/7","superseded":[6]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	args := func(env string) []string {
		return []string{"--url", srv.URL + "/", "--api-token-file", tokenFile(t), "--repo", "acme/k8s", "--environment", env, "--image", "ghcr.io/acme/api=1.4.2", "--source", "ci"}
	}
	var out, errb bytes.Buffer
	if code := Main(t.Context(), args("staging"), func(string) string { return "" }, srv.Client(), &out, &errb); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := out.String(); got != "opened #7 https://github.com/acme/k8s/pull/7\nsuperseded #6 (closed)\n" {
		t.Errorf("output = %q", got)
	}
	if posted.Repo != "acme/k8s" || posted.Source != "ci" || len(posted.Images) != 1 || posted.Images[0].Tag != "1.4.2" {
		t.Errorf("posted %+v", posted)
	}
	out.Reset()
	errb.Reset()
	if code := Main(t.Context(), args("qa"), func(string) string { return "" }, srv.Client(), &out, &errb); code != ExitError || !strings.Contains(errb.String(), `refused: unknown environment "qa"`) {
		t.Errorf("refused release: exit %d, stderr %q", code, errb.String())
	}
	if strings.Contains(out.String()+errb.String(), token) {
		t.Error("the token was printed")
	}
	if code := Main(t.Context(), []string{"--url", "ftp://x"}, func(string) string { return "" }, srv.Client(), &out, &errb); code != ExitUsage {
		t.Errorf("bad flags: exit %d", code)
	}
}
