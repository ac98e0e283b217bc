package oauth

import (
	"slices"
	"sync"
	"time"
)

// limiter slows guessing of client secrets, like the sign-in limiter of package accounts: failed
// authentications count per (client id, address) and per address. A source over either limit is
// refused for the rest of the window; the same client from another address is not, so that nobody can
// lock an integration out from afar. An attempt counts when it starts (parallel guesses cannot outrun
// the limit) and is taken back when it succeeds, which also clears that client's failures there.
type limiter struct {
	mu        sync.Mutex
	perClient int
	perAddr   int
	window    time.Duration
	now       func() time.Time
	attempts  map[string][]time.Time
}

// maxTracked bounds the limiter's memory; past it, expired entries are swept.
const maxTracked = 100000

func newLimiter(perClient, perAddr int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{perClient: perClient, perAddr: perAddr, window: window, now: now, attempts: map[string][]time.Time{}}
}

// recent drops attempts older than the window and returns what is left.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	cut := now.Add(-l.window)
	kept := slices.DeleteFunc(l.attempts[key], func(t time.Time) bool { return !t.After(cut) })
	if len(kept) == 0 {
		delete(l.attempts, key)
		return nil
	}
	l.attempts[key] = kept
	return kept
}

// begin reserves one attempt, or returns how long to wait. Call done with whether it succeeded.
func (l *limiter) begin(clientID, addr string) (done func(ok bool), retryAfter time.Duration) {
	clientKey := "c\x00" + clientID + "\x00" + addr
	addrKey := "a\x00" + addr
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range []struct {
		key   string
		limit int
	}{{clientKey, l.perClient}, {addrKey, l.perAddr}} {
		if r := l.recent(k.key, now); len(r) >= k.limit {
			retryAfter = max(retryAfter, r[len(r)-k.limit].Add(l.window).Sub(now))
		}
	}
	if retryAfter > 0 {
		return nil, retryAfter
	}
	if len(l.attempts) >= maxTracked {
		for k := range l.attempts {
			l.recent(k, now)
		}
	}
	l.attempts[clientKey] = append(l.attempts[clientKey], now)
	l.attempts[addrKey] = append(l.attempts[addrKey], now)
	return func(ok bool) {
		if !ok {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.attempts, clientKey)
		if i := slices.Index(l.attempts[addrKey], now); i >= 0 {
			l.attempts[addrKey] = slices.Delete(l.attempts[addrKey], i, i+1)
			if len(l.attempts[addrKey]) == 0 {
				delete(l.attempts, addrKey)
			}
		}
	}, 0
}

// sweep drops expired attempts.
func (l *limiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for k := range l.attempts {
		l.recent(k, now)
	}
}
