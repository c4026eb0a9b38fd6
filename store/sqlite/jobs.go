package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/planbot/planbot/store"
)

// Claim leases the oldest claimable job to owner. A job is claimable when it
// is queued and not waiting for a retry (its run_after is not after now) or
// its lease has expired, no other job of its Key holds a live lease, and no
// older job of its Key is still pending, waiting or not, so the jobs of one
// Key run one at a time and in order. The claim is one write transaction,
// which SQLite runs alone, so no other claimer can take the same job or Key
// in between.
//
// Every statement names the pending states as the partial indexes do
// (state IN ('queued', 'running')), so SQLite reads only pending jobs and
// never the finished ones kept for retention, whose payloads fill overflow
// pages that lie before the columns a claim reads.
func (db *DB) Claim(ctx context.Context, owner string, now, leaseUntil time.Time) (*store.Job, error) {
	return db.ClaimWith(ctx, owner, leaseUntil, func(tx *sql.Tx) (int64, error) {
		nowUS := db.TimeArg(now)
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT j.id FROM jobs j
			WHERE j.state IN ('queued', 'running')
			  AND ((j.state = 'queued' AND (j.run_after IS NULL OR j.run_after <= ?1))
			    OR (j.state = 'running' AND j.lease_until <= ?1))
			  AND (j.key = '' OR NOT EXISTS (
				SELECT 1 FROM jobs o
				WHERE o.key = j.key AND o.id <> j.id AND o.state IN ('queued', 'running')
				  AND ((o.state = 'running' AND o.lease_until > ?1) OR o.id < j.id)))
			ORDER BY j.id LIMIT 1`, nowUS).Scan(&id)
		if err != nil {
			return 0, err
		}
		// Other jobs of the same Key whose lease expired lose it, so their
		// old owner cannot extend it while this job runs.
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', owner = '', lease_until = NULL
			WHERE key <> '' AND key = (SELECT key FROM jobs WHERE id = ?1) AND id <> ?1
			  AND state IN ('queued', 'running') AND state = 'running' AND lease_until <= ?2`, id, nowUS)
		return id, err
	})
}
