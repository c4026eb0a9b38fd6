package githubapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
)

// Delivery is one attempt to deliver the App's webhook (see
// planbot.Delivery).
type Delivery = planbot.Delivery

// Deliveries lists the App's webhook delivery attempts made at or after
// since, newest first (GET /app/hook/deliveries, as the App). It follows
// the cursor of the Link header 100 attempts at a time and stops at the
// first attempt older than since.
func (a *App) Deliveries(ctx context.Context, since time.Time) ([]Delivery, error) {
	gh := a.newGitHub(a.appsTr)
	opt := &github.ListCursorOptions{PerPage: 100}
	var out []Delivery
	for {
		page, resp, err := gh.Apps.ListHookDeliveries(ctx, opt)
		if err != nil {
			return out, wrap("list webhook deliveries", resp, err)
		}
		for _, d := range page {
			at := d.GetDeliveredAt().Time
			if at.Before(since) {
				return out, nil
			}
			out = append(out, Delivery{
				ID: d.GetID(), GUID: d.GetGUID(), Event: d.GetEvent(), Action: d.GetAction(),
				StatusCode: d.GetStatusCode(), Redelivery: d.GetRedelivery(), DeliveredAt: at,
			})
		}
		if resp.Cursor == "" || len(page) == 0 {
			return out, nil
		}
		opt.Cursor = resp.Cursor
	}
}

// Redeliver asks GitHub to deliver the attempt id again (POST
// /app/hook/deliveries/{id}/attempts, as the App), with the same GUID and
// payload. In dry-run mode it only logs.
func (a *App) Redeliver(ctx context.Context, id int64) error {
	if a.dryRun {
		a.logger.Info("dry run: redeliver webhook", "attempt", id)
		return nil
	}
	_, resp, err := a.newGitHub(a.appsTr).Apps.RedeliverHookDelivery(ctx, id)
	var accepted *github.AcceptedError
	if errors.As(err, &accepted) {
		return nil // 202 is the answer GitHub gives
	}
	return wrap(fmt.Sprintf("redeliver webhook delivery %d", id), resp, err)
}
