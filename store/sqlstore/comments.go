package sqlstore

import (
	"context"
	"database/sql"

	"github.com/planbot/planbot/store"
)

// PlanComment returns the recorded parts of a PR's plan comment, ordered
// by part.
func (db *DB) PlanComment(ctx context.Context, repo string, pr int) ([]store.CommentPart, error) {
	parts, err := queryAll(ctx, db.r, scanCommentPart, `SELECT part, comment_id, body_sha256 FROM plan_comments
		WHERE repo = $1 AND pr = $2 ORDER BY part`, repo, pr)
	if err != nil {
		return nil, db.errorf("plan comment of %s#%d: %w", repo, pr, err)
	}
	return parts, nil
}

func scanCommentPart(s rowScanner) (store.CommentPart, error) {
	var c store.CommentPart
	err := s.Scan(&c.Part, &c.ID, &c.BodySHA256)
	return c, err
}

// SavePlanComment replaces the recorded parts of a PR's plan comment.
func (db *DB) SavePlanComment(ctx context.Context, repo string, pr int, parts []store.CommentPart) error {
	err := db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM plan_comments WHERE repo = $1 AND pr = $2`, repo, pr); err != nil {
			return err
		}
		for _, c := range parts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO plan_comments (repo, pr, part, comment_id, body_sha256)
				VALUES ($1, $2, $3, $4, $5)`, repo, pr, c.Part, c.ID, c.BodySHA256); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return db.errorf("save plan comment of %s#%d: %w", repo, pr, err)
	}
	return nil
}
