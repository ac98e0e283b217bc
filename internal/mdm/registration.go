package mdm

import (
	"context"
	"time"
)

// RegistrationAuthType is what a user presents to register a device after the first visit (the first
// registration always takes the invitation PIN).
type RegistrationAuthType string

const (
	PasswordOnly   RegistrationAuthType = "PASSWORD_ONLY"
	PINOnly        RegistrationAuthType = "PIN_ONLY"
	PINAndPassword RegistrationAuthType = "PIN_AND_PASSWORD"
)

// RegistrationSettings is a tenant's device registration setting.
type RegistrationSettings struct {
	AuthType        RegistrationAuthType
	PINLifetimeDays int // 1 to 30
	PINLength       int // 4 to 12
	AllowPINRequest bool
	DevicesPerUser  int
	ModifiedAt      time.Time // zero for the defaults
}

// DefaultRegistrationSettings apply to a tenant that has not chosen its own.
func DefaultRegistrationSettings() RegistrationSettings {
	return RegistrationSettings{AuthType: PINOnly, PINLifetimeDays: 7, PINLength: 6, AllowPINRequest: true, DevicesPerUser: 5}
}

// UsesPIN reports whether registrations under s ask for a PIN.
func (s RegistrationSettings) UsesPIN() bool {
	return s.AuthType == PINOnly || s.AuthType == PINAndPassword
}

// TokenPurposeRegistrationPIN is the purpose of a device registration PIN.
const TokenPurposeRegistrationPIN = "regpin"

// GroupRegistrationSettings is a user group's override of the tenant default. When a user belongs to
// several groups with overrides, the one with the highest priority (1) applies.
type GroupRegistrationSettings struct {
	GroupID   GroupID
	GroupName string
	GroupKind GroupKind
	GroupRule string // a dynamic group's rule, to decide who the override reaches
	Priority  int    // 1 is the highest; the overrides of a tenant are numbered 1..n
	Settings  RegistrationSettings
}

// RegistrationSettingsStore keeps each tenant's default setting and its groups' overrides. Get returns
// the defaults for a tenant that has none stored; Put returns not_found for an unknown tenant.
//
// Override returns not_found when the group has no override in the tenant. PutOverride creates the
// override at the lowest priority when the group has none (not_found for a group unknown in the
// tenant) and returns it. DeleteOverride returns not_found when there is none, and renumbers the rest
// 1..n. Overrides lists them by priority. Reorder gives the overrides priorities in the order of
// groups; it returns invalid unless groups names every override of the tenant exactly once.
type RegistrationSettingsStore interface {
	Get(ctx context.Context, tenantID TenantID) (*RegistrationSettings, error)
	Put(ctx context.Context, tenantID TenantID, s RegistrationSettings, now time.Time) error
	Override(ctx context.Context, tenantID TenantID, group GroupID) (*GroupRegistrationSettings, error)
	PutOverride(ctx context.Context, tenantID TenantID, group GroupID, s RegistrationSettings, now time.Time) (*GroupRegistrationSettings, error)
	DeleteOverride(ctx context.Context, tenantID TenantID, group GroupID) error
	Overrides(ctx context.Context, tenantID TenantID) ([]GroupRegistrationSettings, error)
	Reorder(ctx context.Context, tenantID TenantID, groups []GroupID) error
}
