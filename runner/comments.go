package runner

import (
	"context"
	"log/slog"
	"slices"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/store"
)

// CommentRecords remembers which comments hold each PR's plan comment, so
// that updating it edits them by id instead of listing the PR's comments.
type CommentRecords interface {
	PlanComment(ctx context.Context, repo string, pr int) ([]store.CommentPart, error)
	SavePlanComment(ctx context.Context, repo string, pr int, parts []store.CommentPart) error
}

// upsertComment makes the plan comment of pr equal to parts, through the
// comments rec remembers (see comment.UpsertKnown), and remembers them
// again. Without rec, or when the records cannot be read, it lists the
// comments as comment.Upsert does.
//
// opened tells that the comment is for a pull request's opened webhook.
// When rec has no record of the pull request either, planbot never
// posted a comment there, so it creates one without listing: it first
// records that a comment is being created (a part without an id), so that
// should the creation fail half-way, every later update lists the
// comments and finds what was written.
func upsertComment(ctx context.Context, gh comment.Client, rec CommentRecords, bot string, pr planbot.PullRequest, parts []string, opened bool, log *slog.Logger) error {
	if rec == nil {
		return comment.Upsert(ctx, gh, bot, pr.Repo, pr.Number, parts)
	}
	repo := pr.Repo.String()
	stored, err := rec.PlanComment(ctx, repo, pr.Number)
	if err != nil {
		log.Warn("read the plan comment's ids; listing comments instead", "err", err)
	}
	var posted []comment.Posted
	if err == nil && opened && len(stored) == 0 && rec.SavePlanComment(ctx, repo, pr.Number, creating) == nil {
		posted, err = comment.CreateNew(ctx, gh, pr.Repo, pr.Number, parts)
	} else {
		known := make([]comment.Posted, 0, len(stored))
		for _, c := range stored {
			known = append(known, comment.Posted{Part: c.Part, ID: c.ID, SHA256: c.BodySHA256})
		}
		posted, err = comment.UpsertKnown(ctx, gh, bot, pr.Repo, pr.Number, parts, known)
	}
	if err != nil {
		// What was written is unknown: the next update lists the comments.
		if ferr := rec.SavePlanComment(ctx, repo, pr.Number, creating); ferr != nil {
			log.Warn("forget the plan comment's ids", "err", ferr)
		}
		return err
	}
	records := make([]store.CommentPart, 0, len(posted))
	for _, p := range posted {
		records = append(records, store.CommentPart{Part: p.Part, ID: p.ID, BodySHA256: p.SHA256})
	}
	if err := rec.SavePlanComment(ctx, repo, pr.Number, records); err != nil {
		log.Warn("remember the plan comment's ids", "err", err)
	}
	return nil
}

// creating is the record of a plan comment whose parts are unknown: one
// being created, or one whose last update failed half-way. Its part has no
// id, so the next update lists the comments (comment.UpsertKnown).
var creating = []store.CommentPart{{Part: 1}}

// hasPlanComment reports whether rec remembers a plan comment of pr.
func hasPlanComment(ctx context.Context, rec CommentRecords, pr planbot.PullRequest) bool {
	if rec == nil {
		return false
	}
	parts, err := rec.PlanComment(ctx, pr.Repo.String(), pr.Number)
	return err == nil && slices.ContainsFunc(parts, func(p store.CommentPart) bool { return p.ID != 0 })
}
