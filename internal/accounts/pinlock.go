package accounts

import (
	"time"

	"steward/internal/mdm"
)

// The durable PIN guess limit: at most pinFailuresPerUser wrong PINs per account per pinLockPeriod,
// unless an administrator issues a new PIN.
//
//   - The database counts wrong guesses on the account's current PIN and records when the last was
//     made (CountFailure). At the limit the PIN is revoked in place: it expires, but its row and count
//     stay.
//   - While the newest PIN holds pinFailuresPerUser failures, the last made within pinLockPeriod, the
//     account is locked: self-service PIN requests are refused, signed in or not.
//   - A PIN the user requests while the previous one has failures within pinLockPeriod starts from
//     that count (and that time), so requesting a new PIN never buys more guesses. The count starts
//     afresh only after a whole pinLockPeriod without a wrong guess, so no pinLockPeriod window holds
//     more than pinFailuresPerUser of them.
//   - A PIN an administrator issues (regpin, invitation) replaces the old one and starts from zero:
//     that is the way out of a lock.
const pinLockPeriod = 24 * time.Hour

// errPINLocked tells a signed-in user why no PIN is sent; a signed-out request answers neutrally.
var errPINLocked = mdm.Errorf(mdm.Forbidden, "too many wrong PINs: ask your administrator for a new one")

// recentFailures is how many wrong guesses t carries that count now, and when the last was made: none
// once pinLockPeriod has passed since it.
func recentFailures(t *mdm.OneTimeToken, now time.Time) (int, *time.Time) {
	if t == nil || t.LastFailedAt == nil || now.Sub(*t.LastFailedAt) >= pinLockPeriod {
		return 0, nil
	}
	return t.FailedAttempts, t.LastFailedAt
}

// pinLocked reports whether t, an account's newest PIN, locks the account out of self-service PINs.
func pinLocked(t *mdm.OneTimeToken, now time.Time) bool {
	n, _ := recentFailures(t, now)
	return n >= pinFailuresPerUser
}
