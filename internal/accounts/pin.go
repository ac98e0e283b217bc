package accounts

import (
	"context"
	"strings"
	"time"

	"steward/internal/audit"
	"steward/internal/mdm"
)

// PIN guessing limits. An account takes at most pinFailuresPerUser wrong guesses per pinLockPeriod:
// the database counts them on the PIN (shared by every replica, kept across restarts), revokes it at
// that many and then refuses self-service PINs until the period has passed (see pinLockPeriod), so
// that guesses cannot go on window after window or PIN after PIN (a 4-digit PIN would otherwise fall);
// an administrator's new PIN unlocks the account. In front of that, each process also limits a user to
// pinFailuresPerUser wrong guesses in pinWindow from all addresses together, one address to
// pinFailuresPerAddress for one user and pinFailuresPerClient in all.
const (
	pinWindow             = 15 * time.Minute
	pinFailuresPerAddress = 5
	pinFailuresPerUser    = 10
	pinFailuresPerClient  = 30
)

// errBadPIN is the one answer for an unknown user, a wrong, expired, used or revoked PIN: nothing tells
// them apart.
var errBadPIN = mdm.Errorf(mdm.Unauthenticated, "wrong email address or PIN")

// errWrongPIN is errBadPIN for a PIN that is not the account's current one: a guess that counts
// against the PIN. It never leaves this file.
var errWrongPIN = mdm.Errorf(mdm.Unauthenticated, "wrong email address or PIN")

// VerifyPIN checks that pin is the current registration PIN of the account whose username (an email
// address) is email: the one last issued, unexpired and unused. It uses the PIN up (single use: the
// PIN is for registering one device) and returns the account. Failures are limited as described at
// pinWindow.
func (s *Service) VerifyPIN(ctx context.Context, email, pin string) (*mdm.Account, error) {
	return s.verifyPIN(ctx, email, pin, pinCheck{use: true})
}

// pinAccepted is a further condition on the account, checked once the PIN is known to be right; false
// answers errBadPIN as well.
type pinAccepted func(tx mdm.Stores, a *mdm.Account) (bool, error)

// pinCheck says what a right PIN must also satisfy (accept, may be nil) and whether it is used up;
// then (may be nil) is the caller's work that the PIN is used up for, done in the same transaction, so
// that when it fails the PIN stays unused.
type pinCheck struct {
	accept pinAccepted
	use    bool
	then   func(tx mdm.Stores, a *mdm.Account) error
}

func (s *Service) verifyPIN(ctx context.Context, email, pin string, c pinCheck) (*mdm.Account, error) {
	email, pin = strings.TrimSpace(email), strings.TrimSpace(pin)
	if email == "" || len(email) > 254 || !mdm.CleanText(email) || !pinShaped(pin) {
		return nil, errBadPIN
	}
	end, err := s.pinLimits.start(email, mdm.ClientAddrFrom(ctx))
	if err != nil {
		return nil, err
	}
	a, known, err := s.checkPIN(ctx, email, pin, c)
	switch {
	case err == nil:
		end(attemptSucceeded) // only a verified PIN clears the user's failures
		return a, nil
	case err == errWrongPIN:
		end(attemptFailed)
		return nil, s.countPINFailure(ctx, known)
	case mdm.IsCode(err, mdm.Unauthenticated):
		end(attemptFailed)
		return nil, errBadPIN
	default: // cancelled, a database error, a suspended tenant: neither a guess nor a success
		end(attemptUndecided)
		return nil, err
	}
}

// countPINFailure counts a wrong guess on the account's current PIN (known nil: an unknown user, for
// whom the same statement runs and finds nothing) and answers errBadPIN.
func (s *Service) countPINFailure(ctx context.Context, known *mdm.Account) error {
	tenantID, id := mdm.TenantID("-"), mdm.AccountID(0)
	if known != nil {
		tenantID, id = known.TenantID, known.ID
	}
	n, err := s.store.Tokens().CountFailure(ctx, mdm.TokenPurposeRegistrationPIN, tenantID, id, pinFailuresPerUser, s.now())
	if err != nil {
		return err
	}
	if n == pinFailuresPerUser {
		s.log.WarnContext(ctx, "registration PIN revoked after repeated wrong guesses", "tenant_id", tenantID,
			"account_id", id)
	}
	return errBadPIN
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
// username names (known), for the limits. Every failure costs one account and one token lookup, so that
// timing tells no more than the answer.
func (s *Service) checkPIN(ctx context.Context, email, pin string, c pinCheck) (a, known *mdm.Account, err error) {
	acc, err := s.store.Accounts().ByUsername(ctx, email)
	if mdm.IsCode(err, mdm.NotFound) {
		// The same work as for a real account: its row, then its token.
		s.store.Accounts().Get(ctx, "-", 0)
		s.store.Tokens().Get(ctx, s.pinHash("", 0, pin))
		return nil, nil, errWrongPIN
	}
	if err != nil {
		return nil, nil, err
	}
	hash := s.pinHash(acc.TenantID, acc.ID, pin)
	t, err := s.store.Tokens().Get(ctx, hash)
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, acc, errWrongPIN
	}
	if err != nil {
		return nil, nil, err
	}
	if t.Purpose != mdm.TokenPurposeRegistrationPIN || t.TenantID != acc.TenantID || t.AccountID != acc.ID ||
		t.UsedAt != nil || !s.now().Before(t.ExpiresAt) || !acc.Enabled {
		return nil, acc, errWrongPIN
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if c.accept != nil {
			ok, err := c.accept(tx, acc)
			if err != nil {
				return err
			}
			if !ok {
				return errBadPIN // the right PIN, refused for another reason: not a guess
			}
		}
		tenant, err := tx.Tenants().Get(ctx, acc.TenantID)
		if err != nil {
			return err
		}
		if tenant.State != mdm.TenantActive {
			return mdm.Errorf(mdm.Forbidden, "tenant %s is suspended", tenant.Name)
		}
		if !c.use {
			return nil
		}
		if err := tx.Tokens().Use(ctx, hash, s.now()); mdm.IsCode(err, mdm.Conflict) {
			return errBadPIN // a concurrent use won
		} else if err != nil {
			return err
		}
		err = audit.Write(mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(acc.ID),
			Username: acc.Username, TenantID: acc.TenantID}), tx.Audit(), s.now(), audit.Entry{TenantID: acc.TenantID,
			Action: "account.pin_used", TargetType: "account", TargetID: acc.Username, Details: map[string]any{"id": acc.ID}})
		if err != nil || c.then == nil {
			return err
		}
		return c.then(tx, acc)
	})
	if err != nil {
		return nil, acc, err
	}
	return acc, acc, nil
}
