package accounts

import (
	"context"

	"steward/internal/audit"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// errResetInvalid covers unknown, expired, replaced and foreign links alike.
var errResetInvalid = mdm.Errorf(mdm.NotFound, "this password link is not valid or has expired: request a new one from the sign-in page")

// resetToken finds the account behind a usable password reset link.
func (s *Service) resetToken(ctx context.Context, token string) (*mdm.OneTimeToken, *mdm.Account, *mdm.Tenant, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, nil, errResetInvalid
	}
	t, err := s.store.Tokens().Get(ctx, s.keys.Hash(token))
	if mdm.IsCode(err, mdm.NotFound) || err == nil && t.Purpose != mdm.TokenPurposePasswordReset {
		return nil, nil, nil, errResetInvalid
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if t.UsedAt != nil {
		return nil, nil, nil, mdm.Errorf(mdm.Conflict, "this password link was already used: sign in with your new password")
	}
	if !s.now().Before(t.ExpiresAt) {
		return nil, nil, nil, errResetInvalid
	}
	a, err := s.store.Accounts().Get(ctx, t.TenantID, t.AccountID)
	if err != nil || !a.Enabled {
		return nil, nil, nil, errResetInvalid
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

// CheckPasswordReset tells whether token is a usable password reset link, and for whom.
func (s *Service) CheckPasswordReset(ctx context.Context, token string) (*Activation, error) {
	_, a, tenant, err := s.resetToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return &Activation{Username: a.Username, TenantName: tenant.Name}, nil
}

// ResetPassword sets a new password through a reset link and ends the account's sessions. The link
// works once.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (*Activation, error) {
	t, a, tenant, err := s.resetToken(ctx, token)
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
		// Whoever knew the old password may be signed in with it: the reset signs them out.
		if err := tx.Sessions().DeleteForAccount(ctx, a.TenantID, a.ID); err != nil {
			return err
		}
		return audit.Write(selfServiceActor(ctx, a), tx.Audit(), s.now(), audit.Entry{TenantID: a.TenantID,
			Action: "account.password_reset", TargetType: "account", TargetID: a.Username, Details: map[string]any{"id": a.ID}})
	})
	if mdm.IsCode(err, mdm.Conflict) {
		return nil, mdm.Errorf(mdm.Conflict, "this password link was already used: sign in with your new password")
	}
	if err != nil {
		return nil, err
	}
	return &Activation{Username: a.Username, TenantName: tenant.Name}, nil
}
