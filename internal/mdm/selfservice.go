package mdm

import (
	"context"
	"time"
)

// DeviceID identifies a device within its tenant.
type DeviceID int64

// Device is a registered (or registering) device. The device capability extends it; the portal needs
// only what a user sees in their list.
type Device struct {
	ID                DeviceID
	TenantID          TenantID
	AccountID         AccountID
	Platform          string
	RegistrationState string
	CreatedAt         time.Time
}

// DeviceStore keeps devices. ForAccount lists one account's devices, oldest first (empty, not an error,
// for an account without any).
type DeviceStore interface {
	ForAccount(ctx context.Context, tenantID TenantID, accountID AccountID) ([]Device, error)
}

// SupportAdminStore keeps the accounts a tenant designates to receive its users' support requests.
// List returns them in id order. Set replaces the whole list; it returns not_found, and changes nothing,
// when one of ids is not an account of the tenant.
type SupportAdminStore interface {
	List(ctx context.Context, tenantID TenantID) ([]AccountID, error)
	Set(ctx context.Context, tenantID TenantID, ids []AccountID) error
}

// TokenPurposePasswordReset is the purpose of a password reset link sent from the portal.
const TokenPurposePasswordReset = "pwreset"
