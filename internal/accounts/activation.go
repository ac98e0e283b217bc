package accounts

import (
	"context"

	"steward/internal/audit"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Activation is what the activation page shows about a valid link.
type Activation struct {
	Username   string
	TenantName string
}

// errLinkInvalid covers unknown, expired and foreign tokens alike, so the page tells nothing more.
var errLinkInvalid = mdm.Errorf(mdm.NotFound, "this activation link is not valid: ask your administrator for a new one")

func (s *Service) activationToken(ctx context.Context, token string) (*mdm.OneTimeToken, *mdm.Account, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, errLinkInvalid
	}
	t, err := s.store.Tokens().Get(ctx, s.keys.Hash(token))
	if mdm.IsCode(err, mdm.NotFound) || err == nil && t.Purpose != mdm.TokenPurposeActivation {
		return nil, nil, errLinkInvalid
	}
	if err != nil {
		return nil, nil, err
	}
	if t.UsedAt != nil {
		return nil, nil, mdm.Errorf(mdm.Conflict, "this activation link was already used: sign in with the password you chose")
	}
	if !s.now().Before(t.ExpiresAt) {
		return nil, nil, mdm.Errorf(mdm.NotFound, "this activation link has expired: ask your administrator for a new one")
	}
	a, err := s.store.Accounts().Get(ctx, t.TenantID, t.AccountID)
	if err != nil {
		return nil, nil, errLinkInvalid
	}
	tenant, err := s.store.Tenants().Get(ctx, t.TenantID)
	if err != nil {
		return nil, nil, err
	}
	if tenant.State != mdm.TenantActive {
		return nil, nil, mdm.Errorf(mdm.Forbidden, "this organisation's account is suspended: the link cannot be used now")
	}
	return t, a, nil
}

// CheckActivation tells whether token is a usable activation link.
func (s *Service) CheckActivation(ctx context.Context, token string) (*Activation, error) {
	t, a, err := s.activationToken(ctx, token)
	if err != nil {
		return nil, err
	}
	tenant, err := s.store.Tenants().Get(ctx, t.TenantID)
	if err != nil {
		return nil, err
	}
	return &Activation{Username: a.Username, TenantName: tenant.Name}, nil
}

// Activate sets the account's password through a one-time link. The link works once.
func (s *Service) Activate(ctx context.Context, token, password string) (*Activation, error) {
	t, a, err := s.activationToken(ctx, token)
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
		return audit.Write(mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID),
			Username: a.Username, TenantID: a.TenantID}), tx.Audit(), s.now(), audit.Entry{TenantID: a.TenantID,
			Action: "account.activate", TargetType: "account", TargetID: a.Username})
	})
	if err != nil {
		return nil, err
	}
	tenant, err := s.store.Tenants().Get(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	return &Activation{Username: a.Username, TenantName: tenant.Name}, nil
}
