package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"steward/internal/mdm"
)

// countTTL is how long a device list's totalCount is reused for the same tenant and filter. Counting
// every match of a large fleet costs far more than the page itself, and a console pages and refreshes
// the same filter; a total up to this old is the price, except that this replica drops a tenant's
// counts as soon as it registers or deletes one of its devices or changes a device's state, owner,
// reported facts or compliance. Check-in times (lastCheckin) and other replicas' changes show in the
// total within countTTL. Only callers that ask (mdm.ListOptions.RecentTotal) get such a total.
const countTTL = 5 * time.Second

// countCacheMax bounds the entries kept; a full cache first sheds what has expired, then everything.
const countCacheMax = 4096

// countCache remembers exact COUNT(*) results per tenant and query (its WHERE clause and arguments).
// Each tenant has a generation that a change to its devices bumps: an entry of an older generation
// is never served, and a count that was running while the generation moved is never stored. Requests
// that miss the same entry at once share one count, so an expiring entry under load costs one count,
// not one per request in flight.
type countCache struct {
	mu      sync.Mutex
	now     func() time.Time
	gens    map[mdm.TenantID]uint64
	entries map[countKey]countEntry
	flights map[flightKey]*countFlight
}

type countKey struct {
	tenant mdm.TenantID
	query  string
}

type countEntry struct {
	n       int
	gen     uint64
	expires time.Time
}

type flightKey struct {
	countKey
	gen uint64
}

// countFlight is one count running; done closes when n and err are set.
type countFlight struct {
	done chan struct{}
	n    int
	err  error
}

func newCountCache() *countCache {
	return &countCache{now: time.Now, gens: map[mdm.TenantID]uint64{}, entries: map[countKey]countEntry{},
		flights: map[flightKey]*countFlight{}}
}

// key spells a count query and its arguments; the tenant is part of the key as well as of the query.
func (c *countCache) key(tenant mdm.TenantID, query string, args []any) countKey {
	return countKey{tenant: tenant, query: fmt.Sprintf("%s\x00%#v", query, args)}
}

// count returns a fresh cached count for k, else joins a count of k already running in the tenant's
// current generation, else runs one and keeps its result.
func (c *countCache) count(ctx context.Context, k countKey, run func() (int, error)) (int, error) {
	c.mu.Lock()
	gen := c.gens[k.tenant]
	if e, ok := c.entries[k]; ok && e.gen == gen && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.n, nil
	}
	fk := flightKey{k, gen}
	if f, ok := c.flights[fk]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return 0, mdm.Wrap(mdm.Unavailable, ctx.Err(), "request ended")
		}
		if f.err == nil {
			return f.n, nil
		}
		return run() // the other request's failure (its own deadline, say) need not be this one's
	}
	f := &countFlight{done: make(chan struct{})}
	c.flights[fk] = f
	c.mu.Unlock()

	f.n, f.err = run()
	c.mu.Lock()
	delete(c.flights, fk)
	if f.err == nil && c.gens[k.tenant] == gen {
		c.store(k, countEntry{n: f.n, gen: gen, expires: c.now().Add(countTTL)})
	}
	c.mu.Unlock()
	close(f.done)
	return f.n, f.err
}

// store keeps e under k; c.mu is held.
func (c *countCache) store(k countKey, e countEntry) {
	if len(c.entries) >= countCacheMax {
		now := c.now()
		for ek, old := range c.entries {
			if !now.Before(old.expires) || old.gen != c.gens[ek.tenant] {
				delete(c.entries, ek)
			}
		}
		if len(c.entries) >= countCacheMax {
			clear(c.entries)
		}
	}
	c.entries[k] = e
}

// drop forgets every count of tenant, and stops counts already running from being stored or joined.
func (c *countCache) drop(tenant mdm.TenantID) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gens[tenant]++
	c.mu.Unlock()
}
