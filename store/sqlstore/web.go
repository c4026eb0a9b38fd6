package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/planbot/planbot/store"
)

// OpenPlans returns the newest plan of every project of every PR of repo
// ("" for all), without PlanData.
func (db *DB) OpenPlans(ctx context.Context, repo string) ([]store.Plan, error) {
	cols := strings.Replace(planColumns, "plan_data", "NULL", 1)
	plans, err := queryAll(ctx, db.r, scanPlan, `SELECT `+cols+` FROM plans p
		WHERE ($1 = '' OR repo = $1) AND NOT EXISTS (
			SELECT 1 FROM plans q WHERE q.repo = p.repo AND q.pr = p.pr AND q.project = p.project
				AND (q.created_at > p.created_at OR (q.created_at = p.created_at AND q.id > p.id)))
		ORDER BY repo, pr, project`, repo)
	if err != nil {
		return nil, db.errorf("open plans of %q: %w", repo, err)
	}
	return plans, nil
}

// PullJobs returns the newest jobs of key, without payload.
func (db *DB) PullJobs(ctx context.Context, key string, limit int) ([]store.Job, error) {
	cols := strings.Replace(jobColumns, "payload", "NULL", 1)
	jobs, err := queryAll(ctx, db.r, scanJobValue, `SELECT `+cols+` FROM jobs WHERE key = $1 ORDER BY id DESC LIMIT $2`, key, limit)
	if err != nil {
		return nil, db.errorf("jobs of %s: %w", key, err)
	}
	return jobs, nil
}

func scanJobValue(s rowScanner) (store.Job, error) {
	j, err := scanJob(s)
	if err != nil {
		return store.Job{}, err
	}
	return *j, nil
}

// AppendLog appends a chunk to a run's live log.
func (db *DB) AppendLog(ctx context.Context, c store.LogChunk) (int64, error) {
	created := orNow(c.CreatedAt)
	done := 0
	if c.End {
		done = 1
	}
	var id int64
	err := db.w.QueryRowContext(ctx, `INSERT INTO job_logs (repo, pr, run, project, text, done, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		c.Repo, c.PR, c.Run, c.Project, c.Text, done, db.TimeArg(created)).Scan(&id)
	if err != nil {
		return 0, db.errorf("append log of %s#%d run %s: %w", c.Repo, c.PR, c.Run, err)
	}
	return id, nil
}

// Log returns the chunks of a run after an ID.
func (db *DB) Log(ctx context.Context, repo string, pr int, run string, after int64, limit int) ([]store.LogChunk, error) {
	chunks, err := queryAll(ctx, db.r, scanLogChunk, `SELECT id, repo, pr, run, project, text, done, created_at FROM job_logs
		WHERE repo = $1 AND pr = $2 AND run = $3 AND id > $4 ORDER BY id LIMIT $5`, repo, pr, run, after, limit)
	if err != nil {
		return nil, db.errorf("log of %s#%d run %s: %w", repo, pr, run, err)
	}
	return chunks, nil
}

func scanLogChunk(s rowScanner) (store.LogChunk, error) {
	var c store.LogChunk
	var done int
	err := s.Scan(&c.ID, &c.Repo, &c.PR, &c.Run, &c.Project, &c.Text, &done, timeDest{&c.CreatedAt})
	c.End = done != 0
	return c, err
}

// LogRuns returns the runs of a PR with a live log, newest first.
func (db *DB) LogRuns(ctx context.Context, repo string, pr int, limit int) ([]store.LogRun, error) {
	runs, err := queryAll(ctx, db.r, scanLogRun, `SELECT run, min(created_at), max(done) FROM job_logs
		WHERE repo = $1 AND pr = $2 GROUP BY run ORDER BY min(id) DESC LIMIT $3`, repo, pr, limit)
	if err != nil {
		return nil, db.errorf("log runs of %s#%d: %w", repo, pr, err)
	}
	return runs, nil
}

func scanLogRun(s rowScanner) (store.LogRun, error) {
	var r store.LogRun
	var done int
	err := s.Scan(&r.Run, timeDest{&r.StartedAt}, &done)
	r.Ended = done != 0
	return r, err
}

// PruneLogs deletes the chunks written before before.
func (db *DB) PruneLogs(ctx context.Context, before time.Time) (int, error) {
	n, err := execCount(ctx, db.w, `DELETE FROM job_logs WHERE created_at < $1`, db.TimeArg(before))
	if err != nil {
		return 0, db.errorf("prune logs: %w", err)
	}
	return int(n), nil
}
