package accounts

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// mailing is a Service on the fixture's database that can queue mail, as a server with SMTP set up.
func (f *fixture) mailing(t *testing.T) *Service {
	t.Helper()
	keys, err := secret.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return New(f.store, keys, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(f.clock.now),
		WithMail(mail.NewMailer(keys, f.clock.now), "https://mdm.example.com", func() {}))
}

// guessWrong makes n wrong guesses at a's PIN, each on a fresh process, so that only the database
// limit applies.
func (f *fixture) guessWrong(t *testing.T, a mdm.Account, n int) {
	t.Helper()
	for i := range n {
		if _, err := f.replica(t).VerifyPIN(from(f.ctx, fmt.Sprintf("192.0.2.%d", i+1)), a.Username, "99999999"); err != errBadPIN {
			t.Fatalf("wrong PIN %d: %v, want errBadPIN", i+1, err)
		}
	}
}

func (f *fixture) latestPIN(t *testing.T, a mdm.Account) *mdm.OneTimeToken {
	t.Helper()
	tok, err := f.store.Tokens().Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, a.TenantID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPINLockPerAccount: at most pinFailuresPerUser wrong PINs per account per pinLockPeriod. At the
// limit self-service PIN requests are refused (a clear reason signed in, the neutral answer signed out)
// for a day after the last wrong guess; a requested PIN carries the recent count on; an administrator's
// PIN starts afresh and unlocks the account.
func TestPINLockPerAccount(t *testing.T) {
	f := setup(t)
	svc := f.mailing(t)
	ann := f.user(t, "ann@acme.example.com")
	me := mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.PortalPrincipal, ID: int64(ann.ID), Username: ann.Username,
		TenantID: ann.TenantID})
	admin := mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(f.admin.ID),
		Username: f.admin.Username, TenantID: f.tenant.ID, Roles: []string{mdm.RoleTenantAdmin}})
	first := f.issuePIN(t, ann)
	f.guessWrong(t, ann, pinFailuresPerUser)
	locked := f.latestPIN(t, ann)

	if err := svc.RequestPIN(me); err != errPINLocked {
		t.Fatalf("signed-in PIN request when locked: %v, want %v", err, errPINLocked)
	}
	if err := svc.RequestPINByEmail(from(f.ctx, "198.51.100.1"), ann.Username); err != nil {
		t.Fatalf("signed-out PIN request when locked: %v, want the neutral nil", err)
	}
	if got := f.latestPIN(t, ann); !slices.Equal(got.Hash, locked.Hash) {
		t.Fatal("a PIN was issued while locked")
	}
	if st, err := svc.PINStatus(admin, ann.ID); err != nil || st.Status != PINLocked {
		t.Errorf("PIN status when locked: %+v, %v; want %s", st, err, PINLocked)
	}
	if _, err := f.replica(t).VerifyPIN(from(f.ctx, "203.0.113.1"), ann.Username, first.PIN); err != errBadPIN {
		t.Errorf("the right but locked PIN: %v, want errBadPIN", err)
	}
	// Still locked just under a day after the last wrong guess (the refused right PIN above was one).
	f.clock.add(pinLockPeriod - time.Minute)
	if err := svc.RequestPIN(me); err != errPINLocked {
		t.Fatalf("PIN request a minute before the lock ends: %v, want %v", err, errPINLocked)
	}
	// A day after it, a requested PIN starts from zero.
	f.clock.add(time.Minute)
	if err := svc.RequestPIN(me); err != nil {
		t.Fatalf("PIN request after the lock: %v", err)
	}
	if got := f.latestPIN(t, ann); got.FailedAttempts != 0 || got.LastFailedAt != nil {
		t.Errorf("PIN requested after a day: %+v, want no failures carried", got)
	}

	// Requesting a new PIN does not buy guesses: 3 wrong, a new PIN, 7 wrong lock the account.
	f.guessWrong(t, ann, 3)
	f.clock.add(pinRequestInterval)
	if err := svc.RequestPIN(me); err != nil {
		t.Fatalf("PIN request after 3 wrong guesses: %v", err)
	}
	if got := f.latestPIN(t, ann); got.FailedAttempts != 3 {
		t.Errorf("PIN requested after 3 wrong guesses starts at %d, want 3", got.FailedAttempts)
	}
	f.guessWrong(t, ann, pinFailuresPerUser-3)
	f.clock.add(pinRequestInterval)
	if err := svc.RequestPINByEmail(from(f.ctx, "198.51.100.2"), ann.Username); err != nil {
		t.Fatalf("signed-out PIN request when locked again: %v", err)
	}
	if err := svc.RequestPIN(me); err != errPINLocked {
		t.Fatalf("PIN request after %d wrong guesses over two PINs: %v, want %v", pinFailuresPerUser, err, errPINLocked)
	}

	// The administrator's PIN unlocks: it starts afresh and signs in.
	adminPIN, err := svc.IssueRegistrationPIN(admin, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.latestPIN(t, ann); got.FailedAttempts != 0 || got.LastFailedAt != nil {
		t.Errorf("administrator's PIN: %+v, want no failures", got)
	}
	if a, err := f.replica(t).VerifyPIN(from(f.ctx, "203.0.113.2"), ann.Username, adminPIN.PIN); err != nil || a.ID != ann.ID {
		t.Errorf("administrator's PIN after a lock: %v, %v", a, err)
	}
	f.clock.add(pinRequestInterval)
	if err := svc.RequestPIN(me); err != nil {
		t.Errorf("PIN request after the administrator's PIN: %v", err)
	}
}
