package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/planbot/planbot/store"
)

// blockedSQL is true when job $2 of Key $1 must wait: another job of its
// Key holds a live lease at $3 or is older and still pending, including one
// queued to wait for its retry.
const blockedSQL = `EXISTS (SELECT 1 FROM jobs o
	WHERE o.key = $1 AND o.id <> $2 AND o.state IN ('queued', 'running')
	  AND ((o.state = 'running' AND o.lease_until > $3) OR o.id < $2))`

// Claim leases the oldest claimable job to owner. A job is claimable when it
// is queued and not waiting for a retry (its run_after is not after now) or
// its lease has expired, no other job of its Key holds a live lease, and no
// older job of its Key is still pending, waiting or not, so the jobs of one
// Key run one at a time and in order.
func (db *DB) Claim(ctx context.Context, owner string, now, leaseUntil time.Time) (*store.Job, error) {
	var skipped []string // keys found busy by the re-check under their lock
	for {
		job, busyKey, err := db.claimOnce(ctx, owner, now, leaseUntil, skipped)
		if err != nil {
			return nil, err
		}
		if busyKey == "" {
			return job, nil
		}
		skipped = append(skipped, busyKey)
	}
}

// claimOnce tries to claim one job in one transaction. It returns the
// claimed job, or nil and the candidate's Key when the re-check under the
// Key's lock found the Key busy, or nil and "" when nothing is claimable.
func (db *DB) claimOnce(ctx context.Context, owner string, now, leaseUntil time.Time, skipped []string) (job *store.Job, busyKey string, err error) {
	if skipped == nil {
		skipped = []string{}
	}
	job, err = db.ClaimWith(ctx, owner, leaseUntil, func(tx *sql.Tx) (int64, error) {
		var id int64
		var key string
		err := tx.QueryRowContext(ctx, `SELECT j.id, j.key FROM jobs j
			WHERE ((j.state = 'queued' AND (j.run_after IS NULL OR j.run_after <= $1))
			    OR (j.state = 'running' AND j.lease_until <= $1))
			  AND NOT (j.key = ANY($2))
			  AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM jobs o
				WHERE o.key = j.key AND o.id <> j.id AND o.state IN ('queued', 'running')
				  AND ((o.state = 'running' AND o.lease_until > $1) OR o.id < j.id)))
			ORDER BY j.id LIMIT 1
			FOR UPDATE OF j SKIP LOCKED`, db.TimeArg(now), skipped).Scan(&id, &key)
		if err != nil || key == "" {
			return id, err
		}
		// Serialize with every other claimer of this Key, then look
		// again: the snapshot above may predate a claim that has
		// committed since.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClassJobKey, key); err != nil {
			return 0, fmt.Errorf("lock key %q: %w", key, err)
		}
		// Other jobs of the Key whose lease expired lose it, so their
		// old owner cannot extend it while this job runs.
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', owner = '', lease_until = NULL
			WHERE key = $1 AND id <> $2 AND state = 'running' AND lease_until <= $3`, key, id, db.TimeArg(now)); err != nil {
			return 0, err
		}
		var blocked bool
		if err := tx.QueryRowContext(ctx, `SELECT `+blockedSQL, key, id, db.TimeArg(now)).Scan(&blocked); err != nil {
			return 0, err
		}
		if blocked {
			busyKey = key
			return 0, errBusy
		}
		return id, nil
	})
	if errors.Is(err, errBusy) {
		return nil, busyKey, nil
	}
	return job, "", err
}

// errBusy rolls back a claim whose Key turned out to be busy.
var errBusy = errors.New("key busy")
