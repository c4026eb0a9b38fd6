package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/planbot/planbot/store"
)

// lockColumns quotes "user", a reserved word in PostgreSQL.
const lockColumns = `repo, dir, workspace, pr, head_sha, "user", created_at`

func scanLock(s rowScanner) (store.Lock, error) {
	var l store.Lock
	if err := s.Scan(&l.Repo, &l.Dir, &l.Workspace, &l.PR, &l.HeadSHA, &l.User, timeDest{&l.CreatedAt}); err != nil {
		return store.Lock{}, err
	}
	return l, nil
}

// AcquireLock takes l for l.PR, or returns the PR that holds it.
func (db *DB) AcquireLock(ctx context.Context, l store.Lock) (store.Lock, bool, error) {
	created := orNow(l.CreatedAt)
	for {
		holder, err := scanLock(db.w.QueryRowContext(ctx, `INSERT INTO locks (`+lockColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (repo, dir, workspace) DO UPDATE
				SET head_sha = excluded.head_sha, "user" = excluded."user"
				WHERE locks.pr = excluded.pr
			RETURNING `+lockColumns,
			l.Repo, l.Dir, l.Workspace, l.PR, l.HeadSHA, l.User, db.TimeArg(created)))
		if err == nil {
			return holder, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return store.Lock{}, false, db.errorf("acquire lock %s %s/%s for #%d: %w", l.Repo, l.Dir, l.Workspace, l.PR, err)
		}
		// Another PR holds it; report which, unless it was released in the
		// meantime, in which case try again.
		holder, err = scanLock(db.r.QueryRowContext(ctx, `SELECT `+lockColumns+` FROM locks
			WHERE repo = $1 AND dir = $2 AND workspace = $3`, l.Repo, l.Dir, l.Workspace))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return store.Lock{}, false, db.errorf("acquire lock %s %s/%s for #%d: %w", l.Repo, l.Dir, l.Workspace, l.PR, err)
		}
		return holder, false, nil
	}
}

// ReleaseLock releases one lock if pr (0: anyone) holds it.
func (db *DB) ReleaseLock(ctx context.Context, repo, dir, workspace string, pr int) (bool, error) {
	n, err := execCount(ctx, db.w, `DELETE FROM locks
		WHERE repo = $1 AND dir = $2 AND workspace = $3 AND ($4 = 0 OR pr = $4)`, repo, dir, workspace, pr)
	if err != nil {
		return false, db.errorf("release lock %s %s/%s for #%d: %w", repo, dir, workspace, pr, err)
	}
	return n > 0, nil
}

// ReleasePR releases every lock of a PR and returns them, ordered by dir
// and workspace.
func (db *DB) ReleasePR(ctx context.Context, repo string, pr int) ([]store.Lock, error) {
	locks, err := queryAll(ctx, db.w, scanLock, `DELETE FROM locks WHERE repo = $1 AND pr = $2 RETURNING `+lockColumns, repo, pr)
	if err != nil {
		return nil, db.errorf("release locks of %s#%d: %w", repo, pr, err)
	}
	slices.SortFunc(locks, func(a, b store.Lock) int {
		return cmp.Or(cmp.Compare(a.Repo, b.Repo), cmp.Compare(a.Dir, b.Dir), cmp.Compare(a.Workspace, b.Workspace))
	})
	return locks, nil
}

// Locks lists the locks of repo ("" for all), ordered by repo, dir and
// workspace.
func (db *DB) Locks(ctx context.Context, repo string) ([]store.Lock, error) {
	locks, err := queryAll(ctx, db.r, scanLock, `SELECT `+lockColumns+` FROM locks
		WHERE $1 = '' OR repo = $1 ORDER BY repo, dir, workspace`, repo)
	if err != nil {
		return nil, db.errorf("locks of %q: %w", repo, err)
	}
	return locks, nil
}
