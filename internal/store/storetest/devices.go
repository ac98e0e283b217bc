package storetest

import (
	"fmt"
	"testing"
	"time"

	"steward/internal/mdm"
)

var deviceTests = []test{
	{"CreateGet", testDeviceCreateGet},
	{"TenantsApart", testDeviceTenantsApart},
	{"Inventory", testDeviceInventory},
}

// facts returns plausible facts for the n-th test device.
func facts(n int) mdm.DeviceFacts {
	return mdm.DeviceFacts{
		DeviceName: fmt.Sprintf("Phone %d", n), Model: "SM-G991B", PrettyModel: "Galaxy S21", Manufacturer: "samsung",
		OSVersion: "14", OSBuild: "UP1A.231005.007", SerialNumber: fmt.Sprintf("R5CR%06d", n),
		IMEI: fmt.Sprintf("3548%011d", n), WifiMAC: fmt.Sprintf("02:00:00:00:%02x:%02x", n/256, n%256),
		FormFactor: "phone", PasscodeCompliant: true, Encrypted: true, TotalCapacityMB: 128000,
		AvailableCapMB: 64000, ClientVersion: "1.0.0",
	}
}

// newDevice is a registration of the n-th test device for owner, without limits.
func newDevice(t *testing.T, owner mdm.Account, n int) mdm.NewDevice {
	return mdm.NewDevice{
		TenantID: owner.TenantID, AccountID: owner.ID, GUID: fmt.Sprintf("guid-%d-%x", n, randomBytes(t, 8)),
		Platform: mdm.PlatformAndroid, Kind: mdm.KindAndroidPhone, Facts: facts(n), FactsHash: randomBytes(t, 32),
		CredentialHash: randomBytes(t, 32),
	}
}

// device registers the n-th test device for owner.
func (f *fixture) device(t *testing.T, owner mdm.Account, n int) (mdm.Device, mdm.NewDevice) {
	t.Helper()
	nd := newDevice(t, owner, n)
	d, err := f.s.Devices().Create(f.ctx, nd, f.now)
	must(t, "Create device", err)
	return *d, nd
}

func testDeviceCreateGet(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	nd := newDevice(t, ann, 1)
	d, err := ds.Create(f.ctx, nd, f.now)
	must(t, "Create", err)
	want := mdm.Device{
		ID: d.ID, TenantID: f.A.ID, GUID: nd.GUID, AccountID: ann.ID, Platform: mdm.PlatformAndroid,
		Kind: mdm.KindAndroidPhone, RegistrationState: mdm.StateActive, Facts: nd.Facts, ComplianceState: true,
		ViolatedPolicies: []string{}, CustomAttributes: map[string]string{}, RegisteredAt: f.now, CreatedAt: f.now,
		ModifiedAt: f.now, OwnerUsername: ann.Username, OwnerEmail: ann.Email, OwnerFirstName: ann.FirstName,
		OwnerLastName: ann.LastName, FactsHash: nd.FactsHash,
	}
	if d := diff(want, *d); d != "" {
		t.Errorf("Create (-want +got):\n%s", d)
	}
	got, err := ds.Get(f.ctx, f.A.ID, d.ID)
	must(t, "Get", err)
	if d := diff(want, *got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	wantUTC(t, "Get", got.RegisteredAt, got.CreatedAt, got.ModifiedAt)
	if !got.LastCheckin.IsZero() {
		t.Errorf("LastCheckin of a new device = %v, want zero", got.LastCheckin)
	}
	got, err = ds.ByCredential(f.ctx, nd.CredentialHash)
	must(t, "ByCredential", err)
	if d := diff(want, *got); d != "" {
		t.Errorf("ByCredential (-want +got):\n%s", d)
	}
	_, err = ds.ByCredential(f.ctx, randomBytes(t, 32))
	wantCode(t, "ByCredential(unknown)", err, mdm.NotFound)
	_, err = ds.ByCredential(f.ctx, nd.CredentialHash[:16])
	wantCode(t, "ByCredential(prefix)", err, mdm.NotFound)
	_, err = ds.Get(f.ctx, f.A.ID, d.ID+1000)
	wantCode(t, "Get(unknown)", err, mdm.NotFound)

	// A second device with a taken GUID or credential stores nothing.
	dupGUID := newDevice(t, ann, 2)
	dupGUID.GUID = nd.GUID
	_, err = ds.Create(f.ctx, dupGUID, f.now)
	wantCode(t, "Create with a taken GUID", err, mdm.Conflict)
	dupCred := newDevice(t, ann, 3)
	dupCred.CredentialHash = nd.CredentialHash
	_, err = ds.Create(f.ctx, dupCred, f.now)
	wantCode(t, "Create with a taken credential", err, mdm.Conflict)
	// An owner from another tenant, or none at all of the tenant's: not_found.
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	foreign := newDevice(t, bob, 4)
	foreign.TenantID = f.A.ID
	_, err = ds.Create(f.ctx, foreign, f.now)
	wantCode(t, "Create for B's account in A", err, mdm.NotFound)
	noCred := newDevice(t, ann, 5)
	noCred.CredentialHash = nil
	_, err = ds.Create(f.ctx, noCred, f.now)
	wantCode(t, "Create without a credential", err, mdm.Invalid)
	if active, ever, err := ds.CountForAccount(f.ctx, f.A.ID, ann.ID); err != nil || active != 1 || ever != 1 {
		t.Errorf("CountForAccount after failed creates = %d, %d, %v; want 1, 1", active, ever, err)
	}
	all, err := ds.ForAccount(f.ctx, f.A.ID, ann.ID)
	must(t, "ForAccount", err)
	if d := diff([]mdm.Device{want}, all); d != "" {
		t.Errorf("ForAccount (-want +got):\n%s", d)
	}

	// Retired and wiped devices' credentials stop working; pending ones still work.
	for _, state := range []string{mdm.StateRetirePending, mdm.StateRetired, mdm.StateWipePending, mdm.StateWiped} {
		moved, err := ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{d.ID}, []string{mdm.StateActive, mdm.StateRetirePending,
			mdm.StateRetired, mdm.StateWipePending, mdm.StateWiped}, state, f.now)
		must(t, "SetState", err)
		if len(moved) != 1 {
			t.Fatalf("SetState to %s moved %v", state, moved)
		}
		_, err = ds.ByCredential(f.ctx, nd.CredentialHash)
		if state == mdm.StateRetired || state == mdm.StateWiped {
			wantCode(t, "ByCredential of a "+state+" device", err, mdm.NotFound)
		} else if err != nil {
			t.Errorf("ByCredential of a %s device: %v", state, err)
		}
	}
}

// testDeviceTenantsApart: B reaches none of A's devices, whatever the method.
func testDeviceTenantsApart(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	a, _ := f.device(t, ann, 1)
	b, _ := f.device(t, bob, 2)
	later := f.now.Add(time.Hour)

	_, err := ds.Get(f.ctx, f.B.ID, a.ID)
	wantCode(t, "B gets A's device", err, mdm.NotFound)
	wantCode(t, "B sets A's facts", ds.SetFacts(f.ctx, f.B.ID, a.ID, mdm.KindAndroidTablet, facts(9), nil, later), mdm.NotFound)
	wantCode(t, "B sets A's apps", ds.SetApps(f.ctx, f.B.ID, a.ID, []mdm.InstalledApp{{AppID: "x"}}, nil, later), mdm.NotFound)
	_, err = ds.Apps(f.ctx, f.B.ID, a.ID)
	wantCode(t, "B reads A's apps", err, mdm.NotFound)
	wantCode(t, "B sets A's attributes", ds.SetCustomAttributes(f.ctx, f.B.ID, a.ID, map[string]string{"k": "v"}, later), mdm.NotFound)
	wantCode(t, "B sets A's push token", ds.SetPushToken(f.ctx, f.B.ID, a.ID, "tok", later), mdm.NotFound)
	must(t, "B touches A's device", ds.TouchCheckins(f.ctx, []mdm.CheckinTouch{{TenantID: f.B.ID, ID: a.ID, At: later}}))
	moved, err := ds.SetState(f.ctx, f.B.ID, []mdm.DeviceID{a.ID}, []string{mdm.StateActive}, mdm.StateWipePending, later)
	if err != nil || len(moved) != 0 {
		t.Errorf("B's SetState of A's device = %v, %v; want none", moved, err)
	}
	if n, err := ds.SetAccount(f.ctx, f.B.ID, []mdm.DeviceID{a.ID}, bob.ID, later); err != nil || n != 0 {
		t.Errorf("B's SetAccount of A's device = %d, %v; want 0", n, err)
	}
	_, err = ds.SetAccount(f.ctx, f.A.ID, []mdm.DeviceID{a.ID}, bob.ID, later)
	wantCode(t, "A gives its device to B's account", err, mdm.NotFound)
	must(t, "B clears A's owner", ds.ClearAccount(f.ctx, f.B.ID, []mdm.AccountID{ann.ID}))
	if n, err := ds.Delete(f.ctx, f.B.ID, []mdm.DeviceID{a.ID}); err != nil || n != 0 {
		t.Errorf("B's Delete of A's device = %d, %v; want 0", n, err)
	}
	page, err := ds.List(f.ctx, f.B.ID, mdm.ListOptions{Rows: 50})
	must(t, "List B", err)
	if page.TotalCount != 1 || len(page.Items) != 1 || page.Items[0].ID != b.ID {
		t.Errorf("B's list = %+v, want only B's device", page)
	}
	if got, _ := ds.ForAccount(f.ctx, f.B.ID, ann.ID); len(got) != 0 {
		t.Errorf("ForAccount(B, ann) = %v", got)
	}
	// A's device is as it was.
	got, err := ds.Get(f.ctx, f.A.ID, a.ID)
	must(t, "Get A", err)
	if d := diff(a, *got); d != "" {
		t.Errorf("A's device after B's attempts (-want +got):\n%s", d)
	}
}

func testDeviceInventory(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d, _ := f.device(t, ann, 1)
	later := f.now.Add(time.Hour)

	nf := facts(7)
	nf.Jailbroken, nf.Roaming, nf.FormFactor = true, true, "tablet"
	hash := randomBytes(t, 32)
	must(t, "SetFacts", ds.SetFacts(f.ctx, f.A.ID, d.ID, mdm.KindAndroidTablet, nf, hash, later))
	apps := []mdm.InstalledApp{
		{AppID: "org.example.b", Name: "B", Version: "2"}, {AppID: "org.example.a", Name: "A", Version: "1"},
		{AppID: "org.example.b", Name: "B", Version: "3"}, // reported twice: the last one counts
	}
	appsHash := randomBytes(t, 32)
	must(t, "SetApps", ds.SetApps(f.ctx, f.A.ID, d.ID, apps, appsHash, later))
	attrs := map[string]string{"costCenter": "42", "site": "Zürich"}
	must(t, "SetCustomAttributes", ds.SetCustomAttributes(f.ctx, f.A.ID, d.ID, attrs, later))
	must(t, "SetPushToken", ds.SetPushToken(f.ctx, f.A.ID, d.ID, "fcm-token", later))

	want := d
	want.Kind, want.Facts, want.FactsHash, want.AppsHash = mdm.KindAndroidTablet, nf, hash, appsHash
	want.AppCount, want.CustomAttributes, want.PushToken, want.ModifiedAt = 2, attrs, "fcm-token", later
	got, err := ds.Get(f.ctx, f.A.ID, d.ID)
	must(t, "Get", err)
	if d := diff(want, *got); d != "" {
		t.Errorf("after the inventory writes (-want +got):\n%s", d)
	}
	gotApps, err := ds.Apps(f.ctx, f.A.ID, d.ID)
	must(t, "Apps", err)
	wantApps := []mdm.InstalledApp{{AppID: "org.example.a", Name: "A", Version: "1"}, {AppID: "org.example.b", Name: "B", Version: "3"}}
	if d := diff(wantApps, gotApps); d != "" {
		t.Errorf("Apps (-want +got):\n%s", d)
	}
	// A new list replaces the old one; an empty one clears it. Many apps take several statements.
	many := make([]mdm.InstalledApp, 1200)
	for i := range many {
		many[i] = mdm.InstalledApp{AppID: fmt.Sprintf("app.%04d", i), Name: "App", Version: "1"}
	}
	must(t, "SetApps many", ds.SetApps(f.ctx, f.A.ID, d.ID, many, nil, later))
	if got, _ := ds.Apps(f.ctx, f.A.ID, d.ID); len(got) != len(many) || got[0].AppID != "app.0000" {
		t.Errorf("after SetApps(1200): %d apps", len(got))
	}
	must(t, "SetApps none", ds.SetApps(f.ctx, f.A.ID, d.ID, nil, nil, later))
	if got, err := ds.Apps(f.ctx, f.A.ID, d.ID); err != nil || len(got) != 0 {
		t.Errorf("after SetApps(nil): %v, %v", got, err)
	}
	if got, _ := ds.Get(f.ctx, f.A.ID, d.ID); got.AppCount != 0 {
		t.Errorf("AppCount after SetApps(nil) = %d", got.AppCount)
	}
	must(t, "nil attributes", ds.SetCustomAttributes(f.ctx, f.A.ID, d.ID, nil, later))
	if got, _ := ds.Get(f.ctx, f.A.ID, d.ID); got.CustomAttributes == nil || len(got.CustomAttributes) != 0 {
		t.Errorf("attributes after SetCustomAttributes(nil) = %#v, want an empty map", got.CustomAttributes)
	}
}
