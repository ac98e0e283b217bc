package devices_test

import (
	"strings"
	"testing"

	"steward/internal/accounts"
	"steward/internal/devices"
	"steward/internal/mdm"
)

func TestRegistrationBySettingType(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		cases := []struct {
			auth mdm.RegistrationAuthType
			// second is what a later registration presents given a fresh PIN; wrong lists what fails.
			second func(pin string) (string, string)
			wrong  func(pin string) [][2]string
		}{
			{mdm.PasswordOnly, func(string) (string, string) { return "", userPW },
				func(pin string) [][2]string { return [][2]string{{pin, ""}, {"", "Wrong-password-1"}} }},
			{mdm.PINOnly, func(pin string) (string, string) { return pin, "" },
				func(pin string) [][2]string { return [][2]string{{"", userPW}, {"000000", ""}} }},
			{mdm.PINAndPassword, func(pin string) (string, string) { return pin, userPW },
				func(pin string) [][2]string { return [][2]string{{pin, ""}, {"", userPW}, {pin, "Wrong-password-1"}} }},
		}
		for i, c := range cases {
			t.Run(string(c.auth), func(t *testing.T) {
				f.setting("t-1", c.auth, 10)
				a := f.user("t-1", "user"+string(rune('a'+i))+"@acme.example.com", userPW)
				reg := func(pin, pw string) (*devices.Registered, error) {
					return f.svc.Register(f.ctx, devices.Registration{Username: a.Username, PIN: pin, Password: pw,
						Platform: mdm.PlatformAndroid, Facts: phoneFacts("S" + a.Username)})
				}
				// The first registration takes the invitation PIN when the setting uses PINs (the password
				// alone fails); under PASSWORD_ONLY the full account registers with its password.
				var first *devices.Registered
				pin := f.pin(a)
				if c.auth == mdm.PasswordOnly {
					var err error
					if first, err = reg("", userPW); err != nil {
						t.Fatalf("first registration with the password: %v", err)
					}
					pin = f.pin(a)
				} else {
					if _, err := reg("", userPW); !mdm.IsCode(err, mdm.Unauthenticated) {
						t.Fatalf("first registration with the password: %v, want unauthenticated", err)
					}
					var err error
					if first, err = reg(pin, ""); err != nil {
						t.Fatalf("first registration with the PIN: %v", err)
					}
				}
				if !strings.HasPrefix(first.Credential, "sdc_") || len(first.Credential) < 4+43 {
					t.Errorf("credential %q: want sdc_ and 256 random bits", first.Credential)
				}
				if _, err := reg(pin, ""); !mdm.IsCode(err, mdm.Unauthenticated) {
					t.Errorf("the used PIN again: %v, want unauthenticated", err)
				}
				pin = f.pin(a)
				for _, w := range c.wrong(pin) {
					if _, err := reg(w[0], w[1]); !mdm.IsCode(err, mdm.Unauthenticated) {
						t.Errorf("later registration with pin %q password %q: %v, want unauthenticated", w[0], w[1], err)
					}
				}
				p, pw := c.second(pin)
				if _, err := reg(p, pw); err != nil {
					t.Fatalf("later registration: %v", err)
				}
				active, ever, err := f.store.Devices().CountForAccount(f.ctx, "t-1", a.ID)
				if err != nil || active != 2 || ever != 2 {
					t.Errorf("devices of the user: %d active, %d ever, %v; want 2, 2", active, ever, err)
				}
			})
		}
	})
}

func TestHalfAccountRegistersWithItsPIN(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.setting("t-1", mdm.PasswordOnly, 5)
		a := f.user("t-1", "half@acme.example.com", "")
		f.register(a, "H1")
		f.register(a, "H2") // no password to give: the PIN again
	})
}

func TestWrongRegistrationCredentialsStoreNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		pin := f.pin(a)
		var msgs []string
		for _, c := range []struct{ user, pin, pw string }{
			{"nobody@acme.example.com", pin, ""},
			{"nobody@acme.example.com", "", userPW},
			{a.Username, "999999", ""},
			{a.Username, "", ""},
			{"", pin, ""},
		} {
			_, err := f.svc.Register(f.ctx, devices.Registration{Username: c.user, PIN: c.pin, Password: c.pw,
				Platform: mdm.PlatformAndroid, Facts: phoneFacts("X")})
			if !mdm.IsCode(err, mdm.Unauthenticated) {
				t.Errorf("Register(%q, %q, %q) = %v, want unauthenticated", c.user, c.pin, c.pw, err)
				continue
			}
			msgs = append(msgs, mdm.Message(err))
		}
		for _, m := range msgs {
			if m != msgs[0] {
				t.Errorf("answers differ: %q and %q tell the failures apart", msgs[0], m)
			}
		}
		if _, ever, _ := f.store.Devices().CountForAccount(f.ctx, "t-1", a.ID); ever != 0 {
			t.Errorf("%d devices stored", ever)
		}
		// The right PIN still works: nothing above used it up.
		if _, err := f.svc.Register(f.ctx, devices.Registration{Username: a.Username, PIN: pin, Platform: mdm.PlatformAndroid,
			Facts: phoneFacts("X")}); err != nil {
			t.Errorf("right PIN after the failures: %v", err)
		}
	})
}

func TestBadRegistrationInputKeepsThePIN(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		pin := f.pin(a)
		many := make([]mdm.InstalledApp, devices.MaxApps+1)
		for i := range many {
			many[i] = mdm.InstalledApp{AppID: "app" + strings.Repeat("x", i%50), Name: "x"}
		}
		long := phoneFacts("X")
		long.DeviceName = strings.Repeat("n", 257)
		mac := phoneFacts("X")
		mac.WifiMAC = "not a mac"
		ctrl := phoneFacts("X")
		ctrl.SerialNumber = "abc\x01"
		for name, r := range map[string]devices.Registration{
			"iOS":           {Platform: mdm.PlatformIOS, Facts: phoneFacts("X")},
			"no platform":   {Facts: phoneFacts("X")},
			"long name":     {Platform: mdm.PlatformAndroid, Facts: long},
			"bad MAC":       {Platform: mdm.PlatformAndroid, Facts: mac},
			"control char":  {Platform: mdm.PlatformAndroid, Facts: ctrl},
			"too many apps": {Platform: mdm.PlatformAndroid, Facts: phoneFacts("X"), Apps: many},
			"app no id":     {Platform: mdm.PlatformAndroid, Facts: phoneFacts("X"), Apps: []mdm.InstalledApp{{Name: "x"}}},
			"push token":    {Platform: mdm.PlatformAndroid, Facts: phoneFacts("X"), PushToken: strings.Repeat("p", devices.MaxPushTokenBytes+1)},
		} {
			r.Username, r.PIN = a.Username, pin
			if _, err := f.svc.Register(f.ctx, r); !mdm.IsCode(err, mdm.Invalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		r, err := f.svc.Register(f.ctx, devices.Registration{Username: a.Username, PIN: pin, Platform: mdm.PlatformAndroid,
			Facts: phoneFacts("X")})
		if err != nil {
			t.Fatalf("the PIN after bad input: %v", err)
		}
		if r.Device.Facts.WifiMAC != "aa:bb:cc:dd:ee:01" || r.Device.Kind != mdm.KindAndroidPhone || r.Device.GUID == "" ||
			r.Device.RegistrationState != mdm.StateActive || r.CheckinInterval != 60e9 {
			t.Errorf("registered device: %+v", r.Device)
		}
	})
}

func TestRegistrationLimits(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.setting("t-1", mdm.PINOnly, 1)
		a := f.user("t-1", "sam@acme.example.com", userPW)
		f.register(a, "A1")
		pin := f.pin(a)
		reg := func(user mdm.Account, pin string) error {
			_, err := f.svc.Register(f.ctx, devices.Registration{Username: user.Username, PIN: pin, Platform: mdm.PlatformAndroid,
				Facts: phoneFacts("A2")})
			return err
		}
		if err := reg(a, pin); !mdm.IsCode(err, mdm.Conflict) {
			t.Fatalf("over the devices-per-user limit: %v, want conflict", err)
		}
		if active, _, _ := f.store.Devices().CountForAccount(f.ctx, "t-1", a.ID); active != 1 {
			t.Errorf("%d devices after the refusal, want 1", active)
		}
		// The refusal did not use the PIN up: with the limit raised it registers.
		f.setting("t-1", mdm.PINOnly, 2)
		if err := reg(a, pin); err != nil {
			t.Fatalf("PIN after the limit was raised: %v", err)
		}

		// Seats: the tenant holds 2 devices; with 2 licenses nobody else registers.
		seats := 2
		if _, err := f.store.Tenants().Update(f.ctx, "t-1", mdm.TenantPatch{LicenseDevices: &seats}, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		b := f.user("t-1", "bo@acme.example.com", userPW)
		if err := reg(b, f.pin(b)); !mdm.IsCode(err, mdm.Conflict) {
			t.Fatalf("over the license seats: %v, want conflict", err)
		}
		if _, ever, _ := f.store.Devices().CountForAccount(f.ctx, "t-1", b.ID); ever != 0 {
			t.Errorf("%d devices stored for the refused user", ever)
		}
		// Refused before the PIN was used: with one more seat the same PIN registers.
		bPIN := f.pin(b)
		if err := reg(b, bPIN); !mdm.IsCode(err, mdm.Conflict) {
			t.Fatalf("over the license seats: %v, want conflict", err)
		}
		seats = 3
		if _, err := f.store.Tenants().Update(f.ctx, "t-1", mdm.TenantPatch{LicenseDevices: &seats}, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		if err := reg(b, bPIN); err != nil {
			t.Fatalf("PIN after a seat was added: %v", err)
		}
		// Another tenant's seats are its own.
		c := f.user("t-2", "cy@globex.example.com", userPW)
		f.register(c, "G1")
	})
}

// The accounts service is the Registrar: it creates the device in the transaction that uses the PIN.
var _ devices.Registrar = (*accounts.Service)(nil)

func TestRegistrationRefusedAtCreateKeepsThePIN(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		for _, auth := range []mdm.RegistrationAuthType{mdm.PINOnly, mdm.PasswordOnly} {
			f.setting("t-1", auth, 5)
			// A half account: it registers with its PIN under every setting.
			a := f.user("t-1", "u-"+strings.ToLower(string(auth))+"@acme.example.com", "")
			pin := f.pin(a)
			reg := func() error {
				_, err := f.svc.Register(f.ctx, devices.Registration{Username: a.Username, PIN: pin, Platform: mdm.PlatformAndroid,
					Facts: phoneFacts("K")})
				return err
			}
			// The limits pass their check, then the last seat goes to another registration.
			f.counts.failCreate = true
			if err := reg(); !mdm.IsCode(err, mdm.Conflict) {
				t.Fatalf("%s: registration losing the last seat: %v, want conflict", auth, err)
			}
			if _, ever, _ := f.store.Devices().CountForAccount(f.ctx, "t-1", a.ID); ever != 0 {
				t.Errorf("%s: %d devices stored", auth, ever)
			}
			if err := reg(); err != nil {
				t.Errorf("%s: the same PIN afterwards: %v", auth, err)
			}
		}
	})
}

func TestDeviceCredential(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r := f.register(a, "C1")
		d := f.device(r.Credential)
		if d.ID != r.Device.ID || d.TenantID != "t-1" || d.AccountID != a.ID {
			t.Fatalf("authenticated device %+v, want %+v", d, r.Device)
		}
		for _, bad := range []string{"", "sdc_", "sdc_" + strings.Repeat("A", 43), r.Credential[4:], r.Credential + "x"} {
			if _, err := f.svc.AuthenticateDevice(f.ctx, bad); !mdm.IsCode(err, mdm.Unauthenticated) {
				t.Errorf("credential %q: %v, want unauthenticated", bad, err)
			}
		}
		// Retired: the credential stops working once the device confirms.
		if _, err := f.svc.Act(f.admin1, devices.Retire, []mdm.DeviceID{d.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d = f.device(r.Credential) // RETIRE_PENDING still checks in to receive the command
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 || reply.Commands[0].Type != mdm.CmdRetire || reply.RegistrationState != mdm.StateRetirePending {
			t.Fatalf("check-in while retiring: %+v, %v", reply, err)
		}
		reply, err = f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: []mdm.CommandResult{{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged}}})
		if err != nil || reply.RegistrationState != mdm.StateRetired {
			t.Fatalf("acknowledging the retire: %+v, %v", reply, err)
		}
		if _, err := f.svc.AuthenticateDevice(f.ctx, r.Credential); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("retired device's credential: %v, want unauthenticated", err)
		}
		if got := f.stored("t-1", d.ID).RegistrationState; got != mdm.StateRetired {
			t.Errorf("stored state %s, want RETIRED", got)
		}

		// A suspended tenant's devices are refused (after the short cache).
		r2 := f.register(a, "C2")
		f.device(r2.Credential)
		suspended := mdm.TenantSuspended
		if _, err := f.store.Tenants().Update(f.ctx, "t-1", mdm.TenantPatch{State: &suspended}, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		f.clock.add(6e9)
		if _, err := f.svc.AuthenticateDevice(f.ctx, r2.Credential); !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("suspended tenant: %v, want forbidden", err)
		}
	})
}

func TestDisabledAccountAndSuspendedTenantCannotRegister(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		pin := f.pin(a)
		off := false
		if _, err := f.store.Accounts().Update(f.ctx, "t-1", a.ID, mdm.AccountPatch{Enabled: &off}, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		reg := func(u mdm.Account, pin string) error {
			_, err := f.svc.Register(f.ctx, devices.Registration{Username: u.Username, PIN: pin, Platform: mdm.PlatformAndroid,
				Facts: phoneFacts("Z")})
			return err
		}
		if err := reg(a, pin); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("disabled account: %v, want unauthenticated", err)
		}
		c := f.user("t-2", "cy@globex.example.com", userPW)
		cPIN := f.pin(c)
		suspended := mdm.TenantSuspended
		if _, err := f.store.Tenants().Update(f.ctx, "t-2", mdm.TenantPatch{State: &suspended}, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		if err := reg(c, cPIN); !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("suspended tenant: %v, want forbidden", err)
		}
		if _, ever, _ := f.store.Devices().CountForAccount(f.ctx, "t-2", c.ID); ever != 0 {
			t.Errorf("%d devices stored", ever)
		}
	})
}

func TestDeletedAccountLeavesItsDevicesWithoutOwner(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r := f.register(a, "D1")
		if err := f.acc.DeleteAccounts(f.admin1, []mdm.AccountID{a.ID}); err != nil {
			t.Fatal(err)
		}
		d := f.stored("t-1", r.Device.ID)
		if d.AccountID != 0 || d.OwnerUsername != "" {
			t.Errorf("device after its owner was deleted: owner %d %q", d.AccountID, d.OwnerUsername)
		}
	})
}
