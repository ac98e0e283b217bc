package accounts

import (
	"fmt"
	"testing"

	"steward/internal/mdm"
)

// Wrong PINs from one address lock that address out, for one user after pinFailuresPerAddress and for
// every user after pinFailuresPerClient, the right PIN included; another address is not locked out,
// and the lock lifts once the window has passed.
func TestPINGuessesPerAddressLockAndRecover(t *testing.T) {
	f := setup(t)
	ann := f.user(t, "ann@acme.example.com")
	pin := f.issuePIN(t, ann)
	guesser := from(f.ctx, "192.0.2.10")
	for i := range pinFailuresPerAddress {
		if _, err := f.svc.VerifyPIN(guesser, ann.Username, wrongPIN(pin.PIN)); err != errBadPIN {
			t.Fatalf("wrong PIN %d: %v, want errBadPIN", i+1, err)
		}
	}
	if _, err := f.svc.VerifyPIN(guesser, ann.Username, pin.PIN); !mdm.IsCode(err, mdm.RateLimited) {
		t.Fatalf("right PIN from the guessing address: %v, want rate_limited", err)
	}
	f.clock.add(pinWindow)
	if _, err := f.svc.VerifyPIN(guesser, ann.Username, pin.PIN); err != nil {
		t.Fatalf("right PIN after the window: %v", err)
	}

	// One address guessing for many users.
	bob := f.user(t, "bob@acme.example.com")
	bobPIN := f.issuePIN(t, bob)
	for i := range pinFailuresPerClient {
		f.svc.VerifyPIN(guesser, fmt.Sprintf("nobody%d@acme.example.com", i), "12345678")
	}
	if _, err := f.svc.VerifyPIN(guesser, bob.Username, bobPIN.PIN); !mdm.IsCode(err, mdm.RateLimited) {
		t.Fatalf("another user's right PIN from the guessing address: %v, want rate_limited", err)
	}
	if _, err := f.svc.VerifyPIN(from(f.ctx, "198.51.100.10"), bob.Username, bobPIN.PIN); err != nil {
		t.Errorf("the same user from another address: %v", err)
	}
	f.clock.add(pinWindow)
	bobPIN = f.issuePIN(t, bob) // the last one was used up
	if _, err := f.svc.VerifyPIN(guesser, bob.Username, bobPIN.PIN); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
