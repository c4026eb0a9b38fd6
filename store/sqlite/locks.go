package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/planbot/planbot/store"
)

const lockColumns = `repo, dir, workspace, pr, head_sha, user, created_at`

func scanLock(s rowScanner) (store.Lock, error) {
	var l store.Lock
	var created sql.NullInt64
	if err := s.Scan(&l.Repo, &l.Dir, &l.Workspace, &l.PR, &l.HeadSHA, &l.User, &created); err != nil {
		return store.Lock{}, err
	}
	l.CreatedAt = fromMicros(created)
	return l, nil
}

// AcquireLock takes l for l.PR, or returns the PR that holds it.
func (db *DB) AcquireLock(ctx context.Context, l store.Lock) (store.Lock, bool, error) {
	created := l.CreatedAt
	if created.IsZero() {
		created = now()
	}
	var holder store.Lock
	var acquired bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		holder, err = scanLock(tx.QueryRowContext(ctx, `INSERT INTO locks (`+lockColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo, dir, workspace) DO UPDATE
				SET head_sha = excluded.head_sha, user = excluded.user
				WHERE locks.pr = excluded.pr
			RETURNING `+lockColumns,
			l.Repo, l.Dir, l.Workspace, l.PR, l.HeadSHA, l.User, micros(created)))
		if err == nil {
			acquired = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		holder, err = scanLock(tx.QueryRowContext(ctx, `SELECT `+lockColumns+` FROM locks
			WHERE repo = ? AND dir = ? AND workspace = ?`, l.Repo, l.Dir, l.Workspace))
		return err
	})
	if err != nil {
		return store.Lock{}, false, fmt.Errorf("sqlite: acquire lock %s %s/%s for #%d: %w", l.Repo, l.Dir, l.Workspace, l.PR, err)
	}
	return holder, acquired, nil
}

// ReleaseLock releases one lock if pr (0: anyone) holds it.
func (db *DB) ReleaseLock(ctx context.Context, repo, dir, workspace string, pr int) (bool, error) {
	var released bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM locks
			WHERE repo = ? AND dir = ? AND workspace = ? AND (?4 = 0 OR pr = ?4)`, repo, dir, workspace, pr)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		released = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: release lock %s %s/%s for #%d: %w", repo, dir, workspace, pr, err)
	}
	return released, nil
}

// ReleasePR releases every lock of a PR and returns them.
func (db *DB) ReleasePR(ctx context.Context, repo string, pr int) ([]store.Lock, error) {
	var locks []store.Lock
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM locks WHERE repo = ? AND pr = ? RETURNING `+lockColumns, repo, pr)
		if err != nil {
			return err
		}
		locks, err = collectLocks(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: release locks of %s#%d: %w", repo, pr, err)
	}
	sortLocks(locks)
	return locks, nil
}

// Locks lists the locks of repo ("" for all), ordered by repo, dir and
// workspace.
func (db *DB) Locks(ctx context.Context, repo string) ([]store.Lock, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+lockColumns+` FROM locks
		WHERE ?1 = '' OR repo = ?1 ORDER BY repo, dir, workspace`, repo)
	if err != nil {
		return nil, fmt.Errorf("sqlite: locks of %q: %w", repo, err)
	}
	locks, err := collectLocks(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: locks of %q: %w", repo, err)
	}
	return locks, nil
}

func collectLocks(rows *sql.Rows) ([]store.Lock, error) {
	defer rows.Close()
	var locks []store.Lock
	for rows.Next() {
		l, err := scanLock(rows)
		if err != nil {
			return nil, err
		}
		locks = append(locks, l)
	}
	return locks, rows.Err()
}

// sortLocks orders locks by repo, dir and workspace.
func sortLocks(locks []store.Lock) {
	slices.SortFunc(locks, func(a, b store.Lock) int {
		return cmp.Or(cmp.Compare(a.Repo, b.Repo), cmp.Compare(a.Dir, b.Dir), cmp.Compare(a.Workspace, b.Workspace))
	})
}
