package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/planbot/planbot/store"
)

const planColumns = `id, repo, pr, head_sha, base_sha, project, dir, workspace, kind, status, plan_file, plan_sha256, plan_data, result, created_at`

func scanPlan(s rowScanner) (store.Plan, error) {
	var p store.Plan
	if err := s.Scan(&p.ID, &p.Repo, &p.PR, &p.HeadSHA, &p.BaseSHA, &p.Project, &p.Dir, &p.Workspace,
		&p.Kind, &p.Status, &p.PlanFile, &p.PlanSHA256, &p.PlanData, &p.Result, timeDest{&p.CreatedAt}); err != nil {
		return store.Plan{}, err
	}
	return p, nil
}

// SavePlan stores p, replacing the plan of the same (Repo, PR, HeadSHA,
// Project); the replacement gets a new ID.
func (db *DB) SavePlan(ctx context.Context, p store.Plan) (int64, error) {
	created := orNow(p.CreatedAt)
	result := orEmpty(p.Result)
	var data any // NULL when there is no plan file
	if len(p.PlanData) > 0 {
		data = p.PlanData
	}
	var id int64
	err := db.w.QueryRowContext(ctx, `INSERT INTO plans
			(repo, pr, head_sha, base_sha, project, dir, workspace, kind, status, plan_file, plan_sha256, plan_data, result, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (repo, pr, head_sha, project) DO UPDATE SET
			id = `+db.d.NewPlanID+`,
			base_sha = excluded.base_sha, dir = excluded.dir, workspace = excluded.workspace,
			kind = excluded.kind, status = excluded.status, plan_file = excluded.plan_file,
			plan_sha256 = excluded.plan_sha256, plan_data = excluded.plan_data, result = excluded.result, created_at = excluded.created_at
		RETURNING id`,
		p.Repo, p.PR, p.HeadSHA, p.BaseSHA, p.Project, p.Dir, p.Workspace, p.Kind, p.Status,
		p.PlanFile, p.PlanSHA256, data, result, db.TimeArg(created)).Scan(&id)
	if err != nil {
		return 0, db.errorf("save plan %s#%d %s at %s: %w", p.Repo, p.PR, p.Project, p.HeadSHA, err)
	}
	return id, nil
}

// LatestPlan returns the newest plan of a project of a PR.
func (db *DB) LatestPlan(ctx context.Context, repo string, pr int, project string) (*store.Plan, error) {
	p, err := scanPlan(db.r.QueryRowContext(ctx, `SELECT `+planColumns+` FROM plans
		WHERE repo = $1 AND pr = $2 AND project = $3 ORDER BY created_at DESC, id DESC LIMIT 1`, repo, pr, project))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, db.errorf("latest plan of %s#%d %s: %w", repo, pr, project, err)
	}
	return &p, nil
}

// Plans returns the plans of a PR at headSHA, ordered by project.
func (db *DB) Plans(ctx context.Context, repo string, pr int, headSHA string) ([]store.Plan, error) {
	plans, err := queryAll(ctx, db.r, scanPlan, `SELECT `+planColumns+` FROM plans
		WHERE repo = $1 AND pr = $2 AND head_sha = $3 ORDER BY project`, repo, pr, headSHA)
	if err != nil {
		return nil, db.errorf("plans of %s#%d at %s: %w", repo, pr, headSHA, err)
	}
	return plans, nil
}

// DeletePlans deletes every plan of a PR.
func (db *DB) DeletePlans(ctx context.Context, repo string, pr int) (int, error) {
	n, err := execCount(ctx, db.w, `DELETE FROM plans WHERE repo = $1 AND pr = $2`, repo, pr)
	if err != nil {
		return 0, db.errorf("delete plans of %s#%d: %w", repo, pr, err)
	}
	return int(n), nil
}
