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

// RegistrationSettingsStore keeps each tenant's setting. Get returns the defaults for a tenant that has
// none stored; Put returns not_found for an unknown tenant.
type RegistrationSettingsStore interface {
	Get(ctx context.Context, tenantID TenantID) (*RegistrationSettings, error)
	Put(ctx context.Context, tenantID TenantID, s RegistrationSettings, now time.Time) error
}
