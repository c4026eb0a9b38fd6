// Package sqlite implements store.Store on a single SQLite file, planbot's
// default backend for one machine.
//
// The model: the database runs in WAL mode so readers never block the
// writer. The DB holds two connection pools on the same file: a write pool
// of exactly one connection whose transactions begin with BEGIN IMMEDIATE,
// and a read pool. Every write therefore runs alone inside this process, and
// BEGIN IMMEDIATE (or a single statement's own write lock) with a busy
// timeout serializes it against other processes (such as `planbot audit`
// reading while the server runs). Because writes are serialized, claiming a
// job, taking a lock and appending to the audit chain need no further
// locking. Times are stored as integer microseconds since the Unix epoch in
// UTC; NULL stands for the zero time.
//
// Every method but Claim is store/sqlstore's, shared with PostgreSQL; this
// package supplies the dialect, the connection pools, the migrations and
// Claim.
//
// The schema is created by the numbered SQL files embedded from migrations/,
// applied at Open in one write transaction and recorded in
// schema_migrations.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlstore"

	"modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for another process's write
// lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// dialect stores times as integer microseconds. A replaced plan takes the
// next AUTOINCREMENT value, which SQLite records in sqlite_sequence when an
// UPDATE raises the rowid. Writes need no lock of their own: they all go
// through one connection, in BEGIN IMMEDIATE transactions.
var dialect = sqlstore.Dialect{
	Name:      "sqlite",
	TimeType:  "INTEGER",
	Time:      micros,
	NewPlanID: `(SELECT seq + 1 FROM sqlite_sequence WHERE name = 'plans')`,
}

// DB is a store.Store backed by one SQLite database file.
type DB struct {
	*sqlstore.DB
	path string
}

var _ store.Store = (*DB)(nil)

// Open opens (creating it and its parent directories if needed) the SQLite
// database at path and applies any pending migrations.
func Open(ctx context.Context, path string, logger *slog.Logger) (*DB, error) {
	// Processes that open a new database at the same moment race to
	// switch it to WAL, and SQLite answers the loser SQLITE_BUSY at once,
	// without waiting out the busy timeout: try again, as long as that.
	deadline := time.Now().Add(busyTimeout)
	for {
		db, err := open(ctx, path, logger)
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return db, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// busy reports whether err is SQLite's SQLITE_BUSY (of any extended kind).
func busy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// open is one attempt of Open.
func open(ctx context.Context, path string, logger *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// w has exactly one connection, and every write goes through it.
	w, err := sql.Open("sqlite", dsn(abs, "immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn(abs, "deferred")+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db := &DB{DB: sqlstore.New(dialect, w, r, logger), path: abs}
	if err := db.Migrate(ctx, migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// dsn returns the driver's data source name for the file at abs.
func dsn(abs, txlock string) string {
	u := url.URL{Path: abs}
	return "file:" + u.EscapedPath() +
		"?_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_txlock=" + txlock
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// micros converts a non-zero t to stored form: UTC microseconds.
func micros(t time.Time) any {
	return t.UTC().Truncate(time.Microsecond).UnixMicro()
}
