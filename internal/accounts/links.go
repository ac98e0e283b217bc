package accounts

import (
	"context"

	"steward/internal/audit"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Activation is what the activation and reset pages show about a valid link.
type Activation struct {
	Username   string
	TenantName string
}

// passwordLink is one kind of one-time link that sets an account's password: an activation (Admin
// Activation, Admin Invitation) or a password reset. Both are checked and used the same way.
type passwordLink struct {
	purpose string
	invalid *mdm.Error // unknown, expired, foreign or disabled alike, so the page tells nothing more
	used    string     // why a used link does nothing
	action  string     // the audit action
}

var (
	activationLink = passwordLink{purpose: mdm.TokenPurposeActivation,
		invalid: mdm.Errorf(mdm.NotFound, "this activation link is not valid or has expired: ask your administrator for a new one"),
		used:    "this activation link was already used: sign in with the password you chose", action: "account.activate"}
	resetLink = passwordLink{purpose: mdm.TokenPurposePasswordReset,
		invalid: mdm.Errorf(mdm.NotFound, "this password link is not valid or has expired: request a new one from the sign-in page"),
		used:    "this password link was already used: sign in with your new password", action: "account.password_reset"}
)

// find returns the token, account and tenant behind a usable link of this kind.
func (l passwordLink) find(ctx context.Context, s *Service, token string) (*mdm.OneTimeToken, *mdm.Account, *mdm.Tenant, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, nil, l.invalid
	}
	t, err := s.store.Tokens().Get(ctx, s.keys.Hash(token))
	if mdm.IsCode(err, mdm.NotFound) || err == nil && t.Purpose != l.purpose {
		return nil, nil, nil, l.invalid
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if t.UsedAt != nil {
		return nil, nil, nil, mdm.Errorf(mdm.Conflict, "%s", l.used)
	}
	if !s.now().Before(t.ExpiresAt) {
		return nil, nil, nil, l.invalid
	}
	a, err := s.store.Accounts().Get(ctx, t.TenantID, t.AccountID)
	if err != nil || !a.Enabled {
		return nil, nil, nil, l.invalid
	}
	tenant, err := s.store.Tenants().Get(ctx, t.TenantID)
	if err != nil {
		return nil, nil, nil, err
	}
	if tenant.State != mdm.TenantActive {
		return nil, nil, nil, mdm.Errorf(mdm.Forbidden, "this organisation's account is suspended: the link cannot be used now")
	}
	return t, a, tenant, nil
}

// check tells whether token is a usable link of this kind, and for whom.
func (l passwordLink) check(ctx context.Context, s *Service, token string) (*Activation, error) {
	_, a, tenant, err := l.find(ctx, s, token)
	if err != nil {
		return nil, err
	}
	return &Activation{Username: a.Username, TenantName: tenant.Name}, nil
}

// use sets the account's password through the link, once, and ends the account's sessions: whoever
// knew an old password may be signed in with it.
func (l passwordLink) use(ctx context.Context, s *Service, token, password string) (*Activation, error) {
	t, a, tenant, err := l.find(ctx, s, token)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	v.Add("password", "Policy", secret.CheckPasswordPolicy(password, a.Username))
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash := secret.HashPassword(password)
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Tokens().Use(ctx, t.Hash, s.now()); err != nil {
			return err
		}
		if err := tx.Accounts().SetPassword(ctx, a.TenantID, a.ID, hash, s.now()); err != nil {
			return err
		}
		if err := tx.Sessions().DeleteForAccount(ctx, a.TenantID, a.ID); err != nil {
			return err
		}
		actor := mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID), Username: a.Username, TenantID: a.TenantID})
		return audit.Write(actor, tx.Audit(), s.now(), audit.Entry{TenantID: a.TenantID, Action: l.action,
			TargetType: "account", TargetID: a.Username, Details: map[string]any{"id": a.ID}})
	})
	if mdm.IsCode(err, mdm.Conflict) {
		return nil, mdm.Errorf(mdm.Conflict, "%s", l.used)
	}
	if err != nil {
		return nil, err
	}
	return &Activation{Username: a.Username, TenantName: tenant.Name}, nil
}

// CheckActivation tells whether token is a usable activation link.
func (s *Service) CheckActivation(ctx context.Context, token string) (*Activation, error) {
	return activationLink.check(ctx, s, token)
}

// Activate sets the account's password through a one-time activation link.
func (s *Service) Activate(ctx context.Context, token, password string) (*Activation, error) {
	return activationLink.use(ctx, s, token, password)
}

// CheckPasswordReset tells whether token is a usable password reset link, and for whom.
func (s *Service) CheckPasswordReset(ctx context.Context, token string) (*Activation, error) {
	return resetLink.check(ctx, s, token)
}

// ResetPassword sets a new password through a one-time reset link.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (*Activation, error) {
	return resetLink.use(ctx, s, token, password)
}
