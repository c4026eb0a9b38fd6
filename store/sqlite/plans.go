package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/planbot/planbot/store"
)

const planColumns = `id, repo, pr, head_sha, base_sha, project, dir, workspace, kind, status, plan_file, plan_sha256, plan_data, result, created_at`

func scanPlan(s rowScanner) (*store.Plan, error) {
	var p store.Plan
	var created sql.NullInt64
	if err := s.Scan(&p.ID, &p.Repo, &p.PR, &p.HeadSHA, &p.BaseSHA, &p.Project, &p.Dir, &p.Workspace,
		&p.Kind, &p.Status, &p.PlanFile, &p.PlanSHA256, &p.PlanData, &p.Result, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// SavePlan stores p, replacing the plan of the same (Repo, PR, HeadSHA,
// Project); the replacement gets a new ID.
func (db *DB) SavePlan(ctx context.Context, p store.Plan) (int64, error) {
	created := p.CreatedAt
	if created.IsZero() {
		created = now()
	}
	result := p.Result
	if result == nil {
		result = []byte{}
	}
	var data any // NULL when there is no plan file
	if len(p.PlanData) > 0 {
		data = p.PlanData
	}
	var id int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE repo = ? AND pr = ? AND head_sha = ? AND project = ?`,
			p.Repo, p.PR, p.HeadSHA, p.Project); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO plans
			(repo, pr, head_sha, base_sha, project, dir, workspace, kind, status, plan_file, plan_sha256, plan_data, result, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Repo, p.PR, p.HeadSHA, p.BaseSHA, p.Project, p.Dir, p.Workspace, p.Kind, p.Status,
			p.PlanFile, p.PlanSHA256, data, result, micros(created)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: save plan %s#%d %s at %s: %w", p.Repo, p.PR, p.Project, p.HeadSHA, err)
	}
	return id, nil
}

// LatestPlan returns the newest plan of a project of a PR.
func (db *DB) LatestPlan(ctx context.Context, repo string, pr int, project string) (*store.Plan, error) {
	p, err := scanPlan(db.r.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans
		WHERE repo = ? AND pr = ? AND project = ? ORDER BY created_at DESC, id DESC LIMIT 1`, repo, pr, project))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: latest plan of %s#%d %s: %w", repo, pr, project, err)
	}
	return p, nil
}

// Plans returns the plans of a PR at headSHA, ordered by project.
func (db *DB) Plans(ctx context.Context, repo string, pr int, headSHA string) ([]store.Plan, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+planColumns+` FROM plans
		WHERE repo = ? AND pr = ? AND head_sha = ? ORDER BY project`, repo, pr, headSHA)
	if err != nil {
		return nil, fmt.Errorf("sqlite: plans of %s#%d at %s: %w", repo, pr, headSHA, err)
	}
	defer rows.Close()
	var plans []store.Plan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: plans of %s#%d at %s: %w", repo, pr, headSHA, err)
		}
		plans = append(plans, *p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: plans of %s#%d at %s: %w", repo, pr, headSHA, err)
	}
	return plans, nil
}

// DeletePlans deletes every plan of a PR.
func (db *DB) DeletePlans(ctx context.Context, repo string, pr int) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE repo = ? AND pr = ?`, repo, pr)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete plans of %s#%d: %w", repo, pr, err)
	}
	return int(n), nil
}
