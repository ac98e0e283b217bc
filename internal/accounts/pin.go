package accounts

import (
	"context"
	"strings"
	"time"

	"steward/internal/audit"
	"steward/internal/mdm"
)

// PIN guessing limits. A user's PIN takes at most pinFailuresPerUser wrong guesses in pinWindow, from
// all addresses together; reaching that many also revokes the PIN, so that guesses cannot go on window
// after window (a 4-digit PIN would otherwise fall within its lifetime). The user then asks for a new
// PIN. One address may fail pinFailuresPerAddress times for one user, pinFailuresPerClient in all.
const (
	pinWindow             = 15 * time.Minute
	pinFailuresPerAddress = 5
	pinFailuresPerUser    = 10
	pinFailuresPerClient  = 30
)

// errBadPIN is the one answer for an unknown user, a wrong, expired, used or revoked PIN: nothing tells
// them apart.
var errBadPIN = mdm.Errorf(mdm.Unauthenticated, "wrong email address or PIN")

// VerifyPIN checks that pin is the current registration PIN of the account with this email address:
// the one last issued, unexpired and unused. It uses the PIN up (single use) and returns the account.
// Failures are limited per user and per client address (mdm.ClientAddrFrom).
func (s *Service) VerifyPIN(ctx context.Context, email, pin string) (*mdm.Account, error) {
	return s.verifyPIN(ctx, email, pin, nil)
}

// pinAccepted is a further condition on the account, checked once the PIN is known to be right and
// before it is used; false answers errBadPIN as well.
type pinAccepted func(tx mdm.Stores, a *mdm.Account) (bool, error)

func (s *Service) verifyPIN(ctx context.Context, email, pin string, accept pinAccepted) (*mdm.Account, error) {
	email, pin = strings.TrimSpace(email), strings.TrimSpace(pin)
	if email == "" || len(email) > 254 || !mdm.CleanText(email) || !pinShaped(pin) {
		return nil, errBadPIN
	}
	done, err := s.pinLimits.begin(email, mdm.ClientAddrFrom(ctx))
	if err != nil {
		return nil, err
	}
	a, known, err := s.checkPIN(ctx, email, pin, accept)
	failed := mdm.IsCode(err, mdm.Unauthenticated)
	done(!failed)
	if failed && known != nil && s.pinLimits.exhausted(email) {
		if rerr := s.store.Tokens().Revoke(ctx, mdm.TokenPurposeRegistrationPIN, known.TenantID, known.ID); rerr != nil {
			return nil, rerr
		}
		s.log.WarnContext(ctx, "registration PIN revoked after repeated wrong guesses", "tenant_id", known.TenantID,
			"account_id", known.ID)
	}
	return a, err
}

// pinShaped accepts what a PIN can be: 4 to 12 digits.
func pinShaped(pin string) bool {
	if len(pin) < 4 || len(pin) > 12 {
		return false
	}
	for _, c := range pin {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkPIN returns the account when the PIN is right; on failure it still returns the account the
// email address names (known), for the limiter. Every failure costs one account and one token lookup,
// so that timing tells no more than the answer.
func (s *Service) checkPIN(ctx context.Context, email, pin string, accept pinAccepted) (a, known *mdm.Account, err error) {
	acc, err := s.store.Accounts().ByUsername(ctx, email)
	if mdm.IsCode(err, mdm.NotFound) {
		// The same work as for a real account: its row, then its token.
		s.store.Accounts().Get(ctx, "-", 0)
		s.store.Tokens().Get(ctx, s.pinHash("", 0, pin))
		return nil, nil, errBadPIN
	}
	if err != nil {
		return nil, nil, err
	}
	hash := s.pinHash(acc.TenantID, acc.ID, pin)
	t, err := s.store.Tokens().Get(ctx, hash)
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, acc, errBadPIN
	}
	if err != nil {
		return nil, nil, err
	}
	if t.Purpose != mdm.TokenPurposeRegistrationPIN || t.TenantID != acc.TenantID || t.AccountID != acc.ID ||
		t.UsedAt != nil || !s.now().Before(t.ExpiresAt) || !acc.Enabled {
		return nil, acc, errBadPIN
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if accept != nil {
			ok, err := accept(tx, acc)
			if err != nil {
				return err
			}
			if !ok {
				return errBadPIN
			}
		}
		tenant, err := tx.Tenants().Get(ctx, acc.TenantID)
		if err != nil {
			return err
		}
		if tenant.State != mdm.TenantActive {
			return mdm.Errorf(mdm.Forbidden, "tenant %s is suspended", tenant.Name)
		}
		if err := tx.Tokens().Use(ctx, hash, s.now()); mdm.IsCode(err, mdm.Conflict) {
			return errBadPIN // a concurrent use won
		} else if err != nil {
			return err
		}
		return audit.Write(mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(acc.ID),
			Username: acc.Username, TenantID: acc.TenantID}), tx.Audit(), s.now(), audit.Entry{TenantID: acc.TenantID,
			Action: "account.pin_used", TargetType: "account", TargetID: acc.Username, Details: map[string]any{"id": acc.ID}})
	})
	if err != nil {
		return nil, acc, err
	}
	return acc, acc, nil
}
