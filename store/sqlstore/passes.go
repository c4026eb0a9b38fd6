package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/planbot/planbot/store"
)

// ClaimPass leases the pass called name for slot to owner; see
// store.Store. One statement decides, so replicas claiming at once never
// both win.
func (db *DB) ClaimPass(ctx context.Context, name string, slot time.Time, owner string, now, leaseUntil time.Time) (bool, error) {
	n, err := execCount(ctx, db.w, `INSERT INTO passes (name, slot, owner, lease_until, started_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE
			SET slot = excluded.slot, owner = excluded.owner, lease_until = excluded.lease_until,
				started_at = excluded.started_at, finished_at = NULL
			WHERE (passes.slot < excluded.slot AND (passes.finished_at IS NOT NULL OR passes.lease_until < excluded.started_at))
				OR (passes.slot = excluded.slot AND passes.finished_at IS NULL AND passes.lease_until < excluded.started_at)`,
		name, db.TimeArg(slot), owner, db.TimeArg(leaseUntil), db.TimeArg(now))
	if err != nil {
		return false, db.errorf("claim pass %s: %w", name, err)
	}
	return n == 1, nil
}

// ExtendPass renews the lease of the pass owner holds.
func (db *DB) ExtendPass(ctx context.Context, name, owner string, leaseUntil time.Time) error {
	if err := execOne(ctx, db.w, `UPDATE passes SET lease_until = $1
		WHERE name = $2 AND owner = $3 AND finished_at IS NULL`, db.TimeArg(leaseUntil), name, owner); err != nil {
		return db.errorf("extend pass %s for %s: %w", name, owner, err)
	}
	return nil
}

// FinishPass marks the pass owner holds finished.
func (db *DB) FinishPass(ctx context.Context, name, owner string, now time.Time) error {
	if err := execOne(ctx, db.w, `UPDATE passes SET finished_at = $1
		WHERE name = $2 AND owner = $3 AND finished_at IS NULL`, db.TimeArg(now), name, owner); err != nil {
		return db.errorf("finish pass %s for %s: %w", name, owner, err)
	}
	return nil
}

// LastPass returns the latest pass started.
func (db *DB) LastPass(ctx context.Context, name string) (store.Pass, error) {
	p := store.Pass{Name: name}
	err := db.r.QueryRowContext(ctx, `SELECT slot, owner, lease_until, started_at, finished_at FROM passes WHERE name = $1`, name).
		Scan(timeDest{&p.Slot}, &p.Owner, timeDest{&p.LeaseUntil}, timeDest{&p.StartedAt}, timeDest{&p.FinishedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Pass{}, db.errorf("last pass %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Pass{}, db.errorf("last pass %s: %w", name, err)
	}
	return p, nil
}
