package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

const auditColumns = `seq, time, repo, pr, head_sha, base_sha, project, action, actor, approvers, outcome, detail, plan_sha256, delivery_id, prev_hash, hash`

func scanEntry(s rowScanner) (audit.Entry, error) {
	var e audit.Entry
	var t int64
	var approvers string
	if err := s.Scan(&e.Seq, &t, &e.Repo, &e.PR, &e.HeadSHA, &e.BaseSHA, &e.Project, &e.Action, &e.Actor,
		&approvers, &e.Outcome, &e.Detail, &e.PlanSHA256, &e.DeliveryID, &e.PrevHash, &e.Hash); err != nil {
		return audit.Entry{}, err
	}
	e.Time = time.UnixMicro(t).UTC()
	var err error
	if e.Approvers, err = store.ParseApprovers(e.Seq, []byte(approvers)); err != nil {
		return audit.Entry{}, err
	}
	return e, nil
}

// AppendAudit appends e to the hash chain, or returns the entry already
// stored under e's idempotency key.
func (db *DB) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, bool, error) {
	e = store.PrepareEntry(e, now())
	approvers, err := json.Marshal(e.Approvers)
	if err != nil {
		return audit.Entry{}, false, fmt.Errorf("sqlite: append audit: %w", err)
	}
	key := e.IdempotencyKey()
	var stored audit.Entry
	var inserted bool
	err = db.write(ctx, func(tx *sql.Tx) error {
		existing, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE idempotency_key = ?`, key))
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
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.Time.UnixMicro(), e.Repo, e.PR, e.HeadSHA, e.BaseSHA, e.Project, e.Action, e.Actor,
			string(approvers), e.Outcome, e.Detail, e.PlanSHA256, e.DeliveryID, e.PrevHash, e.Hash, key); err != nil {
			return err
		}
		stored, inserted = e, true
		return nil
	})
	if err != nil {
		return audit.Entry{}, false, fmt.Errorf("sqlite: append audit %s %s#%d: %w", e.Action, e.Repo, e.PR, err)
	}
	if inserted {
		db.logger.DebugContext(ctx, "appended audit entry", "repo", e.Repo, "pr", e.PR, "sha", e.HeadSHA,
			"project", e.Project, "delivery", e.DeliveryID, "seq", e.Seq)
	}
	return stored, inserted, nil
}

// Audit returns the entries matching f in seq order.
func (db *DB) Audit(ctx context.Context, f store.AuditFilter) ([]audit.Entry, error) {
	var since any
	if !f.Since.IsZero() {
		since = f.Since.UTC().Truncate(time.Microsecond).UnixMicro()
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit
		WHERE (?1 = '' OR repo = ?1) AND (?2 = 0 OR pr = ?2) AND (?3 IS NULL OR time >= ?3)
		ORDER BY seq`, f.Repo, f.PR, since)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	defer rows.Close()
	var entries []audit.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: audit: %w", err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	return entries, nil
}
