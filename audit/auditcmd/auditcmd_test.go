package auditcmd

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/golden"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/audit/audittest"
	"github.com/planbot/planbot/store/sqlite"

	_ "modernc.org/sqlite" // the "sqlite" driver, for tampering with rows
)

// clearEnv hides any PLANBOT_* twin of the command's flags from Main.
func clearEnv(t *testing.T) {
	for _, name := range []string{"DATA_DIR", "DATABASE", "REPO", "PR", "SINCE", "JSON", "VERIFY", "FILE"} {
		t.Setenv("PLANBOT_"+name, "")
	}
}

// sqliteOpener opens the store as `planbot audit` does, counting calls.
func sqliteOpener(t *testing.T, calls *int) Opener {
	return func(ctx context.Context, database string) (Lister, func() error, error) {
		*calls++
		db, err := sqlite.Open(ctx, database, slog.New(slog.NewTextHandler(t.Output(), nil)))
		if err != nil {
			return nil, nil, err
		}
		return db, db.Close, nil
	}
}

// tlog sends log lines to t.Log.
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// seed creates a planbot database in a new data directory and appends
// five entries through the store. It returns the data directory and the
// stored entries.
func seed(t *testing.T) (string, []audit.Entry) {
	t.Helper()
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	db, err := sqlite.Open(ctx, filepath.Join(dataDir, "planbot.db"), slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const head = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	const plan = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	in := []audit.Entry{
		{Time: t0, Repo: "acme/infra", PR: 12, HeadSHA: head, BaseSHA: "base", Project: "prod", Action: audit.ActionPlan,
			Actor: "alice", Outcome: "planned", Detail: "1 to add", PlanSHA256: plan, DeliveryID: "d1"},
		{Time: t0.Add(time.Hour), Repo: "acme/infra", PR: 12, HeadSHA: head, BaseSHA: "base", Project: "prod",
			Action: audit.ActionApplyRequested, Actor: "bob", Outcome: "started",
			Approvers:  []audit.Approver{{Login: "carol", Rule: "/prod/ @acme/sre"}},
			PlanSHA256: plan, DeliveryID: "d2"},
		{Time: t0.Add(time.Hour + time.Minute), Repo: "acme/infra", PR: 12, HeadSHA: head, BaseSHA: "base", Project: "prod",
			Action: audit.ActionApply, Actor: "bob", Outcome: "applied", Detail: "Apply complete! Resources: 1 added.",
			Approvers:  []audit.Approver{{Login: "carol", Rule: "/prod/ @acme/sre"}},
			PlanSHA256: plan, DeliveryID: "d2"},
		{Time: t0.Add(2 * time.Hour), Repo: "acme/infra", PR: 13, HeadSHA: head, Project: "dev", Action: audit.ActionApplyRefused,
			Actor: "mallory", Outcome: "refused", Detail: "no approval from an owner of dev/", DeliveryID: "d3"},
		{Time: t0.Add(3 * time.Hour), Repo: "acme/apps", PR: 12, HeadSHA: head, Project: "web", Action: audit.ActionMerge,
			Actor: "planbot[bot]", Outcome: "merged", DeliveryID: "d4"},
	}
	var stored []audit.Entry
	for _, e := range in {
		s, inserted, err := db.AppendAudit(ctx, e)
		if err != nil || !inserted {
			t.Fatalf("AppendAudit = %v, %v", inserted, err)
		}
		stored = append(stored, s)
	}
	return dataDir, stored
}

// run runs Main and returns its exit status, stdout and stderr.
func run(t *testing.T, open Opener, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, open, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	golden.Check(t, path, got)
}

func TestList(t *testing.T) {
	clearEnv(t)
	dataDir, _ := seed(t)
	var calls int
	open := sqliteOpener(t, &calls)
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "all", args: nil, golden: "all.golden"},
		{name: "repo", args: []string{"--repo", "acme/infra"}, golden: "repo.golden"},
		{name: "repo and pr", args: []string{"--repo=acme/infra", "--pr=12"}, golden: "repo_pr.golden"},
		{name: "pr across repos", args: []string{"--pr", "12"}, golden: "pr.golden"},
		{name: "since", args: []string{"--since", "2024-05-01T11:01:00Z"}, golden: "since.golden"},
		{name: "since in another zone", args: []string{"--since", "2024-05-01T13:01:00+02:00"}, golden: "since.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, open, append([]string{"--data-dir", dataDir}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			checkGolden(t, filepath.Join("testdata", tt.golden), stdout)
		})
	}
}

func TestListNoMatch(t *testing.T) {
	clearEnv(t)
	dataDir, _ := seed(t)
	var calls int
	code, stdout, stderr := run(t, sqliteOpener(t, &calls), "--data-dir", dataDir, "--repo", "acme/none")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if got := strings.Count(stdout, "\n"); got != 1 {
		t.Errorf("stdout has %d lines, want only the header:\n%s", got, stdout)
	}
	if !strings.Contains(stderr, "no matching entries") {
		t.Errorf("stderr = %q, want it to say nothing matched", stderr)
	}
}

func TestDataDirFromEnvironment(t *testing.T) {
	clearEnv(t)
	dataDir, _ := seed(t)
	t.Setenv("PLANBOT_DATA_DIR", dataDir)
	t.Setenv("PLANBOT_REPO", "acme/apps")
	var calls int
	code, stdout, stderr := run(t, sqliteOpener(t, &calls))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	checkGolden(t, filepath.Join("testdata", "env.golden"), stdout)
}

func TestJSON(t *testing.T) {
	clearEnv(t)
	dataDir, stored := seed(t)
	var calls int
	code, stdout, stderr := run(t, sqliteOpener(t, &calls), "--database", filepath.Join(dataDir, "planbot.db"), "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	objects := audittest.JSONLines(t, stdout, len(stored))
	for i, m := range objects {
		if got, want := m["hash"], stored[i].Hash; got != want {
			t.Errorf("line %d: hash = %v, want %v", i+1, got, want)
		}
	}
	want := map[string]any{
		"seq": 1.0, "time": "2024-05-01T10:00:00Z", "repo": "acme/infra", "pr": 12.0,
		"head_sha": "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "base_sha": "base", "project": "prod",
		"action": "plan", "actor": "alice", "approvers": []any{}, "outcome": "planned", "detail": "1 to add",
		"plan_sha256": "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "delivery_id": "d1",
		"prev_hash": "", "hash": stored[0].Hash,
	}
	if diff := cmp.Diff(objects[0], want); diff != "" {
		t.Errorf("first line (-got +want):\n%s", diff)
	}
}

// execSQL runs SQL directly against the database file, as someone with write
// access to it could.
func execSQL(t *testing.T, dataDir, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "planbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", query, n)
	}
}

func TestVerifyDatabase(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name       string
		tamper     func(t *testing.T, dataDir string)
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{
			name:       "intact",
			wantCode:   0,
			wantStdout: "audit chain intact: 5 entries, seq 1..5, head hash ",
		},
		{
			name:       "filters are ignored",
			args:       []string{"--repo", "acme/apps", "--pr", "12", "--since", "1h"},
			wantCode:   0,
			wantStdout: "audit chain intact: 5 entries, seq 1..5, head hash ",
			wantStderr: []string{"--verify checks the whole chain; ignoring --repo, --pr, --since"},
		},
		{
			name: "detail changed",
			tamper: func(t *testing.T, dataDir string) {
				execSQL(t, dataDir, `UPDATE audit SET detail = ? WHERE seq = 3`, "Apply complete! Resources: 0 added.")
			},
			wantCode:   1,
			wantStderr: []string{"audit chain broken at seq 3\n", "entry 3 does not match its hash"},
		},
		{
			name: "approver added with its hash recomputed",
			tamper: func(t *testing.T, dataDir string) {
				db := openRead(t, dataDir)
				e := db[3]
				e.Approvers = []audit.Approver{{Login: "mallory", Rule: "* @mallory"}}
				execSQL(t, dataDir, `UPDATE audit SET approvers = ?, hash = ? WHERE seq = 4`,
					`[{"login":"mallory","rule":"* @mallory"}]`, e.ComputeHash())
			},
			wantCode:   1,
			wantStderr: []string{"audit chain broken at seq 5\n", "entry 5 does not link to the entry before it"},
		},
		{
			name: "middle entry removed",
			tamper: func(t *testing.T, dataDir string) {
				execSQL(t, dataDir, `DELETE FROM audit WHERE seq = 2`)
			},
			wantCode:   1,
			wantStderr: []string{"audit chain broken at seq 3\n"},
		},
		{
			name: "first entry removed",
			tamper: func(t *testing.T, dataDir string) {
				execSQL(t, dataDir, `DELETE FROM audit WHERE seq = 1`)
			},
			wantCode:   1,
			wantStderr: []string{"audit chain broken at seq 2\n", "the start of the log was removed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir, stored := seed(t)
			if tt.tamper != nil {
				tt.tamper(t, dataDir)
			}
			var calls int
			code, stdout, stderr := run(t, sqliteOpener(t, &calls), append([]string{"--verify", "--data-dir", dataDir}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			wantStdout := tt.wantStdout
			if wantStdout != "" {
				wantStdout += stored[len(stored)-1].Hash + "\n"
			}
			if diff := cmp.Diff(stdout, wantStdout); diff != "" {
				t.Errorf("stdout (-got +want):\n%s", diff)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", stderr, want)
				}
			}
			if len(tt.wantStderr) == 0 && stderr != "" {
				t.Errorf("stderr = %q, want none", stderr)
			}
		})
	}
}

// openRead returns the stored entries through the store.
func openRead(t *testing.T, dataDir string) []audit.Entry {
	t.Helper()
	var calls int
	l, closeStore, err := sqliteOpener(t, &calls)(context.Background(), filepath.Join(dataDir, "planbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	entries, err := l.Audit(context.Background(), Options{}.Filter())
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestVerifyFile(t *testing.T) {
	clearEnv(t)
	dataDir, stored := seed(t)
	var calls int
	open := sqliteOpener(t, &calls)
	export := func(t *testing.T, args ...string) string {
		t.Helper()
		code, stdout, stderr := run(t, open, append([]string{"--data-dir", dataDir, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("export: exit %d, stderr:\n%s", code, stderr)
		}
		return stdout
	}
	full := export(t)

	tests := []struct {
		name       string
		content    string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{
			name:       "intact export",
			content:    full,
			wantCode:   0,
			wantStdout: "audit chain intact: 5 entries, seq 1..5, head hash " + stored[4].Hash + "\n",
		},
		{
			name:       "tampered detail",
			content:    strings.Replace(full, `"detail":"no approval from an owner of dev/"`, `"detail":"approved"`, 1),
			wantCode:   1,
			wantStderr: []string{"audit chain broken at seq 4\n", "entry 4 does not match its hash"},
		},
		{
			name:       "line removed",
			content:    dropLine(full, 1),
			wantCode:   1,
			wantStderr: []string{"audit chain broken at seq 3\n"},
		},
		{
			name:       "filtered export",
			content:    export(t, "--repo", "acme/apps"),
			wantCode:   1,
			wantStderr: []string{"audit chain broken at seq 5\n", "only an unfiltered export can be verified"},
		},
		{
			name:       "not an export",
			content:    `{"path":"x","owners":[]}` + "\n",
			wantCode:   1,
			wantStderr: []string{`unknown field "path"`},
		},
		{
			name:       "empty file",
			content:    "",
			wantCode:   0,
			wantStdout: "has no entries\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			before := calls
			code, stdout, stderr := run(t, open, "--verify", "--file", file)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.HasSuffix(stdout, tt.wantStdout) || (tt.wantStdout == "") != (stdout == "") {
				t.Errorf("stdout = %q, want it to end with %q", stdout, tt.wantStdout)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", stderr, want)
				}
			}
			if calls != before {
				t.Errorf("--file opened the database")
			}
		})
	}
}

// dropLine removes line i (from 0) of s.
func dropLine(s string, i int) string {
	lines := strings.SplitAfter(s, "\n")
	return strings.Join(slices.Delete(lines, i, i+1), "")
}

func TestMissingDatabase(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, dataDir string)
		args  []string
		want  string
	}{
		{name: "list", want: "no planbot database at "},
		{name: "verify", args: []string{"--verify"}, want: "no planbot database at "},
		{name: "json", args: []string{"--json"}, want: "no planbot database at "},
		{
			name: "empty file",
			setup: func(t *testing.T, dataDir string) {
				os.MkdirAll(dataDir, 0o755)
				if err := os.WriteFile(filepath.Join(dataDir, "planbot.db"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: "(the file is empty)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "nothing-here")
			if tt.setup != nil {
				tt.setup(t, dataDir)
			}
			var calls int
			code, stdout, stderr := run(t, sqliteOpener(t, &calls), append([]string{"--data-dir", dataDir}, tt.args...)...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want none", stdout)
			}
			path := filepath.Join(dataDir, "planbot.db")
			if !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, path) {
				t.Errorf("stderr = %q, want it to contain %q and %s", stderr, tt.want, path)
			}
			if calls != 0 {
				t.Errorf("the store was opened %d times, want 0", calls)
			}
			if tt.setup == nil {
				if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
					t.Errorf("the data directory was created (stat: %v)", err)
				}
			} else if st, err := os.Stat(path); err != nil || st.Size() != 0 {
				t.Errorf("the empty file was changed (stat: %v, %v)", st, err)
			}
		})
	}
}

func TestOpenError(t *testing.T) {
	clearEnv(t)
	file := filepath.Join(t.TempDir(), "planbot.db")
	if err := os.WriteFile(file, []byte("this is not a database, just text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	var calls int
	code, _, stderr := run(t, sqliteOpener(t, &calls), "--database", file)
	if code != 1 || !strings.Contains(stderr, "planbot audit: open "+file+": ") {
		t.Errorf("exit %d, stderr %q; want 1 and an open error naming the file", code, stderr)
	}
}

func TestUsage(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{name: "help", args: []string{"-h"}, wantCode: 0},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, want: "flag provided but not defined: -bogus"},
		{name: "argument", args: []string{"acme/infra"}, wantCode: 2, want: "unexpected arguments: acme/infra"},
		{name: "bad repo", args: []string{"--repo", "acme"}, wantCode: 2, want: `invalid repository "acme"`},
		{name: "bad pr", args: []string{"--pr", "x"}, wantCode: 2, want: "invalid value"},
		{name: "negative pr", args: []string{"--pr", "-3"}, wantCode: 2, want: "--pr must be a positive number"},
		{name: "bad since", args: []string{"--since", "yesterday"}, wantCode: 2, want: `invalid --since "yesterday"`},
		{name: "file without verify", args: []string{"--file", "a.jsonl"}, wantCode: 2, want: "--file requires --verify"},
		{name: "file with database", args: []string{"--verify", "--file", "a.jsonl", "--database", "x.db"}, wantCode: 2, want: "cannot be combined with --database"},
		{name: "json with verify", args: []string{"--verify", "--json"}, wantCode: 2, want: "--json and --verify cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			code, stdout, stderr := run(t, sqliteOpener(t, &calls), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if calls != 0 {
				t.Errorf("the store was opened on a usage error")
			}
			if tt.wantCode == 0 {
				var want strings.Builder
				WriteUsage(&want)
				if diff := cmp.Diff(stdout, want.String()); diff != "" {
					t.Errorf("help (-got +want):\n%s", diff)
				}
				for _, s := range []string{"usage: planbot audit", "--verify", "PLANBOT_DATA_DIR", "--since T", "PLANBOT_SINCE"} {
					if !strings.Contains(stdout, s) {
						t.Errorf("help lacks %q:\n%s", s, stdout)
					}
				}
				return
			}
			if !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, `Run "planbot audit -h" for every flag.`) {
				t.Errorf("stderr = %q, want it to contain %q and where to find the flags", stderr, tt.want)
			}
		})
	}
}
