// Package sqlite implements store.Store on a single SQLite file, planbot's
// default backend for one machine.
//
// The model: the database runs in WAL mode so readers never block the
// writer. The DB holds two connection pools on the same file: a write pool
// of exactly one connection whose transactions begin with BEGIN IMMEDIATE,
// and a read pool. Every write therefore runs alone inside this process, and
// BEGIN IMMEDIATE with a busy timeout serializes it against other processes
// (such as `planbot audit` reading while the server runs). Because writes
// are serialized, claiming a job, taking a lock and appending to the audit
// chain need no further locking. Times are stored as integer microseconds
// since the Unix epoch in UTC; NULL stands for the zero time.
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

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for another process's write
// lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// DB is a store.Store backed by one SQLite database file.
type DB struct {
	path   string
	logger *slog.Logger
	w      *sql.DB // exactly one connection; every write goes through it
	r      *sql.DB // readers
}

var _ store.Store = (*DB)(nil)

// Open opens (creating it and its parent directories if needed) the SQLite
// database at path and applies any pending migrations.
func Open(ctx context.Context, path string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
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
	db := &DB{path: abs, logger: logger, w: w, r: r}
	if err := db.migrate(ctx); err != nil {
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

// Close closes both connection pools.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// migrate applies, in one write transaction, every embedded migration not
// yet recorded in schema_migrations.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := store.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range ms {
			name, version := m.Name, m.Version
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			if n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				version, name, time.Now().UnixMicro()); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			db.logger.InfoContext(ctx, "applied migration", "migration", name)
		}
		return nil
	})
}

// write runs fn in a transaction on the single write connection. The
// transaction begins with BEGIN IMMEDIATE, so it holds the database's write
// lock from its start.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// micros converts t to stored form: UTC microseconds, or NULL when zero.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond).UnixMicro()
}

// fromMicros converts a stored time back.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// now returns the current time as stored: UTC with microsecond precision.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}
