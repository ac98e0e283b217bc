// Package oauth is the OAuth 2.0 token server for App Registrations: the client credentials grant
// (RFC 6749 §4.4) at /{tenantId}/connect/token and /oauth2/token, JWT access tokens in the RFC 9068
// profile signed with ES256 keys kept in the database (published as a JWKS), introspection (RFC 7662),
// revocation (RFC 7009), authorization server metadata (RFC 8414), the Neurons header endpoints, and
// the verification of the Bearer tokens the API receives.
package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"steward/internal/appreg"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Defaults: a token lives an hour; a key signs for 30 days and verifies until its last token expired.
const (
	DefaultTokenTTL  = time.Hour
	DefaultKeyPeriod = 30 * 24 * time.Hour
	// skew is added to how long a retired key verifies, for replicas' clocks that disagree a little.
	skew = 5 * time.Minute
	// pruneEvery is how often Run prunes expired revocations and retired keys.
	pruneEvery = 10 * time.Minute
)

// TokenType is the JWT typ of an access token (RFC 9068 §2.1).
const TokenType = "at+jwt"

// Service issues and verifies access tokens.
type Service struct {
	store   mdm.Store
	regs    *appreg.Service
	log     *slog.Logger
	baseURL string
	now     func() time.Time
	ttl     time.Duration
	period  time.Duration
	ring    *keyRing
	limits  *limiter
	parser  *jwt.Parser
	checked *verifiedCache
}

// Option configures the service.
type Option func(*Service)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithTokenTTL sets the access tokens' lifetime.
func WithTokenTTL(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// WithKeyPeriod sets how long a signing key signs before the next one is made.
func WithKeyPeriod(d time.Duration) Option { return func(s *Service) { s.period = d } }

// WithLimits sets how many failed client authentications are allowed per client id and address, and
// per address, within window.
func WithLimits(perClient, perAddr int, window time.Duration) Option {
	return func(s *Service) { s.limits = newLimiter(perClient, perAddr, window, s.clock) }
}

// New returns the token server. baseURL is the public URL: issuers are <baseURL>/<tenantId>.
func New(store mdm.Store, keys *secret.Keys, regs *appreg.Service, log *slog.Logger, baseURL string, opts ...Option) *Service {
	s := &Service{store: store, regs: regs, log: log, baseURL: strings.TrimRight(baseURL, "/"), now: time.Now,
		ttl: DefaultTokenTTL, period: DefaultKeyPeriod, checked: newVerifiedCache(50000)}
	s.limits = newLimiter(10, 50, 5*time.Minute, s.clock)
	for _, o := range opts {
		o(s)
	}
	s.ring = newKeyRing(store, keys, s.clock, s.period, s.ttl+skew)
	// iat is not checked against this replica's clock: a token issued by a replica whose clock runs a
	// little ahead must work at once on the others; exp bounds a token's life.
	s.parser = jwt.NewParser(jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired(),
		jwt.WithAudience(s.audience()), jwt.WithTimeFunc(s.clock))
	return s
}

func (s *Service) clock() time.Time { return s.now() }

// Issuer is tenantID's issuer identifier.
func (s *Service) Issuer(tenantID mdm.TenantID) string { return s.baseURL + "/" + string(tenantID) }

// audience is the resource the tokens are for: the API.
func (s *Service) audience() string { return s.baseURL + "/api" }

// claims are an access token's claims (RFC 9068 §2.2).
type claims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// Token is an issued access token.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// Issue signs a token for reg carrying scopes and records the authentication (coalesced, no write per token).
func (s *Service) Issue(ctx context.Context, reg mdm.AppRegistration, scopes []string) (Token, error) {
	key, err := s.ring.signer(ctx)
	if err != nil {
		return Token{}, err
	}
	now := s.now()
	jti := make([]byte, 16)
	rand.Read(jti)
	c := claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: s.Issuer(reg.TenantID), Subject: reg.ClientID, Audience: jwt.ClaimStrings{s.audience()},
		ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)), IssuedAt: jwt.NewNumericDate(now),
		ID: base64.RawURLEncoding.EncodeToString(jti)}, ClientID: reg.ClientID, Scope: strings.Join(scopes, " ")}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["typ"] = TokenType
	t.Header["kid"] = key.kid
	raw, err := t.SignedString(key.key)
	if err != nil {
		return Token{}, mdm.Wrap(mdm.Internal, err, "signing an access token")
	}
	if s.regs != nil {
		s.regs.MarkAuthenticated(reg.ClientID)
	}
	return Token{AccessToken: raw, TokenType: "Bearer", ExpiresIn: int(s.ttl / time.Second), Scope: c.Scope}, nil
}

// errBadToken is the answer to every token that is not valid; the reason goes to the error's Err only.
func errBadToken(why string) error {
	return mdm.Wrap(mdm.Unauthenticated, errors.New(why), "the access token is invalid, expired or revoked")
}

// parse checks a token's signature (by kid, among the keys that still verify), typ, exp, iat, aud and
// the presence of the claims this server puts in; validate false skips the time and audience checks
// (revocation of an expired token).
func (s *Service) parse(ctx context.Context, raw string, validate bool) (*claims, error) {
	var c claims
	keyFunc := func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, TokenType) && !strings.EqualFold(typ, "application/"+TokenType) {
			return nil, errors.New("not an access token (typ)")
		}
		kid, _ := t.Header["kid"].(string)
		return s.ring.publicKey(ctx, kid)
	}
	p := s.parser
	if !validate {
		p = jwt.NewParser(jwt.WithValidMethods([]string{"ES256"}), jwt.WithoutClaimsValidation())
	}
	if _, err := p.ParseWithClaims(raw, &c, keyFunc); err != nil {
		if code := mdm.ErrorCode(err); code == mdm.Unavailable || code == mdm.Internal && errors.As(err, new(*mdm.Error)) {
			return nil, err // the key store failed: not the token's fault
		}
		return nil, errBadToken(err.Error())
	}
	if c.ID == "" || c.ClientID == "" || c.Subject != c.ClientID || !strings.HasPrefix(c.Issuer, s.baseURL+"/") || c.ExpiresAt == nil {
		return nil, errBadToken("claims missing")
	}
	return &c, nil
}

// check verifies a token fully: parse, then the one database read: the registration still exists, its
// tenant is active and the token is not revoked; the issuer is the registration's tenant's.
func (s *Service) check(ctx context.Context, raw string) (*claims, mdm.AppRegistration, error) {
	c, ok := s.checked.get(raw, s.now())
	if !ok {
		var err error
		if c, err = s.parse(ctx, raw, true); err != nil {
			return nil, mdm.AppRegistration{}, err
		}
		s.checked.put(raw, c, s.now())
	}
	st, err := s.store.OAuth().ClientToken(ctx, c.ClientID, c.ID)
	switch {
	case mdm.IsCode(err, mdm.NotFound):
		return nil, mdm.AppRegistration{}, errBadToken("the app registration no longer exists")
	case err != nil:
		return nil, mdm.AppRegistration{}, err
	case st.Revoked:
		return nil, mdm.AppRegistration{}, errBadToken("revoked")
	case c.Issuer != s.Issuer(st.Registration.TenantID):
		return nil, mdm.AppRegistration{}, errBadToken("issuer is not the client's tenant")
	case !st.TenantActive:
		return nil, mdm.AppRegistration{}, mdm.Errorf(mdm.Forbidden, "the tenant is suspended")
	}
	return c, st.Registration, nil
}

// Principal verifies a Bearer access token and returns its caller: the registration, holding the
// token's scopes that the registration still has.
func (s *Service) Principal(ctx context.Context, raw string) (*mdm.Principal, error) {
	c, reg, err := s.check(ctx, raw)
	if err != nil {
		return nil, err
	}
	var scopes []string
	for _, sc := range strings.Fields(c.Scope) {
		if slices.Contains(reg.Scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return &mdm.Principal{Kind: mdm.ClientPrincipal, ID: reg.ID, Username: reg.ClientID, ClientID: reg.ClientID,
		TenantID: reg.TenantID, Scopes: scopes}, nil
}

// Introspection is an RFC 7662 answer.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	JTI       string `json:"jti,omitempty"`
}

// Introspect tells caller about a token of its own registration; any other token, or an invalid one,
// is inactive.
func (s *Service) Introspect(ctx context.Context, caller mdm.AppRegistration, raw string) (Introspection, error) {
	c, reg, err := s.check(ctx, raw)
	if code := mdm.ErrorCode(err); code == mdm.Unavailable || code == mdm.Internal {
		return Introspection{}, err
	}
	if err != nil || reg.ClientID != caller.ClientID || reg.ID != caller.ID {
		return Introspection{Active: false}, nil
	}
	return Introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, Username: c.ClientID, TokenType: "Bearer",
		Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix(), Sub: c.Subject, Aud: s.audience(), Iss: c.Issuer, JTI: c.ID}, nil
}

// Revoke revokes a token of caller's registration until it expires. Tokens that are invalid, expired
// or another client's are left alone, and the caller is not told (RFC 7009 §2.2).
func (s *Service) Revoke(ctx context.Context, caller mdm.AppRegistration, raw string) error {
	c, err := s.parse(ctx, raw, false)
	if code := mdm.ErrorCode(err); code == mdm.Unavailable || code == mdm.Internal {
		return err
	}
	if err != nil || c.ClientID != caller.ClientID || c.Issuer != s.Issuer(caller.TenantID) || !s.now().Before(c.ExpiresAt.Time) {
		return nil
	}
	return s.store.OAuth().RevokeToken(ctx, mdm.RevokedToken{TenantID: caller.TenantID, JTI: c.ID, ClientID: c.ClientID,
		ExpiresAt: c.ExpiresAt.Time, RevokedAt: s.now()})
}

// lead is how long before a key's period ends the next key is made and published: a day, or a
// quarter of a shorter period; always more than pruneEvery, so that Run gets to it in time.
func (s *Service) lead() time.Duration {
	return max(min(24*time.Hour, s.period/4), 2*pruneEvery)
}

// Run makes sure a key signs and the next one is published ahead of its period, and prunes
// expired revocations and retired keys, every pruneEvery until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		s.Maintain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Maintain does one round of Run's work.
func (s *Service) Maintain(ctx context.Context) {
	if err := s.ring.prepare(ctx, s.lead()); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "oauth signing key", "err", err.Error())
	}
	now := s.now()
	if _, err := s.store.OAuth().PruneRevokedTokens(ctx, now.Add(-skew)); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "pruning revoked access tokens", "err", err.Error())
	}
	if _, err := s.store.OAuth().PruneSigningKeys(ctx, now.Add(-skew)); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "pruning retired signing keys", "err", err.Error())
	}
	s.limits.sweep()
}
