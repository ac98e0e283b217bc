package accounts

import (
	"testing"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// A password given with a registration that does not need it goes through the sign-in limiter, as an
// unknown user's does: once throttled, neither costs a hash.
func TestRegistrationPasswordGoesThroughTheSignInLimiter(t *testing.T) {
	f := setup(t)
	a := mdm.Account{TenantID: f.tenant.ID, Username: "known@acme.example.com", Email: "known@acme.example.com",
		PasswordHash: secret.HashPassword("Known-user-pw-1"), Enabled: true, CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	if err := f.store.Accounts().Create(f.ctx, &a); err != nil {
		t.Fatal(err)
	}
	f.issuePIN(t, a)
	count := func(user string) (int, error) {
		var last error
		n := f.hashesDuring(func() {
			for range 40 {
				_, _, last = f.svc.AuthenticateRegistration(f.ctx, user, "0000", "whatever-pw")
			}
		})
		return n, last
	}
	nu, eu := count("nobody@acme.example.com")
	nk, ek := count(a.Username)
	t.Logf("unknown: %d hashes, last %v; known: %d hashes, last %v", nu, eu, nk, ek)
	if nk != nu {
		t.Errorf("40 registrations with a password: unknown user %d hashes, known user %d", nu, nk)
	}
}
