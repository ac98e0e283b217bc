// Package accounts holds who can sign in: System Admins, tenant accounts, their passwords, console
// sessions and activation links. The identity capability grows it into full user management.
package accounts

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"strings"
	"sync"
	"time"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// SystemAdminUsername is the System Admin created from STEWARD_ADMIN_PASSWORD.
const SystemAdminUsername = "admin"

// SessionLifetime is how long a console sign-in lasts.
const SessionLifetime = 12 * time.Hour

// Service authenticates callers and manages the credentials behind them.
type Service struct {
	store  mdm.Store
	keys   *secret.Keys
	now    func() time.Time
	log    *slog.Logger
	cache  *verifiedCache
	limits *failureLimiter
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns the service.
func New(store mdm.Store, keys *secret.Keys, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, keys: keys, now: time.Now, log: log, cache: newVerifiedCache(10000, 5*time.Minute)}
	for _, o := range opts {
		o(s)
	}
	s.limits = newFailureLimiter(10, 15*time.Minute, s.now)
	return s
}

var errBadCredentials = mdm.Errorf(mdm.Unauthenticated, "wrong username or password")

// Authenticate checks a username and password (HTTP Basic or the console form) and returns the
// principal. Tenant usernames are always email addresses, so a username without "@" names a System
// Admin. A suspended tenant's accounts are refused.
func (s *Service) Authenticate(ctx context.Context, username, password string) (*mdm.Principal, error) {
	if username == "" || password == "" || len(username) > 254 || len(password) > 256 ||
		!mdm.CleanText(username) || !mdm.CleanText(password) {
		return nil, errBadCredentials
	}
	if err := s.limits.check(username); err != nil {
		return nil, err
	}
	p, err := s.authenticate(ctx, username, password)
	if mdm.IsCode(err, mdm.Unauthenticated) {
		s.limits.fail(username)
	}
	return p, err
}

func (s *Service) authenticate(ctx context.Context, username, password string) (*mdm.Principal, error) {
	if !strings.Contains(username, "@") {
		a, err := s.store.SystemAdmins().ByUsername(ctx, username)
		if mdm.IsCode(err, mdm.NotFound) {
			secret.CheckPassword(dummyHash, password) // same work whether or not the user exists
			return nil, errBadCredentials
		}
		if err != nil {
			return nil, err
		}
		if !s.checkPassword(a.Username, a.PasswordHash, password) {
			return nil, errBadCredentials
		}
		return &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: a.ID, Username: a.Username}, nil
	}
	a, err := s.store.Accounts().ByUsername(ctx, username)
	if mdm.IsCode(err, mdm.NotFound) {
		secret.CheckPassword(dummyHash, password)
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if a.PasswordHash == "" || !s.checkPassword(a.Username, a.PasswordHash, password) {
		return nil, errBadCredentials
	}
	return s.accountPrincipal(ctx, a)
}

// accountPrincipal turns an account into a principal, refusing disabled accounts and suspended tenants.
func (s *Service) accountPrincipal(ctx context.Context, a *mdm.Account) (*mdm.Principal, error) {
	if !a.Enabled {
		return nil, mdm.Errorf(mdm.Unauthenticated, "this account is disabled")
	}
	t, err := s.store.Tenants().Get(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	if t.State != mdm.TenantActive {
		return nil, mdm.Errorf(mdm.Forbidden, "tenant %s is suspended", t.Name)
	}
	return &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID), Username: a.Username, TenantID: a.TenantID,
		Roles: a.Roles}, nil
}

var dummyHash = secret.HashPassword("steward timing equaliser")

// checkPassword verifies with argon2id once, then remembers the success for a few minutes so that API
// clients sending Basic credentials on every call do not pay the hash each time. The cache key covers
// the stored hash, so a password change invalidates it.
func (s *Service) checkPassword(username, hash, password string) bool {
	key := sha256.Sum256([]byte(username + "\x00" + hash + "\x00" + password))
	if s.cache.has(key, s.now()) {
		return true
	}
	if !secret.CheckPassword(hash, password) {
		return false
	}
	s.cache.add(key, s.now())
	return true
}

type verifiedCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	entries map[[32]byte]time.Time
}

func newVerifiedCache(max int, ttl time.Duration) *verifiedCache {
	return &verifiedCache{max: max, ttl: ttl, entries: map[[32]byte]time.Time{}}
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
		clear(c.entries)
	}
	c.entries[key] = now
}

// failureLimiter refuses a username for a while after too many wrong passwords, so that guessing is slow.
type failureLimiter struct {
	mu       sync.Mutex
	max      int
	window   time.Duration
	now      func() time.Time
	failures map[string][]time.Time
}

func newFailureLimiter(max int, window time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{max: max, window: window, now: now, failures: map[string][]time.Time{}}
}

func (l *failureLimiter) recent(username string) []time.Time {
	cut := l.now().Add(-l.window)
	kept := l.failures[username][:0]
	for _, t := range l.failures[username] {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.failures, username)
		return nil
	}
	l.failures[username] = kept
	return kept
}

func (l *failureLimiter) check(username string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recent(username)) >= l.max {
		return mdm.Errorf(mdm.RateLimited, "too many failed sign-ins for this user: try again in %d minutes", int(l.window.Minutes()))
	}
	return nil
}

func (l *failureLimiter) fail(username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) > 100000 {
		clear(l.failures)
	}
	l.failures[username] = append(l.recent(username), l.now())
}
