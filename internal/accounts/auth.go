// Package accounts holds who can sign in: System Admins, tenant accounts, their passwords, console
// sessions and activation links. The identity capability grows it into full user management.
package accounts

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"steward/internal/mail"
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
	hashes *hashGate
	cache  *verifiedCache
	limits *signInLimiter
	// pinLimits bounds PIN guesses; supportLimits the support requests a user may send.
	pinLimits     *signInLimiter
	supportLimits *signInLimiter

	mailer  *mail.Mailer
	baseURL string
	mailed  func()
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns the service.
func New(store mdm.Store, keys *secret.Keys, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, keys: keys, now: time.Now, log: log, hashes: newHashGate(),
		cache: newVerifiedCache(10000, 5*time.Minute), mailed: func() {}}
	for _, o := range opts {
		o(s)
	}
	s.limits = newSignInLimiter(signInFailuresPerAddress, signInFailuresPerClient, signInWindow, s.now)
	s.limits.perUserAnywhere = signInFailuresPerUser
	s.pinLimits = newSignInLimiter(pinFailuresPerAddress, pinFailuresPerClient, pinWindow, s.now)
	s.pinLimits.perUserAnywhere = pinFailuresPerUser
	s.supportLimits = newSignInLimiter(supportPerHour, supportPerHour, time.Hour, s.now)
	return s
}

var errBadCredentials = mdm.Errorf(mdm.Unauthenticated, "wrong username or password")

// Authenticate checks a username and password (HTTP Basic or the console form) and returns the
// principal. Tenant usernames are always email addresses, so a username without "@" names a System
// Admin. A suspended tenant's accounts are refused. Failures are limited per user and client address
// (mdm.ClientAddrFrom) and per client address.
func (s *Service) Authenticate(ctx context.Context, username, password string) (*mdm.Principal, error) {
	if username == "" || password == "" || len(username) > 254 || len(password) > 256 ||
		!mdm.CleanText(username) || !mdm.CleanText(password) {
		return nil, errBadCredentials
	}
	done, err := s.limits.begin(username, mdm.ClientAddrFrom(ctx))
	if err != nil {
		return nil, err
	}
	p, err := s.authenticate(ctx, username, password)
	done(!mdm.IsCode(err, mdm.Unauthenticated))
	return p, err
}

func (s *Service) authenticate(ctx context.Context, username, password string) (*mdm.Principal, error) {
	if !strings.Contains(username, "@") {
		a, err := s.store.SystemAdmins().ByUsername(ctx, username)
		if mdm.IsCode(err, mdm.NotFound) {
			return nil, s.spendDummyHash(ctx, password)
		}
		if err != nil {
			return nil, err
		}
		if err := s.checkPassword(ctx, a.Username, a.PasswordHash, password); err != nil {
			return nil, err
		}
		return &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: a.ID, Username: a.Username}, nil
	}
	a, err := s.store.Accounts().ByUsername(ctx, username)
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, s.spendDummyHash(ctx, password)
	}
	if err != nil {
		return nil, err
	}
	if a.PasswordHash == "" { // not activated yet, or a PIN-only account
		return nil, s.spendDummyHash(ctx, password)
	}
	if err := s.checkPassword(ctx, a.Username, a.PasswordHash, password); err != nil {
		return nil, err
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
	roles, err := s.effectiveRoles(ctx, a)
	if err != nil {
		return nil, err
	}
	return &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID), Username: a.Username, TenantID: a.TenantID,
		Roles: roles, APIUser: a.APIUser}, nil
}

var dummyHash = secret.HashPassword("steward timing equaliser")

// spendDummyHash does the work of a real check, so that timing does not tell which usernames exist or
// are activated, and returns the bad-credentials error.
func (s *Service) spendDummyHash(ctx context.Context, password string) error {
	if _, err := s.hashes.check(ctx, dummyHash, password); err != nil {
		return err
	}
	return errBadCredentials
}

// checkPassword verifies with argon2id once, then remembers the success for a few minutes so that API
// clients sending Basic credentials on every call do not pay the hash each time. The cache key covers
// the stored hash, so a password change invalidates it.
func (s *Service) checkPassword(ctx context.Context, username, hash, password string) error {
	key := s.cache.key(username, hash, password)
	if s.cache.has(key, s.now()) {
		return nil
	}
	ok, err := s.hashes.check(ctx, hash, password)
	if err != nil {
		return err
	}
	if !ok {
		return errBadCredentials
	}
	s.cache.add(key, s.now())
	return nil
}
