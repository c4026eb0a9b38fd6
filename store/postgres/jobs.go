package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/planbot/planbot/store"
)

const jobColumns = `id, delivery_id, event, payload, key, state, attempts, owner, lease_until, run_after, last_error, created_at, finished_at`

func scanJob(row pgx.Row) (*store.Job, error) {
	var j store.Job
	var lease, runAfter, created, finished *time.Time
	if err := row.Scan(&j.ID, &j.DeliveryID, &j.Event, &j.Payload, &j.Key, &j.State, &j.Attempts,
		&j.Owner, &lease, &runAfter, &j.LastError, &created, &finished); err != nil {
		return nil, err
	}
	j.LeaseUntil = fromTS(lease)
	j.RunAfter = fromTS(runAfter)
	j.CreatedAt = fromTS(created)
	j.FinishedAt = fromTS(finished)
	return &j, nil
}

// EnqueueDelivery stores j as a queued job unless its DeliveryID is known.
func (db *DB) EnqueueDelivery(ctx context.Context, j store.Job) (bool, error) {
	if j.DeliveryID == "" {
		return false, fmt.Errorf("postgres: enqueue delivery: empty delivery ID")
	}
	created := j.CreatedAt
	if created.IsZero() {
		created = now()
	}
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO jobs (delivery_id, event, payload, key, state, created_at)
		VALUES ($1, $2, $3, $4, 'queued', $5) ON CONFLICT (delivery_id) DO NOTHING`,
		j.DeliveryID, j.Event, payload, j.Key, ts(created))
	if err != nil {
		return false, fmt.Errorf("postgres: enqueue delivery %s: %w", j.DeliveryID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// blockedSQL is true when job j (with key $key, id $id) must wait: another
// job of its Key holds a live lease at $now or is older and still pending,
// including one queued to wait for its retry.
const blockedSQL = `EXISTS (SELECT 1 FROM jobs o
	WHERE o.key = @key AND o.id <> @id AND o.state IN ('queued', 'running')
	  AND ((o.state = 'running' AND o.lease_until > @now) OR o.id < @id))`

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
			return nil, fmt.Errorf("postgres: claim job: %w", err)
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
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var id int64
		var key string
		err := tx.QueryRow(ctx, `SELECT j.id, j.key FROM jobs j
			WHERE ((j.state = 'queued' AND (j.run_after IS NULL OR j.run_after <= @now))
			    OR (j.state = 'running' AND j.lease_until <= @now))
			  AND NOT (j.key = ANY(@skipped))
			  AND (j.key = '' OR NOT EXISTS (SELECT 1 FROM jobs o
				WHERE o.key = j.key AND o.id <> j.id AND o.state IN ('queued', 'running')
				  AND ((o.state = 'running' AND o.lease_until > @now) OR o.id < j.id)))
			ORDER BY j.id LIMIT 1
			FOR UPDATE OF j SKIP LOCKED`,
			pgx.NamedArgs{"now": ts(now), "skipped": skipped}).Scan(&id, &key)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if key != "" {
			// Serialize with every other claimer of this Key, then look
			// again: the snapshot above may predate a claim that has
			// committed since.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClassJobKey, key); err != nil {
				return fmt.Errorf("lock key %q: %w", key, err)
			}
			// Other jobs of the Key whose lease expired lose it, so their
			// old owner cannot extend it while this job runs.
			args := pgx.NamedArgs{"key": key, "id": id, "now": ts(now)}
			if _, err := tx.Exec(ctx, `UPDATE jobs SET state = 'queued', owner = '', lease_until = NULL
				WHERE key = @key AND id <> @id AND state = 'running' AND lease_until <= @now`, args); err != nil {
				return err
			}
			var blocked bool
			if err := tx.QueryRow(ctx, `SELECT `+blockedSQL, args).Scan(&blocked); err != nil {
				return err
			}
			if blocked {
				busyKey = key
				return errBusy
			}
		}
		job, err = scanJob(tx.QueryRow(ctx, `UPDATE jobs
			SET state = 'running', owner = $1, lease_until = $2, run_after = NULL, attempts = attempts + 1
			WHERE id = $3 RETURNING `+jobColumns, owner, ts(leaseUntil), id))
		return err
	})
	if errors.Is(err, errBusy) {
		return nil, busyKey, nil
	}
	return job, "", err
}

// errBusy rolls back a claim whose Key turned out to be busy.
var errBusy = errors.New("key busy")

// Extend renews the lease of job id if owner still holds it.
func (db *DB) Extend(ctx context.Context, id int64, owner string, leaseUntil time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE jobs SET lease_until = $1
		WHERE id = $2 AND owner = $3 AND state = 'running'`, ts(leaseUntil), id, owner)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: extend job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Finish ends owner's run of job id: done, back to the queue until retryAt,
// or failed. A job that ends done or failed records the time in finished_at.
func (db *DB) Finish(ctx context.Context, id int64, owner, errMsg string, maxAttempts int, retryAt time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE jobs SET
			state = CASE WHEN @err = '' THEN 'done' WHEN attempts < @max THEN 'queued' ELSE 'failed' END,
			last_error = @err,
			owner = CASE WHEN @err <> '' AND attempts < @max THEN '' ELSE owner END,
			lease_until = CASE WHEN @err <> '' AND attempts < @max THEN NULL ELSE lease_until END,
			run_after = CASE WHEN @err <> '' AND attempts < @max THEN @retry_at::timestamptz ELSE NULL END,
			finished_at = CASE WHEN @err <> '' AND attempts < @max THEN NULL ELSE @now::timestamptz END
		WHERE id = @id AND owner = @owner AND state = 'running'`,
		pgx.NamedArgs{"err": errMsg, "max": maxAttempts, "id": id, "owner": owner, "retry_at": ts(retryAt), "now": ts(now())})
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: finish job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Postpone puts owner's running job id back in the queue until runAfter
// and gives back the attempt its claim counted.
func (db *DB) Postpone(ctx context.Context, id int64, owner, reason string, runAfter time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE jobs SET
			state = 'queued', owner = '', lease_until = NULL, run_after = $1, last_error = $2,
			attempts = GREATEST(attempts - 1, 0), finished_at = NULL
		WHERE id = $3 AND owner = $4 AND state = 'running'`, ts(runAfter), reason, id, owner)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: postpone job %d for %s: %w", id, owner, err)
	}
	return nil
}

// Job returns the job of a delivery.
func (db *DB) Job(ctx context.Context, deliveryID string) (*store.Job, error) {
	j, err := scanJob(db.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE delivery_id = $1`, deliveryID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: job %s: %w", deliveryID, err)
	}
	return j, nil
}

// pruneBatch is how many jobs one PruneJobs statement deletes at most, so
// that each transaction stays short.
const pruneBatch = 1000

// PruneJobs deletes done and failed jobs that finished before
// finishedBefore, pruneBatch rows per statement, and returns how many it
// deleted. A job without finished_at counts as finished at its created_at.
func (db *DB) PruneJobs(ctx context.Context, finishedBefore time.Time) (int, error) {
	return db.pruneJobs(ctx, finishedBefore, pruneBatch)
}

func (db *DB) pruneJobs(ctx context.Context, finishedBefore time.Time, batch int) (int, error) {
	total := 0
	for {
		tag, err := db.pool.Exec(ctx, `DELETE FROM jobs WHERE id IN (
			SELECT id FROM jobs
			WHERE state IN ('done', 'failed') AND coalesce(finished_at, created_at) < $1
			LIMIT $2)`, ts(finishedBefore), batch)
		if err != nil {
			return total, fmt.Errorf("postgres: prune jobs: %w", err)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < batch {
			return total, nil
		}
	}
}
