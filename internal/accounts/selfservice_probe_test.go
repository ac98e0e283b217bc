package accounts

import (
	"testing"

	"steward/internal/mdm"
)

// TestSelfServiceWithoutMail: with mail not set up, a signed-out request answers "unavailable" for a
// known and an unknown address alike, so the answer tells nothing about who has an account.
func TestSelfServiceWithoutMail(t *testing.T) {
	f := setup(t) // no mailer
	f.user(t, "ann@acme.example.com")
	ctx := mdm.WithClientAddr(f.ctx, "192.0.2.1")
	for _, email := range []string{"ann@acme.example.com", "nobody@acme.example.com"} {
		if err := f.svc.RequestPINByEmail(ctx, email); !mdm.IsCode(err, mdm.Unavailable) {
			t.Errorf("PIN request for %s: %v, want unavailable", email, err)
		}
		if err := f.svc.RequestPasswordResetByEmail(ctx, email); !mdm.IsCode(err, mdm.Unavailable) {
			t.Errorf("password request for %s: %v, want unavailable", email, err)
		}
	}
	// Signed in, too, before the account is read.
	signedIn := mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.PortalPrincipal, ID: 999, TenantID: f.tenant.ID})
	if err := f.svc.RequestPIN(signedIn); !mdm.IsCode(err, mdm.Unavailable) {
		t.Errorf("signed-in PIN request: %v, want unavailable", err)
	}
	if err := f.svc.RequestPasswordReset(signedIn); !mdm.IsCode(err, mdm.Unavailable) {
		t.Errorf("signed-in password request: %v, want unavailable", err)
	}
}
