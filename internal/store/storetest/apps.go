package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

var appTests = []test{
	{"CRUD", testAppCRUD},
	{"Inventory", testAppInventory},
	{"Delivery", testAppDelivery},
	{"ToConverge", testAppToConverge},
}

func (f *fixture) app(t *testing.T, tenant mdm.TenantID, platform, bundle string) mdm.App {
	t.Helper()
	a := mdm.App{TenantID: tenant, Platform: platform, Source: mdm.AppPublic, BundleID: bundle, Name: "App " + bundle,
		CreatedBy: "storetest", CreatedAt: f.now, ModifiedAt: f.now}
	if err := f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Apps().Create(f.ctx, &a) }); err != nil {
		t.Fatalf("create app %q: %v", bundle, err)
	}
	return a
}

func testAppCRUD(t *testing.T, f *fixture) {
	st := f.s.Apps()
	a := mdm.App{TenantID: f.A.ID, Platform: mdm.PlatformIOS, Source: mdm.AppInHouse, BundleID: "com.example.mail",
		Name: "Mail", Version: "1.2", BuildNumber: "120", IconURL: "https://example.com/i.png", Description: "d",
		FileKey: "0123456789abcdef0123456789abcdef", FileName: "mail.ipa", FileSize: 1234, FileSHA256: "ab",
		CreatedBy: "ann", CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create", st.Create(f.ctx, &a))
	if a.ID == 0 {
		t.Fatal("Create left ID 0")
	}
	got, err := st.Get(f.ctx, f.A.ID, a.ID)
	must(t, "Get", err)
	if diff := cmp.Diff(a, *got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	// Unique per tenant and platform; the same id on the other platform or in B is fine.
	dup := a
	dup.ID = 0
	wantCode(t, "duplicate", st.Create(f.ctx, &dup), mdm.Conflict)
	dup.Platform = mdm.PlatformAndroid
	must(t, "same id on Android", st.Create(f.ctx, &dup))
	b := f.app(t, f.B.ID, mdm.PlatformIOS, "com.example.mail")

	// B never sees A's app.
	_, err = st.Get(f.ctx, f.B.ID, a.ID)
	wantCode(t, "Get from B", err, mdm.NotFound)
	_, err = st.Update(f.ctx, f.B.ID, a.ID, mdm.AppPatch{}, f.now)
	wantCode(t, "Update from B", err, mdm.NotFound)
	wantCode(t, "Delete from B", st.Delete(f.ctx, f.B.ID, a.ID), mdm.NotFound)
	byIDs, err := st.ByIDs(f.ctx, f.B.ID, []mdm.AppID{a.ID, b.ID})
	must(t, "ByIDs", err)
	if len(byIDs) != 1 || byIDs[0].ID != b.ID {
		t.Errorf("ByIDs from B = %v, want only B's app", byIDs)
	}
	p, err := st.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10})
	must(t, "List", err)
	if p.TotalCount != 2 {
		t.Errorf("List A: %d apps, want 2", p.TotalCount)
	}
	p, err = st.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "platformType", Op: mdm.Eq, Value: "IOS"}, Query: "mai"})
	must(t, "List filtered", err)
	if p.TotalCount != 1 || p.Items[0].ID != a.ID {
		t.Errorf("List IOS q=mai: %+v", p)
	}
	bb, err := st.ByBundle(f.ctx, f.A.ID, mdm.PlatformIOS, "com.example.mail")
	must(t, "ByBundle", err)
	if bb.ID != a.ID {
		t.Errorf("ByBundle = %d, want %d", bb.ID, a.ID)
	}
	_, err = st.ByBundle(f.ctx, f.A.ID, mdm.PlatformIOS, "com.example.none")
	wantCode(t, "ByBundle unknown", err, mdm.NotFound)

	name, later := "Mail 2", f.now.Add(3600_000_000_000)
	up, err := st.Update(f.ctx, f.A.ID, a.ID, mdm.AppPatch{Name: &name}, later)
	must(t, "Update", err)
	if up.Name != name || !up.ModifiedAt.Equal(later) || up.Description != "d" {
		t.Errorf("Update: %+v", up)
	}
	must(t, "Delete", st.Delete(f.ctx, f.A.ID, a.ID))
	_, err = st.Get(f.ctx, f.A.ID, a.ID)
	wantCode(t, "Get deleted", err, mdm.NotFound)
	if _, err := st.Get(f.ctx, f.B.ID, b.ID); err != nil {
		t.Errorf("B's app went with A's: %v", err)
	}
}

func testAppInventory(t *testing.T, f *fixture) {
	st := f.s.Apps()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	d3, _ := f.device(t, ann, 3)
	b1, _ := f.device(t, bob, 4)
	set := func(tenant mdm.TenantID, d mdm.DeviceID, apps ...mdm.InstalledApp) {
		t.Helper()
		must(t, "SetApps", f.s.Devices().SetApps(f.ctx, tenant, d, apps, randomBytes(t, 8), f.now))
	}
	mail1 := mdm.InstalledApp{AppID: "com.example.mail", Name: "Mail", Version: "1"}
	mail2 := mdm.InstalledApp{AppID: "com.example.mail", Name: "Mail", Version: "2"}
	chat := mdm.InstalledApp{AppID: "com.example.chat", Name: "Chat", Version: "5"}
	set(f.A.ID, d1.ID, mail1, chat)
	set(f.A.ID, d2.ID, mail2)
	set(f.A.ID, d3.ID, mail2)
	set(f.B.ID, b1.ID, mail1, mdm.InstalledApp{AppID: "com.example.only.b", Name: "B", Version: "1"})
	// A retired device's stale inventory does not count.
	_, err := f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{d3.ID}, []string{mdm.StateActive}, mdm.StateRetired, f.now)
	must(t, "SetState", err)
	managed := f.app(t, f.A.ID, mdm.PlatformAndroid, "com.example.mail")

	// Nothing is counted before the first refresh; the source key says when the devices changed.
	key, at, err := st.InventoryState(f.ctx, f.A.ID)
	must(t, "InventoryState", err)
	if key != "" || !at.IsZero() {
		t.Errorf("state before any refresh: %q %v", key, at)
	}
	srcA, active, err := st.InventorySource(f.ctx, f.A.ID)
	must(t, "InventorySource", err)
	if active != 2 {
		t.Errorf("%d active devices, want 2", active)
	}
	p, err := st.Inventory(f.ctx, f.A.ID, mdm.InventoryQuery{Rows: 10})
	must(t, "Inventory before refresh", err)
	if p.TotalCount != 0 {
		t.Errorf("inventory before refresh: %+v", p.Items)
	}
	must(t, "RefreshInventory A", st.RefreshInventory(f.ctx, f.A.ID, srcA, f.now))
	must(t, "RefreshInventory A again", st.RefreshInventory(f.ctx, f.A.ID, srcA, f.now))
	srcB, _, err := st.InventorySource(f.ctx, f.B.ID)
	must(t, "InventorySource B", err)
	must(t, "RefreshInventory B", st.RefreshInventory(f.ctx, f.B.ID, srcB, f.now))
	if key, at, _ := st.InventoryState(f.ctx, f.A.ID); key != srcA || !at.Equal(f.now) {
		t.Errorf("state after refresh: %q %v", key, at)
	}

	p, err = st.Inventory(f.ctx, f.A.ID, mdm.InventoryQuery{Rows: 10})
	must(t, "Inventory", err)
	want := []mdm.InventoryApp{
		{Platform: mdm.PlatformAndroid, AppID: "com.example.mail", Name: "Mail", DeviceCount: 2,
			Versions: []mdm.VersionCount{{Version: "1", DeviceCount: 1}, {Version: "2", DeviceCount: 1}}, ManagedID: managed.ID},
		{Platform: mdm.PlatformAndroid, AppID: "com.example.chat", Name: "Chat", DeviceCount: 1,
			Versions: []mdm.VersionCount{{Version: "5", DeviceCount: 1}}},
	}
	if diff := cmp.Diff(want, p.Items); diff != "" || p.TotalCount != 2 {
		t.Errorf("Inventory A (total %d) (-want +got):\n%s", p.TotalCount, diff)
	}
	no := false
	p, err = st.Inventory(f.ctx, f.A.ID, mdm.InventoryQuery{Rows: 10, Managed: &no})
	must(t, "Inventory unmanaged", err)
	if p.TotalCount != 1 || p.Items[0].AppID != "com.example.chat" {
		t.Errorf("unmanaged: %+v", p.Items)
	}
	p, err = st.Inventory(f.ctx, f.A.ID, mdm.InventoryQuery{Rows: 10, Query: "CHA"})
	must(t, "Inventory q", err)
	if p.TotalCount != 1 || p.Items[0].AppID != "com.example.chat" {
		t.Errorf("q=CHA: %+v", p.Items)
	}
	p, err = st.Inventory(f.ctx, f.A.ID, mdm.InventoryQuery{Rows: 10, Platform: mdm.PlatformIOS})
	must(t, "Inventory IOS", err)
	if p.TotalCount != 0 {
		t.Errorf("IOS: %+v", p.Items)
	}
	p, err = st.Inventory(f.ctx, f.A.ID, mdm.InventoryQuery{Rows: 1, Start: 1})
	must(t, "Inventory page 2", err)
	if p.TotalCount != 2 || len(p.Items) != 1 || p.Items[0].AppID != "com.example.chat" {
		t.Errorf("page 2: %+v", p)
	}
	p, err = st.Inventory(f.ctx, f.B.ID, mdm.InventoryQuery{Rows: 10})
	must(t, "Inventory B", err)
	if p.TotalCount != 2 || p.Items[0].ManagedID != 0 || p.Items[0].DeviceCount != 1 {
		t.Errorf("Inventory B: %+v", p.Items)
	}

	ds, err := st.InventoryDevices(f.ctx, f.A.ID, mdm.PlatformAndroid, "com.example.mail", mdm.ListOptions{Rows: 10})
	must(t, "InventoryDevices", err)
	if ds.TotalCount != 2 || ds.Items[0].DeviceID != d1.ID || ds.Items[0].Version != "1" || ds.Items[1].DeviceID != d2.ID ||
		ds.Items[0].OwnerUsername != "ann@a.example.com" {
		t.Errorf("InventoryDevices: %+v", ds)
	}
	ds, err = st.InventoryDevices(f.ctx, f.B.ID, "", "com.example.chat", mdm.ListOptions{Rows: 10})
	must(t, "InventoryDevices B", err)
	if ds.TotalCount != 0 {
		t.Errorf("B sees A's devices: %+v", ds)
	}
	// A new report changes the source key; the summary changes only with the next refresh.
	must(t, "SetApps", f.s.Devices().SetApps(f.ctx, f.A.ID, d2.ID, []mdm.InstalledApp{mail1}, randomBytes(t, 8), f.now.Add(time.Second)))
	if now, _, _ := st.InventorySource(f.ctx, f.A.ID); now == srcA {
		t.Error("the source key did not change with a new app report")
	}
	inst, err := st.Installed(f.ctx, f.A.ID, "com.example.chat", []mdm.DeviceID{d1.ID, d2.ID, b1.ID})
	must(t, "Installed", err)
	if diff := cmp.Diff([]mdm.DeviceID{d1.ID}, inst); diff != "" {
		t.Errorf("Installed (-want +got):\n%s", diff)
	}
}

func testAppDelivery(t *testing.T, f *fixture) {
	st := f.s.Apps()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	d3, _ := f.device(t, ann, 3)
	b1, _ := f.device(t, bob, 4)
	a := f.app(t, f.A.ID, mdm.PlatformAndroid, "com.example.mail")
	other := f.app(t, f.A.ID, mdm.PlatformAndroid, "com.example.mail.pro")
	must(t, "SetApps", f.s.Devices().SetApps(f.ctx, f.A.ID, d2.ID, []mdm.InstalledApp{{AppID: "com.example.mail", Name: "M", Version: "1"}}, nil, f.now))
	// d3 has an open install of this app; d1 has one of another app only (its id starts the same).
	_, err := f.s.Commands().Enqueue(f.ctx, f.A.ID, []mdm.DeviceID{d3.ID}, []string{mdm.StateActive},
		mdm.NewCommand{Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "com.example.mail", "name": "M"}}, f.now)
	must(t, "Enqueue", err)
	_, err = f.s.Commands().Enqueue(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID}, []string{mdm.StateActive},
		mdm.NewCommand{Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": other.BundleID}}, f.now)
	must(t, "Enqueue", err)
	need, err := st.NeedInstall(f.ctx, f.A.ID, &a, []mdm.DeviceID{d1.ID, d2.ID, d3.ID, b1.ID}, f.now.Add(-time.Hour))
	must(t, "NeedInstall", err)
	if diff := cmp.Diff([]mdm.DeviceID{d1.ID}, need); diff != "" {
		t.Errorf("NeedInstall (-want +got):\n%s", diff)
	}
	ios := a
	ios.Platform = mdm.PlatformIOS
	need, err = st.NeedInstall(f.ctx, f.A.ID, &ios, []mdm.DeviceID{d1.ID}, f.now.Add(-time.Hour))
	must(t, "NeedInstall iOS", err)
	if len(need) != 0 {
		t.Errorf("NeedInstall of an iOS app on Android devices: %v", need)
	}

	// d3's install is answered: it still counts until answeredSince passes it, the device having not yet
	// reported the app.
	due, err := f.s.Commands().Due(f.ctx, f.A.ID, d3.ID, f.now, 10)
	must(t, "Due", err)
	_, err = f.s.Commands().Complete(f.ctx, f.A.ID, d3.ID, mdm.CommandResult{ID: due[0].ID, Status: mdm.CmdAcknowledged}, f.now)
	must(t, "Complete", err)
	for _, c := range []struct {
		since time.Time
		want  []mdm.DeviceID
	}{{f.now.Add(-time.Hour), []mdm.DeviceID{d1.ID}}, {f.now.Add(time.Hour), []mdm.DeviceID{d1.ID, d3.ID}}} {
		need, err = st.NeedInstall(f.ctx, f.A.ID, &a, []mdm.DeviceID{d1.ID, d2.ID, d3.ID}, c.since)
		must(t, "NeedInstall", err)
		if diff := cmp.Diff(c.want, need); diff != "" {
			t.Errorf("NeedInstall answered since %v (-want +got):\n%s", c.since, diff)
		}
	}
	// CancelInstalls drops this app's unsent installs only, in this tenant only.
	_, err = f.s.Commands().Enqueue(f.ctx, f.A.ID, []mdm.DeviceID{d2.ID}, []string{mdm.StateActive},
		mdm.NewCommand{Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "com.example.mail"}}, f.now)
	must(t, "Enqueue", err)
	n, err := st.CancelInstalls(f.ctx, f.B.ID, "com.example.mail", []mdm.DeviceID{d1.ID, d2.ID, d3.ID}, f.now)
	must(t, "CancelInstalls from B", err)
	if n != 0 {
		t.Errorf("B cancelled %d of A's installs", n)
	}
	n, err = st.CancelInstalls(f.ctx, f.A.ID, "com.example.mail", []mdm.DeviceID{d1.ID, d2.ID, d3.ID}, f.now)
	must(t, "CancelInstalls", err)
	if n != 1 {
		t.Errorf("cancelled %d installs, want 1 (d2's; d1's is another app's, d3's was answered)", n)
	}
	if open, _ := f.s.Commands().Having(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID}, mdm.CmdInstallApp, []string{mdm.CmdPending}); !cmp.Equal(open, []mdm.DeviceID{d1.ID}) {
		t.Errorf("pending installs after cancelling: %v, want d1's", open)
	}
	must(t, "RecordInstalls", st.RecordInstalls(f.ctx, f.A.ID, a.ID, []mdm.DeviceID{d1.ID, d3.ID}, f.now))
	must(t, "RecordInstalls again", st.RecordInstalls(f.ctx, f.A.ID, a.ID, []mdm.DeviceID{d1.ID}, f.now))
	must(t, "RecordInstalls B", st.RecordInstalls(f.ctx, f.B.ID, a.ID, []mdm.DeviceID{b1.ID}, f.now))
	m, err := st.ManagedInstalls(f.ctx, f.A.ID, a.ID)
	must(t, "ManagedInstalls", err)
	if diff := cmp.Diff([]mdm.DeviceID{d1.ID, d3.ID}, m); diff != "" {
		t.Errorf("ManagedInstalls (-want +got):\n%s", diff)
	}
	must(t, "ForgetInstalls", st.ForgetInstalls(f.ctx, f.A.ID, a.ID, []mdm.DeviceID{d3.ID}))
	m, _ = st.ManagedInstalls(f.ctx, f.A.ID, a.ID)
	if diff := cmp.Diff([]mdm.DeviceID{d1.ID}, m); diff != "" {
		t.Errorf("after ForgetInstalls (-want +got):\n%s", diff)
	}
	must(t, "Delete", st.Delete(f.ctx, f.A.ID, a.ID))
	m, _ = st.ManagedInstalls(f.ctx, f.A.ID, a.ID)
	if len(m) != 0 {
		t.Errorf("Delete left managed installs %v", m)
	}
	m, _ = st.ManagedInstalls(f.ctx, f.B.ID, a.ID)
	if diff := cmp.Diff([]mdm.DeviceID{b1.ID}, m); diff != "" {
		t.Errorf("B's managed installs (-want +got):\n%s", diff)
	}
}

func testAppToConverge(t *testing.T, f *fixture) {
	st := f.s.Apps()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d1, _ := f.device(t, ann, 1)
	req := f.app(t, f.A.ID, mdm.PlatformAndroid, "com.example.required")
	f.app(t, f.A.ID, mdm.PlatformAndroid, "com.example.optional")
	installed := f.app(t, f.B.ID, mdm.PlatformAndroid, "com.example.installed")
	f.app(t, f.B.ID, mdm.PlatformAndroid, "com.example.nothing")
	must(t, "Replace", f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		if err := tx.Distributions().Replace(f.ctx, f.A.ID, mdm.ItemApp, int64(req.ID), []mdm.Distribution{
			{TenantID: f.A.ID, ItemKind: mdm.ItemApp, ItemID: int64(req.ID), Target: mdm.TargetAllUsers, Required: true}}); err != nil {
			return err
		}
		return tx.Distributions().Replace(f.ctx, f.A.ID, mdm.ItemApp, int64(req.ID)+1, []mdm.Distribution{
			{TenantID: f.A.ID, ItemKind: mdm.ItemApp, ItemID: int64(req.ID) + 1, Target: mdm.TargetAllUsers}})
	}))
	must(t, "RecordInstalls", st.RecordInstalls(f.ctx, f.B.ID, installed.ID, []mdm.DeviceID{d1.ID}, f.now))
	var got []mdm.AppID
	var afterTenant mdm.TenantID
	var afterID mdm.AppID
	for {
		batch, err := st.ToConverge(f.ctx, afterTenant, afterID, 1)
		must(t, "ToConverge", err)
		if len(batch) == 0 {
			break
		}
		for _, a := range batch {
			if a.TenantID == f.A.ID || a.TenantID == f.B.ID {
				got = append(got, a.ID)
			}
		}
		afterTenant, afterID = batch[len(batch)-1].TenantID, batch[len(batch)-1].ID
	}
	want := []mdm.AppID{req.ID, installed.ID}
	if f.B.ID < f.A.ID {
		want = []mdm.AppID{installed.ID, req.ID}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToConverge (-want +got):\n%s", diff)
	}
}
