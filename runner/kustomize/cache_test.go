package kustomize

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestCacheSharesRenders: concurrent requests for one key share one render;
// when that render fails, each other request renders its own inputs, and
// an overlay that does not build fails for all of them.
func TestCacheSharesRenders(t *testing.T) {
	ctx := context.Background()
	want := []Resource{{Kind: "ConfigMap", Name: "web"}}
	tests := []struct {
		name        string
		leaderErr   error
		followerErr error
		wantRenders int64
		wantCached  bool
	}{
		{name: "shared", wantRenders: 1, wantCached: true},
		{name: "the first request's render fails", leaderErr: errors.New("checkout removed"), wantRenders: 2, wantCached: true},
		{name: "the overlay does not build", leaderErr: errors.New("bad"), followerErr: errors.New("bad"), wantRenders: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCache("")
			if err != nil {
				t.Fatal(err)
			}
			started, release := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			var leaderErr error
			go func() {
				defer wg.Done()
				_, _, leaderErr = c.do(ctx, "k", func() ([]Resource, error) {
					close(started)
					<-release
					return want, tt.leaderErr
				})
			}()
			<-started
			type result struct {
				res []Resource
				hit bool
				err error
			}
			done := make(chan result)
			go func() {
				res, hit, err := c.do(ctx, "k", func() ([]Resource, error) { return want, tt.followerErr })
				done <- result{res, hit, err}
			}()
			// The follower joins the render in flight; let it wait on it.
			time.Sleep(50 * time.Millisecond)
			close(release)
			got := <-done
			wg.Wait()
			if !errors.Is(leaderErr, tt.leaderErr) {
				t.Errorf("first request: %v, want %v", leaderErr, tt.leaderErr)
			}
			if !errors.Is(got.err, tt.followerErr) {
				t.Errorf("second request: %v, want %v", got.err, tt.followerErr)
			}
			if tt.followerErr == nil && (len(got.res) != 1 || got.res[0].Name != "web") {
				t.Errorf("second request's resources: %v", got.res)
			}
			if shared := tt.leaderErr == nil; got.hit != shared {
				t.Errorf("second request's hit = %v, want %v", got.hit, shared)
			}
			if n := c.Renders(); n != tt.wantRenders {
				t.Errorf("%d renders, want %d", n, tt.wantRenders)
			}
			if _, ok := c.get("k"); ok != tt.wantCached {
				t.Errorf("cached = %v, want %v", ok, tt.wantCached)
			}
		})
	}
}
