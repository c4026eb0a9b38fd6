package kustomize

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// Cache holds rendered overlays keyed by a content hash of their inputs
// (see Build), in memory and optionally in a directory on disk, so that an
// overlay whose inputs did not change is rendered once. Concurrent requests
// for the same key share one build, which runs under the context and from
// the checkout of the first request. When that build fails, each of the
// others renders its own inputs in turn: the failure may be the first
// request's own (its context ended, or its checkout was removed under it,
// as can happen to a background pre-render), and an overlay that does not
// build fails again. Entries hold Secret digests, never Secret values.
// Build errors are not cached.
type Cache struct {
	dir   string // "" for memory only
	max   int
	group singleflight.Group
	// renders counts the renders run through the cache: its misses.
	renders atomic.Int64

	// mu guards the fields below.
	mu    sync.Mutex
	mem   map[string][]Resource
	order []string // keys in insertion order, for eviction
}

// DefaultCacheEntries is how many overlays a Cache keeps in memory.
const DefaultCacheEntries = 256

// NewCache returns a Cache that keeps up to DefaultCacheEntries overlays in
// memory and, when dir is not empty, every overlay as a JSON file in dir.
func NewCache(dir string) (*Cache, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create kustomize cache: %w", err)
		}
	}
	return &Cache{dir: dir, max: DefaultCacheEntries, mem: make(map[string][]Resource)}, nil
}

// Len returns the number of overlays held in memory.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mem)
}

// Renders returns how many overlays the cache had to render: the requests
// that found no entry and were not shared with one already rendering, and
// those that rendered their own after a shared render failed.
func (c *Cache) Renders() int64 { return c.renders.Load() }

// do returns the resources stored under key, calling fn to render them on a
// miss. hit reports whether fn was not called by this caller.
func (c *Cache) do(ctx context.Context, key string, fn func() ([]Resource, error)) (res []Resource, hit bool, err error) {
	if res, ok := c.get(key); ok {
		return res, true, nil
	}
	// Set only when this caller's function runs, read after ch.
	led, rendered := false, false
	ch := c.group.DoChan(key, func() (any, error) {
		led = true
		if res, ok := c.get(key); ok {
			return res, nil
		}
		rendered = true
		return c.render(key, fn)
	})
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case r := <-ch:
		if r.Err != nil && !led {
			// Another request's build failed: render this one's own.
			res, err := c.render(key, fn)
			return res, false, err
		}
		if r.Err != nil {
			return nil, false, r.Err
		}
		return r.Val.([]Resource), !rendered, nil
	}
}

// render calls fn, counts the render and stores its result under key.
func (c *Cache) render(key string, fn func() ([]Resource, error)) ([]Resource, error) {
	c.renders.Add(1)
	res, err := fn()
	if err != nil {
		return nil, err
	}
	c.put(key, res)
	return res, nil
}

func (c *Cache) get(key string) ([]Resource, bool) {
	c.mu.Lock()
	res, ok := c.mem[key]
	c.mu.Unlock()
	if ok || c.dir == "" {
		return res, ok
	}
	data, err := os.ReadFile(c.file(key))
	if err != nil {
		return nil, false
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, false
	}
	c.remember(key, res)
	return res, true
}

func (c *Cache) put(key string, res []Resource) {
	c.remember(key, res)
	if c.dir == "" {
		return
	}
	data, err := json.Marshal(res)
	if err != nil {
		return
	}
	// Write then rename, so a reader never sees a partial entry. A failed
	// write only costs a later rebuild.
	tmp, err := os.CreateTemp(c.dir, key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), c.file(key)) != nil {
		os.Remove(tmp.Name())
	}
}

func (c *Cache) remember(key string, res []Resource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.mem[key]; ok {
		return
	}
	c.mem[key] = res
	c.order = append(c.order, key)
	for len(c.order) > c.max {
		delete(c.mem, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *Cache) file(key string) string { return filepath.Join(c.dir, key+".json") }
