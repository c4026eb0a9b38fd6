package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"time"

	"github.com/planbot/planbot/store"
)

const jobColumns = `id, delivery_id, event, payload, key, state, attempts, owner, lease_until, run_after, last_error, created_at, finished_at`

func scanJob(s rowScanner) (*store.Job, error) {
	var j store.Job
	var lease, runAfter, created, finished sql.NullInt64
	if err := s.Scan(&j.ID, &j.DeliveryID, &j.Event, &j.Payload, &j.Key, &j.State, &j.Attempts,
		&j.Owner, &lease, &runAfter, &j.LastError, &created, &finished); err != nil {
		return nil, err
	}
	j.LeaseUntil = fromMicros(lease)
	j.RunAfter = fromMicros(runAfter)
	j.CreatedAt = fromMicros(created)
	j.FinishedAt = fromMicros(finished)
	return &j, nil
}

// EnqueueDelivery stores j as a queued job unless its DeliveryID is known.
func (db *DB) EnqueueDelivery(ctx context.Context, j store.Job) (bool, error) {
	if j.DeliveryID == "" {
		return false, fmt.Errorf("sqlite: enqueue delivery: empty delivery ID")
	}
	created := j.CreatedAt
	if created.IsZero() {
		created = now()
	}
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
	}
	var inserted bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (delivery_id, event, payload, key, state, created_at)
			VALUES (?, ?, ?, ?, 'queued', ?) ON CONFLICT (delivery_id) DO NOTHING`,
			j.DeliveryID, j.Event, payload, j.Key, micros(created))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		inserted = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: enqueue delivery %s: %w", j.DeliveryID, err)
	}
	return inserted, nil
}

// Claim leases the oldest claimable job to owner. A job is claimable when it
// is queued and not waiting for a retry (its run_after is not after now) or
// its lease has expired, no other job of its Key holds a live lease, and no
// older job of its Key is still pending, waiting or not, so the jobs of one
// Key run one at a time and in order.
func (db *DB) Claim(ctx context.Context, owner string, now, leaseUntil time.Time) (*store.Job, error) {
	var job *store.Job
	err := db.write(ctx, func(tx *sql.Tx) error {
		nowUS := micros(now)
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT j.id FROM jobs j
			WHERE ((j.state = 'queued' AND (j.run_after IS NULL OR j.run_after <= ?1))
			    OR (j.state = 'running' AND j.lease_until <= ?1))
			  AND (j.key = '' OR NOT EXISTS (
				SELECT 1 FROM jobs o
				WHERE o.key = j.key AND o.id <> j.id
				  AND ((o.state = 'running' AND o.lease_until > ?1)
				    OR (o.id < j.id AND o.state IN ('queued', 'running')))))
			ORDER BY j.id LIMIT 1`, nowUS).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// Other jobs of the same Key whose lease expired lose it, so their
		// old owner cannot extend it while this job runs.
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued', owner = '', lease_until = NULL
			WHERE key <> '' AND key = (SELECT key FROM jobs WHERE id = ?1) AND id <> ?1
			  AND state = 'running' AND lease_until <= ?2`, id, nowUS); err != nil {
			return err
		}
		job, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs
			SET state = 'running', owner = ?, lease_until = ?, run_after = NULL, attempts = attempts + 1
			WHERE id = ? RETURNING `+jobColumns, owner, micros(leaseUntil), id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim job: %w", err)
	}
	return job, nil
}

// Extend renews the lease of job id if owner still holds it.
func (db *DB) Extend(ctx context.Context, id int64, owner string, leaseUntil time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE jobs SET lease_until = ?
			WHERE id = ? AND owner = ? AND state = 'running'`, micros(leaseUntil), id, owner)
	})
	if err != nil {
		return fmt.Errorf("sqlite: extend job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Finish ends owner's run of job id: done, back to the queue until retryAt,
// or failed. A job that ends done or failed records the time in finished_at.
func (db *DB) Finish(ctx context.Context, id int64, owner, errMsg string, maxAttempts int, retryAt time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE jobs SET
				state = CASE WHEN ?1 = '' THEN 'done' WHEN attempts < ?2 THEN 'queued' ELSE 'failed' END,
				last_error = ?1,
				owner = CASE WHEN ?1 <> '' AND attempts < ?2 THEN '' ELSE owner END,
				lease_until = CASE WHEN ?1 <> '' AND attempts < ?2 THEN NULL ELSE lease_until END,
				run_after = CASE WHEN ?1 <> '' AND attempts < ?2 THEN ?5 ELSE NULL END,
				finished_at = CASE WHEN ?1 <> '' AND attempts < ?2 THEN NULL ELSE ?6 END
			WHERE id = ?3 AND owner = ?4 AND state = 'running'`, errMsg, maxAttempts, id, owner, micros(retryAt), micros(now()))
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Postpone puts owner's running job id back in the queue until runAfter
// and gives back the attempt its claim counted.
func (db *DB) Postpone(ctx context.Context, id int64, owner, reason string, runAfter time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `UPDATE jobs SET
				state = 'queued', owner = '', lease_until = NULL, run_after = ?, last_error = ?,
				attempts = max(attempts - 1, 0), finished_at = NULL
			WHERE id = ? AND owner = ? AND state = 'running'`, micros(runAfter), reason, id, owner)
	})
	if err != nil {
		return fmt.Errorf("sqlite: postpone job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Job returns the job of a delivery.
func (db *DB) Job(ctx context.Context, deliveryID string) (*store.Job, error) {
	j, err := scanJob(db.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE delivery_id = ?`, deliveryID))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: job %s: %w", deliveryID, err)
	}
	return j, nil
}

// pruneBatch is how many jobs one PruneJobs statement deletes at most, so
// that each write transaction stays short.
const pruneBatch = 1000

// PruneJobs deletes done and failed jobs that finished before
// finishedBefore, pruneBatch rows per write transaction, and returns how
// many it deleted. A job without finished_at counts as finished at its
// created_at.
func (db *DB) PruneJobs(ctx context.Context, finishedBefore time.Time) (int, error) {
	return db.pruneJobs(ctx, finishedBefore, pruneBatch)
}

func (db *DB) pruneJobs(ctx context.Context, finishedBefore time.Time, batch int) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("sqlite: prune jobs: %w", err)
		}
		var n int64
		err := db.write(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (
				SELECT id FROM jobs
				WHERE state IN ('done', 'failed') AND coalesce(finished_at, created_at) < ?
				LIMIT ?)`, micros(finishedBefore), batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlite: prune jobs: %w", err)
		}
		total += int(n)
		if n < int64(batch) {
			return total, nil
		}
	}
}

// execOne runs an UPDATE that must change exactly the row it names: none
// changed is store.ErrNotFound (the job is gone, or another owner has it).
func execOne(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
