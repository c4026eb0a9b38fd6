package codeowners

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/treetest"
)

// fakeGitHub serves files from a real git repository and everything else
// from maps, counting the lookups it answers.
type fakeGitHub struct {
	dir         string // git repository; GetFile reads "git show ref:path"
	reviews     []planbot.Review
	perms       map[string]string   // login -> permission; missing: 404
	teams       map[string][]string // "org/team" -> members
	permErr     error
	permCalls   map[string]int
	memberCalls map[string]int
	fileErr     error
}

func (g *fakeGitHub) GetFile(ctx context.Context, repo planbot.Repo, path, ref string) ([]byte, error) {
	if g.fileErr != nil {
		return nil, g.fileErr
	}
	if err := exec.CommandContext(ctx, "git", "-C", g.dir, "cat-file", "-e", ref+":"+path).Run(); err != nil {
		return nil, planbot.Errorf(planbot.ENOTFOUND, "%s not found at %s", path, ref)
	}
	out, err := exec.CommandContext(ctx, "git", "-C", g.dir, "show", ref+":"+path).Output()
	if err != nil {
		return nil, fmt.Errorf("git show: %w", err)
	}
	return out, nil
}

func (g *fakeGitHub) ListReviews(ctx context.Context, repo planbot.Repo, number int) ([]planbot.Review, error) {
	return g.reviews, nil
}

func (g *fakeGitHub) IsTeamMember(ctx context.Context, org, team, user string) (bool, error) {
	g.memberCalls[org+"/"+team+" "+user]++
	for _, m := range g.teams[org+"/"+team] {
		if strings.EqualFold(m, user) {
			return true, nil
		}
	}
	return false, nil
}

func (g *fakeGitHub) Permission(ctx context.Context, repo planbot.Repo, user string) (string, error) {
	g.permCalls[user]++
	if g.permErr != nil {
		return "", g.permErr
	}
	p, ok := g.perms[strings.ToLower(user)]
	if !ok {
		return "", planbot.Errorf(planbot.ENOTFOUND, "no such user %s", user)
	}
	return p, nil
}

// git runs git in dir and returns its trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=planbot", "GIT_AUTHOR_EMAIL=planbot@example.com",
		"GIT_COMMITTER_NAME=planbot", "GIT_COMMITTER_EMAIL=planbot@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepo creates a git repository with files committed on main and
// returns its dir and the commit SHA.
func newRepo(t *testing.T, files map[string]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	treetest.Write(t, dir, files)
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "base")
	return dir, git(t, dir, "rev-parse", "HEAD")
}

var testRepo = planbot.Repo{Owner: "acme", Name: "infra"}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		wantPath  string
		wantRules int
	}{
		{
			name: ".github wins over root and docs",
			files: map[string]string{
				".github/CODEOWNERS": "* @a\n", "CODEOWNERS": "* @b\n*.md @c\n", "docs/CODEOWNERS": "* @d\n",
			},
			wantPath: ".github/CODEOWNERS", wantRules: 1,
		},
		{
			name:     "root wins over docs",
			files:    map[string]string{"CODEOWNERS": "* @b\n*.md @c\n", "docs/CODEOWNERS": "* @d\n"},
			wantPath: "CODEOWNERS", wantRules: 2,
		},
		{
			name:     "docs",
			files:    map[string]string{"docs/CODEOWNERS": "* @d\n"},
			wantPath: "docs/CODEOWNERS", wantRules: 1,
		},
		{
			name:     "lower-case name is not CODEOWNERS",
			files:    map[string]string{".github/codeowners": "* @d\n", "README.md": "x"},
			wantPath: "", wantRules: 0,
		},
		{
			name:     "none",
			files:    map[string]string{"README.md": "x"},
			wantPath: "", wantRules: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, sha := newRepo(t, tt.files)
			f, err := Load(context.Background(), &fakeGitHub{dir: dir}, testRepo, sha)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{f.Path, len(f.Ruleset)}, []any{tt.wantPath, tt.wantRules}); diff != "" {
				t.Errorf("Load [path rules] mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestLoadReadsBase checks that a pull request cannot change its own
// owners: the file is read at the base commit, not at the head.
func TestLoadReadsBase(t *testing.T) {
	dir, base := newRepo(t, map[string]string{".github/CODEOWNERS": "/envs/prod/ @alice\n"})
	git(t, dir, "checkout", "-q", "-b", "pr")
	treetest.Write(t, dir, map[string]string{".github/CODEOWNERS": "/envs/prod/ @mallory\n"})
	git(t, dir, "commit", "-q", "-am", "take over prod")

	f, err := Load(context.Background(), &fakeGitHub{dir: dir}, testRepo, base)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := f.Match("envs/prod/main.tf")
	if diff := cmp.Diff(r.Owners, []string{"@alice"}); diff != "" {
		t.Errorf("owners mismatch (-got +want):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	big := strings.Repeat("# padding padding padding padding padding padding padding\n", MaxSize/58+1)
	dir, sha := newRepo(t, map[string]string{"CODEOWNERS": big})
	tests := []struct {
		name     string
		gh       *fakeGitHub
		sha      string
		wantCode string
	}{
		{name: "file of 3 MB fails closed", gh: &fakeGitHub{dir: dir}, sha: sha, wantCode: planbot.EINVALID},
		{name: "GitHub error is returned", gh: &fakeGitHub{dir: dir, fileErr: errors.New("502 bad gateway")}, sha: sha, wantCode: planbot.EINTERNAL},
		{name: "unknown base", gh: &fakeGitHub{dir: dir}, sha: "", wantCode: planbot.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Load(context.Background(), tt.gh, testRepo, tt.sha)
			if err == nil {
				t.Fatalf("Load = %+v, want error", f)
			}
			if got := planbot.ErrorCode(err); got != tt.wantCode {
				t.Errorf("error code = %q, want %q (%v)", got, tt.wantCode, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir, base := newRepo(t, map[string]string{".github/CODEOWNERS": testOwners})
	newGH := func(reviews ...planbot.Review) *fakeGitHub {
		return &fakeGitHub{
			dir:     dir,
			reviews: reviews,
			perms: map[string]string{
				"alice": "write", "bob": "admin", "carol": "write", "dave": "read", "mallory": "write",
			},
			teams:       map[string][]string{"acme/platform": {"Carol", "dave", "mallory"}},
			permCalls:   map[string]int{},
			memberCalls: map[string]int{},
		}
	}
	ctx := context.Background()

	t.Run("approved through team and user", func(t *testing.T) {
		gh := newGH(
			rv("carol", "COMMENTED", old), rv("carol", "APPROVED", head), rv("carol", "COMMENTED", head),
			rv("alice", "APPROVED", head), rv("mallory", "APPROVED", head), rv("ghost", "APPROVED", head),
		)
		f, err := Load(ctx, gh, testRepo, base)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Check(ctx, gh, f, Input{
			Repo: testRepo, Number: 7, Author: "mallory", HeadSHA: head,
			Paths: []string{"envs/prod/main.tf", "modules/vpc/main.tf", "envs/dev/main.tf"},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkDecision(t, d, approved(by("carol", ruleAll), by("alice", ruleProd), by("carol", ruleModules)))
		// Each reviewer's permission and membership is asked once; the
		// author is never asked about.
		wantPerm := map[string]int{"carol": 1, "alice": 1, "ghost": 1}
		if diff := cmp.Diff(gh.permCalls, wantPerm); diff != "" {
			t.Errorf("permission lookups mismatch (-got +want):\n%s", diff)
		}
		wantMember := map[string]int{"acme/platform carol": 1, "acme/platform alice": 1, "acme/platform ghost": 1}
		if diff := cmp.Diff(gh.memberCalls, wantMember); diff != "" {
			t.Errorf("membership lookups mismatch (-got +want):\n%s", diff)
		}
	})

	t.Run("unknown user has no permission", func(t *testing.T) {
		gh := newGH(rv("ghost", "APPROVED", head))
		f, err := Load(ctx, gh, testRepo, base)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Check(ctx, gh, f, Input{Repo: testRepo, Number: 7, Author: "mallory", HeadSHA: head, Paths: []string{"docs/x.md"}})
		if err != nil {
			t.Fatal(err)
		}
		if d.Approved || !d.Unowned {
			t.Errorf("Check = %+v, want unowned and not approved", d)
		}
	})

	t.Run("lookup failure is an error", func(t *testing.T) {
		gh := newGH(rv("carol", "APPROVED", head))
		gh.permErr = errors.New("503")
		f, err := Load(ctx, gh, testRepo, base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Check(ctx, gh, f, Input{Repo: testRepo, Number: 7, Author: "mallory", HeadSHA: head, Paths: []string{"a"}}); err == nil {
			t.Error("Check succeeded despite a failing permission lookup")
		}
	})
}
