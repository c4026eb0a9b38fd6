package tag

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/errtest"
)

func TestParseDefault(t *testing.T) {
	p := MustCompile(Default)
	tests := []struct {
		name    string
		in      string
		want    Tag
		wantErr string
	}{
		{name: "services", in: "shop/production/2026/12/02/1030-ana-api,worker",
			want: Tag{Product: "shop", Env: "production", Year: "2026", Month: "12", Day: "02", HHMM: "1030", Name: "ana", Services: []string{"api", "worker"}}},
		{name: "one service", in: "shop/staging/2026/12/02/1030-ana-api",
			want: Tag{Product: "shop", Env: "staging", Year: "2026", Month: "12", Day: "02", HHMM: "1030", Name: "ana", Services: []string{"api"}}},
		{name: "every service", in: "shop/staging/2026/01/31/0000-ci",
			want: Tag{Product: "shop", Env: "staging", Year: "2026", Month: "01", Day: "31", HHMM: "0000", Name: "ci"}},
		{name: "dashed service", in: "shop/staging/2026/01/31/2359-ci-api-v2,db.migrate",
			want: Tag{Product: "shop", Env: "staging", Year: "2026", Month: "01", Day: "31", HHMM: "2359", Name: "ci", Services: []string{"api-v2", "db.migrate"}}},
		{name: "leap day", in: "a/b/2028/02/29/1200-x",
			want: Tag{Product: "a", Env: "b", Year: "2028", Month: "02", Day: "29", HHMM: "1200", Name: "x"}},
		{name: "no name", in: "shop/staging/2026/12/02/1030", wantErr: "does not match the pattern"},
		{name: "missing day", in: "shop/staging/2026/12/1030-ana", wantErr: "does not match"},
		{name: "short year", in: "shop/staging/26/12/02/1030-ana", wantErr: "does not match"},
		{name: "v tag", in: "v1.2.3", wantErr: "does not match"},
		{name: "empty service", in: "shop/staging/2026/12/02/1030-ana-api,", wantErr: "does not match"},
		{name: "trailing dash", in: "shop/staging/2026/12/02/1030-ana-", wantErr: "does not match"},
		{name: "bad month", in: "shop/staging/2026/13/02/1030-ana", wantErr: "2026-13-02 is not a date"},
		{name: "bad day", in: "shop/staging/2026/02/30/1030-ana", wantErr: "2026-02-30 is not a date"},
		{name: "bad time", in: "shop/staging/2026/02/03/2460-ana", wantErr: "2460 is not a time"},
		{name: "twice", in: "shop/staging/2026/02/03/1000-ana-api,api", wantErr: "names service api twice"},
		{name: "extra segment", in: "x/shop/staging/2026/02/03/1000-ana", wantErr: "does not match"},
		{name: "too long", in: strings.Repeat("a", 300), wantErr: "longer than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Parse(tt.in)
			if errtest.Want(t, err, tt.wantErr) {
				return
			}
			tt.want.Raw = tt.in
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Parse(%q) (-got +want):\n%s", tt.in, diff)
			}
			if f := p.Format(got); f != tt.in {
				t.Errorf("Format = %q, want %q", f, tt.in)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name, pattern, wantErr string
	}{
		{name: "default", pattern: Default},
		{name: "flat", pattern: "release-<env>-<product>[-<services>]"},
		{name: "nested", pattern: "<product>/<env>[/<name>[/<services>]]"},
		{name: "dated group", pattern: "<product>/<env>[@<yyyy><mm><dd>]"},
		{name: "empty", pattern: "", wantErr: "empty"},
		{name: "no env", pattern: "<product>/<name>", wantErr: "<env> is required"},
		{name: "optional product", pattern: "[<product>/]<env>", wantErr: "<product> is required"},
		{name: "unknown", pattern: "<product>/<env>/<team>", wantErr: "unknown placeholder <team>"},
		{name: "twice", pattern: "<product>/<env>/<env>", wantErr: "<env> appears twice"},
		{name: "unclosed placeholder", pattern: "<product>/<env", wantErr: "unclosed"},
		{name: "unclosed group", pattern: "<product>/<env>[-<name>", wantErr: `unclosed "["`},
		{name: "stray bracket", pattern: "<product>/<env>]", wantErr: "unbalanced"},
		{name: "literal group", pattern: "<product>/<env>[-x]", wantErr: "needs a placeholder"},
		{name: "partial date", pattern: "<product>/<env>/<yyyy>", wantErr: "go together"},
		{name: "control", pattern: "<product>\n<env>", wantErr: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.pattern)
			errtest.Want(t, err, tt.wantErr)
		})
	}
}

func TestCustomPattern(t *testing.T) {
	p := MustCompile("release-<env>-<product>[-<services>]")
	got, err := p.Parse("release-staging-shop-api,worker")
	if err != nil {
		t.Fatal(err)
	}
	want := Tag{Raw: "release-staging-shop-api,worker", Env: "staging", Product: "shop", Services: []string{"api", "worker"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	if _, ok := got.Time(); ok {
		t.Errorf("Time reported a date for a pattern without one")
	}
}

func TestTemplate(t *testing.T) {
	tg := MustCompile(Default)
	parsed, err := tg.Parse("shop/production/2026/12/02/1030-ana-api")
	if err != nil {
		t.Fatal(err)
	}
	sha := "89abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, src, want, wantErr string
	}{
		{name: "default", src: DefaultImageTag, want: sha},
		{name: "short", src: "{{.ShortSHA}}", want: "89abcde"},
		{name: "parts", src: "{{.Env}}-{{.Date}}-{{.HHMM}}-{{.Service}}-{{.ShortSHA}}", want: "production-2026-12-02-1030-api-89abcde"},
		{name: "unknown field", src: "{{.Commit}}", wantErr: "can't evaluate field Commit"},
		{name: "bad syntax", src: "{{.SHA", wantErr: "image tag template"},
		{name: "range", src: "{{range 100}}x{{end}}", wantErr: "only text and"},
		{name: "invalid tag", src: "{{.Tag}}", wantErr: "not a valid image tag"},
		{name: "empty", src: " ", wantErr: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := CompileTemplate(tt.src)
			var got string
			if err == nil {
				got, err = tmpl.Execute(NewValues(parsed, sha, "api"))
			}
			if errtest.Want(t, err, tt.wantErr) {
				return
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
