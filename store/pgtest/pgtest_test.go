package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		want string
	}{
		{name: "key value", dsn: "host=/tmp/x port=5 user=postgres dbname=postgres sslmode=disable",
			want: "host=/tmp/x port=5 user=postgres sslmode=disable dbname=db1"},
		{name: "key value without dbname", dsn: "host=h user=u", want: "host=h user=u dbname=db1"},
		{name: "url", dsn: "postgres://u:p@h:5432/postgres?sslmode=disable", want: "postgres://u:p@h:5432/db1?sslmode=disable"},
		{name: "url without path", dsn: "postgresql://u@h", want: "postgresql://u@h/db1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := withDatabase(tt.dsn, "db1"); got != tt.want {
				t.Errorf("withDatabase(%q) = %q; want %q", tt.dsn, got, tt.want)
			}
		})
	}
}

// TestStart checks that each Start gives a separate, working database.
func TestStart(t *testing.T) {
	var names []string
	for range 2 {
		dsn := Start(t)
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatalf("connect %s: %v", dsn, err)
		}
		var name string
		var version int
		if err := conn.QueryRow(t.Context(), "SELECT current_database(), current_setting('server_version_num')::int").Scan(&name, &version); err != nil {
			t.Fatalf("query: %v", err)
		}
		conn.Close(t.Context())
		if version < 130000 {
			t.Errorf("server version %d; want PostgreSQL 13 or later", version)
		}
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Errorf("two Starts gave the same database %q", names[0])
	}
}

// TestExternalServer points EnvDSN at a server and checks that Start
// creates a fresh database there and drops it when the test ends.
func TestExternalServer(t *testing.T) {
	base := Start(t)
	t.Setenv(EnvDSN, base)
	var dsn string
	t.Run("use", func(t *testing.T) {
		dsn = Start(t)
		if dsn == base {
			t.Fatalf("Start returned the base DSN %q", base)
		}
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		conn.Close(t.Context())
	})
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var exists bool
	if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, cfg.Database).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", cfg.Database)
	}
}
