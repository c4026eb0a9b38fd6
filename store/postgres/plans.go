package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/planbot/planbot/store"
)

const planColumns = `id, repo, pr, head_sha, base_sha, project, dir, workspace, kind, status, plan_file, plan_sha256, plan_data, result, created_at`

func scanPlan(row pgx.Row) (store.Plan, error) {
	var p store.Plan
	var created time.Time
	if err := row.Scan(&p.ID, &p.Repo, &p.PR, &p.HeadSHA, &p.BaseSHA, &p.Project, &p.Dir, &p.Workspace,
		&p.Kind, &p.Status, &p.PlanFile, &p.PlanSHA256, &p.PlanData, &p.Result, &created); err != nil {
		return store.Plan{}, err
	}
	p.CreatedAt = created.UTC()
	return p, nil
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
	err := db.pool.QueryRow(ctx, `INSERT INTO plans
			(repo, pr, head_sha, base_sha, project, dir, workspace, kind, status, plan_file, plan_sha256, plan_data, result, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (repo, pr, head_sha, project) DO UPDATE SET
			id = nextval(pg_get_serial_sequence('plans', 'id')),
			base_sha = EXCLUDED.base_sha, dir = EXCLUDED.dir, workspace = EXCLUDED.workspace,
			kind = EXCLUDED.kind, status = EXCLUDED.status, plan_file = EXCLUDED.plan_file,
			plan_sha256 = EXCLUDED.plan_sha256, plan_data = EXCLUDED.plan_data, result = EXCLUDED.result, created_at = EXCLUDED.created_at
		RETURNING id`,
		p.Repo, p.PR, p.HeadSHA, p.BaseSHA, p.Project, p.Dir, p.Workspace, p.Kind, p.Status,
		p.PlanFile, p.PlanSHA256, data, result, ts(created)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: save plan %s#%d %s at %s: %w", p.Repo, p.PR, p.Project, p.HeadSHA, err)
	}
	return id, nil
}

// LatestPlan returns the newest plan of a project of a PR.
func (db *DB) LatestPlan(ctx context.Context, repo string, pr int, project string) (*store.Plan, error) {
	p, err := scanPlan(db.pool.QueryRow(ctx, `SELECT `+planColumns+` FROM plans
		WHERE repo = $1 AND pr = $2 AND project = $3 ORDER BY created_at DESC, id DESC LIMIT 1`, repo, pr, project))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: latest plan of %s#%d %s: %w", repo, pr, project, err)
	}
	return &p, nil
}

// Plans returns the plans of a PR at headSHA, ordered by project.
func (db *DB) Plans(ctx context.Context, repo string, pr int, headSHA string) ([]store.Plan, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+planColumns+` FROM plans
		WHERE repo = $1 AND pr = $2 AND head_sha = $3 ORDER BY project`, repo, pr, headSHA)
	if err != nil {
		return nil, fmt.Errorf("postgres: plans of %s#%d at %s: %w", repo, pr, headSHA, err)
	}
	plans, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Plan, error) { return scanPlan(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: plans of %s#%d at %s: %w", repo, pr, headSHA, err)
	}
	if len(plans) == 0 {
		plans = nil
	}
	return plans, nil
}

// DeletePlans deletes every plan of a PR.
func (db *DB) DeletePlans(ctx context.Context, repo string, pr int) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM plans WHERE repo = $1 AND pr = $2`, repo, pr)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete plans of %s#%d: %w", repo, pr, err)
	}
	return int(tag.RowsAffected()), nil
}
