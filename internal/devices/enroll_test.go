package devices_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// appleCredential is a certificate credential for name (the form CertificateCredential returns).
func appleCredential(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "apc_" + hex.EncodeToString(sum[:])
}

func iphoneFacts(serial string) mdm.DeviceFacts {
	return mdm.DeviceFacts{DeviceName: " Sam's iPhone ", Model: "iPhone14,2", PrettyModel: "iPhone 13 Pro", Manufacturer: "Apple",
		OSVersion: "17.4", OSBuild: "21E219", SerialNumber: serial, WifiMAC: "AA:BB:CC:DD:EE:F1"}
}

// enroll enrolls an iPhone for a, failing the test when it is refused.
func (f *fixture) enroll(a mdm.Account, serial string) (*mdm.Device, string) {
	f.t.Helper()
	cred := appleCredential(serial)
	d, err := f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: a.TenantID, AccountID: a.ID, Platform: mdm.PlatformIOS,
		Facts: iphoneFacts(serial), Credential: cred}, nil)
	if err != nil {
		f.t.Fatalf("enroll %s: %v", serial, err)
	}
	return d, cred
}

// deviceCount is how many devices the tenant has in any state.
func (f *fixture) deviceCount(tenant mdm.TenantID) int {
	f.t.Helper()
	p, err := f.store.Devices().List(f.ctx, tenant, mdm.ListOptions{Rows: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(p.Items)
}

// audits returns the tenant's audit records of action.
func (f *fixture) audits(tenant mdm.TenantID, action string) []mdm.AuditRecord {
	f.t.Helper()
	p, err := f.store.Audit().List(f.ctx, tenant, mdm.ListOptions{Rows: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []mdm.AuditRecord
	for _, r := range p.Items {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

func setSeats(f *fixture, tenant mdm.TenantID, seats int) {
	f.t.Helper()
	if _, err := f.store.Tenants().Update(f.ctx, tenant, mdm.TenantPatch{LicenseDevices: &seats}, f.clock.now()); err != nil {
		f.t.Fatal(err)
	}
}

func TestEnrollCreatesTheDeviceAndAuthenticatesByCertificate(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		d, cred := f.enroll(sam, "F2LX1")
		if d.Platform != mdm.PlatformIOS || d.Kind != mdm.KindIPhone || d.AccountID != sam.ID || d.TenantID != "t-1" ||
			d.RegistrationState != mdm.StateActive || d.Facts.DeviceName != "Sam's iPhone" || d.Facts.WifiMAC != "aa:bb:cc:dd:ee:f1" {
			t.Errorf("enrolled device: %+v", d)
		}
		recs := f.audits("t-1", "device.register")
		if len(recs) != 1 || recs[0].ActorName != sam.Username || recs[0].TargetID != fmt.Sprint(d.ID) {
			t.Errorf("device.register audit: %+v", recs)
		}
		got := f.device(cred)
		if got.ID != d.ID || got.TenantID != "t-1" {
			t.Errorf("apc_ credential authenticated device %d of %s, want %d", got.ID, got.TenantID, d.ID)
		}
		// Only the keyed hash is stored: the credential itself is nowhere in the record.
		if strings.Contains(fmt.Sprintf("%+v", *f.stored("t-1", d.ID)), cred[4:]) {
			t.Error("the stored device carries the credential in the clear")
		}
		for name, c := range map[string]string{
			"upper-case hex":   strings.ToUpper(cred[:4]) + strings.ToUpper(cred[4:]),
			"upper hex digits": "apc_" + strings.ToUpper(cred[4:]),
			"short":            cred[:len(cred)-1],
			"long":             cred + "0",
			"unknown":          appleCredential("someone else"),
			"no prefix":        cred[4:],
		} {
			if _, err := f.svc.AuthenticateDevice(f.ctx, c); !mdm.IsCode(err, mdm.Unauthenticated) {
				t.Errorf("%s: %v, want unauthenticated", name, err)
			}
		}
	})
}

func TestEnrollInput(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		ok := devices.Enrollment{TenantID: "t-1", AccountID: sam.ID, Platform: mdm.PlatformIOS, Facts: iphoneFacts("S1"),
			Credential: appleCredential("S1")}
		for name, tc := range map[string]struct {
			change func(e *devices.Enrollment)
			code   mdm.Code
		}{
			"android":         {func(e *devices.Enrollment) { e.Platform = mdm.PlatformAndroid }, mdm.Invalid},
			"sdc credential":  {func(e *devices.Enrollment) { e.Credential = "sdc_" + strings.Repeat("a", 43) }, mdm.Invalid},
			"bad hex":         {func(e *devices.Enrollment) { e.Credential = "apc_" + strings.Repeat("g", 64) }, mdm.Invalid},
			"bad fact":        {func(e *devices.Enrollment) { e.Facts.DeviceName = "x\x00y" }, mdm.Invalid},
			"no account":      {func(e *devices.Enrollment) { e.AccountID = 0 }, mdm.Invalid},
			"unknown account": {func(e *devices.Enrollment) { e.AccountID = 99999 }, mdm.NotFound},
			"other tenant":    {func(e *devices.Enrollment) { e.TenantID = "t-2" }, mdm.NotFound},
		} {
			e := ok
			tc.change(&e)
			if _, err := f.svc.Enroll(f.ctx, e, nil); !mdm.IsCode(err, tc.code) {
				t.Errorf("%s: %v, want %s", name, err, tc.code)
			}
		}
		suspended := mdm.TenantSuspended
		if _, err := f.store.Tenants().Update(f.ctx, "t-1", mdm.TenantPatch{State: &suspended}, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Enroll(f.ctx, ok, nil); !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("suspended tenant: %v, want forbidden", err)
		}
		if n := f.deviceCount("t-1") + f.deviceCount("t-2"); n != 0 {
			t.Errorf("%d devices stored by refused enrollments", n)
		}
	})
}

func TestEnrollLimits(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.setting("t-1", mdm.PasswordOnly, 1)
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		f.enroll(sam, "L1")
		called := false
		_, err := f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: "t-1", AccountID: sam.ID, Platform: mdm.PlatformIOS,
			Facts: iphoneFacts("L2"), Credential: appleCredential("L2")}, func(mdm.Stores, *mdm.Device) error { called = true; return nil })
		if !mdm.IsCode(err, mdm.Conflict) {
			t.Fatalf("over the devices-per-user limit: %v, want conflict", err)
		}
		if called || f.deviceCount("t-1") != 1 {
			t.Errorf("refused enrollment: within called %v, %d devices, want false and 1", called, f.deviceCount("t-1"))
		}
		f.setting("t-1", mdm.PasswordOnly, 5)
		setSeats(f, "t-1", 1)
		bo := f.user("t-1", "bo@acme.example.com", userPW)
		_, err = f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: "t-1", AccountID: bo.ID, Platform: mdm.PlatformIOS,
			Facts: iphoneFacts("L3"), Credential: appleCredential("L3")}, nil)
		if !mdm.IsCode(err, mdm.Conflict) {
			t.Fatalf("over the license seats: %v, want conflict", err)
		}
		if _, ever, _ := f.store.Devices().CountForAccount(f.ctx, "t-1", bo.ID); ever != 0 {
			t.Errorf("%d devices stored for the refused user", ever)
		}
		if n := len(f.audits("t-1", "device.register")); n != 1 {
			t.Errorf("%d device.register records, want 1", n)
		}
		// Another tenant's seats are its own.
		f.enroll(f.user("t-2", "cy@globex.example.com", userPW), "G1")
	})
}

func TestConcurrentEnrollmentsForTheLastSeat(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		setSeats(f, "t-1", 1)
		const n = 6
		users := make([]mdm.Account, n)
		for i := range users {
			users[i] = f.user("t-1", fmt.Sprintf("u%d@acme.example.com", i), userPW)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		for i := range users {
			wg.Go(func() {
				<-start
				serial := fmt.Sprintf("R%d", i)
				_, errs[i] = f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: "t-1", AccountID: users[i].ID,
					Platform: mdm.PlatformIOS, Facts: iphoneFacts(serial), Credential: appleCredential(serial)}, nil)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !mdm.IsCode(err, mdm.Conflict):
				t.Errorf("enrollment %d: %v, want conflict or success", i, err)
			}
		}
		if won != 1 || f.deviceCount("t-1") != 1 {
			t.Errorf("%d enrollments won, %d devices stored; want exactly 1", won, f.deviceCount("t-1"))
		}
	})
}

func TestEnrollWithinErrorRollsEverythingBack(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		boom := errors.New("the protocol's record failed")
		var seen *mdm.Device
		e := devices.Enrollment{TenantID: "t-1", AccountID: sam.ID, Platform: mdm.PlatformIOS, Facts: iphoneFacts("W1"),
			Credential: appleCredential("W1")}
		_, err := f.svc.Enroll(f.ctx, e, func(tx mdm.Stores, d *mdm.Device) error {
			seen = d
			// The device is visible inside the transaction.
			if _, err := tx.Devices().Get(f.ctx, "t-1", d.ID); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Enroll: %v, want the within error", err)
		}
		if seen == nil || seen.AccountID != sam.ID {
			t.Fatalf("within saw %+v", seen)
		}
		if n := f.deviceCount("t-1"); n != 0 {
			t.Errorf("%d devices after the rollback, want 0", n)
		}
		if n := len(f.audits("t-1", "device.register")); n != 0 {
			t.Errorf("%d device.register records after the rollback, want 0", n)
		}
		if _, err := f.svc.AuthenticateDevice(f.ctx, e.Credential); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("credential of the rolled-back device: %v, want unauthenticated", err)
		}
		// within's writes are in the same transaction: they commit with the device.
		d, err := f.svc.Enroll(f.ctx, e, func(tx mdm.Stores, d *mdm.Device) error {
			return tx.Devices().SetCustomAttributes(f.ctx, "t-1", d.ID, map[string]string{"udid": "0000-W1"}, f.clock.now())
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.stored("t-1", d.ID).CustomAttributes["udid"]; got != "0000-W1" {
			t.Errorf("within's write: %q, want it committed", got)
		}
	})
}

func TestQueueWakesActiveDevicesOnly(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		a1, a2 := f.register(sam, "Q1"), f.register(sam, "Q2")
		other := f.register(f.user("t-2", "cy@globex.example.com", userPW), "Q3")
		if _, err := f.svc.Act(f.admin1, devices.Retire, []mdm.DeviceID{a2.Device.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		f.waker.take()
		ids := []mdm.DeviceID{a1.Device.ID, a2.Device.ID, other.Device.ID}
		got, err := f.svc.Queue(f.ctx, "t-1", ids, mdm.NewCommand{Type: mdm.CmdRemoveProfile,
			Payload: map[string]string{"identifier": "com.example.wifi"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != a1.Device.ID {
			t.Errorf("queued for %v, want only the active device %d of the tenant", got, a1.Device.ID)
		}
		woken := f.waker.take()
		if len(woken) != 1 || woken[0].DeviceID != a1.Device.ID || woken[0].PushToken != "push-Q1" || woken[0].TenantID != "t-1" {
			t.Errorf("woken %+v, want device %d", woken, a1.Device.ID)
		}
		reply, err := f.svc.CheckIn(f.ctx, f.device(a1.Credential), devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 || reply.Commands[0].Type != mdm.CmdRemoveProfile ||
			reply.Commands[0].Payload["identifier"] != "com.example.wifi" || reply.Commands[0].CreatedBy != "system" {
			t.Errorf("queued command delivered: %+v, %v", reply, err)
		}
		// The other tenant's device got nothing.
		if reply, err := f.svc.CheckIn(f.ctx, f.device(other.Credential), devices.CheckIn{}); err != nil || len(reply.Commands) != 0 {
			t.Errorf("other tenant's device: %+v, %v", reply, err)
		}
		// Inventory queries collapse while one is waiting.
		for range 2 {
			if _, err := f.svc.Queue(f.ctx, "t-1", ids[:1], mdm.NewCommand{Type: mdm.CmdDeviceInformation}); err != nil {
				t.Fatal(err)
			}
		}
		if reply, err := f.svc.CheckIn(f.ctx, f.device(a1.Credential), devices.CheckIn{}); err != nil || len(reply.Commands) != 1 {
			t.Errorf("two DEVICE_INFORMATION queued back to back: %+v, %v; want one delivered", reply, err)
		}
		for name, c := range map[string]mdm.NewCommand{
			"unknown type": {Type: "SELF_DESTRUCT"},
			"empty type":   {},
			"binary value": {Type: mdm.CmdInstallProfile, Payload: map[string]string{"profile": "\xff\xfe"}},
			"huge value":   {Type: mdm.CmdInstallProfile, Payload: map[string]string{"profile": strings.Repeat("A", devices.MaxPayloadValue+1)}},
			"bad key":      {Type: mdm.CmdRemoveApp, Payload: map[string]string{"": "x"}},
		} {
			if _, err := f.svc.Queue(f.ctx, "t-1", ids[:1], c); !mdm.IsCode(err, mdm.Invalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if _, err := f.svc.Queue(f.ctx, "t-1", nil, mdm.NewCommand{Type: mdm.CmdDeviceInformation}); !mdm.IsCode(err, mdm.Invalid) {
			t.Errorf("no ids: %v, want invalid", err)
		}
		if len(f.waker.take()) != 1 { // only the first DEVICE_INFORMATION queued something new
			t.Error("refused or collapsed queueing woke devices")
		}
	})
}

func TestUnenrolledRetiresCancelsAndStopsTheCredential(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		d, cred := f.enroll(sam, "U1")
		keep, keepCred := f.enroll(sam, "U2")
		for _, typ := range []string{mdm.CmdDeviceInformation, mdm.CmdInstalledApps} {
			if _, err := f.svc.Queue(f.ctx, "t-1", []mdm.DeviceID{d.ID, keep.ID}, mdm.NewCommand{Type: typ}); err != nil {
				t.Fatal(err)
			}
		}
		// One command was delivered (SENT), one waits (PENDING): both are open.
		authd := f.device(cred) // cached now
		if cmds, err := f.svc.FetchCommands(f.ctx, authd, 1); err != nil || len(cmds) != 1 {
			t.Fatalf("fetch: %v, %v", cmds, err)
		}
		if err := f.svc.Unenrolled(f.ctx, authd); err != nil {
			t.Fatal(err)
		}
		if authd.RegistrationState != mdm.StateRetired || f.stored("t-1", d.ID).RegistrationState != mdm.StateRetired {
			t.Errorf("state after CheckOut: %s / %s, want RETIRED", authd.RegistrationState, f.stored("t-1", d.ID).RegistrationState)
		}
		hist, err := f.store.Commands().History(f.ctx, "t-1", d.ID, mdm.ListOptions{Rows: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(hist.Items) != 2 {
			t.Fatalf("%d commands, want 2", len(hist.Items))
		}
		for _, c := range hist.Items {
			if c.Status != mdm.CmdCancelled {
				t.Errorf("command %s is %s after CheckOut, want CANCELLED", c.Type, c.Status)
			}
		}
		// The credential stops at once, although it was cached a moment ago.
		if _, err := f.svc.AuthenticateDevice(f.ctx, cred); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("credential after CheckOut: %v, want unauthenticated", err)
		}
		// Repeating it changes nothing: no second record.
		if err := f.svc.Unenrolled(f.ctx, authd); err != nil {
			t.Fatal(err)
		}
		if recs := f.audits("t-1", "device.unenrolled"); len(recs) != 1 || recs[0].TargetID != fmt.Sprint(d.ID) {
			t.Errorf("device.unenrolled records: %+v, want one for %d", recs, d.ID)
		}
		// The other device keeps its commands and its credential.
		if reply, err := f.svc.CheckIn(f.ctx, f.device(keepCred), devices.CheckIn{}); err != nil || len(reply.Commands) != 2 {
			t.Errorf("the other device: %+v, %v; want its 2 commands", reply, err)
		}
		// A retired device frees its seat.
		setSeats(f, "t-1", 1)
		if _, err := f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: "t-1", AccountID: sam.ID, Platform: mdm.PlatformIOS,
			Facts: iphoneFacts("U3"), Credential: appleCredential("U3")}, nil); !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("with the one seat held by U2: %v, want conflict", err)
		}
	})
}

func TestMessageSkipsThePushToIOSDevices(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		bo := f.user("t-1", "bo@acme.example.com", userPW)
		phone := f.register(sam, "P1")
		iphone, iphoneCred := f.enroll(bo, "P2")
		f.waker.take()
		n, err := f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: []mdm.DeviceID{phone.Device.ID, iphone.ID},
			Push: true, PushText: "Hello", Email: true, Subject: "Hi", Body: "Hello there"})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1+2 { // one push (Android), two emails
			t.Errorf("queued %d, want 3", n)
		}
		if reply, err := f.svc.CheckIn(f.ctx, f.device(iphoneCred), devices.CheckIn{}); err != nil || len(reply.Commands) != 0 {
			t.Errorf("iPhone got %+v, %v; want no MESSAGE", reply, err)
		}
		if reply, err := f.svc.CheckIn(f.ctx, f.device(phone.Credential), devices.CheckIn{}); err != nil || len(reply.Commands) != 1 ||
			reply.Commands[0].Type != mdm.CmdMessage {
			t.Errorf("Android phone got %+v, %v; want the MESSAGE", reply, err)
		}
		woken := f.waker.take()
		if len(woken) != 1 || woken[0].DeviceID != phone.Device.ID {
			t.Errorf("woken %+v, want only the Android phone", woken)
		}
		recs := f.audits("t-1", "device.message")
		if len(recs) != 1 || fmt.Sprint(recs[0].Details["pushSkipped"]) != "1" || fmt.Sprint(recs[0].Details["emails"]) != "2" {
			t.Errorf("device.message audit: %+v, want pushSkipped 1 and emails 2", recs)
		}
		// A push to iOS devices only, without an email, reaches nobody: conflict, nothing stored.
		_, err = f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: []mdm.DeviceID{iphone.ID}, Push: true, PushText: "Hello"})
		if !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("push to an iPhone only: %v, want conflict", err)
		}
		if n := len(f.audits("t-1", "device.message")); n != 1 {
			t.Errorf("%d device.message records, want 1", n)
		}
		// With the email, the iPhone's owner still gets the message.
		if n, err := f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: []mdm.DeviceID{iphone.ID}, Push: true, PushText: "Hello",
			Email: true, Body: "Hello"}); err != nil || n != 1 {
			t.Errorf("push and email to an iPhone: %d, %v; want 1 email", n, err)
		}
	})
}

func TestEnrollReplaces(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.setting("t-1", mdm.PasswordOnly, 1)
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		bo := f.user("t-1", "bo@acme.example.com", userPW)
		old, oldCred := f.enroll(sam, "R1")
		if _, err := f.svc.Queue(f.ctx, "t-1", []mdm.DeviceID{old.ID}, mdm.NewCommand{Type: mdm.CmdLock}); err != nil {
			t.Fatal(err)
		}
		// Another user's record is not theirs to replace: nothing changes.
		_, err := f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: "t-1", AccountID: bo.ID, Platform: mdm.PlatformIOS,
			Facts: iphoneFacts("R1"), Credential: appleCredential("R1-bo"), Replaces: old.ID}, nil)
		if !mdm.IsCode(err, mdm.Conflict) {
			t.Fatalf("replacing another user's device: %v, want conflict", err)
		}
		if got := f.stored("t-1", old.ID); got.RegistrationState != mdm.StateActive || f.deviceCount("t-1") != 1 {
			t.Fatalf("after the refused replacement: %s, %d devices", got.RegistrationState, f.deviceCount("t-1"))
		}
		// A failure later in the transaction undoes the replacement.
		_, err = f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: "t-1", AccountID: sam.ID, Platform: mdm.PlatformIOS,
			Facts: iphoneFacts("R1"), Credential: appleCredential("R1-b"), Replaces: old.ID},
			func(mdm.Stores, *mdm.Device) error { return mdm.Errorf(mdm.Conflict, "lost the race") })
		if !mdm.IsCode(err, mdm.Conflict) {
			t.Fatalf("within failed: %v", err)
		}
		if got := f.stored("t-1", old.ID); got.RegistrationState != mdm.StateActive {
			t.Fatalf("a rolled back enrollment retired the old record: %s", got.RegistrationState)
		}
		if got := f.device(oldCred); got.ID != old.ID {
			t.Fatalf("old credential after the rollback: %+v", got)
		}
		// The same user's device enrolling again: the old record is retired, its commands cancelled,
		// its credential stops at once, and the devices-per-user limit of 1 does not count it.
		d, err := f.svc.Enroll(f.ctx, devices.Enrollment{TenantID: "t-1", AccountID: sam.ID, Platform: mdm.PlatformIOS,
			Facts: iphoneFacts("R1"), Credential: appleCredential("R1-c"), Replaces: old.ID}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.stored("t-1", old.ID); got.RegistrationState != mdm.StateRetired || d.RegistrationState != mdm.StateActive {
			t.Fatalf("replaced: old %s, new %s", got.RegistrationState, d.RegistrationState)
		}
		if _, err := f.svc.AuthenticateDevice(f.ctx, oldCred); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Fatalf("old credential after replacement: %v", err)
		}
		h, err := f.store.Commands().History(f.ctx, "t-1", old.ID, mdm.ListOptions{Rows: 10})
		if err != nil || len(h.Items) != 1 || h.Items[0].Status != mdm.CmdCancelled {
			t.Fatalf("old record's commands: %+v, %v", h.Items, err)
		}
	})
}

func TestQueueQuiet(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		d, _ := f.enroll(sam, "Q1")
		token := "tok-q1"
		if _, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{PushToken: &token, NoCommands: true}); err != nil {
			t.Fatal(err)
		}
		f.waker.take()
		got, err := f.svc.QueueQuiet(f.ctx, "t-1", []mdm.DeviceID{d.ID}, mdm.NewCommand{Type: mdm.CmdInstalledApps})
		if err != nil || len(got) != 1 {
			t.Fatalf("QueueQuiet: %v, %v", got, err)
		}
		if w := f.waker.take(); len(w) != 0 {
			t.Fatalf("QueueQuiet woke %+v", w)
		}
		if _, err := f.svc.Queue(f.ctx, "t-1", []mdm.DeviceID{d.ID}, mdm.NewCommand{Type: mdm.CmdDeviceInformation}); err != nil {
			t.Fatal(err)
		}
		if w := f.waker.take(); len(w) != 1 || w[0].DeviceID != d.ID {
			t.Fatalf("Queue woke %+v, want the device", w)
		}
	})
}
