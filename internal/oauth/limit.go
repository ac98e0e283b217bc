package oauth

import (
	"slices"
	"sync"
	"time"
)

// limiter slows guessing of client secrets, like the sign-in limiter of package accounts: failed
// authentications count per (client id, address), per address and per client id (anyAddr). A source
// over a limit is refused for the rest of the window; the same client from another address is not
// until its failures from every address reach anyAddr. Unlike sign-ins, a client legitimately asks for tokens in
// parallel, so an attempt is not reserved when it starts: only wrong credentials count (parallel
// guesses can pass the limit by what is in flight, against secrets of 256 bits), a check that did
// not decide (cancelled, database down) counts nothing, and a success clears the client's failures
// from that address.
//
// anyAddr bounds a client's failures from every address together, so that guesses spread over many
// addresses are refused too. It is ten times the per-(client, address) limit: one address cannot lock
// an integration out alone, and a lock lifts by itself a window after the failures stop.
type limiter struct {
	mu        sync.Mutex
	perClient int
	perAddr   int
	anyAddr   int
	window    time.Duration
	now       func() time.Time
	attempts  map[string][]time.Time
}

// maxTracked bounds the limiter's memory; past it, expired entries are swept.
const maxTracked = 100000

func newLimiter(perClient, perAddr int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{perClient: perClient, perAddr: perAddr, anyAddr: 10 * perClient, window: window, now: now,
		attempts: map[string][]time.Time{}}
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

// outcome is how a limited attempt ended.
type outcome int

const (
	failed    outcome = iota // wrong credentials: counted
	succeeded                // right credentials: the client's failures from the address are cleared
	undecided                // no answer (cancelled, a server failure): nothing changes
)

// begin checks the limits, returning how long to wait when over one. Otherwise call done with the outcome.
func (l *limiter) begin(clientID, addr string) (done func(outcome), retryAfter time.Duration) {
	clientKey := "c\x00" + clientID + "\x00" + addr
	addrKey := "a\x00" + addr
	anyKey := "k\x00" + clientID
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range []struct {
		key   string
		limit int
	}{{clientKey, l.perClient}, {addrKey, l.perAddr}, {anyKey, l.anyAddr}} {
		if r := l.recent(k.key, now); len(r) >= k.limit {
			retryAfter = max(retryAfter, r[len(r)-k.limit].Add(l.window).Sub(now))
		}
	}
	if retryAfter > 0 {
		return nil, retryAfter
	}
	return func(o outcome) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch o {
		case succeeded:
			delete(l.attempts, clientKey)
		case failed:
			now := l.now()
			if len(l.attempts) >= maxTracked {
				for k := range l.attempts {
					l.recent(k, now)
				}
			}
			l.attempts[clientKey] = append(l.attempts[clientKey], now)
			l.attempts[addrKey] = append(l.attempts[addrKey], now)
			l.attempts[anyKey] = append(l.attempts[anyKey], now)
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
