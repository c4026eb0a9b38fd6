package runner

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/event"
)

// Redelivery defaults.
const (
	// DefaultRedeliverWindow is how long GitHub keeps deliveries that it
	// can redeliver: 3 days.
	DefaultRedeliverWindow = 72 * time.Hour
	// DefaultRedeliverInterval is how often a Redeliverer looks for failed
	// deliveries.
	DefaultRedeliverInterval = 5 * time.Minute
	// DefaultMaxDeliveryAttempts is how many attempts of one delivery
	// GitHub may have recorded before a Redeliverer gives up on it.
	DefaultMaxDeliveryAttempts = 10
)

// HookDeliveries is the part of the GitHub App a Redeliverer uses.
type HookDeliveries interface {
	// Deliveries lists delivery attempts made at or after since.
	Deliveries(ctx context.Context, since time.Time) ([]planbot.Delivery, error)
	// Redeliver asks GitHub to send the delivery of an attempt again.
	Redeliver(ctx context.Context, id int64) error
}

// Redeliverer recovers webhook deliveries that never reached planbot.
// GitHub does not retry a failed delivery, so one sent while planbot was
// down or unreachable would be lost: a Redeliverer lists the App's recent
// delivery attempts, groups them by GUID and asks GitHub to redeliver each
// delivery that planbot handles and that no attempt delivered (answered
// 2xx). A redelivery keeps the GUID, so one that planbot stored in the
// meantime is acknowledged as a duplicate at ingress and not run again.
//
// A Redeliverer remembers the GUIDs it asked for, for two Intervals, and
// does not ask again before then, since GitHub's answer to the redelivery
// may not be listed yet. Every replica may run one: a delivery redelivered
// twice is still stored once.
type Redeliverer struct {
	GitHub HookDeliveries
	// Window is how far back deliveries are recovered;
	// DefaultRedeliverWindow if zero.
	Window time.Duration
	// Interval is the time between two passes of Run;
	// DefaultRedeliverInterval if zero.
	Interval time.Duration
	// MaxAttempts is how many recorded attempts of one delivery make it
	// hopeless; DefaultMaxDeliveryAttempts if zero.
	MaxAttempts int
	// Handles reports whether planbot acts on an event and action;
	// event.Handles, the routing table's answer, if nil.
	Handles func(event, action string) bool
	Logger  *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time

	mu    sync.Mutex           // mu guards the field below.
	asked map[string]time.Time // GUID -> when a redelivery was last asked for
}

func (r *Redeliverer) window() time.Duration {
	if r.Window > 0 {
		return r.Window
	}
	return DefaultRedeliverWindow
}

func (r *Redeliverer) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return DefaultRedeliverInterval
}

// redelivery is a delivery to send again: its GUID and the attempt to
// redeliver.
type redelivery struct {
	GUID    string
	Attempt int64
}

// pending returns the deliveries to redeliver among attempts, oldest
// first: those whose GUID has no 2xx attempt, whose event and action
// handles reports true for, whose first listed attempt is within window of
// now, and that have fewer than maxAttempts attempts. Each names the GUID's
// latest attempt.
func pending(attempts []planbot.Delivery, now time.Time, window time.Duration, maxAttempts int, handles func(event, action string) bool) []redelivery {
	type group struct {
		first, last planbot.Delivery
		n           int
		ok          bool
	}
	groups := map[string]*group{}
	for _, a := range attempts {
		g := groups[a.GUID]
		if g == nil {
			g = &group{first: a, last: a}
			groups[a.GUID] = g
		}
		g.n++
		g.ok = g.ok || a.OK()
		if a.DeliveredAt.Before(g.first.DeliveredAt) || (a.DeliveredAt.Equal(g.first.DeliveredAt) && a.ID < g.first.ID) {
			g.first = a
		}
		if a.DeliveredAt.After(g.last.DeliveredAt) || (a.DeliveredAt.Equal(g.last.DeliveredAt) && a.ID > g.last.ID) {
			g.last = a
		}
	}
	var out []*group
	for guid, g := range groups {
		switch {
		case guid == "", g.ok, g.n >= maxAttempts,
			!handles(g.first.Event, g.first.Action),
			now.Sub(g.first.DeliveredAt) > window:
			continue
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].first.DeliveredAt.Equal(out[j].first.DeliveredAt) {
			return out[i].first.DeliveredAt.Before(out[j].first.DeliveredAt)
		}
		return out[i].first.ID < out[j].first.ID
	})
	var rs []redelivery
	for _, g := range out {
		rs = append(rs, redelivery{GUID: g.first.GUID, Attempt: g.last.ID})
	}
	return rs
}

// Once makes one pass: it lists the attempts of the window and asks for a
// redelivery of each pending delivery not asked for in the last two
// Intervals. It returns how many redeliveries GitHub accepted; a failed
// request is logged and the pass goes on, and the first such error is
// returned with the count.
func (r *Redeliverer) Once(ctx context.Context) (int, error) {
	now := clockNow(r.Now)
	attempts, err := r.GitHub.Deliveries(ctx, now.Add(-r.window()))
	if err != nil {
		return 0, fmt.Errorf("list webhook deliveries: %w", err)
	}
	handles := r.Handles
	if handles == nil {
		handles = event.Handles
	}
	maxAttempts := r.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxDeliveryAttempts
	}
	log := orDiscard(r.Logger)
	var n int
	var firstErr error
	for _, p := range pending(attempts, now, r.window(), maxAttempts, handles) {
		if !r.claim(p.GUID, now) {
			continue
		}
		if err := r.GitHub.Redeliver(ctx, p.Attempt); err != nil {
			log.Warn("redeliver webhook", "delivery", p.GUID, "err", err)
			if firstErr == nil {
				firstErr = fmt.Errorf("redeliver %s: %w", p.GUID, err)
			}
			continue
		}
		log.Info("redelivered a webhook that never reached planbot", "delivery", p.GUID)
		n++
	}
	return n, firstErr
}

// claim records that a redelivery of guid is asked for at now, and reports
// whether none was in the last two Intervals. It forgets older requests.
func (r *Redeliverer) claim(guid string, now time.Time) bool {
	keep := 2 * r.interval()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.asked == nil {
		r.asked = map[string]time.Time{}
	}
	for g, at := range r.asked {
		if now.Sub(at) >= keep {
			delete(r.asked, g)
		}
	}
	if _, ok := r.asked[guid]; ok {
		return false
	}
	r.asked[guid] = now
	return true
}

// Run calls Once at once and then every Interval until ctx ends. Errors
// are logged, never returned: GitHub being unreachable must not stop
// planbot. It returns nil when ctx ends.
func (r *Redeliverer) Run(ctx context.Context) error {
	var n int
	pass := func(ctx context.Context) (err error) {
		n, err = r.Once(ctx)
		return err
	}
	return every(ctx, r.interval(), pass, func(err error) {
		orDiscard(r.Logger).Warn("recovering failed webhook deliveries", "redelivered", n, "err", err)
	})
}
