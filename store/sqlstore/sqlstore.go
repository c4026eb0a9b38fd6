// Package sqlstore is the part of store.Store that SQLite and PostgreSQL
// share: one database/sql implementation of the delivery queue, project
// locks, saved plans and the audit log, written once for both backends.
//
// The model: every query is written once, with $1-style placeholders that
// both drivers accept, and a Dialect names the few things that differ
// between the two databases: how a time is stored (integer microseconds in
// SQLite, timestamptz in PostgreSQL), how a replaced plan gets a fresh ID,
// and the lock that serializes audit appends and migrations (PostgreSQL's
// advisory locks; SQLite needs none, since its writes run one at a time).
// The rest stays in the backend packages: opening the database, its
// connection pools and migrations, and Claim's choice of job, which in
// PostgreSQL leases jobs with FOR UPDATE SKIP LOCKED and in SQLite relies
// on its single writer; both lease the chosen job with ClaimWith. A
// backend's DB embeds *DB and adds those.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/planbot/planbot/store"
)

// Serial names a kind of writer that must run one at a time, across every
// process sharing the database.
type Serial int

const (
	// SerialMigrate serializes migrations, so replicas starting together
	// migrate once.
	SerialMigrate Serial = iota
	// SerialAudit serializes audit appends, so the hash chain stays linear.
	SerialAudit
)

// Dialect is what differs between the databases behind the shared
// implementation.
type Dialect struct {
	// Name prefixes every error: "sqlite" or "postgres".
	Name string
	// TimeType is the SQL type of a stored time, used where a query must
	// name the type of a time parameter.
	TimeType string
	// Time returns a non-zero time in stored form.
	Time func(t time.Time) any
	// NewPlanID is the SQL expression of a fresh plans.id, given to a plan
	// that replaces another.
	NewPlanID string
	// Serialize takes, inside tx, the lock that makes writers of kind s run
	// one at a time. Nil when every write transaction is serialized
	// already.
	Serialize func(ctx context.Context, tx *sql.Tx, s Serial) error
}

// DB implements the shared methods of store.Store.
type DB struct {
	d      Dialect
	logger *slog.Logger
	w      *sql.DB // writes
	r      *sql.DB // reads; may be w
}

// New returns a DB that writes through w and reads through r (which may be
// w). Close closes both.
func New(d Dialect, w, r *sql.DB, logger *slog.Logger) *DB {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DB{d: d, logger: logger, w: w, r: r}
}

// Close closes the connection pools.
func (db *DB) Close() error {
	if db.r == db.w {
		return db.w.Close()
	}
	return errors.Join(db.r.Close(), db.w.Close())
}

// Write runs fn in a transaction on the write pool.
func (db *DB) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
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

// serialize takes the lock of s in tx, if the dialect needs one.
func (db *DB) serialize(ctx context.Context, tx *sql.Tx, s Serial) error {
	if db.d.Serialize == nil {
		return nil
	}
	return db.d.Serialize(ctx, tx, s)
}

// Migrate applies, in one write transaction, every migration of fsys (see
// store.Migrations) not yet recorded in schema_migrations.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := store.Migrations(fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return db.Write(ctx, func(tx *sql.Tx) error {
		if err := db.serialize(ctx, tx, SerialMigrate); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at `+db.d.TimeType+` NOT NULL
		)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range ms {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return fmt.Errorf("migrate %s: %w", m.Name, err)
			}
			if n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migrate %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, db.TimeArg(time.Now())); err != nil {
				return fmt.Errorf("migrate %s: %w", m.Name, err)
			}
			db.logger.InfoContext(ctx, "applied migration", "migration", m.Name)
		}
		return nil
	})
}

// TimeArg returns t as a query argument: in stored form, UTC with
// microsecond precision, or NULL when zero.
func (db *DB) TimeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.d.Time(t.UTC().Truncate(time.Microsecond))
}

// errorf wraps err with the backend's name and the operation.
func (db *DB) errorf(format string, args ...any) error {
	return fmt.Errorf(db.d.Name+": "+format, args...)
}

// Now returns the current time as stored: UTC with microsecond precision.
func Now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// timeDest is a sql.Scanner of a stored, possibly NULL, time into *t:
// integer microseconds since the Unix epoch (SQLite) or a timestamp
// (PostgreSQL), in UTC; NULL is the zero time.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("stored time is a %T", src)
	}
	return nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// queryAll runs query on db and scans every row it returns with scan; none
// is a nil slice.
func queryAll[T any](ctx context.Context, db *sql.DB, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// execOne runs a statement that must change exactly the row it names: none
// changed is store.ErrNotFound (the job is gone, or another owner has it).
func execOne(ctx context.Context, db *sql.DB, query string, args ...any) error {
	n, err := execCount(ctx, db, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// execCount runs a statement and returns how many rows it changed.
func execCount(ctx context.Context, db *sql.DB, query string, args ...any) (int64, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// orNow is t, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return Now()
	}
	return t
}

// orEmpty is b, or an empty slice when b is nil, which the NOT NULL blob
// columns would refuse.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
