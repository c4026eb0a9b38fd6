package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/store"
)

// ClaimConcurrently enqueues jobs, some sharing a Key, through stores[0] and
// has several workers per store claim and finish them all at once. Every
// job must be claimed exactly once, two jobs of one Key must never be held
// at the same time, and the jobs of one Key must run in enqueue order.
// Passing several stores open on one database checks this across
// connection pools, as between processes.
func ClaimConcurrently(t *testing.T, stores ...store.Store) {
	ctx := t.Context()
	s := stores[0]
	const (
		workers = 8
		jobs    = 60
	)
	keyOf := func(i int) string {
		if i%4 == 0 {
			return ""
		}
		return fmt.Sprintf("o/r#%d", i%5)
	}
	for i := range jobs {
		mustEnqueue(t, s, store.Job{DeliveryID: fmt.Sprintf("d%02d", i), Event: "e", Payload: []byte(`{}`), Key: keyOf(i)})
	}
	c := &claimLog{jobs: jobs, claims: map[string]int{}, running: map[string]int{}, order: map[string][]string{}}
	var wg sync.WaitGroup
	for w := range workers * len(stores) {
		owner := fmt.Sprintf("w%d", w)
		s := stores[w%len(stores)]
		wg.Go(func() { c.work(ctx, s, owner) })
	}
	wg.Wait()
	for _, p := range c.problems {
		t.Error(p)
	}
	for i := range jobs {
		id := fmt.Sprintf("d%02d", i)
		if c.claims[id] != 1 {
			t.Errorf("%s claimed %d times; want 1", id, c.claims[id])
		}
		if j := mustJob(t, s, id); j.State != store.JobDone {
			t.Errorf("%s state = %q; want done", id, j.State)
		}
	}
	// Jobs of one Key ran in the order they were enqueued.
	for key, got := range c.order {
		var want []string
		for i := range jobs {
			if keyOf(i) == key {
				want = append(want, fmt.Sprintf("d%02d", i))
			}
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("run order of %q mismatch (-got +want):\n%s", key, diff)
		}
	}
}

// claimLog records what the workers of ClaimConcurrently claimed, held
// and finished.
type claimLog struct {
	jobs int

	mu       sync.Mutex // mu guards the fields below
	claims   map[string]int
	running  map[string]int
	order    map[string][]string
	finished int
	problems []string
}

// work claims, holds briefly and finishes jobs as owner until every job is
// finished or a problem was seen.
func (c *claimLog) work(ctx context.Context, s store.Store, owner string) {
	for !c.done() {
		j, err := s.Claim(ctx, owner, t0, t0.Add(time.Hour))
		if err != nil {
			c.problem(fmt.Sprintf("Claim(%s): %v", owner, err))
			return
		}
		if j == nil {
			time.Sleep(time.Millisecond)
			continue
		}
		c.hold(j)
		time.Sleep(100 * time.Microsecond) // hold the job briefly
		c.release(j)
		if err := s.Finish(ctx, j.ID, owner, "", 1, time.Time{}); err != nil {
			c.problem(fmt.Sprintf("Finish(%s): %v", j.DeliveryID, err))
			return
		}
		c.mu.Lock()
		c.finished++
		c.mu.Unlock()
	}
}

// done reports whether every job is finished or a problem was seen.
func (c *claimLog) done() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finished == c.jobs || len(c.problems) > 0
}

func (c *claimLog) problem(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, p)
}

// hold records a claimed job, and a problem when another job of its Key
// runs.
func (c *claimLog) hold(j *store.Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.claims[j.DeliveryID]++
	if j.Key == "" {
		return
	}
	if c.running[j.Key] > 0 {
		c.problems = append(c.problems, fmt.Sprintf("%s claimed while another job of %q runs", j.DeliveryID, j.Key))
	}
	c.running[j.Key]++
	c.order[j.Key] = append(c.order[j.Key], j.DeliveryID)
}

// release records that a job no longer runs.
func (c *claimLog) release(j *store.Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j.Key != "" {
		c.running[j.Key]--
	}
}
