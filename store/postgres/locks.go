package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/planbot/planbot/store"
)

const lockColumns = `repo, dir, workspace, pr, head_sha, "user", created_at`

func scanLock(row pgx.Row) (store.Lock, error) {
	var l store.Lock
	var created time.Time
	if err := row.Scan(&l.Repo, &l.Dir, &l.Workspace, &l.PR, &l.HeadSHA, &l.User, &created); err != nil {
		return store.Lock{}, err
	}
	l.CreatedAt = created.UTC()
	return l, nil
}

// AcquireLock takes l for l.PR, or returns the PR that holds it.
func (db *DB) AcquireLock(ctx context.Context, l store.Lock) (store.Lock, bool, error) {
	created := l.CreatedAt
	if created.IsZero() {
		created = now()
	}
	for {
		holder, err := scanLock(db.pool.QueryRow(ctx, `INSERT INTO locks (`+lockColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT ON CONSTRAINT locks_project DO UPDATE
				SET head_sha = EXCLUDED.head_sha, "user" = EXCLUDED."user"
				WHERE locks.pr = EXCLUDED.pr
			RETURNING `+lockColumns,
			l.Repo, l.Dir, l.Workspace, l.PR, l.HeadSHA, l.User, ts(created)))
		if err == nil {
			return holder, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Lock{}, false, fmt.Errorf("postgres: acquire lock %s %s/%s for #%d: %w", l.Repo, l.Dir, l.Workspace, l.PR, err)
		}
		// Another PR holds it; report which, unless it was released in the
		// meantime, in which case try again.
		holder, err = scanLock(db.pool.QueryRow(ctx, `SELECT `+lockColumns+` FROM locks
			WHERE repo = $1 AND dir = $2 AND workspace = $3`, l.Repo, l.Dir, l.Workspace))
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return store.Lock{}, false, fmt.Errorf("postgres: acquire lock %s %s/%s for #%d: %w", l.Repo, l.Dir, l.Workspace, l.PR, err)
		}
		return holder, false, nil
	}
}

// ReleaseLock releases one lock if pr (0: anyone) holds it.
func (db *DB) ReleaseLock(ctx context.Context, repo, dir, workspace string, pr int) (bool, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM locks
		WHERE repo = $1 AND dir = $2 AND workspace = $3 AND ($4 = 0 OR pr = $4)`, repo, dir, workspace, pr)
	if err != nil {
		return false, fmt.Errorf("postgres: release lock %s %s/%s for #%d: %w", repo, dir, workspace, pr, err)
	}
	return tag.RowsAffected() > 0, nil
}

// ReleasePR releases every lock of a PR and returns them, ordered by dir
// and workspace.
func (db *DB) ReleasePR(ctx context.Context, repo string, pr int) ([]store.Lock, error) {
	rows, err := db.pool.Query(ctx, `WITH released AS (
			DELETE FROM locks WHERE repo = $1 AND pr = $2 RETURNING `+lockColumns+`
		) SELECT `+lockColumns+` FROM released ORDER BY repo, dir, workspace`, repo, pr)
	if err != nil {
		return nil, fmt.Errorf("postgres: release locks of %s#%d: %w", repo, pr, err)
	}
	locks, err := collectLocks(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: release locks of %s#%d: %w", repo, pr, err)
	}
	return locks, nil
}

// Locks lists the locks of repo ("" for all), ordered by repo, dir and
// workspace.
func (db *DB) Locks(ctx context.Context, repo string) ([]store.Lock, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+lockColumns+` FROM locks
		WHERE $1 = '' OR repo = $1 ORDER BY repo, dir, workspace`, repo)
	if err != nil {
		return nil, fmt.Errorf("postgres: locks of %q: %w", repo, err)
	}
	locks, err := collectLocks(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: locks of %q: %w", repo, err)
	}
	return locks, nil
}

func collectLocks(rows pgx.Rows) ([]store.Lock, error) {
	locks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Lock, error) { return scanLock(row) })
	if len(locks) == 0 {
		locks = nil
	}
	return locks, err
}
