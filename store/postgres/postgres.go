// Package postgres implements store.Store on PostgreSQL, the backend for
// running several planbot replicas against one database.
//
// The model: all coordination between replicas happens in the database.
//
//   - Jobs are claimed with SELECT ... FOR UPDATE SKIP LOCKED, so claimers
//     never wait for each other's candidate rows, and leased until a time
//     the claimer chooses. Before a job with a Key is leased, the claiming
//     transaction takes a transaction-level advisory lock on that Key and
//     checks again, in a fresh statement, that no other job of the Key holds
//     a live lease or is older and still pending. Two claimers of one Key
//     are thereby serialized, and the second sees the first's committed
//     lease, even across processes.
//   - Audit appends take one transaction-level advisory lock
//     (pg_advisory_xact_lock), so each append reads the true last entry and
//     the hash chain stays linear however many replicas write.
//   - A project lock is a row under a unique constraint on (repo, dir,
//     workspace); taking one is a single INSERT ... ON CONFLICT.
//
// The schema is created by the numbered SQL files embedded from migrations/,
// applied at Open in one transaction under an advisory lock (so replicas
// starting together migrate once) and recorded in schema_migrations.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/planbot/planbot/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock classes: the first key of pg_advisory_xact_lock(int, int).
// They spell "plb" followed by a number, to stay clear of other users of
// advisory locks in a shared database.
const (
	lockClassMigrate = 0x706c6201
	lockClassAudit   = 0x706c6202
	lockClassJobKey  = 0x706c6203 // second key: hashtext(jobs.key)
)

// DB is a store.Store backed by a PostgreSQL connection pool.
type DB struct {
	logger *slog.Logger
	pool   *pgxpool.Pool
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at dsn (a URL or key=value string) and
// applies any pending migrations.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: parse DSN: %w", err)
	}
	// Store and compare every time in UTC, whatever the server's default.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db := &DB{logger: logger, pool: pool}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return db, nil
}

// Close closes the connection pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// migrate applies, in one transaction under an advisory lock, every
// embedded migration not yet recorded in schema_migrations.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := store.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockClassMigrate); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER     PRIMARY KEY,
			name       TEXT        NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range ms {
			name, version := m.Name, m.Version
			var applied bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&applied); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			if applied {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, version, name); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			db.logger.InfoContext(ctx, "applied migration", "migration", name)
		}
		return nil
	})
}

// ts converts t to stored form: UTC with microsecond precision, or NULL
// when zero.
func ts(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// fromTS converts a stored, possibly NULL, time back.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// now returns the current time as stored: UTC with microsecond precision.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}
