package accounts

import (
	"context"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// Login checks the credentials and opens a console session. It returns the cookie value (shown to the
// browser only; the store keeps its keyed hash) and the principal.
func (s *Service) Login(ctx context.Context, username, password string) (string, *mdm.Principal, error) {
	p, err := s.Authenticate(ctx, username, password)
	if err != nil {
		return "", nil, err
	}
	if err := consoleAllowed(p); err != nil {
		return "", nil, err
	}
	token := secret.Token()
	now := s.now()
	se := &mdm.Session{Hash: s.keys.Hash(token), Kind: p.Kind, SubjectID: p.ID, TenantID: p.TenantID,
		ExpiresAt: now.Add(SessionLifetime), CreatedAt: now}
	if err := s.store.Sessions().Create(ctx, se); err != nil {
		return "", nil, err
	}
	p.Session = true
	return token, p, nil
}

// SessionPrincipal resolves a session cookie. The account and tenant are read again on every request,
// so that suspending a tenant or disabling an account ends its sessions at once.
func (s *Service) SessionPrincipal(ctx context.Context, token string) (*mdm.Principal, error) {
	if token == "" || len(token) > 100 {
		return nil, mdm.Errorf(mdm.Unauthenticated, "not signed in")
	}
	se, err := s.store.Sessions().Get(ctx, s.keys.Hash(token), s.now())
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, mdm.Errorf(mdm.Unauthenticated, "your session has ended: sign in again")
	}
	if err != nil {
		return nil, err
	}
	var p *mdm.Principal
	switch se.Kind {
	case mdm.PortalPrincipal: // a portal sign-in never opens the console
		return nil, mdm.Errorf(mdm.Unauthenticated, "not signed in")
	case mdm.SystemAdminPrincipal:
		a, err := s.store.SystemAdmins().Get(ctx, se.SubjectID)
		if err != nil {
			return nil, mdm.Errorf(mdm.Unauthenticated, "your session has ended: sign in again")
		}
		p = &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: a.ID, Username: a.Username}
	default:
		a, err := s.store.Accounts().Get(ctx, se.TenantID, mdm.AccountID(se.SubjectID))
		if err != nil {
			return nil, mdm.Errorf(mdm.Unauthenticated, "your session has ended: sign in again")
		}
		if p, err = s.accountPrincipal(ctx, a); err != nil {
			return nil, err
		}
		if p.APIUser { // made an API user after signing in
			return nil, mdm.Errorf(mdm.Unauthenticated, "your session has ended: sign in again")
		}
	}
	p.Session = true
	return p, nil
}

// Logout ends the session behind token.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.Sessions().Delete(ctx, s.keys.Hash(token))
}

// consoleAllowed refuses a console session to the accounts that must not have one: API users, which
// only call the API, and end users without an administrative role, whose place is the portal.
func consoleAllowed(p *mdm.Principal) error {
	switch {
	case p.Kind != mdm.AccountPrincipal:
		return nil
	case p.APIUser:
		return mdm.Errorf(mdm.Forbidden, "%s is an API user: it calls the API with HTTP Basic and cannot sign in to the console", p.Username)
	case len(p.Roles) == 0:
		return mdm.Errorf(mdm.Forbidden, "your account has no administrative role: use the self-service portal at /go")
	}
	return nil
}
