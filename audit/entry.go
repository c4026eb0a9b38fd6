// Package audit defines planbot's append-only, hash-chained audit log of
// approved changes: what an entry holds, how its hash is computed, and how
// a chain is verified. Entries are written by the runner through the store,
// which serializes appends so the chain stays linear across replicas.
//
// WriteTable and WriteJSON render entries for people and for export; the
// JSON lines WriteJSON writes are planbot's export format, which ReadJSON
// reads back for Verify. The `planbot audit` command is audit/auditcmd.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// The actions recorded in the log.
const (
	ActionPlan           = "plan"
	ActionApplyRequested = "apply_requested"
	ActionApply          = "apply"
	ActionApplyRefused   = "apply_refused"
	// ActionApplyInterrupted is the outcome planbot records for an apply
	// intent it finds without one (see PendingApplies): what terraform did
	// is unknown, and the apply is not run again.
	ActionApplyInterrupted = "apply_interrupted"
	ActionMerge            = "merge"
	ActionUnlock           = "unlock"
	ActionLockConflict     = "lock_conflict"
	// ActionDriftDetected records a drift pass that found a project's
	// default branch no longer matching what runs (or failing to plan),
	// and ActionDriftResolved one that closed its issue. Their PR is 0.
	ActionDriftDetected = "drift_detected"
	ActionDriftResolved = "drift_resolved"
)

// Approver is a login whose approval counted, with the CODEOWNERS rule that
// made it count.
type Approver struct {
	Login string `json:"login"`
	Rule  string `json:"rule"`
}

// Entry is one audit log record. The JSON field names are part of planbot's
// interface: `planbot audit --json` prints them.
type Entry struct {
	Seq        int64      `json:"seq"`
	Time       time.Time  `json:"time"`
	Repo       string     `json:"repo"`
	PR         int        `json:"pr"`
	HeadSHA    string     `json:"head_sha"`
	BaseSHA    string     `json:"base_sha"`
	Project    string     `json:"project"`
	Action     string     `json:"action"`
	Actor      string     `json:"actor"`
	Approvers  []Approver `json:"approvers"`
	Outcome    string     `json:"outcome"`
	Detail     string     `json:"detail"`
	PlanSHA256 string     `json:"plan_sha256"`
	DeliveryID string     `json:"delivery_id"`
	PrevHash   string     `json:"prev_hash"`
	Hash       string     `json:"hash"`
}

// IdempotencyKey returns the key under which an entry is written at most
// once: a redelivered webhook never writes a second entry.
func (e Entry) IdempotencyKey() string {
	b, _ := json.Marshal([]any{e.Repo, e.PR, e.HeadSHA, e.Project, e.Action, e.DeliveryID})
	return string(b)
}

// outcomeKey returns the key that an apply intent shares with its outcome:
// the idempotency key with the intent's action in place of the entry's.
func (e Entry) outcomeKey() string {
	e.Action = ActionApplyRequested
	return e.IdempotencyKey()
}

// PendingApplies returns, in their order, the apply intents among entries
// that have no outcome. An apply intent is an apply_requested entry of a
// project (the merge's intent has no project). Its outcome is an apply or
// apply_interrupted entry with the same repo, PR, head SHA, project and
// delivery ID, which is the intent's idempotency key with another action.
// An intent without an outcome was cut short after it was written: the
// process died while terraform applied, or before it could record how the
// apply ended, so what terraform did is unknown.
func PendingApplies(entries []Entry) []Entry {
	done := make(map[string]bool)
	for _, e := range entries {
		if e.Action == ActionApply || e.Action == ActionApplyInterrupted {
			done[e.outcomeKey()] = true
		}
	}
	var pending []Entry
	for _, e := range entries {
		if e.Action == ActionApplyRequested && e.Project != "" && !done[e.outcomeKey()] {
			pending = append(pending, e)
		}
	}
	return pending
}

// ComputeHash returns sha256 over the canonical JSON of the entry without
// its Hash field (PrevHash included). Time is normalized to UTC with
// microsecond precision so that every backend round-trips it exactly.
func (e Entry) ComputeHash() string {
	e.Hash = ""
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.Approvers == nil {
		e.Approvers = []Approver{}
	}
	// The canonical form is e's own JSON with Time in a fixed format and
	// without Hash: the outer fields take the place of the entry's own
	// seq, time and hash, and a nil Hash is left out.
	type fields Entry // without Entry's methods
	b, err := json.Marshal(struct {
		Seq  int64  `json:"seq"`
		Time string `json:"time"`
		fields
		Hash *string `json:"hash,omitempty"`
	}{e.Seq, e.Time.Format("2006-01-02T15:04:05.000000Z"), fields(e), nil})
	if err != nil {
		panic("audit: marshal canonical entry: " + err.Error()) // cannot happen: plain types only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Link returns e appended after the entry (lastSeq, lastHash) of the chain,
// with Seq, PrevHash and Hash set; lastSeq 0 and lastHash "" start a chain.
// Every backend links entries this way, and Verify checks it.
func (e Entry) Link(lastSeq int64, lastHash string) Entry {
	e.Seq = lastSeq + 1
	e.PrevHash = lastHash
	e.Hash = e.ComputeHash()
	return e
}

// Verify walks entries in seq order and reports the seq of the first entry
// whose hash or link to its predecessor is wrong. ok is true when the chain
// is intact.
func Verify(entries []Entry) (badSeq int64, ok bool) {
	prev := ""
	for _, e := range entries {
		if e.PrevHash != prev || e.ComputeHash() != e.Hash {
			return e.Seq, false
		}
		prev = e.Hash
	}
	return 0, true
}
