package accounts

import (
	"context"
	"slices"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// SupportAdmins lists the accounts that receive the caller's tenant's support requests (empty: the
// tenant's Tenant Admins receive them).
func (s *Service) SupportAdmins(ctx context.Context) ([]mdm.AccountID, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return nil, err
	}
	return s.store.SupportAdmins().List(ctx, tenantID)
}

// maxSupportAdmins bounds the list (each support request sends one email to each of them).
const maxSupportAdmins = 50

// SetSupportAdmins replaces the list with ids, which must be accounts of the caller's tenant.
func (s *Service) SetSupportAdmins(ctx context.Context, ids []mdm.AccountID) ([]mdm.AccountID, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemManage)
	if err != nil {
		return nil, err
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > maxSupportAdmins {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "Size", Field: "accountIds", Message: "at most 50 support administrators"})
	}
	var out []mdm.AccountID
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.SupportAdmins().Set(ctx, tenantID, ids); mdm.IsCode(err, mdm.NotFound) {
			return mdm.FieldErrors(mdm.FieldError{Code: "NotFound", Field: "accountIds", Message: "every id must be an account of this tenant"})
		} else if err != nil {
			return err
		}
		if out, err = tx.SupportAdmins().List(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "support_admins.update",
			TargetType: "support_admins", TargetID: string(tenantID), Details: map[string]any{"accountIds": out}})
	})
	return out, err
}
