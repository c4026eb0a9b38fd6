package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/planbot/planbot/store"
)

// jobColumns are the columns scanJob reads, in order.
const jobColumns = `id, delivery_id, event, payload, key, state, attempts, owner, lease_until, run_after, last_error, created_at, finished_at, result`

// scanJob scans one row of jobColumns.
func scanJob(row interface{ Scan(dest ...any) error }) (*store.Job, error) {
	var j store.Job
	if err := row.Scan(&j.ID, &j.DeliveryID, &j.Event, &j.Payload, &j.Key, &j.State, &j.Attempts,
		&j.Owner, timeDest{&j.LeaseUntil}, timeDest{&j.RunAfter}, &j.LastError, timeDest{&j.CreatedAt}, timeDest{&j.FinishedAt}, &j.Result); err != nil {
		return nil, err
	}
	return &j, nil
}

// ClaimWith is the transaction of a backend's Claim: pick chooses the job
// to lease, and readies its Key, inside the write transaction tx; the job
// is then leased to owner until leaseUntil. pick returning sql.ErrNoRows
// means no job is claimable: ClaimWith returns a nil job and no error.
// Any other error of pick rolls the claim back and is returned wrapped.
func (db *DB) ClaimWith(ctx context.Context, owner string, leaseUntil time.Time, pick func(tx *sql.Tx) (int64, error)) (*store.Job, error) {
	var job *store.Job
	err := db.Write(ctx, func(tx *sql.Tx) error {
		id, err := pick(tx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		job, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs
			SET state = 'running', owner = $1, lease_until = $2, run_after = NULL, attempts = attempts + 1
			WHERE id = $3 RETURNING `+jobColumns, owner, db.TimeArg(leaseUntil), id))
		return err
	})
	if err != nil {
		return nil, db.errorf("claim job: %w", err)
	}
	return job, nil
}

// EnqueueDelivery stores j as a queued job unless its DeliveryID is known.
func (db *DB) EnqueueDelivery(ctx context.Context, j store.Job) (bool, error) {
	if j.DeliveryID == "" {
		return false, db.errorf("enqueue delivery: empty delivery ID")
	}
	created := orNow(j.CreatedAt)
	payload := orEmpty(j.Payload)
	n, err := execCount(ctx, db.w, `INSERT INTO jobs (delivery_id, event, payload, key, state, created_at)
		VALUES ($1, $2, $3, $4, 'queued', $5) ON CONFLICT (delivery_id) DO NOTHING`,
		j.DeliveryID, j.Event, payload, j.Key, db.TimeArg(created))
	if err != nil {
		return false, db.errorf("enqueue delivery %s: %w", j.DeliveryID, err)
	}
	return n == 1, nil
}

// Extend renews the lease of job id if owner still holds it.
func (db *DB) Extend(ctx context.Context, id int64, owner string, leaseUntil time.Time) error {
	if err := execOne(ctx, db.w, `UPDATE jobs SET lease_until = $1
		WHERE id = $2 AND owner = $3 AND state = 'running'`, db.TimeArg(leaseUntil), id, owner); err != nil {
		return db.errorf("extend job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Finish ends owner's run of job id: done, back to the queue until retryAt,
// or failed. A job that ends done or failed records the time in finished_at.
func (db *DB) Finish(ctx context.Context, id int64, owner, errMsg string, maxAttempts int, retryAt time.Time) error {
	// Inside CASE, PostgreSQL cannot infer the type of a time parameter.
	t := db.d.TimeType
	if err := execOne(ctx, db.w, `UPDATE jobs SET
			state = CASE WHEN $1 = '' THEN 'done' WHEN attempts < $2 THEN 'queued' ELSE 'failed' END,
			last_error = $1,
			owner = CASE WHEN $1 <> '' AND attempts < $2 THEN '' ELSE owner END,
			lease_until = CASE WHEN $1 <> '' AND attempts < $2 THEN NULL ELSE lease_until END,
			run_after = CASE WHEN $1 <> '' AND attempts < $2 THEN CAST($5 AS `+t+`) ELSE NULL END,
			finished_at = CASE WHEN $1 <> '' AND attempts < $2 THEN NULL ELSE CAST($6 AS `+t+`) END
		WHERE id = $3 AND owner = $4 AND state = 'running'`,
		errMsg, maxAttempts, id, owner, db.TimeArg(retryAt), db.TimeArg(Now())); err != nil {
		return db.errorf("finish job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Postpone puts owner's running job id back in the queue until runAfter
// and gives back the attempt its claim counted.
func (db *DB) Postpone(ctx context.Context, id int64, owner, reason string, runAfter time.Time) error {
	if err := execOne(ctx, db.w, `UPDATE jobs SET
			state = 'queued', owner = '', lease_until = NULL, run_after = $1, last_error = $2,
			attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, finished_at = NULL
		WHERE id = $3 AND owner = $4 AND state = 'running'`, db.TimeArg(runAfter), reason, id, owner); err != nil {
		return db.errorf("postpone job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Job returns the job of a delivery.
func (db *DB) Job(ctx context.Context, deliveryID string) (*store.Job, error) {
	j, err := scanJob(db.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE delivery_id = $1`, deliveryID))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, db.errorf("job %s: %w", deliveryID, err)
	}
	return j, nil
}

// CountJobs counts the queued jobs and the running ones, a running job on
// an expired lease counted as queued.
func (db *DB) CountJobs(ctx context.Context, now time.Time) (store.JobCounts, error) {
	var c store.JobCounts
	err := db.r.QueryRowContext(ctx, `SELECT
			coalesce(sum(CASE WHEN state = 'running' AND lease_until > $1 THEN 0 ELSE 1 END), 0),
			coalesce(sum(CASE WHEN state = 'running' AND lease_until > $1 THEN 1 ELSE 0 END), 0)
		FROM jobs WHERE state IN ('queued', 'running')`, db.TimeArg(now)).Scan(&c.Queued, &c.Running)
	if err != nil {
		return store.JobCounts{}, db.errorf("count jobs: %w", err)
	}
	return c, nil
}

// pruneBatch is how many jobs one PruneJobs statement deletes at most, so
// that each write transaction stays short.
const pruneBatch = 1000

// PruneJobs deletes done and failed jobs that finished before
// finishedBefore, pruneBatch rows per statement (its own transaction), and
// returns how many it deleted. A job without finished_at counts as
// finished at its created_at.
func (db *DB) PruneJobs(ctx context.Context, finishedBefore time.Time) (int, error) {
	return db.pruneJobs(ctx, finishedBefore, pruneBatch)
}

func (db *DB) pruneJobs(ctx context.Context, finishedBefore time.Time, batch int) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, db.errorf("prune jobs: %w", err)
		}
		n, err := execCount(ctx, db.w, `DELETE FROM jobs WHERE id IN (
			SELECT id FROM jobs
			WHERE state IN ('done', 'failed') AND coalesce(finished_at, created_at) < $1
			LIMIT $2)`, db.TimeArg(finishedBefore), batch)
		if err != nil {
			return total, db.errorf("prune jobs: %w", err)
		}
		total += int(n)
		if n < int64(batch) {
			return total, nil
		}
	}
}

// SetJobResult records the result of the job of a delivery.
func (db *DB) SetJobResult(ctx context.Context, deliveryID string, result []byte) error {
	n, err := execCount(ctx, db.w, `UPDATE jobs SET result = $1 WHERE delivery_id = $2`, orEmpty(result), deliveryID)
	if err != nil {
		return db.errorf("set result of job %s: %w", deliveryID, err)
	}
	if n == 0 {
		return fmt.Errorf("set result of job %s: %w", deliveryID, store.ErrNotFound)
	}
	return nil
}
