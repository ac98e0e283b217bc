package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// hashGate bounds how many argon2id checks run at once. Each takes about 19 MiB, so without a bound a
// burst of sign-in attempts (even with unknown usernames) could exhaust memory.
type hashGate struct{ slots chan struct{} }

func newHashGate() *hashGate {
	return &hashGate{slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

// hashWait is how long a check waits for a free slot before the caller is told to retry.
const hashWait = 10 * time.Second

func (g *hashGate) check(ctx context.Context, phc, password string) (bool, error) {
	timer := time.NewTimer(hashWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return false, mdm.Wrap(mdm.Unavailable, ctx.Err(), "sign-in cancelled")
	case <-timer.C:
		return false, mdm.Errorf(mdm.Unavailable, "too many sign-ins at once: try again shortly")
	}
	defer func() { <-g.slots }()
	return secret.CheckPassword(phc, password), nil
}

// verifiedCache remembers recently verified credentials. Its keys are HMACs under a key that lives only
// in this process, so the cache holds nothing that would help to guess a password.
type verifiedCache struct {
	mu      sync.Mutex
	secret  []byte
	max     int
	ttl     time.Duration
	entries map[[32]byte]time.Time
}

func newVerifiedCache(max int, ttl time.Duration) *verifiedCache {
	k := make([]byte, 32)
	rand.Read(k)
	return &verifiedCache{secret: k, max: max, ttl: ttl, entries: map[[32]byte]time.Time{}}
}

func (c *verifiedCache) key(username, hash, password string) [32]byte {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(username + "\x00" + hash + "\x00" + password))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (c *verifiedCache) has(key [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.entries[key]
	return ok && now.Sub(at) < c.ttl
}

func (c *verifiedCache) add(key [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, at := range c.entries {
			if now.Sub(at) >= c.ttl {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[key] = now
}

// Password guessing limits, per process and per signInWindow: signInFailuresPerAddress wrong
// passwords for one user from one address, signInFailuresPerClient from one address for all users,
// and signInFailuresPerUser for one user from every address together. The last bounds guesses spread
// over many addresses; it is five times the per-address limit so that one address (a shared NAT, a
// guesser) cannot lock a user out alone, and the lock lifts by itself a window after the failures.
const (
	signInWindow             = 15 * time.Minute
	signInFailuresPerAddress = 10
	signInFailuresPerClient  = 100
	signInFailuresPerUser    = 50
)

// signInLimiter slows password guessing. Failed attempts count per (username, client address) and per
// client address, and (perUserAnywhere) per username. A client over a limit is refused for the window;
// the same user signing in from another address is not, unless the user's failures from every
// address together reach perUserAnywhere.
//
// An attempt is counted when it starts (so parallel guesses cannot outrun the limit) and taken back if
// it succeeds; a success also clears that user's failures from that address.
type signInLimiter struct {
	mu        sync.Mutex
	perUser   int
	perClient int
	window    time.Duration
	now       func() time.Time
	attempts  map[string][]time.Time
	// perUserAnywhere, when set, also bounds a user's failures from every address together. PINs need
	// it: they are short enough that guesses spread over many addresses would otherwise find one.
	perUserAnywhere int
}

// maxTracked bounds the limiter's memory; past it, expired entries are swept.
const maxTracked = 100000

func newSignInLimiter(perUser, perClient int, window time.Duration, now func() time.Time) *signInLimiter {
	return &signInLimiter{perUser: perUser, perClient: perClient, window: window, now: now,
		attempts: map[string][]time.Time{}}
}

// recent drops attempts older than the window and returns what is left.
func (l *signInLimiter) recent(key string, now time.Time) []time.Time {
	cut := now.Add(-l.window)
	kept := slices.DeleteFunc(l.attempts[key], func(t time.Time) bool { return !t.After(cut) })
	if len(kept) == 0 {
		delete(l.attempts, key)
		return nil
	}
	l.attempts[key] = kept
	return kept
}

// attemptOutcome is how a limited attempt ended.
type attemptOutcome int

const (
	// attemptFailed: the credentials were wrong; the attempt stays counted.
	attemptFailed attemptOutcome = iota
	// attemptSucceeded: the credentials were right; the attempt and the user's failures are cleared.
	attemptSucceeded
	// attemptUndecided: the check did not get to an answer (cancelled, a database error, a refusal for
	// another reason); the attempt is taken back and nothing else is cleared, so that no error other
	// than right credentials can wipe a user's failures.
	attemptUndecided
)

// begin reserves one attempt. Call done with whether the credentials were right.
func (l *signInLimiter) begin(username, client string) (done func(ok bool), err error) {
	end, err := l.start(username, client)
	if err != nil {
		return nil, err
	}
	return func(ok bool) {
		if ok {
			end(attemptSucceeded)
		} else {
			end(attemptFailed)
		}
	}, nil
}

// start reserves one attempt. Call end with how it went.
func (l *signInLimiter) start(username, client string) (end func(attemptOutcome), err error) {
	userKey := "u\x00" + strings.ToLower(username) + "\x00" + client
	clientKey := "c\x00" + client
	anyKey := "a\x00" + strings.ToLower(username)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.recent(userKey, now)) >= l.perUser || len(l.recent(clientKey, now)) >= l.perClient ||
		l.perUserAnywhere > 0 && len(l.recent(anyKey, now)) >= l.perUserAnywhere {
		return nil, mdm.Errorf(mdm.RateLimited, "too many failed sign-ins: try again in %d minutes", int(l.window.Minutes()))
	}
	if len(l.attempts) >= maxTracked {
		for k := range l.attempts {
			l.recent(k, now)
		}
	}
	l.attempts[userKey] = append(l.attempts[userKey], now)
	l.attempts[clientKey] = append(l.attempts[clientKey], now)
	if l.perUserAnywhere > 0 {
		l.attempts[anyKey] = append(l.attempts[anyKey], now)
	}
	return func(o attemptOutcome) {
		if o == attemptFailed {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if o == attemptSucceeded {
			delete(l.attempts, userKey)
			delete(l.attempts, anyKey)
		} else {
			l.takeBack(userKey, now)
			l.takeBack(anyKey, now)
		}
		l.takeBack(clientKey, now)
	}, nil
}

// takeBack removes one attempt made at the given time from key.
func (l *signInLimiter) takeBack(key string, at time.Time) {
	if i := slices.Index(l.attempts[key], at); i >= 0 {
		l.attempts[key] = slices.Delete(l.attempts[key], i, i+1)
		if len(l.attempts[key]) == 0 {
			delete(l.attempts, key)
		}
	}
}
