package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

const auditColumns = `seq, time, repo, pr, head_sha, base_sha, project, action, actor, approvers, outcome, detail, plan_sha256, delivery_id, prev_hash, hash`

func scanEntry(s rowScanner) (audit.Entry, error) {
	var e audit.Entry
	var approvers []byte
	if err := s.Scan(&e.Seq, timeDest{&e.Time}, &e.Repo, &e.PR, &e.HeadSHA, &e.BaseSHA, &e.Project, &e.Action, &e.Actor,
		&approvers, &e.Outcome, &e.Detail, &e.PlanSHA256, &e.DeliveryID, &e.PrevHash, &e.Hash); err != nil {
		return audit.Entry{}, err
	}
	var err error
	if e.Approvers, err = store.ParseApprovers(e.Seq, approvers); err != nil {
		return audit.Entry{}, err
	}
	return e, nil
}

// AppendAudit appends e to the hash chain, or returns the entry already
// stored under e's idempotency key. Appends are serialized (SerialAudit),
// so each reads the true last entry.
func (db *DB) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, bool, error) {
	e = store.PrepareEntry(e, Now())
	approvers, err := json.Marshal(e.Approvers)
	if err != nil {
		return audit.Entry{}, false, db.errorf("append audit: %w", err)
	}
	key := e.IdempotencyKey()
	var stored audit.Entry
	var inserted bool
	err = db.Write(ctx, func(tx *sql.Tx) error {
		if err := db.serialize(ctx, tx, SerialAudit); err != nil {
			return err
		}
		existing, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE idempotency_key = $1`, key))
		if err == nil {
			stored = existing
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var last int64
		var prev string
		err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		e = e.Link(last, prev)
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (`+auditColumns+`, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			e.Seq, db.TimeArg(e.Time), e.Repo, e.PR, e.HeadSHA, e.BaseSHA, e.Project, e.Action, e.Actor,
			string(approvers), e.Outcome, e.Detail, e.PlanSHA256, e.DeliveryID, e.PrevHash, e.Hash, key); err != nil {
			return err
		}
		stored, inserted = e, true
		return nil
	})
	if err != nil {
		return audit.Entry{}, false, db.errorf("append audit %s %s#%d: %w", e.Action, e.Repo, e.PR, err)
	}
	if inserted {
		db.logger.DebugContext(ctx, "appended audit entry", "repo", e.Repo, "pr", e.PR, "sha", e.HeadSHA,
			"project", e.Project, "delivery", e.DeliveryID, "seq", e.Seq)
	}
	return stored, inserted, nil
}

// Audit returns the entries matching f in seq order.
func (db *DB) Audit(ctx context.Context, f store.AuditFilter) ([]audit.Entry, error) {
	entries, err := queryAll(ctx, db.r, scanEntry, `SELECT `+auditColumns+` FROM audit
		WHERE ($1 = '' OR repo = $1) AND ($2 = 0 OR pr = $2) AND (CAST($3 AS `+db.d.TimeType+`) IS NULL OR time >= $3)
		ORDER BY seq`, f.Repo, f.PR, db.TimeArg(f.Since))
	if err != nil {
		return nil, db.errorf("audit: %w", err)
	}
	return entries, nil
}
