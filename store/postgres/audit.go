package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

const auditColumns = `seq, time, repo, pr, head_sha, base_sha, project, action, actor, approvers, outcome, detail, plan_sha256, delivery_id, prev_hash, hash`

func scanEntry(row pgx.Row) (audit.Entry, error) {
	var e audit.Entry
	var approvers []byte
	if err := row.Scan(&e.Seq, &e.Time, &e.Repo, &e.PR, &e.HeadSHA, &e.BaseSHA, &e.Project, &e.Action, &e.Actor,
		&approvers, &e.Outcome, &e.Detail, &e.PlanSHA256, &e.DeliveryID, &e.PrevHash, &e.Hash); err != nil {
		return audit.Entry{}, err
	}
	e.Time = e.Time.UTC()
	var err error
	if e.Approvers, err = store.ParseApprovers(e.Seq, approvers); err != nil {
		return audit.Entry{}, err
	}
	return e, nil
}

// AppendAudit appends e to the hash chain, or returns the entry already
// stored under e's idempotency key. Appends from every process are
// serialized by one advisory lock.
func (db *DB) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, bool, error) {
	e = store.PrepareEntry(e, now())
	approvers, err := json.Marshal(e.Approvers)
	if err != nil {
		return audit.Entry{}, false, fmt.Errorf("postgres: append audit: %w", err)
	}
	key := e.IdempotencyKey()
	var stored audit.Entry
	var inserted bool
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockClassAudit); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		existing, err := scanEntry(tx.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit WHERE idempotency_key = $1`, key))
		if err == nil {
			stored = existing
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var last int64
		var prev string
		err = tx.QueryRow(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		e = e.Link(last, prev)
		if _, err := tx.Exec(ctx, `INSERT INTO audit (`+auditColumns+`, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			e.Seq, e.Time, e.Repo, e.PR, e.HeadSHA, e.BaseSHA, e.Project, e.Action, e.Actor,
			string(approvers), e.Outcome, e.Detail, e.PlanSHA256, e.DeliveryID, e.PrevHash, e.Hash, key); err != nil {
			return err
		}
		stored, inserted = e, true
		return nil
	})
	if err != nil {
		return audit.Entry{}, false, fmt.Errorf("postgres: append audit %s %s#%d: %w", e.Action, e.Repo, e.PR, err)
	}
	if inserted {
		db.logger.DebugContext(ctx, "appended audit entry", "repo", e.Repo, "pr", e.PR, "sha", e.HeadSHA,
			"project", e.Project, "delivery", e.DeliveryID, "seq", e.Seq)
	}
	return stored, inserted, nil
}

// Audit returns the entries matching f in seq order.
func (db *DB) Audit(ctx context.Context, f store.AuditFilter) ([]audit.Entry, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit
		WHERE ($1 = '' OR repo = $1) AND ($2 = 0 OR pr = $2) AND ($3::timestamptz IS NULL OR time >= $3)
		ORDER BY seq`, f.Repo, f.PR, ts(f.Since))
	if err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Entry, error) { return scanEntry(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	if len(entries) == 0 {
		entries = nil
	}
	return entries, nil
}
