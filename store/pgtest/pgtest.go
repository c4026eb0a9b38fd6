// Package pgtest gives tests a real, throwaway PostgreSQL database.
//
// The model: a test binary starts at most one temporary PostgreSQL cluster
// (initdb and pg_ctl, found through pg_config --bindir, the Debian layout
// /usr/lib/postgresql/*/bin or PATH) in a fresh directory, listening only on
// a unix socket in that directory, with fsync off. Every call of Start
// creates a new database on it, so tests are isolated from each other. When
// the process runs as root the server runs as the postgres user, since
// PostgreSQL refuses to run as root. A package whose tests use Start should
// call Main from TestMain so the shared cluster is stopped and removed when
// the tests end; without Main, each Start gets a cluster of its own that is
// stopped when its test ends.
//
// When PLANBOT_TEST_POSTGRES_DSN is set, Start uses that server instead and
// creates (and finally drops) a fresh database on it per call.
//
// PostgreSQL being unavailable is a test failure, never a skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable that points the tests at an
// existing PostgreSQL server instead of a temporary cluster.
const EnvDSN = "PLANBOT_TEST_POSTGRES_DSN"

// shared is the cluster of a test binary that called Main. It is the one
// piece of package state: the cluster must outlive individual tests.
var shared struct {
	mu      sync.Mutex // mu guards the fields below
	enabled bool       // Main is running
	c       *cluster
	err     error
}

// Main runs the tests of m and then stops the shared cluster, if one was
// started, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.c != nil {
		if err := shared.c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
		shared.c = nil
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Start returns the DSN of a new, empty database that is dropped (or whose
// cluster is stopped) when t ends. It fails t when PostgreSQL cannot be
// started.
func Start(t testing.TB) (dsn string) {
	t.Helper()
	ctx := t.Context()
	if base := os.Getenv(EnvDSN); base != "" {
		dsn, err := createDatabase(ctx, base)
		if err != nil {
			t.Fatalf("pgtest: %s: %v", EnvDSN, err)
		}
		t.Cleanup(func() {
			if err := dropDatabase(context.Background(), base, dsn); err != nil {
				t.Errorf("pgtest: %v", err)
			}
		})
		return dsn
	}

	var c *cluster
	shared.mu.Lock()
	if shared.enabled {
		if shared.c == nil && shared.err == nil {
			shared.c, shared.err = startCluster(ctx)
		}
		c = shared.c
		if shared.err != nil {
			err := shared.err
			shared.mu.Unlock()
			t.Fatalf("pgtest: %v", err)
		}
	}
	shared.mu.Unlock()
	if c == nil {
		var err error
		c, err = startCluster(ctx)
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		t.Cleanup(func() {
			if err := c.stop(); err != nil {
				t.Errorf("pgtest: %v", err)
			}
		})
	}
	dsn, err := createDatabase(ctx, c.dsn("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// cluster is a running temporary PostgreSQL cluster.
type cluster struct {
	dir    string // holds data/, the socket and the server log
	bindir string
	port   int
	asUser string // run the server binaries as this user ("" for the current one)
}

// dsn returns a postgres:// URL of database db on the cluster's socket, the
// form planbot's --database flag takes.
func (c *cluster) dsn(db string) string {
	q := url.Values{"host": {c.dir}, "port": {strconv.Itoa(c.port)}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + db + "?" + q.Encode()
}

// command returns the command that runs a server binary as the cluster's
// user.
func (c *cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	bin := filepath.Join(c.bindir, name)
	if c.asUser != "" {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", bin}, args...)...)
	}
	return exec.CommandContext(ctx, bin, args...)
}

func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

// startCluster initializes and starts a cluster in a new directory.
func startCluster(ctx context.Context) (_ *cluster, err error) {
	bindir, err := findBindir()
	if err != nil {
		return nil, err
	}
	c := &cluster{bindir: bindir}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: need a postgres user to run the test server as: %w", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("running as root: need runuser to start PostgreSQL as the postgres user: %w", err)
		}
		c.asUser = "postgres"
	}
	// The directory must be reachable by the postgres user, and short
	// enough for a unix socket path.
	c.dir, err = os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(c.dir)
		}
	}()
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return nil, err
	}
	if c.asUser != "" {
		u, err := user.Lookup(c.asUser)
		if err != nil {
			return nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return nil, err
		}
	}
	n, err := rand.Int(rand.Reader, big.NewInt(40000))
	if err != nil {
		return nil, err
	}
	c.port = 20000 + int(n.Int64())

	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	data := filepath.Join(c.dir, "data")
	if err := run(c.command(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")); err != nil {
		return nil, fmt.Errorf("initdb: %w", err)
	}
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories=%s -p %d "+
		"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", c.dir, c.port)
	if err := run(c.command(ctx, "pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(c.dir, "server.log"),
		"-w", "-t", "60", "start")); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return nil, fmt.Errorf("pg_ctl start: %w\nserver log:\n%s", err, log)
	}
	return c, nil
}

// stop stops the cluster at once and removes its directory.
func (c *cluster) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(c.command(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop"))
	if err != nil {
		err = fmt.Errorf("pg_ctl stop: %w", err)
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

// findBindir locates the directory of initdb and pg_ctl.
func findBindir() (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if dir := filepath.Dir(p); has(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, pg_ctl) not found via pg_config --bindir, /usr/lib/postgresql/*/bin or PATH; install PostgreSQL or set %s", EnvDSN)
}

// versionOf returns the major version in a path like
// /usr/lib/postgresql/15/bin.
func versionOf(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

// createDatabase creates a database with a random name on the server of
// base and returns base pointed at it.
func createDatabase(ctx context.Context, base string) (string, error) {
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		return "", fmt.Errorf("parse DSN: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	name := "planbot_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return withDatabase(base, name), nil
}

// dropDatabase drops the database of dsn, connected through base.
func dropDatabase(ctx context.Context, base, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", cfg.Database, err)
	}
	return nil
}

// withDatabase returns dsn (URL or key=value form) with its database
// replaced by name.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		// Replace the path, keeping the query.
		rest := dsn[strings.Index(dsn, "://")+3:]
		query := ""
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest, query = rest[:i], rest[i:]
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		return dsn[:strings.Index(dsn, "://")+3] + rest + "/" + name + query
	}
	var kept []string
	for _, f := range strings.Fields(dsn) {
		if !strings.HasPrefix(f, "dbname=") {
			kept = append(kept, f)
		}
	}
	return strings.Join(append(kept, "dbname="+name), " ")
}
