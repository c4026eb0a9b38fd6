package auditcmd

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store/pgtest"
	"github.com/planbot/planbot/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// postgresURL turns a keyword DSN ("host=/dir port=5432 dbname=x") into the
// postgres:// URL form that --database takes.
func postgresURL(t *testing.T, dsn string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return dsn
	}
	u := url.URL{Scheme: "postgres", Host: ""}
	q := url.Values{}
	for _, kv := range strings.Fields(dsn) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("cannot convert DSN %q", dsn)
		}
		switch k {
		case "user":
			u.User = url.User(v)
		case "dbname":
			u.Path = "/" + v
		default:
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestPostgres(t *testing.T) {
	clearEnv(t)
	ctx := context.Background()
	dsn := postgresURL(t, pgtest.Start(t))
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	var calls int
	open := func(ctx context.Context, database string) (Lister, func() error, error) {
		calls++
		db, err := postgres.Open(ctx, database, logger)
		if err != nil {
			return nil, nil, err
		}
		return db, db.Close, nil
	}

	db, err := postgres.Open(ctx, dsn, logger)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range []audit.Entry{
		{Time: t0, Repo: "acme/infra", PR: 1, HeadSHA: "aaaaaaaaaa", Project: "prod", Action: audit.ActionPlan, Actor: "alice", Outcome: "planned", DeliveryID: "p1"},
		{Time: t0.Add(1234567891), Repo: "acme/infra", PR: 1, HeadSHA: "aaaaaaaaaa", Project: "prod", Action: audit.ActionApply, Actor: "bob", Outcome: "applied",
			Approvers: []audit.Approver{{Login: "carol", Rule: "* @carol"}}, Detail: "ok", DeliveryID: "p2"},
		{Time: t0.Add(7200e9), Repo: "acme/apps", PR: 2, HeadSHA: "bbbbbbbbbb", Project: "web", Action: audit.ActionMerge, Actor: "planbot[bot]", Outcome: "merged", DeliveryID: "p3"},
	} {
		if _, inserted, err := db.AppendAudit(ctx, e); err != nil || !inserted {
			t.Fatalf("AppendAudit %d = %v, %v", i, inserted, err)
		}
	}
	db.Close()

	code, stdout, stderr := run(t, open, "--database", dsn, "--repo", "acme/infra")
	if code != 0 {
		t.Fatalf("list: exit %d, stderr:\n%s", code, stderr)
	}
	if got := strings.Count(stdout, "\n"); got != 3 {
		t.Errorf("list printed %d lines, want a header and 2 entries:\n%s", got, stdout)
	}

	code, stdout, stderr = run(t, open, "--database", dsn, "--verify")
	if code != 0 || !strings.HasPrefix(stdout, "audit chain intact: 3 entries, seq 1..3, head hash ") {
		t.Fatalf("verify: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE audit SET actor = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, open, "--database", dsn, "--verify")
	if code != 1 {
		t.Errorf("verify after tampering: exit %d, want 1", code)
	}
	if diff := cmp.Diff(strings.SplitN(stderr, "\n", 2)[0], "audit chain broken at seq 2"); diff != "" {
		t.Errorf("first line of stderr (-got +want):\n%s", diff)
	}
	if calls != 3 {
		t.Errorf("the store was opened %d times, want 3", calls)
	}
}
