package apps_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"steward/internal/apps"
	"steward/internal/apps/appstest"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	svc   *apps.Service
	blobs apps.DirBlobs
	n     int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, store: store, blobs: apps.DirBlobs{Dir: t.TempDir()}}
	f.svc = apps.New(store, f.blobs, slog.New(slog.NewTextHandler(io.Discard, nil)), apps.WithClock(func() time.Time { return now }),
		apps.WithBaseURL("https://mdm.example.com"), apps.WithMaxFile(64<<10))
	for _, id := range []mdm.TenantID{"t-1", "t-2"} {
		tn := mdm.Tenant{ID: id, Name: string(id), State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
		f.must("tenant", store.InTx(ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(ctx, &tn) }))
	}
	return f
}

func (f *fixture) must(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

// as returns a context acting as an account of tenant with roles.
func (f *fixture) as(tenant mdm.TenantID, roles ...string) context.Context {
	return mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, Username: "admin@" + string(tenant),
		TenantID: tenant, Roles: roles})
}

func (f *fixture) admin(tenant mdm.TenantID) context.Context {
	return f.as(tenant, mdm.RoleTenantAdmin)
}

func (f *fixture) account(tenant mdm.TenantID, email string) *mdm.Account {
	a := &mdm.Account{TenantID: tenant, Username: email, Email: email, Enabled: true, CreatedAt: now, ModifiedAt: now}
	f.must("account", f.store.Accounts().Create(f.ctx, a))
	return a
}

func (f *fixture) device(tenant mdm.TenantID, owner *mdm.Account, platform string) *mdm.Device {
	f.n++
	nd := mdm.NewDevice{TenantID: tenant, GUID: fmt.Sprintf("guid-%d", f.n), Platform: platform, Kind: mdm.KindAndroidPhone,
		Facts: mdm.DeviceFacts{DeviceName: fmt.Sprintf("device %d", f.n), OSVersion: "14"}, CredentialHash: []byte(fmt.Sprintf("cred-%d", f.n))}
	if platform == mdm.PlatformIOS {
		nd.Kind = mdm.KindIPhone
	}
	if owner != nil {
		nd.AccountID = owner.ID
	}
	d, err := f.store.Devices().Create(f.ctx, nd, now)
	f.must("device", err)
	return d
}

func (f *fixture) open(typ string) map[mdm.DeviceID]map[string]string {
	f.t.Helper()
	rows, err := f.store.DB().QueryContext(f.ctx, `SELECT device_id, payload FROM device_commands WHERE type=$1 AND status='PENDING'`, typ)
	f.must("commands", err)
	defer rows.Close()
	out := map[mdm.DeviceID]map[string]string{}
	for rows.Next() {
		var id mdm.DeviceID
		var p string
		f.must("scan", rows.Scan(&id, &p))
		out[id] = map[string]string{"payload": p}
	}
	return out
}

func str(s string) *string { return &s }

func TestCreateValidatesAndAudits(t *testing.T) {
	f := setup(t)
	ctx := f.admin("t-1")
	for _, c := range []struct {
		in    apps.AppInput
		field string
	}{
		{apps.AppInput{BundleID: str("a.b"), Name: str("A")}, "platformType"},
		{apps.AppInput{Platform: str("ios"), Name: str("A")}, "bundleId"},
		{apps.AppInput{Platform: str("ios"), BundleID: str("a b"), Name: str("A")}, "bundleId"},
		{apps.AppInput{Platform: str("ios"), BundleID: str("a.b")}, "name"},
		{apps.AppInput{Platform: str("ios"), BundleID: str("a.b"), Name: str("A\x01")}, "name"},
		{apps.AppInput{Platform: str("ios"), BundleID: str("a.b"), Name: str("A"), IconURL: str("ftp://x/y")}, "iconUrl"},
	} {
		_, err := f.svc.Create(ctx, c.in)
		var e *mdm.Error
		if !mdm.IsCode(err, mdm.Invalid) || !asField(err, c.field, &e) {
			t.Errorf("%+v: %v, want invalid %s", c.in, err, c.field)
		}
	}
	v, err := f.svc.Create(ctx, apps.AppInput{Platform: str("android"), BundleID: str("com.example.a"), Name: str(" A ")})
	f.must("Create", err)
	if v.App.Platform != mdm.PlatformAndroid || v.App.Name != "A" || v.App.CreatedBy != "admin@t-1" || !v.App.CreatedAt.Equal(now) {
		t.Errorf("created %+v", v.App)
	}
	var n int
	f.must("audit", f.store.DB().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action='app.create' AND tenant_id='t-1'`).Scan(&n))
	if n != 1 {
		t.Errorf("%d audit rows", n)
	}
	// Permissions: read-only may read, not change; another tenant finds nothing.
	ro := f.as("t-1", authz.RoleAppContentReadOnly)
	if _, err := f.svc.Get(ro, v.App.ID); err != nil {
		t.Errorf("read only Get: %v", err)
	}
	if _, err := f.svc.Create(ro, apps.AppInput{Platform: str("ios"), BundleID: str("x.y"), Name: str("X")}); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("read only Create: %v", err)
	}
	if _, err := f.svc.Get(f.as("t-1", authz.RoleDeviceReadOnly), v.App.ID); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("device read only Get: %v", err)
	}
	if _, err := f.svc.Get(f.admin("t-2"), v.App.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("other tenant Get: %v", err)
	}
	if err := f.svc.Delete(f.admin("t-2"), v.App.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("other tenant Delete: %v", err)
	}
}

func asField(err error, field string, e **mdm.Error) bool {
	me := &mdm.Error{}
	if !errors.As(err, &me) {
		return false
	}
	*e = me
	for _, fe := range me.Fields {
		if fe.Field == field {
			return true
		}
	}
	return false
}

func TestInHouseUploadKeepsNothingOnError(t *testing.T) {
	f := setup(t)
	ctx := f.admin("t-1")
	v, err := f.svc.CreateInHouse(ctx, apps.AppInput{}, apps.Upload{FileName: `C:\builds\mail.ipa`,
		Body: bytes.NewReader(appstest.IPA("com.example.mail", "Mail", "1.0", "7"))})
	f.must("CreateInHouse", err)
	if v.App.FileName != "mail.ipa" || v.App.Version != "1.0" || v.App.BuildNumber != "7" || v.App.Name != "Mail" {
		t.Errorf("in-house app %+v", v.App)
	}
	_, blob, size, err := f.svc.Binary(ctx, v.App.ID)
	f.must("Binary", err)
	blob.Close()
	if size != v.App.FileSize {
		t.Errorf("stored %d bytes, app says %d", size, v.App.FileSize)
	}
	// Too large, not an app, a duplicate: refused, and no file is left behind.
	for name, body := range map[string][]byte{
		"too large": bytes.Repeat([]byte{1}, 65<<10),
		"junk":      []byte("junk"),
		"duplicate": appstest.IPA("com.example.mail", "Mail", "2.0", "8"),
	} {
		if _, err := f.svc.CreateInHouse(ctx, apps.AppInput{}, apps.Upload{FileName: "x.ipa", Body: bytes.NewReader(body)}); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if n := countFiles(t, f.blobs.Dir); n != 1 {
		t.Errorf("%d files in the blob store, want 1", n)
	}
	f.must("Delete", f.svc.Delete(ctx, v.App.ID))
	if n := countFiles(t, f.blobs.Dir); n != 0 {
		t.Errorf("%d files after delete, want 0", n)
	}
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			sub, _ := os.ReadDir(dir + "/" + e.Name())
			for _, s := range sub {
				if !s.IsDir() {
					n++
				}
			}
		}
	}
	return n
}

// TestCatalog: All Users, user group and device group targets; platform and category filters; the
// device catalog joins the owner's groups and the device's groups.
func TestCatalog(t *testing.T) {
	f := setup(t)
	ctx := f.admin("t-1")
	ann, bob := f.account("t-1", "ann@a.example.com"), f.account("t-1", "bob@a.example.com")
	sales := &mdm.UserGroup{TenantID: "t-1", Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: now, ModifiedAt: now}
	f.must("group", f.store.Groups().Create(f.ctx, sales))
	f.must("members", f.store.Groups().AddMembers(f.ctx, "t-1", sales.ID, []mdm.AccountID{ann.ID}))
	bobPhone := f.device("t-1", bob, mdm.PlatformAndroid)
	kiosks := &mdm.DeviceGroup{TenantID: "t-1", Name: "Kiosks", Kind: mdm.StaticDeviceGroup, CreatedAt: now, ModifiedAt: now}
	f.must("device group", f.store.DeviceGroups().Create(f.ctx, kiosks))
	f.must("members", f.store.DeviceGroups().AddMembers(f.ctx, "t-1", kiosks.ID, []mdm.DeviceID{bobPhone.ID}))
	cat := &mdm.Category{TenantID: "t-1", Kind: mdm.ItemApp, Name: "Tools", CreatedAt: now, ModifiedAt: now}
	f.must("category", f.store.Categories().Create(f.ctx, cat))

	add := func(platform, bundle, name string, cats []int64, targets ...apps.TargetInput) {
		t.Helper()
		_, err := f.svc.Create(ctx, apps.AppInput{Platform: &platform, BundleID: &bundle, Name: &name, Categories: &cats, Targets: &targets})
		f.must("Create "+name, err)
	}
	add("ANDROID", "com.a.all", "All", []int64{int64(cat.ID)}, apps.TargetInput{Type: "ALL_USERS"})
	add("IOS", "com.a.ios", "iOS only", nil, apps.TargetInput{Type: "ALL_USERS"})
	add("ANDROID", "com.a.sales", "Sales", nil, apps.TargetInput{Type: "USER_GROUP", ID: int64(sales.ID), Required: true},
		apps.TargetInput{Type: "ALL_USERS"})
	add("ANDROID", "com.a.kiosk", "Kiosk", []int64{int64(cat.ID)}, apps.TargetInput{Type: "device_group", ID: int64(kiosks.ID)})
	add("ANDROID", "com.a.none", "None", nil)

	names := func(c *apps.Catalog) []string {
		var out []string
		for _, e := range c.Apps {
			n := e.App.Name
			if e.Required {
				n += "*"
			}
			out = append(out, n)
		}
		return out
	}
	for _, c := range []struct {
		who  *mdm.Account
		f    apps.CatalogFilter
		want []string
	}{
		{ann, apps.CatalogFilter{}, []string{"All", "iOS only", "Sales*"}},
		{bob, apps.CatalogFilter{}, []string{"All", "iOS only", "Sales"}},
		{ann, apps.CatalogFilter{Platform: mdm.PlatformAndroid}, []string{"All", "Sales*"}},
		{ann, apps.CatalogFilter{Category: cat.ID}, []string{"All"}},
	} {
		got, err := f.svc.CatalogFor(ctx, c.who.ID, c.f)
		f.must("CatalogFor", err)
		if !slices.Equal(names(got), c.want) {
			t.Errorf("%s %+v: %v, want %v", c.who.Email, c.f, names(got), c.want)
		}
	}
	dc, err := f.svc.DeviceCatalog(f.ctx, bobPhone, 0)
	f.must("DeviceCatalog", err)
	if want := []string{"All", "Kiosk", "Sales"}; !slices.Equal(names(dc), want) {
		t.Errorf("bob's phone: %v, want %v", names(dc), want)
	}
	if len(dc.Categories) != 1 || dc.Categories[0].Name != "Tools" {
		t.Errorf("categories %+v", dc.Categories)
	}
	if _, err := f.svc.CatalogFor(f.admin("t-2"), ann.ID, apps.CatalogFilter{}); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("other tenant's user: %v", err)
	}
	if _, err := f.svc.CatalogFor(f.as("t-1", authz.RoleDeviceReadOnly), ann.ID, apps.CatalogFilter{}); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("device read only: %v", err)
	}
}

// TestDeliverPayloads: what each kind of app is installed with, and which cannot be installed by command.
func TestDeliverPayloads(t *testing.T) {
	f := setup(t)
	ctx := f.admin("t-1")
	ann := f.account("t-1", "ann@a.example.com")
	phone := f.device("t-1", ann, mdm.PlatformAndroid)
	iphone := f.device("t-1", ann, mdm.PlatformIOS)
	required := []apps.TargetInput{{Type: "ALL_USERS", Required: true}}
	_, err := f.svc.Create(ctx, apps.AppInput{Platform: str("IOS"), BundleID: str("com.a.store"), Name: str("Store"),
		StoreID: str("12345"), Targets: &required})
	f.must("Create", err)
	_, err = f.svc.Create(ctx, apps.AppInput{Platform: str("IOS"), BundleID: str("com.a.nostore"), Name: str("No store id"), Targets: &required})
	f.must("Create", err)
	v, err := f.svc.CreateInHouse(ctx, apps.AppInput{Targets: &required}, apps.Upload{FileName: "a.apk",
		Body: bytes.NewReader(appstest.APK("com.a.field", "3.1", 31))})
	f.must("CreateInHouse", err)
	installs := f.open(mdm.CmdInstallApp)
	if len(installs) != 2 {
		t.Fatalf("installs %v", installs)
	}
	if p := installs[iphone.ID]["payload"]; p != `{"identifier":"com.a.store","itunesStoreId":"12345"}` {
		t.Errorf("iOS payload %s", p)
	}
	want := fmt.Sprintf(`{"downloadUrl":"https://mdm.example.com/api/agent/v1/apps/%d/file","identifier":"com.a.field","name":"com.a.field","sha256":"%s","version":"3.1"}`,
		v.App.ID, v.App.FileSHA256)
	if p := installs[phone.ID]["payload"]; p != want {
		t.Errorf("Android payload %s\nwant %s", p, want)
	}
	// Deleting the app before the phone fetched its install drops the install and queues the removal.
	f.must("Delete", f.svc.Delete(ctx, v.App.ID))
	if _, ok := f.open(mdm.CmdInstallApp)[phone.ID]; ok {
		t.Error("the unsent install survived the app's deletion")
	}
	if _, ok := f.open(mdm.CmdRemoveApp)[phone.ID]; !ok {
		t.Error("no removal queued")
	}
}

// TestInventoryFreshness: a small fleet's inventory is recomputed before answering whenever its devices
// changed; a large one's answer uses the summary there is, refreshed in the background once it is older
// than the maximum age.
func TestInventoryFreshness(t *testing.T) {
	f := setup(t)
	clock := now
	svc := apps.New(f.store, f.blobs, slog.New(slog.NewTextHandler(io.Discard, nil)), apps.WithClock(func() time.Time { return clock }),
		apps.WithSmallFleet(1), apps.WithInventoryMaxAge(time.Minute))
	ctx := f.admin("t-1")
	ann := f.account("t-1", "ann@a.example.com")
	d1, d2 := f.device("t-1", ann, mdm.PlatformAndroid), f.device("t-1", ann, mdm.PlatformAndroid)
	report := func(d *mdm.Device, at time.Time, ids ...string) {
		var list []mdm.InstalledApp
		for _, id := range ids {
			list = append(list, mdm.InstalledApp{AppID: id, Name: id, Version: "1"})
		}
		f.must("SetApps", f.store.Devices().SetApps(f.ctx, "t-1", d.ID, list, []byte(at.String()), at))
	}
	count := func() int {
		p, err := svc.Inventory(ctx, mdm.InventoryQuery{Rows: 10})
		f.must("Inventory", err)
		n := 0
		for _, a := range p.Items {
			n += a.DeviceCount
		}
		return n
	}
	report(d1, now.Add(time.Second), "com.a")
	report(d2, now.Add(time.Second), "com.a")
	if n := count(); n != 2 { // the first read of a large fleet waits for the first refresh
		t.Fatalf("first read: %d installs, want 2", n)
	}
	report(d2, now.Add(2*time.Second), "com.a", "com.b")
	if n := count(); n != 2 {
		t.Errorf("within the maximum age: %d installs, want the 2 of the summary", n)
	}
	clock = now.Add(2 * time.Minute)
	_ = count() // starts the background refresh
	deadline := time.Now().Add(10 * time.Second)
	for count() != 3 {
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never showed the new install")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
