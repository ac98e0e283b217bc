package accounts

import (
	"context"
	"strings"
	"time"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// PortalSessionLifetime is how long a /go portal sign-in lasts.
const PortalSessionLifetime = 8 * time.Hour

// PortalLogin signs a user in to the /go portal with their password. Any enabled account of an active
// tenant may, with or without roles. The session it opens is a portal session: it never opens the
// console or the API beyond the user's own self-service calls.
func (s *Service) PortalLogin(ctx context.Context, email, password string) (string, *mdm.Principal, error) {
	if !strings.Contains(email, "@") { // a System Admin's username: never a portal user
		return "", nil, errBadCredentials
	}
	p, err := s.Authenticate(ctx, email, password)
	if err != nil {
		return "", nil, err
	}
	return s.openPortalSession(ctx, p.TenantID, mdm.AccountID(p.ID), p.Username)
}

// PortalLoginPIN signs a user in with their registration PIN. It checks the PIN as VerifyPIN does (the
// same limits, the same answer for every failure, wrong guesses counted against the PIN) but does not
// use it up: the invitation PIN is for registering the user's first device, which may come after a
// look at the portal. See pinAloneSignsIn for whom a PIN alone signs in; anyone else who gives their
// right PIN is told to use their password (knowing the PIN, they learn nothing new).
func (s *Service) PortalLoginPIN(ctx context.Context, email, pin string) (string, *mdm.Principal, error) {
	a, err := s.verifyPIN(ctx, email, pin, pinCheck{accept: func(tx mdm.Stores, a *mdm.Account) (bool, error) {
		ok, err := s.pinAloneSignsIn(ctx, tx, a)
		if err == nil && !ok {
			err = errUsePassword
		}
		return ok, err
	}})
	if err != nil {
		return "", nil, err
	}
	return s.openPortalSession(ctx, a.TenantID, a.ID, a.Username)
}

// errUsePassword answers a right PIN from an account that must sign in with its password.
var errUsePassword = mdm.Errorf(mdm.Forbidden, "your account signs in to the portal with its password: use the password form")

// pinAloneSignsIn: a PIN alone is a portal credential only for a half account (no password: the PIN
// is all it has), or for an account whose effective registration setting is PIN_ONLY and that holds
// no role, itself or through a group. Under PIN_AND_PASSWORD the PIN is half of a credential, and an
// administrator's account is worth more than a mailed PIN.
func (s *Service) pinAloneSignsIn(ctx context.Context, tx mdm.Stores, a *mdm.Account) (bool, error) {
	if a.PasswordHash == "" {
		return true, nil
	}
	set, err := s.registrationSettingsFor(ctx, tx, a)
	if err != nil || set.AuthType != mdm.PINOnly {
		return false, err
	}
	roles, err := effectiveRolesIn(ctx, tx, a)
	return len(roles) == 0, err
}

func (s *Service) openPortalSession(ctx context.Context, tenantID mdm.TenantID, id mdm.AccountID, username string) (string, *mdm.Principal, error) {
	token := secret.Token()
	now := s.now()
	se := &mdm.Session{Hash: s.keys.Hash(token), Kind: mdm.PortalPrincipal, SubjectID: int64(id), TenantID: tenantID,
		ExpiresAt: now.Add(PortalSessionLifetime), CreatedAt: now}
	if err := s.store.Sessions().Create(ctx, se); err != nil {
		return "", nil, err
	}
	return token, &mdm.Principal{Kind: mdm.PortalPrincipal, ID: int64(id), Username: username, TenantID: tenantID,
		Session: true}, nil
}

// PortalPrincipal resolves a portal session cookie. Only portal sessions resolve here (a console
// session token does not), and, as for the console, the account and tenant are read on every request.
func (s *Service) PortalPrincipal(ctx context.Context, token string) (*mdm.Principal, error) {
	ended := mdm.Errorf(mdm.Unauthenticated, "your session has ended: sign in again")
	if token == "" || len(token) > 100 {
		return nil, ended
	}
	se, err := s.store.Sessions().Get(ctx, s.keys.Hash(token), s.now())
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, ended
	}
	if err != nil {
		return nil, err
	}
	if se.Kind != mdm.PortalPrincipal {
		return nil, ended
	}
	a, err := s.store.Accounts().Get(ctx, se.TenantID, mdm.AccountID(se.SubjectID))
	if err != nil || !a.Enabled {
		return nil, ended
	}
	t, err := s.store.Tenants().Get(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	if t.State != mdm.TenantActive {
		return nil, ended
	}
	return &mdm.Principal{Kind: mdm.PortalPrincipal, ID: int64(a.ID), Username: a.Username, TenantID: a.TenantID,
		Session: true}, nil
}
