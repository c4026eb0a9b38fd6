package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/release"
	"github.com/planbot/planbot/store"
)

// JobResults records what a job produced for whoever waits for it.
type JobResults interface {
	SetJobResult(ctx context.Context, deliveryID string, result []byte) error
}

// apiRelease performs a release stored by the release API and records
// its answer as the job's result: the pull request opened, nothing to
// change, or why the release is refused.
func (h *Handler) apiRelease(ctx context.Context, j store.Job, payload any) error {
	aj := payload.(*release.APIJob)
	owner, name, _ := strings.Cut(aj.Repo, "/")
	repo := planbot.Repo{Owner: owner, Name: name}
	log := h.Logger.With("repo", repo.String(), "delivery", j.DeliveryID)
	gh := h.TagGitHub(aj.Installation)
	rel, _, _, err := ReleaseConfig(ctx, gh, repo)
	var req release.Request
	if err == nil {
		req, err = release.FromImages(rel, aj.Environment, aj.Images, aj.Actor(), release.TriggerAPI, "POST /api/v1/releases", aj.ReceivedAt)
	}
	var res ReleaseResult
	if err == nil {
		res, err = h.Releaser.Release(ctx, gh, repo, req, j.DeliveryID)
	}
	var out release.APIResult
	switch {
	case planbot.ErrorCode(err) == planbot.EINVALID:
		out = release.APIResult{State: "refused", Error: planbot.ErrorMessage(err)}
		appendAudit(ctx, h.Audit, log, audit.Entry{Repo: repo.String(), Action: ActionReleaseRefused, Actor: aj.Actor(),
			Outcome: "refused", Detail: "api " + aj.String() + ": " + out.Error, DeliveryID: j.DeliveryID})
	case err != nil:
		return err
	case res.DryRun:
		out = release.APIResult{State: "dry_run"}
	case res.Unchanged:
		out = release.APIResult{State: "unchanged"}
	default:
		out = release.APIResult{State: "opened", PR: res.PR.Number, URL: res.PR.HTMLURL, Superseded: res.Superseded}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("release result: %w", err)
	}
	return h.Results.SetJobResult(ctx, j.DeliveryID, b)
}

// ReleaseChecker checks an API release before it is stored: the
// repository is one planbot may work on and is installed, it takes
// releases, and the environment and images are in its configuration.
type ReleaseChecker struct {
	// Installation returns the App's installation on a repository, or an
	// ENOTFOUND error.
	Installation func(ctx context.Context, repo planbot.Repo) (int64, error)
	// GitHub returns the client of an installation.
	GitHub func(installation int64) TagGitHub
	// AllowRepo reports whether planbot works on a repository; nil
	// allows all.
	AllowRepo func(repo string) bool
}

// CheckRelease returns the installation of the request's repository, or
// an error: ENOTFOUND for a repository planbot does not reach, EINVALID
// for a release its configuration refuses, another when GitHub cannot
// tell.
func (c *ReleaseChecker) CheckRelease(ctx context.Context, req release.APIRequest) (int64, error) {
	notFound := planbot.Errorf(planbot.ENOTFOUND, "repository %s not found, or planbot is not installed on it", req.Repo)
	if c.AllowRepo != nil && !c.AllowRepo(req.Repo) {
		return 0, notFound
	}
	owner, name, _ := strings.Cut(req.Repo, "/")
	repo := planbot.Repo{Owner: owner, Name: name}
	id, err := c.Installation(ctx, repo)
	if planbot.ErrorCode(err) == planbot.ENOTFOUND {
		return 0, notFound
	}
	if err != nil {
		return 0, err
	}
	// A repository without releases, or whose configuration is
	// invalid, is an EINVALID error that says so.
	rel, _, _, err := ReleaseConfig(ctx, c.GitHub(id), repo)
	if err != nil {
		return 0, err
	}
	if _, err := release.FromImages(rel, req.Environment, req.Images, req.Actor(), release.TriggerAPI, "", time.Time{}); err != nil {
		return 0, err
	}
	return id, nil
}
