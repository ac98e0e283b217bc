package accounts

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

// issuePIN gives account a a fresh registration PIN as its administrator would.
func (f *fixture) issuePIN(t *testing.T, a mdm.Account) IssuedPIN {
	t.Helper()
	var pin IssuedPIN
	err := f.store.InTx(f.ctx, func(tx mdm.Stores) error {
		set, err := tx.RegistrationSettings().Get(f.ctx, a.TenantID)
		if err != nil {
			return err
		}
		pin, err = f.svc.newPIN(f.ctx, tx, &a, set)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pin
}

func (f *fixture) user(t *testing.T, email string) mdm.Account {
	t.Helper()
	a := mdm.Account{TenantID: f.tenant.ID, Username: email, Email: email, Enabled: true, CreatedAt: f.clock.now(),
		ModifiedAt: f.clock.now()}
	if err := f.store.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &a) }); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestVerifyPIN: only the account's current, unexpired, unused PIN verifies, once; every failure is the
// same error.
func TestVerifyPIN(t *testing.T) {
	f := setup(t)
	ann, bob := f.user(t, "ann@acme.example.com"), f.user(t, "bob@acme.example.com")
	annPIN, bobPIN := f.issuePIN(t, ann), f.issuePIN(t, bob)
	ctx := mdm.WithClientAddr(f.ctx, "192.0.2.1")

	fails := []struct{ name, email, pin string }{
		{"unknown user", "nobody@acme.example.com", annPIN.PIN},
		{"another user's PIN", "ann@acme.example.com", bobPIN.PIN},
		{"not digits", "ann@acme.example.com", "12ab56"},
		{"empty", "ann@acme.example.com", ""},
	}
	for _, tc := range fails {
		if a, err := f.svc.VerifyPIN(ctx, tc.email, tc.pin); err != errBadPIN || a != nil {
			t.Errorf("%s: %v, %v; want errBadPIN", tc.name, a, err)
		}
	}
	a, err := f.svc.VerifyPIN(ctx, " ANN@acme.example.com ", annPIN.PIN)
	if err != nil || a.ID != ann.ID {
		t.Fatalf("right PIN: %v, %v", a, err)
	}
	if _, err := f.svc.VerifyPIN(ctx, "ann@acme.example.com", annPIN.PIN); err != errBadPIN {
		t.Errorf("used PIN: %v, want errBadPIN", err)
	}
	// A new PIN replaces the old one.
	old := f.issuePIN(t, bob)
	current := f.issuePIN(t, bob)
	if _, err := f.svc.VerifyPIN(ctx, "bob@acme.example.com", old.PIN); old.PIN != current.PIN && err != errBadPIN {
		t.Errorf("replaced PIN: %v, want errBadPIN", err)
	}
	// Expired: past the setting's lifetime (7 days by default).
	f.clock.add(7*24*time.Hour + time.Second)
	if _, err := f.svc.VerifyPIN(ctx, "bob@acme.example.com", current.PIN); err != errBadPIN {
		t.Errorf("expired PIN: %v, want errBadPIN", err)
	}
	// A disabled account's PIN does not verify.
	cy := f.user(t, "cy@acme.example.com")
	cyPIN := f.issuePIN(t, cy)
	disabled := false
	if _, err := f.store.Accounts().Update(f.ctx, cy.TenantID, cy.ID, mdm.AccountPatch{Enabled: &disabled}, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifyPIN(ctx, "cy@acme.example.com", cyPIN.PIN); err != errBadPIN {
		t.Errorf("disabled account: %v, want errBadPIN", err)
	}
}

// TestVerifyPINConcurrent: of simultaneous uses of one PIN exactly one succeeds.
func TestVerifyPINConcurrent(t *testing.T) {
	f := setup(t)
	ann := f.user(t, "ann@acme.example.com")
	pin := f.issuePIN(t, ann)
	results := make(chan error, 4)
	for i := range 4 {
		go func() {
			_, err := f.svc.VerifyPIN(mdm.WithClientAddr(f.ctx, "192.0.2."+string(rune('1'+i))), "ann@acme.example.com", pin.PIN)
			results <- err
		}()
	}
	ok := 0
	for range 4 {
		if err := <-results; err == nil {
			ok++
		} else if !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("concurrent use: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of 4 concurrent uses succeeded, want 1", ok)
	}
}
