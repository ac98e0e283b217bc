package accounts

import (
	"context"
	"time"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// PIN states, as the console shows them.
const (
	PINActive  = "active"  // issued, unused and not expired
	PINUsed    = "used"    // a device registered with it
	PINExpired = "expired" // unused past its lifetime
	PINLocked  = "locked"  // revoked by too many wrong guesses: self-service PINs are refused for now
	PINNone    = "none"    // never issued (or replaced and not yet reissued)
)

// PINState is what an administrator may know about an account's registration PIN: never the PIN.
type PINState struct {
	Status    string
	IssuedAt  time.Time // zero when Status is PINNone
	ExpiresAt time.Time
	UsedAt    time.Time
	// Setting is the registration setting that applies to the account; a new PIN can be generated only
	// when it uses one.
	Setting mdm.RegistrationSettings
}

// PINStatus reports the state of an account's latest registration PIN and the setting that governs it.
func (s *Service) PINStatus(ctx context.Context, id mdm.AccountID) (*PINState, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Accounts().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	set, err := s.registrationSettingsFor(ctx, s.store, a)
	if err != nil {
		return nil, err
	}
	out := &PINState{Status: PINNone, Setting: *set}
	t, err := s.store.Tokens().Latest(ctx, mdm.TokenPurposeRegistrationPIN, tenantID, id)
	if mdm.IsCode(err, mdm.NotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out.IssuedAt, out.ExpiresAt = t.CreatedAt, t.ExpiresAt
	switch {
	case t.UsedAt != nil:
		out.Status, out.UsedAt = PINUsed, *t.UsedAt
	case pinLocked(t, s.now()):
		out.Status = PINLocked
	case !s.now().Before(t.ExpiresAt):
		out.Status = PINExpired
	default:
		out.Status = PINActive
	}
	return out, nil
}
