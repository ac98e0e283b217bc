package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
)

var deviceTests = []test{
	{"CreateGet", testDeviceCreateGet},
	{"TenantsApart", testDeviceTenantsApart},
	{"Inventory", testDeviceInventory},
	{"Limits", testDeviceLimits},
	{"ConcurrentSeats", testDeviceConcurrentSeats},
	{"Admin", testDeviceAdmin},
	{"TouchCheckins", testDeviceTouchCheckins},
	{"List", testDeviceList},
	{"ListRecentTotal", testDeviceListRecentTotal},
	{"Usage", testDeviceUsage},
	{"CreateInTx", testDeviceCreateInTx},
	{"States", testDeviceStates},
}

// facts returns plausible facts for the n-th test device.
func facts(n int) mdm.DeviceFacts {
	return mdm.DeviceFacts{
		DeviceName: fmt.Sprintf("Phone %d", n), Model: "SM-G991B", PrettyModel: "Galaxy S21", Manufacturer: "samsung",
		OSVersion: "14", OSBuild: "UP1A.231005.007", SerialNumber: fmt.Sprintf("R5CR%06d", n),
		IMEI: fmt.Sprintf("3548%011d", n), WifiMAC: fmt.Sprintf("a2:bc:00:00:%02x:%02x", n/256, n%256),
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
	noPlatform := newDevice(t, ann, 6)
	noPlatform.Platform = "WINDOWS"
	_, err = ds.Create(f.ctx, noPlatform, f.now)
	wantCode(t, "Create for an unknown platform", err, mdm.Invalid)
	_, err = ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{d.ID}, []string{mdm.StateActive}, "LOST", f.now)
	wantCode(t, "SetState to an unknown state", err, mdm.Invalid)
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
	if ok, err := ds.ClearPushToken(f.ctx, f.B.ID, a.ID, "tok", later); ok || err != nil {
		t.Errorf("B clears A's push token = %v, %v; want false, nil", ok, err)
	}
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
	must(t, "SetPushToken", ds.SetPushToken(f.ctx, f.A.ID, d.ID, "fcm-old", later))
	// ClearPushToken clears only the token it is given; the device reported another one meanwhile.
	must(t, "SetPushToken", ds.SetPushToken(f.ctx, f.A.ID, d.ID, "fcm-token", later))
	for _, c := range []struct {
		id    mdm.DeviceID
		token string
	}{{d.ID, "fcm-old"}, {d.ID, ""}, {d.ID + 1000, "fcm-token"}} {
		if ok, err := ds.ClearPushToken(f.ctx, f.A.ID, c.id, c.token, later); ok || err != nil {
			t.Errorf("ClearPushToken(%d, %q) = %v, %v; want false, nil", c.id, c.token, ok, err)
		}
	}

	want := d
	want.Kind, want.Facts, want.FactsHash, want.AppsHash = mdm.KindAndroidTablet, nf, hash, appsHash
	want.AppCount, want.CustomAttributes, want.PushToken, want.ModifiedAt = 2, attrs, "fcm-token", later
	got, err := ds.Get(f.ctx, f.A.ID, d.ID)
	must(t, "Get", err)
	if d := diff(want, *got); d != "" {
		t.Errorf("after the inventory writes (-want +got):\n%s", d)
	}
	if ok, err := ds.ClearPushToken(f.ctx, f.A.ID, d.ID, "fcm-token", later); !ok || err != nil {
		t.Errorf("ClearPushToken of the stored token = %v, %v; want true, nil", ok, err)
	}
	if got, _ := ds.Get(f.ctx, f.A.ID, d.ID); got.PushToken != "" {
		t.Errorf("after ClearPushToken: token %q, want none", got.PushToken)
	}
	must(t, "SetPushToken", ds.SetPushToken(f.ctx, f.A.ID, d.ID, "fcm-token", later))
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

// testDeviceLimits: the per-user limit and the tenant's seats each stop a registration with conflict,
// storing nothing; retired and wiped devices count against neither.
func testDeviceLimits(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	amy := f.account(t, f.A.ID, "amy@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	create := func(owner mdm.Account, n, perAccount, seats int) (*mdm.Device, error) {
		nd := newDevice(t, owner, n)
		nd.PerAccount, nd.Seats = perAccount, seats
		return ds.Create(f.ctx, nd, f.now)
	}
	d1, err := create(ann, 1, 2, 0)
	must(t, "ann's first", err)
	_, err = create(ann, 2, 2, 0)
	must(t, "ann's second", err)
	_, err = create(ann, 3, 2, 0)
	wantCode(t, "ann's third with a limit of 2", err, mdm.Conflict)
	if err != nil && err.Error() != "device limit reached: at most 2 devices per user" {
		t.Errorf("per-user limit message = %q", err.Error())
	}
	// Another user, and the same user in another tenant's count, are unaffected.
	_, err = create(amy, 4, 2, 0)
	must(t, "amy's first", err)
	_, err = create(bob, 5, 1, 0)
	must(t, "bob's first", err)
	// A retired device frees its place; a retire pending does not.
	_, err = ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID}, []string{mdm.StateActive}, mdm.StateRetirePending, f.now)
	must(t, "SetState", err)
	_, err = create(ann, 6, 2, 0)
	wantCode(t, "ann's third while one is retire pending", err, mdm.Conflict)
	_, err = ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID}, []string{mdm.StateRetirePending}, mdm.StateRetired, f.now)
	must(t, "SetState", err)
	_, err = create(ann, 7, 2, 0)
	must(t, "ann's third once one is retired", err)
	if active, ever, err := ds.CountForAccount(f.ctx, f.A.ID, ann.ID); err != nil || active != 2 || ever != 3 {
		t.Errorf("CountForAccount(ann) = %d, %d, %v; want 2 active of 3", active, ever, err)
	}

	// Seats: A now holds 3 (ann's 2, amy's 1); B holds 1.
	for tenant, want := range map[mdm.TenantID]int{f.A.ID: 3, f.B.ID: 1} {
		if n, err := ds.CountSeats(f.ctx, tenant); err != nil || n != want {
			t.Errorf("CountSeats(%s) = %d, %v; want %d", tenant, n, err, want)
		}
	}
	_, err = create(amy, 8, 0, 3)
	wantCode(t, "a fourth seat of 3", err, mdm.Conflict)
	if err != nil && err.Error() != "license seats used up: 3 of 3" {
		t.Errorf("seat limit message = %q", err.Error())
	}
	_, err = create(amy, 9, 0, 4)
	must(t, "a fourth seat of 4", err)
	_, err = create(bob, 10, 0, 2)
	must(t, "B's second seat of 2", err)
	page, err := ds.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 50})
	must(t, "List", err)
	if page.TotalCount != 5 {
		t.Errorf("A has %d devices, want 5 (the refused ones stored nothing)", page.TotalCount)
	}

	// Device counts per owner, in one query: seats only, the tenant's accounts only.
	for _, c := range []struct {
		tenant mdm.TenantID
		ids    []mdm.AccountID
		want   map[mdm.AccountID]int
	}{
		{f.A.ID, []mdm.AccountID{ann.ID, amy.ID, bob.ID, 999_999}, map[mdm.AccountID]int{ann.ID: 2, amy.ID: 2}},
		{f.B.ID, []mdm.AccountID{ann.ID, bob.ID}, map[mdm.AccountID]int{bob.ID: 2}},
		{f.A.ID, nil, map[mdm.AccountID]int{}},
	} {
		got, err := ds.CountByAccounts(f.ctx, c.tenant, c.ids)
		must(t, "CountByAccounts", err)
		if d := diff(c.want, got); d != "" {
			t.Errorf("CountByAccounts(%s, %v) (-want +got):\n%s", c.tenant, c.ids, d)
		}
	}
}

// testDeviceConcurrentSeats: registrations racing for the last seats never exceed them, also when
// they run on several connections (replicas) of PostgreSQL. Several rounds, each in a new tenant, so
// that later rounds race on connections the first one opened rather than queueing behind new ones.
func testDeviceConcurrentSeats(t *testing.T, f *fixture) {
	const rounds, workers, seats = 3, 8, 3
	for r := range rounds {
		tn := f.tenant(t, fmt.Sprintf("Race %d", r), seats)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range workers {
			owner := f.account(t, tn.ID, fmt.Sprintf("user%d-%d@race.example.com", r, i))
			nd := newDevice(t, owner, i)
			nd.Seats, nd.PerAccount = seats, 1
			wg.Go(func() {
				<-start
				_, errs[i] = f.s.Devices().Create(f.ctx, nd, f.now)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !mdm.IsCode(err, mdm.Conflict):
				t.Errorf("round %d, registration %d: %v, want nil or conflict", r, i, err)
			}
		}
		page, err := f.s.Devices().List(f.ctx, tn.ID, mdm.ListOptions{Rows: 50})
		must(t, "List", err)
		if ok != seats || page.TotalCount != seats {
			t.Errorf("round %d: %d registrations succeeded and %d devices exist, want %d of each", r, ok, page.TotalCount, seats)
		}
	}
}

// testDeviceAdmin: owner changes, deletes with apps and commands, and an owner's deletion.
func testDeviceAdmin(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	amy := f.account(t, f.A.ID, "amy@a.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	d3, _ := f.device(t, ann, 3)
	later := f.now.Add(time.Hour)

	n, err := ds.SetAccount(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID, d3.ID + 1000}, amy.ID, later)
	if err != nil || n != 2 {
		t.Errorf("SetAccount = %d, %v; want 2", n, err)
	}
	got, err := ds.Get(f.ctx, f.A.ID, d1.ID)
	must(t, "Get", err)
	if got.AccountID != amy.ID || got.OwnerUsername != amy.Username || !got.ModifiedAt.Equal(later) {
		t.Errorf("after SetAccount: owner %d %q, modified %v", got.AccountID, got.OwnerUsername, got.ModifiedAt)
	}
	_, err = ds.SetAccount(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID}, amy.ID+1000, later)
	wantCode(t, "SetAccount to an unknown account", err, mdm.NotFound)

	must(t, "ClearAccount", ds.ClearAccount(f.ctx, f.A.ID, []mdm.AccountID{amy.ID}))
	got, err = ds.Get(f.ctx, f.A.ID, d2.ID)
	must(t, "Get", err)
	if got.AccountID != 0 || got.OwnerUsername != "" || got.OwnerEmail != "" {
		t.Errorf("after ClearAccount: owner %d %q %q, want none", got.AccountID, got.OwnerUsername, got.OwnerEmail)
	}
	if got, _ := ds.Get(f.ctx, f.A.ID, d3.ID); got.AccountID != ann.ID {
		t.Errorf("ClearAccount(amy) changed ann's device: owner %d", got.AccountID)
	}

	// Delete takes the device's apps and commands with it, and counts only existing devices.
	must(t, "SetApps", ds.SetApps(f.ctx, f.A.ID, d1.ID, []mdm.InstalledApp{{AppID: "a", Name: "A", Version: "1"}}, nil, later))
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d1.ID, d3.ID}, mdm.CmdLock, d1.ID, d3.ID)
	n, err = ds.Delete(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, d1.ID + 1000})
	if err != nil || n != 1 {
		t.Errorf("Delete = %d, %v; want 1", n, err)
	}
	_, err = ds.Get(f.ctx, f.A.ID, d1.ID)
	wantCode(t, "Get after Delete", err, mdm.NotFound)
	counts, err := f.s.Commands().Counts(f.ctx)
	must(t, "Counts", err)
	if counts[mdm.CmdPending] != 1 {
		t.Errorf("pending commands after deleting one of two devices: %d, want 1", counts[mdm.CmdPending])
	}
	// Ids are never reused, also not the newest one's: a stale action must not reach a newcomer.
	newest, _ := f.device(t, ann, 4)
	if n, err := ds.Delete(f.ctx, f.A.ID, []mdm.DeviceID{newest.ID}); err != nil || n != 1 {
		t.Fatalf("Delete newest = %d, %v", n, err)
	}
	if next, _ := f.device(t, ann, 5); next.ID <= newest.ID {
		t.Errorf("a device registered after deleting device %d got id %d", newest.ID, next.ID)
	}
	_, err = ds.Delete(f.ctx, f.A.ID, make([]mdm.DeviceID, 10_001))
	wantCode(t, "Delete of 10,001 ids", err, mdm.Invalid)
}

// testDeviceTouchCheckins: last-seen times coalesce into one write per tenant and never go back.
func testDeviceTouchCheckins(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	a1, _ := f.device(t, ann, 1)
	a2, _ := f.device(t, ann, 2)
	b1, _ := f.device(t, bob, 3)
	t1, t2, t3 := f.now.Add(time.Minute), f.now.Add(2*time.Minute), f.now.Add(3*time.Minute)
	must(t, "TouchCheckins", ds.TouchCheckins(f.ctx, []mdm.CheckinTouch{
		{TenantID: f.A.ID, ID: a1.ID, At: t2}, {TenantID: f.A.ID, ID: a1.ID, At: t1}, // the later one wins
		{TenantID: f.A.ID, ID: a2.ID, At: t1}, {TenantID: f.B.ID, ID: b1.ID, At: t3},
		{TenantID: f.A.ID, ID: b1.ID, At: t3}, // B's device named under A: ignored
	}))
	// An older time arriving late does not move a time back.
	must(t, "TouchCheckins older", ds.TouchCheckins(f.ctx, []mdm.CheckinTouch{{TenantID: f.A.ID, ID: a1.ID, At: t1}}))
	must(t, "TouchCheckins none", ds.TouchCheckins(f.ctx, nil))
	for _, c := range []struct {
		tenant mdm.TenantID
		id     mdm.DeviceID
		want   time.Time
	}{{f.A.ID, a1.ID, t2}, {f.A.ID, a2.ID, t1}, {f.B.ID, b1.ID, t3}} {
		got, err := ds.Get(f.ctx, c.tenant, c.id)
		must(t, "Get", err)
		if !got.LastCheckin.Equal(c.want) || got.LastCheckin.Location() != time.UTC {
			t.Errorf("device %d: LastCheckin %v, want %v", c.id, got.LastCheckin, c.want)
		}
		if !got.ModifiedAt.Equal(f.now) {
			t.Errorf("device %d: a check-in changed ModifiedAt to %v", c.id, got.ModifiedAt)
		}
	}
}

// testDeviceUsage: the site report counts the devices that hold a seat, per platform and tenant.
func testDeviceUsage(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	a1, _ := f.device(t, ann, 1)
	a2, _ := f.device(t, ann, 2)
	f.device(t, ann, 3)
	ios := newDevice(t, bob, 4)
	ios.Platform, ios.Kind = mdm.PlatformIOS, mdm.KindIPhone
	_, err := ds.Create(f.ctx, ios, f.now)
	must(t, "Create iPhone", err)
	_, err = ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{a1.ID}, []string{mdm.StateActive}, mdm.StateWiped, f.now)
	must(t, "wipe", err)
	_, err = ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{a2.ID}, []string{mdm.StateActive}, mdm.StateRetirePending, f.now)
	must(t, "retire", err)
	got, err := f.s.Tenants().Usage(f.ctx)
	must(t, "Usage", err)
	for _, u := range got {
		var want mdm.TenantUsage
		switch u.TenantID {
		case f.A.ID:
			want = mdm.TenantUsage{TenantID: f.A.ID, Name: "Tenant A", State: mdm.TenantActive, Users: 1, LicensedSeats: 10,
				UsedSeats: 2, DevicesByPlatform: map[string]int{mdm.PlatformAndroid: 2}}
		case f.B.ID:
			want = mdm.TenantUsage{TenantID: f.B.ID, Name: "Tenant B", State: mdm.TenantActive, Users: 1, LicensedSeats: 20,
				UsedSeats: 1, DevicesByPlatform: map[string]int{mdm.PlatformIOS: 1}}
		default:
			t.Errorf("Usage lists an unknown tenant %s", u.TenantID)
			continue
		}
		if d := diff(want, u); d != "" {
			t.Errorf("Usage of %s (-want +got):\n%s", u.Name, d)
		}
	}
	if len(got) != 2 {
		t.Errorf("Usage lists %d tenants, want 2", len(got))
	}
}

// testDeviceCreateInTx: Create works inside a caller's transaction, and a rollback stores nothing.
func testDeviceCreateInTx(t *testing.T, f *fixture) {
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	rolledBack := newDevice(t, ann, 1)
	errRollback := fmt.Errorf("roll back")
	err := f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		d, err := tx.Devices().Create(f.ctx, rolledBack, f.now)
		if err != nil {
			return err
		}
		// Visible inside the transaction.
		if _, err := tx.Devices().Get(f.ctx, f.A.ID, d.ID); err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("InTx = %v, want the rollback error", err)
	}
	_, err = f.s.Devices().ByCredential(f.ctx, rolledBack.CredentialHash)
	wantCode(t, "a rolled back device", err, mdm.NotFound)

	var created *mdm.Device
	nd := newDevice(t, ann, 2)
	nd.PerAccount, nd.Seats = 1, 1
	must(t, "InTx", f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		var err error
		created, err = tx.Devices().Create(f.ctx, nd, f.now)
		if err != nil {
			return err
		}
		// The limits see the transaction's own device.
		_, err = tx.Devices().Create(f.ctx, newDevice(t, ann, 3), f.now)
		if err != nil {
			return err
		}
		again := newDevice(t, ann, 4)
		again.PerAccount = 2
		_, err = tx.Devices().Create(f.ctx, again, f.now)
		wantCode(t, "a third device under a limit of 2, in the same transaction", err, mdm.Conflict)
		return nil
	}))
	if got, err := f.s.Devices().Get(f.ctx, f.A.ID, created.ID); err != nil || got.GUID != nd.GUID {
		t.Errorf("after commit: %+v, %v", got, err)
	}
}
