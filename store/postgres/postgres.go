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
// Every method but Claim is store/sqlstore's, shared with SQLite, through
// pgx's database/sql driver; this package supplies the dialect (timestamptz
// times, advisory locks), the connection pool, the migrations and Claim.
//
// The schema is created by the numbered SQL files embedded from migrations/,
// applied at Open in one transaction under an advisory lock (so replicas
// starting together migrate once) and recorded in schema_migrations.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlstore"
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

// dialect stores times as timestamptz, gives a replaced plan the next value
// of its sequence and serializes migrations and audit appends with
// advisory locks.
var dialect = sqlstore.Dialect{
	Name:      "postgres",
	TimeType:  "TIMESTAMPTZ",
	Time:      func(t time.Time) any { return t },
	NewPlanID: `nextval(pg_get_serial_sequence('plans', 'id'))`,
	Serialize: func(ctx context.Context, tx *sql.Tx, s sqlstore.Serial) error {
		class := lockClassAudit
		if s == sqlstore.SerialMigrate {
			class = lockClassMigrate
		}
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, class)
		return err
	},
}

// DB is a store.Store backed by a PostgreSQL connection pool.
type DB struct {
	*sqlstore.DB
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at dsn (a URL or key=value string) and
// applies any pending migrations.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*DB, error) {
	// pgxpool's parser takes the pool_* parameters out of the DSN and
	// gives pgxpool's defaults for the rest; database/sql's pool then
	// keeps to them.
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: parse DSN: %w", err)
	}
	// Store and compare every time in UTC, whatever the server's default.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool := stdlib.OpenDB(*cfg.ConnConfig)
	pool.SetMaxOpenConns(int(cfg.MaxConns))
	pool.SetMaxIdleConns(int(cfg.MaxConns))
	pool.SetConnMaxLifetime(cfg.MaxConnLifetime)
	pool.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	db := &DB{DB: sqlstore.New(dialect, pool, pool, logger)}
	if err := db.Migrate(ctx, migrations); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return db, nil
}
