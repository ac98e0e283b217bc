package oauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers tokens whose signature and claims were checked, until they expire, so that a
// client's repeated Bearer requests skip the ECDSA verification (the costliest step). What can change
// while a token is valid (the registration deleted, the token revoked, the tenant suspended) is not
// cached: it is read from the database on every request. Keys are SHA-256 hashes of the tokens.
type verifiedCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*claims
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, entries: map[[32]byte]*claims{}}
}

func (c *verifiedCache) get(raw string, now time.Time) (*claims, bool) {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.entries[k]
	if ok && !now.Before(cl.ExpiresAt.Time) {
		delete(c.entries, k)
		return nil, false
	}
	return cl, ok
}

func (c *verifiedCache) put(raw string, cl *claims, now time.Time) {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.ExpiresAt.Time) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[k] = cl
}
