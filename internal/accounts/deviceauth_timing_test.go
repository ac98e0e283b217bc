package accounts

import (
	"testing"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// hashesDuring counts the password hashes fn has checked. The gate is unbuffered: each check hands
// its slot to this loop and takes it back, so the count needs no clock.
func (f *fixture) hashesDuring(fn func()) int {
	gate := &hashGate{slots: make(chan struct{})}
	f.svc.hashes = gate
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	n := 0
	for {
		select {
		case <-gate.slots:
			n++
			gate.slots <- struct{}{} // frees the check's slot
		case <-done:
			return n
		}
	}
}

// TestRegistrationHashesAGivenPassword: a registration that gives a password costs one hash for a
// known user whose setting does not ask for it, as it does for an unknown user, so timing does not
// tell them apart.
func TestRegistrationHashesAGivenPassword(t *testing.T) {
	f := setup(t)
	a := mdm.Account{TenantID: f.tenant.ID, Username: "known@acme.example.com", Email: "known@acme.example.com",
		PasswordHash: secret.HashPassword("Known-user-pw-1"), Enabled: true, CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	if err := f.store.Accounts().Create(f.ctx, &a); err != nil {
		t.Fatal(err)
	}
	f.issuePIN(t, a)
	for _, c := range []struct {
		name, user, password string
		want                 int
	}{
		{"known, PIN setting, password given", a.Username, "whatever-pw", 1},
		{"unknown, password given", "nobody@acme.example.com", "whatever-pw", 1},
		{"known, no password given", a.Username, "", 0},
		{"unknown, no password given", "nobody@acme.example.com", "", 0},
	} {
		var err error
		n := f.hashesDuring(func() { _, _, err = f.svc.AuthenticateRegistration(f.ctx, c.user, "0000", c.password) })
		if !mdm.IsCode(err, mdm.Unauthenticated) || n != c.want {
			t.Errorf("%s: %d hashes, %v; want %d, unauthenticated", c.name, n, err, c.want)
		}
	}
}
