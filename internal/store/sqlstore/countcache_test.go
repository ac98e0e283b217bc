package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/mdm"
)

// counter stands in for a COUNT(*): it returns n and counts its runs.
type counter struct {
	n    int
	runs atomic.Int32
}

func (c *counter) run() (int, error) { c.runs.Add(1); return c.n, nil }

func TestCountCacheExpiresAndKeepsTenantsApart(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCountCache()
	c.now = func() time.Time { return now }
	ctx := context.Background()
	a, b := &counter{n: 3}, &counter{n: 7}
	// The same query text and arguments for two tenants: never one's count for the other.
	ka, kb := c.key("A", "q", []any{"ACTIVE"}), c.key("B", "q", []any{"ACTIVE"})
	for range 2 {
		if n, _ := c.count(ctx, ka, a.run); n != 3 {
			t.Fatalf("A counted %d, want 3", n)
		}
		if n, _ := c.count(ctx, kb, b.run); n != 7 {
			t.Fatalf("B counted %d, want 7", n)
		}
	}
	if a.runs.Load() != 1 || b.runs.Load() != 1 {
		t.Errorf("runs within the TTL: A %d, B %d, want 1 each", a.runs.Load(), b.runs.Load())
	}
	now = now.Add(countTTL)
	a.n = 4
	if n, _ := c.count(ctx, ka, a.run); n != 4 || a.runs.Load() != 2 {
		t.Errorf("after the TTL: %d after %d runs, want 4 after 2", n, a.runs.Load())
	}
	c.count(ctx, kb, b.run) // B's count again, after its TTL
	bRuns := b.runs.Load()
	c.drop("A")
	a.n = 5
	if n, _ := c.count(ctx, ka, a.run); n != 5 {
		t.Errorf("after drop: %d, want 5", n)
	}
	if n, _ := c.count(ctx, kb, b.run); n != 7 || b.runs.Load() != bRuns {
		t.Errorf("dropping A recounted B: %d after %d runs", n, b.runs.Load())
	}
}

// A count that was running when the tenant's devices changed is returned to its caller but not kept.
func TestCountCacheDropsCountsRunningAcrossAChange(t *testing.T) {
	c := newCountCache()
	ctx := context.Background()
	k := c.key("A", "q", nil)
	if n, _ := c.count(ctx, k, func() (int, error) { c.drop("A"); return 1, nil }); n != 1 {
		t.Fatalf("count = %d", n)
	}
	if n, _ := c.count(ctx, k, func() (int, error) { return 2, nil }); n != 2 {
		t.Errorf("a count taken across a change was kept: got %d, want 2", n)
	}
}

// Requests that miss together share one count.
func TestCountCacheSharesOneCount(t *testing.T) {
	c := newCountCache()
	ctx := context.Background()
	k := c.key(mdm.TenantID("A"), "q", nil)
	release := make(chan struct{})
	var runs atomic.Int32
	run := func() (int, error) { runs.Add(1); <-release; return 9, nil }
	var wg sync.WaitGroup
	got := make([]int, 5)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = c.count(ctx, k, run) }()
	}
	for { // wait until one count runs and the others have joined it
		c.mu.Lock()
		f := c.flights[flightKey{k, 0}]
		c.mu.Unlock()
		if f != nil && runs.Load() == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, n := range got {
		if n != 9 {
			t.Errorf("request %d got %d, want 9", i, n)
		}
	}
	if runs.Load() != 1 {
		t.Errorf("%d counts ran, want 1", runs.Load())
	}
}
