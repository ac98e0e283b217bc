package accounts

import (
	"fmt"
	"testing"

	"steward/internal/mdm"
)

// TestRegistrationGuessesAreLimited: wrong registration PINs count as PIN guesses: past the limit the
// right PIN is refused too, with the same answer as a wrong one.
func TestRegistrationGuessesAreLimited(t *testing.T) {
	f := setup(t)
	a := f.user(t, "sam@acme.example.com")
	pin := f.issuePIN(t, a)
	var first string
	for i := range pinFailuresPerUser {
		ctx := mdm.WithClientAddr(f.ctx, fmt.Sprintf("192.0.2.%d", i))
		_, _, err := f.svc.AuthenticateRegistration(ctx, a.Username, wrongPIN(pin.PIN), "")
		if !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Fatalf("guess %d: %v, want unauthenticated", i, err)
		}
		if first == "" {
			first = mdm.Message(err)
		}
	}
	ctx := mdm.WithClientAddr(f.ctx, "198.51.100.1")
	_, _, err := f.svc.AuthenticateRegistration(ctx, a.Username, pin.PIN, "")
	if err == nil {
		t.Fatal("the right PIN still works after the limit of wrong guesses")
	}
	if mdm.IsCode(err, mdm.Unauthenticated) && mdm.Message(err) != first {
		t.Errorf("answers differ: %q and %q", first, mdm.Message(err))
	}
}

// TestRegistrationNeeds is the credential table of a registration.
func TestRegistrationNeeds(t *testing.T) {
	full := &mdm.Account{PasswordHash: "x"}
	half := &mdm.Account{}
	for _, c := range []struct {
		a          *mdm.Account
		auth       mdm.RegistrationAuthType
		ever       int
		pin, passw bool
	}{
		{full, mdm.PasswordOnly, 0, false, true},
		{full, mdm.PINOnly, 0, true, false},
		{half, mdm.PasswordOnly, 0, true, false},
		{full, mdm.PINAndPassword, 0, true, false},
		{full, mdm.PasswordOnly, 1, false, true},
		{full, mdm.PINOnly, 1, true, false},
		{full, mdm.PINAndPassword, 1, true, true},
		{half, mdm.PasswordOnly, 3, true, false},
		{half, mdm.PINAndPassword, 3, true, false},
	} {
		pin, pw := registrationNeeds(c.a, &mdm.RegistrationSettings{AuthType: c.auth}, c.ever)
		if pin != c.pin || pw != c.passw {
			t.Errorf("half=%v %s ever=%d: pin %v password %v, want %v %v", c.a == half, c.auth, c.ever, pin, pw, c.pin, c.passw)
		}
	}
}
