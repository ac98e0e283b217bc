package mdm

import (
	"context"
)

// SupportAdminStore keeps the accounts a tenant designates to receive its users' support requests.
// List returns them in id order. Set replaces the whole list; it returns not_found, and changes nothing,
// when one of ids is not an account of the tenant.
type SupportAdminStore interface {
	List(ctx context.Context, tenantID TenantID) ([]AccountID, error)
	Set(ctx context.Context, tenantID TenantID, ids []AccountID) error
}

// TokenPurposePasswordReset is the purpose of a password reset link sent from the portal.
const TokenPurposePasswordReset = "pwreset"
