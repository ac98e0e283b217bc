package accounts

import (
	"testing"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// fullUser is a user with a password and roles (none, or e.g. TENANT_ADMIN).
func (f *fixture) fullUser(t *testing.T, email string, roles ...string) mdm.Account {
	t.Helper()
	a := mdm.Account{TenantID: f.tenant.ID, Username: email, Email: email, PasswordHash: secret.HashPassword("User-pw-12345"),
		Roles: roles, Enabled: true, CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	if err := f.store.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &a) }); err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) setAuthType(t *testing.T, at mdm.RegistrationAuthType) {
	t.Helper()
	set, err := f.store.RegistrationSettings().Get(f.ctx, f.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	set.AuthType = at
	if err := f.store.RegistrationSettings().Put(f.ctx, f.tenant.ID, *set, f.clock.now()); err != nil {
		t.Fatal(err)
	}
}

// TestPortalPINAloneRule: a PIN alone signs in to the portal only for a half account, or under
// PIN_ONLY for an account without roles; everyone else who gives the right PIN is told to use the
// password, while a wrong PIN keeps the one neutral answer.
func TestPortalPINAloneRule(t *testing.T) {
	f := setup(t)
	half := f.user(t, "half@acme.example.com")
	bob := f.fullUser(t, "bob@acme.example.com")
	boss := f.fullUser(t, "boss@acme.example.com", mdm.RoleTenantAdmin)
	viaGroup := f.fullUser(t, "grp@acme.example.com")
	g := mdm.UserGroup{TenantID: f.tenant.ID, Name: "Admins", Kind: mdm.StaticGroup, Roles: []string{mdm.RoleTenantAdmin},
		CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	if err := f.store.Groups().Create(f.ctx, &g); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Groups().AddMembers(f.ctx, f.tenant.ID, g.ID, []mdm.AccountID{viaGroup.ID}); err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{}
	for _, a := range []mdm.Account{half, bob, boss, viaGroup} {
		pins[a.Username] = f.issuePIN(t, a).PIN
	}
	signIn := func(a mdm.Account, pin string) error {
		_, p, err := f.replica(t).PortalLoginPIN(from(f.ctx, "192.0.2.1"), a.Username, pin)
		if err == nil && p.ID != int64(a.ID) {
			t.Errorf("%s signed in as %d", a.Username, p.ID)
		}
		return err
	}
	for _, c := range []struct {
		at      mdm.RegistrationAuthType
		a       mdm.Account
		allowed bool
	}{
		{mdm.PINOnly, half, true}, {mdm.PINAndPassword, half, true},
		{mdm.PINOnly, bob, true}, {mdm.PINAndPassword, bob, false},
		{mdm.PINOnly, boss, false}, {mdm.PINOnly, viaGroup, false}, {mdm.PINAndPassword, boss, false},
	} {
		f.setAuthType(t, c.at)
		err := signIn(c.a, pins[c.a.Username])
		if c.allowed && err != nil {
			t.Errorf("%s, %s, right PIN: %v, want signed in", c.at, c.a.Username, err)
		}
		if !c.allowed && err != errUsePassword {
			t.Errorf("%s, %s, right PIN: %v, want %v", c.at, c.a.Username, err, errUsePassword)
		}
		if err := signIn(c.a, wrongPIN(pins[c.a.Username])); err != errBadPIN {
			t.Errorf("%s, %s, wrong PIN: %v, want errBadPIN", c.at, c.a.Username, err)
		}
	}
	// The refused right PIN is not a guess and is not used up: it still registers a device.
	if a, err := f.replica(t).VerifyPIN(from(f.ctx, "192.0.2.2"), boss.Username, pins[boss.Username]); err != nil || a.ID != boss.ID {
		t.Errorf("boss's PIN after refused portal sign-ins: %v, %v", a, err)
	}
}
