package accounts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// replica is a second Service on the fixture's database, as another server process would be: same
// keys, its own in-memory limits.
func (f *fixture) replica(t *testing.T) *Service {
	t.Helper()
	keys, err := secret.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return New(f.store, keys, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(f.clock.now))
}

func from(ctx context.Context, addr string) context.Context { return mdm.WithClientAddr(ctx, addr) }

// wrongPIN is a PIN of the right shape that is not pin.
func wrongPIN(pin string) string {
	if pin == "000000" {
		return "111111"
	}
	return "000000"
}

// TestPINLimitOnlyClearedByRightPIN: a check that ends in an error other than a wrong PIN (a cancelled
// request, a failing condition) neither counts as a guess nor clears the guesses made so far.
func TestPINLimitOnlyClearedByRightPIN(t *testing.T) {
	f := setup(t)
	ann := f.user(t, "ann@acme.example.com")
	pin := f.issuePIN(t, ann)
	wrong := wrongPIN(pin.PIN)
	for i := range 5 {
		if _, err := f.svc.VerifyPIN(from(f.ctx, "192.0.2.1"), ann.Username, wrong); err != errBadPIN {
			t.Fatalf("wrong PIN %d from 192.0.2.1: %v, want errBadPIN", i+1, err)
		}
	}
	for i := range 4 {
		if _, err := f.svc.VerifyPIN(from(f.ctx, "192.0.2.2"), ann.Username, wrong); err != errBadPIN {
			t.Fatalf("wrong PIN %d from 192.0.2.2: %v, want errBadPIN", i+1, err)
		}
	}
	// 9 failures so far. The right PIN, on a cancelled request and with a condition that fails.
	cancelled, cancel := context.WithCancel(from(f.ctx, "192.0.2.2"))
	cancel()
	if _, err := f.svc.VerifyPIN(cancelled, ann.Username, pin.PIN); err == nil || mdm.IsCode(err, mdm.Unauthenticated) ||
		mdm.IsCode(err, mdm.RateLimited) {
		t.Fatalf("cancelled check: %v, want a plain failure", err)
	}
	boom := errors.New("registration settings unreadable")
	if _, err := f.svc.verifyPIN(from(f.ctx, "192.0.2.2"), ann.Username, pin.PIN, pinCheck{
		accept: func(mdm.Stores, *mdm.Account) (bool, error) { return false, boom }}); !errors.Is(err, boom) {
		t.Fatalf("failing condition: %v, want %v", err, boom)
	}
	// Neither counted: 192.0.2.2 still has its 5th try (4 failures).
	if _, err := f.svc.VerifyPIN(from(f.ctx, "192.0.2.2"), ann.Username, wrong); err != errBadPIN {
		t.Fatalf("10th wrong PIN: %v, want errBadPIN (the errors must not count)", err)
	}
	// Neither cleared: 10 failures from all addresses close PIN sign-in for the user.
	if _, err := f.svc.VerifyPIN(from(f.ctx, "192.0.2.3"), ann.Username, pin.PIN); !mdm.IsCode(err, mdm.RateLimited) {
		t.Errorf("after 10 failures: %v, want rate_limited (an error must not clear the failures)", err)
	}
}

// TestPINLimitAcrossReplicas: wrong guesses spread over two server processes add up on the PIN, which
// is revoked at pinFailuresPerUser though neither process saw that many.
func TestPINLimitAcrossReplicas(t *testing.T) {
	f := setup(t)
	other := f.replica(t)
	ann, bob := f.user(t, "ann@acme.example.com"), f.user(t, "bob@acme.example.com")
	annPIN, bobPIN := f.issuePIN(t, ann), f.issuePIN(t, bob)
	wrong := wrongPIN(annPIN.PIN)
	for i := range pinFailuresPerUser {
		svc, addr := f.svc, fmt.Sprintf("192.0.2.%d", i%4+1)
		if i%2 == 1 {
			svc, addr = other, fmt.Sprintf("198.51.100.%d", i%4+1)
		}
		if _, err := svc.VerifyPIN(from(f.ctx, addr), ann.Username, wrong); err != errBadPIN {
			t.Fatalf("wrong PIN %d: %v, want errBadPIN", i+1, err)
		}
	}
	// Each process saw 5 failures, under its own limits; the right PIN is still refused: it is revoked.
	if _, err := other.VerifyPIN(from(f.ctx, "203.0.113.1"), ann.Username, annPIN.PIN); err != errBadPIN {
		t.Errorf("right PIN after %d failures on two replicas: %v, want errBadPIN", pinFailuresPerUser, err)
	}
	if tok, err := f.store.Tokens().Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, ann.TenantID, ann.ID); err != nil ||
		tok.FailedAttempts < pinFailuresPerUser || tok.ExpiresAt.After(f.clock.now()) {
		t.Errorf("ann's PIN after %d failures: %+v, %v; want it kept, expired, with the count", pinFailuresPerUser, tok, err)
	}
	// A restarted process (fresh memory) does not bring it back.
	if _, err := f.replica(t).VerifyPIN(from(f.ctx, "203.0.113.2"), ann.Username, annPIN.PIN); err != errBadPIN {
		t.Errorf("right PIN on a fresh process: %v, want errBadPIN", err)
	}
	// Another user's PIN is untouched.
	if a, err := other.VerifyPIN(from(f.ctx, "203.0.113.1"), bob.Username, bobPIN.PIN); err != nil || a.ID != bob.ID {
		t.Errorf("bob's PIN: %v, %v", a, err)
	}
	// A right PIN that is refused for another reason is not a guess at the PIN.
	cy := f.user(t, "cy@acme.example.com")
	cyPIN := f.issuePIN(t, cy)
	refuse := pinCheck{accept: func(mdm.Stores, *mdm.Account) (bool, error) { return false, nil }}
	for i := range pinFailuresPerAddress {
		if _, err := f.replica(t).verifyPIN(from(f.ctx, "203.0.113.3"), cy.Username, cyPIN.PIN, refuse); err != errBadPIN {
			t.Fatalf("refused right PIN %d: %v, want errBadPIN", i+1, err)
		}
	}
	if n, err := f.store.Tokens().CountFailure(f.ctx, mdm.TokenPurposeRegistrationPIN, cy.TenantID, cy.ID, pinFailuresPerUser, f.clock.now()); err != nil || n != 1 {
		t.Errorf("cy's PIN failures after refusals, plus one: %d, %v; want 1", n, err)
	}
}

// TestPortalLoginPINKeepsPIN: signing in to the portal with the invitation PIN does not use it up; it
// still registers the device (VerifyPIN), after which it no longer signs in.
func TestPortalLoginPINKeepsPIN(t *testing.T) {
	f := setup(t)
	ann := f.user(t, "ann@acme.example.com") // a half account: its PIN always signs in
	pin := f.issuePIN(t, ann)
	ctx := from(f.ctx, "192.0.2.1")
	for i := range 2 {
		if _, p, err := f.svc.PortalLoginPIN(ctx, ann.Username, pin.PIN); err != nil || p.ID != int64(ann.ID) {
			t.Fatalf("portal sign-in %d: %v, %v", i+1, p, err)
		}
	}
	if tok, err := f.store.Tokens().Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, ann.TenantID, ann.ID); err != nil || tok.UsedAt != nil {
		t.Fatalf("PIN after portal sign-ins: %+v, %v; want unused", tok, err)
	}
	if a, err := f.svc.VerifyPIN(ctx, ann.Username, pin.PIN); err != nil || a.ID != ann.ID {
		t.Fatalf("device registration after portal sign-ins: %v, %v", a, err)
	}
	if _, _, err := f.svc.PortalLoginPIN(ctx, ann.Username, pin.PIN); err != errBadPIN {
		t.Errorf("portal sign-in with a used PIN: %v, want errBadPIN", err)
	}
	// Wrong guesses at the portal count against the PIN like any other.
	bob := f.user(t, "bob@acme.example.com")
	bobPIN := f.issuePIN(t, bob)
	if _, _, err := f.svc.PortalLoginPIN(ctx, bob.Username, wrongPIN(bobPIN.PIN)); err != errBadPIN {
		t.Fatalf("wrong portal PIN: %v, want errBadPIN", err)
	}
	if n, err := f.store.Tokens().CountFailure(f.ctx, mdm.TokenPurposeRegistrationPIN, bob.TenantID, bob.ID, pinFailuresPerUser, f.clock.now()); err != nil || n != 2 {
		t.Errorf("bob's PIN failures after one wrong portal PIN, plus one: %d, %v; want 2", n, err)
	}
}
