package assign

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	svc   *Service
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
	f := &fixture{t: t, ctx: ctx, store: store, svc: New(store, func() time.Time { return now })}
	for _, id := range []mdm.TenantID{"t-1", "t-2"} {
		tn := mdm.Tenant{ID: id, Name: string(id), State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
		f.must("tenant", store.Tenants().Create(ctx, &tn))
	}
	return f
}

func (f *fixture) must(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

func (f *fixture) account(tenant mdm.TenantID, email string) *mdm.Account {
	a := &mdm.Account{TenantID: tenant, Username: email, Email: email, Enabled: true, CreatedAt: now, ModifiedAt: now}
	f.must("account", f.store.Accounts().Create(f.ctx, a))
	return a
}

func (f *fixture) device(tenant mdm.TenantID, owner *mdm.Account, platform, kind string) *mdm.Device {
	f.n++
	nd := mdm.NewDevice{TenantID: tenant, GUID: fmt.Sprintf("guid-%d", f.n), Platform: platform, Kind: kind,
		Facts: mdm.DeviceFacts{DeviceName: fmt.Sprintf("device %d", f.n), OSVersion: "17"}, CredentialHash: []byte(fmt.Sprintf("cred-%d", f.n))}
	if owner != nil {
		nd.AccountID = owner.ID
	}
	d, err := f.store.Devices().Create(f.ctx, nd, now)
	f.must("device", err)
	return d
}

func (f *fixture) builtIn(tenant mdm.TenantID, name string) mdm.DeviceGroup {
	all, err := f.store.DeviceGroups().All(f.ctx, tenant)
	f.must("All", err)
	for _, g := range all {
		if g.Name == name {
			return g
		}
	}
	f.t.Fatalf("no built-in %s", name)
	return mdm.DeviceGroup{}
}

func (f *fixture) distribute(tenant mdm.TenantID, item int64, ds ...mdm.Distribution) {
	f.t.Helper()
	f.must("distribute", f.store.InTx(f.ctx, func(tx mdm.Stores) error {
		_, err := SetDistribution(f.ctx, tx, tenant, mdm.ItemApp, item, ds)
		return err
	}))
}

func userGroup(id mdm.GroupID, required bool) mdm.Distribution {
	return mdm.Distribution{Target: mdm.TargetUserGroup, TargetID: int64(id), Required: required}
}

func deviceGroup(id mdm.DeviceGroupID, required bool) mdm.Distribution {
	return mdm.Distribution{Target: mdm.TargetDeviceGroup, TargetID: int64(id), Required: required}
}

// TestResolver distributes apps to every kind of target and checks, for each device, the apps that
// reach it (and whether they are required), and that DevicesReached agrees with it for every app.
func TestResolver(t *testing.T) {
	f := setup(t)
	const T = mdm.TenantID("t-1")
	ann := f.account(T, "ann@a.example.com")
	cat := f.account(T, "cat@c.example.com")
	dan := f.account(T, "dan@d.example.com")
	other := f.account("t-2", "olga@o.example.com")

	sales := &mdm.UserGroup{TenantID: T, Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: now, ModifiedAt: now}
	f.must("group", f.store.Groups().Create(f.ctx, sales))
	f.must("members", f.store.Groups().AddMembers(f.ctx, T, sales.ID, []mdm.AccountID{ann.ID}))
	cPeople := &mdm.UserGroup{TenantID: T, Name: "C people", Kind: mdm.DynamicGroup, Rule: "emailAddress=*@c.example.com",
		CreatedAt: now, ModifiedAt: now}
	f.must("group", f.store.Groups().Create(f.ctx, cPeople))

	annPhone := f.device(T, ann, mdm.PlatformAndroid, mdm.KindAndroidPhone)
	catPad := f.device(T, cat, mdm.PlatformIOS, mdm.KindIPad)
	danTV := f.device(T, dan, mdm.PlatformIOS, mdm.KindAppleTV)
	kiosk := f.device(T, dan, mdm.PlatformAndroid, mdm.KindAndroidTablet)
	orphan := f.device(T, nil, mdm.PlatformAndroid, mdm.KindAndroidPhone)
	olgaPhone := f.device("t-2", other, mdm.PlatformAndroid, mdm.KindAndroidPhone)

	kiosks := &mdm.DeviceGroup{TenantID: T, Name: "Kiosks", Kind: mdm.StaticDeviceGroup, CreatedAt: now, ModifiedAt: now}
	f.must("device group", f.store.DeviceGroups().Create(f.ctx, kiosks))
	f.must("device members", f.store.DeviceGroups().AddMembers(f.ctx, T, kiosks.ID, []mdm.DeviceID{kiosk.ID}))
	phones := &mdm.DeviceGroup{TenantID: T, Name: "Android phones", Kind: mdm.DynamicDeviceGroup,
		Rule: "platformType=ANDROID and deviceKind=ANDROID_PHONE", CreatedAt: now, ModifiedAt: now}
	f.must("device group", f.store.DeviceGroups().Create(f.ctx, phones))

	f.distribute(T, 1, userGroup(sales.ID, true))                                                               // owner's static group
	f.distribute(T, 2, userGroup(cPeople.ID, false))                                                            // dynamic user group
	f.distribute(T, 3, mdm.Distribution{Target: mdm.TargetAllUsers}, userGroup(sales.ID, true))                 // all users; required for Sales
	f.distribute(T, 4, deviceGroup(kiosks.ID, true))                                                            // static device group
	f.distribute(T, 5, deviceGroup(f.builtIn(T, "iOS Devices").ID, false))                                      // built-in platform group
	f.distribute(T, 6, deviceGroup(phones.ID, false))                                                           // dynamic device group
	f.distribute(T, 7, deviceGroup(f.builtIn(T, "All Devices").ID, true))                                       // All Devices
	f.distribute(T, 8, deviceGroup(f.builtIn(T, "tvOS Devices").ID, false))                                     // tvOS (also iOS)
	f.distribute("t-2", 9, mdm.Distribution{Target: mdm.TargetAllUsers})                                        // another tenant's
	f.distribute("t-2", 10, deviceGroup(f.builtIn("t-2", "Android Devices").ID, false))                         // another tenant's
	f.distribute(T, 11, userGroup(f.allUsers(T), false), deviceGroup(f.builtIn(T, "Android Devices").ID, true)) // All Users group

	r := f.svc.Resolver()
	type item struct {
		ID       int64
		Required bool
	}
	cases := []struct {
		name   string
		tenant mdm.TenantID
		device *mdm.Device
		want   []item
	}{
		{"ann's Android phone", T, annPhone, []item{{1, true}, {3, true}, {6, false}, {7, true}, {11, true}}},
		{"cat's iPad", T, catPad, []item{{2, false}, {3, false}, {5, false}, {7, true}, {11, false}}},
		{"dan's Apple TV", T, danTV, []item{{3, false}, {5, false}, {7, true}, {8, false}, {11, false}}},
		{"dan's kiosk tablet", T, kiosk, []item{{3, false}, {4, true}, {7, true}, {11, true}}},
		{"a phone without owner", T, orphan, []item{{6, false}, {7, true}, {11, true}}},
		{"another tenant's phone", "t-2", olgaPhone, []item{{9, false}, {10, false}}},
	}
	reached := map[int64][]mdm.DeviceID{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			targets, err := r.TargetsForDevice(f.ctx, tc.tenant, tc.device)
			if err != nil {
				t.Fatal(err)
			}
			eff, err := r.Effective(f.ctx, tc.tenant, mdm.ItemApp, targets)
			if err != nil {
				t.Fatal(err)
			}
			var got []item
			for _, d := range eff {
				got = append(got, item{d.ItemID, d.Required})
				if d.TenantID != tc.tenant || d.ItemKind != mdm.ItemApp {
					t.Errorf("distribution %+v", d)
				}
				reached[d.ItemID] = append(reached[d.ItemID], tc.device.ID)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("effective apps (-want +got):\n%s", d)
			}
			cfg, err := r.Effective(f.ctx, tc.tenant, mdm.ItemConfiguration, targets)
			if err != nil || len(cfg) != 0 {
				t.Errorf("effective configurations = %v, %v; want none", cfg, err)
			}
		})
	}

	// The batch form gives each device the same targets.
	var batch []mdm.Device
	for _, tc := range cases {
		if tc.tenant == T {
			batch = append(batch, *tc.device)
		}
	}
	batch = append(batch, *olgaPhone) // another tenant's device is left out
	many, err := r.TargetsForDevices(f.ctx, T, batch)
	f.must("TargetsForDevices", err)
	if len(many) != len(batch)-1 {
		t.Errorf("TargetsForDevices returned %d devices, want %d", len(many), len(batch)-1)
	}
	for _, d := range batch[:len(batch)-1] {
		one, err := r.TargetsForDevice(f.ctx, T, &d)
		f.must("TargetsForDevice", err)
		if diff := cmp.Diff(one, many[d.ID]); diff != "" {
			t.Errorf("device %d: batch targets differ (-one +batch):\n%s", d.ID, diff)
		}
	}
	effMany, err := r.EffectiveMany(f.ctx, T, mdm.ItemApp, many)
	f.must("EffectiveMany", err)
	for _, d := range batch[:len(batch)-1] {
		one, err := r.Effective(f.ctx, T, mdm.ItemApp, many[d.ID])
		f.must("Effective", err)
		if diff := cmp.Diff(one, effMany[d.ID]); diff != "" {
			t.Errorf("device %d: EffectiveMany differs (-one +many):\n%s", d.ID, diff)
		}
	}

	// DevicesReached, evaluated by the database, agrees with the per-device evaluation above.
	for item := int64(1); item <= 11; item++ {
		tenant := T
		if item == 9 || item == 10 {
			tenant = "t-2"
		}
		ds, err := f.store.Distributions().ForItem(f.ctx, tenant, mdm.ItemApp, item)
		f.must("ForItem", err)
		got, err := r.DevicesReached(f.ctx, tenant, ds)
		f.must("DevicesReached", err)
		want := reached[item]
		slices.Sort(want)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("DevicesReached(app %d) (-want +got):\n%s", item, d)
		}
	}

	// A user's catalog without a device: user targets only.
	targets, err := r.TargetsForUser(f.ctx, T, ann)
	f.must("TargetsForUser", err)
	eff, err := r.Effective(f.ctx, T, mdm.ItemApp, targets)
	f.must("Effective", err)
	var ids []int64
	for _, d := range eff {
		ids = append(ids, d.ItemID)
	}
	if d := cmp.Diff([]int64{1, 3, 11}, ids); d != "" {
		t.Errorf("ann's catalog (-want +got):\n%s", d)
	}
	if _, err := r.TargetsForUser(f.ctx, "t-2", ann); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("TargetsForUser across tenants = %v, want not_found", err)
	}

	// Membership and rule changes move devices without touching the distributions.
	f.must("remove ann", f.store.Groups().RemoveMembers(f.ctx, T, sales.ID, []mdm.AccountID{ann.ID}))
	f.must("add cat", f.store.Groups().AddMembers(f.ctx, T, sales.ID, []mdm.AccountID{cat.ID}))
	ds, err := f.store.Distributions().ForItem(f.ctx, T, mdm.ItemApp, 1)
	f.must("ForItem", err)
	got, err := r.DevicesReached(f.ctx, T, ds)
	f.must("DevicesReached", err)
	if d := cmp.Diff([]mdm.DeviceID{catPad.ID}, got); d != "" {
		t.Errorf("app 1 after moving Sales from ann to cat (-want +got):\n%s", d)
	}
}

func (f *fixture) allUsers(tenant mdm.TenantID) mdm.GroupID {
	p, err := f.store.Groups().List(f.ctx, tenant, mdm.ListOptions{Rows: 1, Filter: mdm.Compare{Field: "kind", Op: mdm.Eq, Value: "ALL_USERS"}})
	f.must("List", err)
	return p.Items[0].ID
}

func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []mdm.Distribution
		want []mdm.Distribution
	}{
		{"none", nil, []mdm.Distribution{}},
		{"required wins", []mdm.Distribution{
			{ItemID: 2, Target: mdm.TargetAllUsers},
			{ItemID: 1, Target: mdm.TargetUserGroup, TargetID: 5},
			{ItemID: 2, Target: mdm.TargetDeviceGroup, TargetID: 7, Required: true},
			{ItemID: 2, Target: mdm.TargetUserGroup, TargetID: 9},
		}, []mdm.Distribution{
			{ItemID: 1, Target: mdm.TargetUserGroup, TargetID: 5},
			{ItemID: 2, Target: mdm.TargetDeviceGroup, TargetID: 7, Required: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, Merge(tc.in)); d != "" {
				t.Errorf("Merge (-want +got):\n%s", d)
			}
		})
	}
}

func admin(tenant mdm.TenantID, roles ...string) context.Context {
	return mdm.WithPrincipal(context.Background(), &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, Username: "admin",
		TenantID: tenant, Roles: roles})
}

func TestDeviceGroupService(t *testing.T) {
	f := setup(t)
	ctx := admin("t-1", authz.RoleDeviceManagement)
	gen := func() int64 {
		g, err := f.store.Generations().Get(f.ctx, "t-1")
		f.must("generation", err)
		return g
	}
	str := func(s string) *string { return &s }

	// Validation.
	for _, tc := range []struct {
		name  string
		in    DeviceGroupInput
		field string
	}{
		{"no name", DeviceGroupInput{}, "name"},
		{"blank name", DeviceGroupInput{Name: str("  ")}, "name"},
		{"bad kind", DeviceGroupInput{Name: str("x"), Kind: str("ALL_DEVICES")}, "kind"},
		{"dynamic without rule", DeviceGroupInput{Name: str("x"), Kind: str("DYNAMIC")}, "rule"},
		{"bad rule", DeviceGroupInput{Name: str("x"), Kind: str("DYNAMIC"), Rule: str("color=red")}, "rule"},
		{"static with rule", DeviceGroupInput{Name: str("x"), Rule: str("platformType=IOS")}, "rule"},
	} {
		_, err := f.svc.CreateDeviceGroup(ctx, tc.in)
		var e *mdm.Error
		if !mdm.IsCode(err, mdm.Invalid) || !asError(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if gen() != 0 {
		t.Errorf("refused creates bumped the generation")
	}
	g, err := f.svc.CreateDeviceGroup(ctx, DeviceGroupInput{Name: str(" Pads "), Kind: str("dynamic"), Rule: str("deviceKind=IPAD")})
	f.must("create", err)
	if g.Name != "Pads" || g.Kind != mdm.DynamicDeviceGroup || g.BuiltIn || gen() != 1 {
		t.Errorf("created %+v, generation %d", g, gen())
	}
	_, err = f.svc.CreateDeviceGroup(ctx, DeviceGroupInput{Name: str("pads")})
	if !mdm.IsCode(err, mdm.Conflict) {
		t.Errorf("same name: %v", err)
	}
	// Read Only may read, not change.
	ro := admin("t-1", authz.RoleDeviceReadOnly)
	if _, err := f.svc.GetDeviceGroup(ro, g.ID); err != nil {
		t.Errorf("read only Get: %v", err)
	}
	if _, err := f.svc.CreateDeviceGroup(ro, DeviceGroupInput{Name: str("x")}); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("read only Create: %v", err)
	}
	if _, err := f.svc.ListDeviceGroups(admin("t-1", authz.RoleAppContentManagement), mdm.ListOptions{Rows: 10}); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("app admin lists device groups: %v", err)
	}
	// Another tenant sees nothing.
	if _, err := f.svc.GetDeviceGroup(admin("t-2", authz.RoleDeviceManagement), g.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("Get from t-2: %v", err)
	}

	// Built-ins can be neither changed nor deleted.
	ios := f.builtIn("t-1", "iOS Devices")
	if _, err := f.svc.UpdateDeviceGroup(ctx, ios.ID, DeviceGroupInput{Name: str("Apple")}); !mdm.IsCode(err, mdm.Conflict) {
		t.Errorf("update built-in: %v", err)
	}
	if err := f.svc.DeleteDeviceGroup(ctx, ios.ID); !mdm.IsCode(err, mdm.Conflict) {
		t.Errorf("delete built-in: %v", err)
	}

	// Update: the rule bumps, a rename alone does not.
	before := gen()
	if _, err := f.svc.UpdateDeviceGroup(ctx, g.ID, DeviceGroupInput{Name: str("Tablets")}); err != nil || gen() != before {
		t.Errorf("rename: %v, generation %d -> %d", err, before, gen())
	}
	if _, err := f.svc.UpdateDeviceGroup(ctx, g.ID, DeviceGroupInput{Rule: str("deviceKind=IPAD or deviceKind=ANDROID_TABLET")}); err != nil || gen() != before+1 {
		t.Errorf("new rule: %v, generation %d -> %d", err, before, gen())
	}
	if _, err := f.svc.UpdateDeviceGroup(ctx, g.ID, DeviceGroupInput{Kind: str("STATIC")}); !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("change kind: %v", err)
	}

	// Members: static only; dynamic lists its matches.
	owner := f.account("t-1", "ann@a.example.com")
	pad := f.device("t-1", owner, mdm.PlatformIOS, mdm.KindIPad)
	f.device("t-1", owner, mdm.PlatformAndroid, mdm.KindAndroidPhone)
	if err := f.svc.ChangeDeviceGroupMembers(ctx, g.ID, []mdm.DeviceID{pad.ID}, true); !mdm.IsCode(err, mdm.Conflict) {
		t.Errorf("add to dynamic: %v", err)
	}
	p, err := f.svc.DeviceGroupMembers(ro, g.ID, mdm.ListOptions{Rows: 10})
	f.must("members", err)
	if p.TotalCount != 1 || p.Items[0].ID != pad.ID {
		t.Errorf("dynamic members = %+v", p.Items)
	}
	p, err = f.svc.DeviceGroupMembers(ro, f.builtIn("t-1", "All Devices").ID, mdm.ListOptions{Rows: 10})
	f.must("members", err)
	if p.TotalCount != 2 {
		t.Errorf("All Devices has %d members, want 2", p.TotalCount)
	}
	st, err := f.svc.CreateDeviceGroup(ctx, DeviceGroupInput{Name: str("Hand picked")})
	f.must("create static", err)
	before = gen()
	f.must("add", f.svc.ChangeDeviceGroupMembers(ctx, st.ID, []mdm.DeviceID{pad.ID, pad.ID}, true))
	if gen() != before+1 {
		t.Errorf("adding members did not bump the generation")
	}
	if err := f.svc.ChangeDeviceGroupMembers(ctx, st.ID, nil, true); !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("no devices: %v", err)
	}
	p, err = f.svc.DeviceGroupMembers(ro, st.ID, mdm.ListOptions{Rows: 10})
	f.must("members", err)
	if p.TotalCount != 1 {
		t.Errorf("static members = %+v", p.Items)
	}

	// Delete takes the group's distributions with it, in one transaction with the audit row.
	f.distribute("t-1", 1, deviceGroup(st.ID, true))
	before = gen()
	f.must("delete", f.svc.DeleteDeviceGroup(ctx, st.ID))
	ds, err := f.store.Distributions().ForItem(f.ctx, "t-1", mdm.ItemApp, 1)
	f.must("ForItem", err)
	if len(ds) != 0 || gen() != before+1 {
		t.Errorf("after delete: distributions %+v, generation %d -> %d", ds, before, gen())
	}
	audit, err := f.store.Audit().List(f.ctx, "t-1", mdm.ListOptions{Rows: 50})
	f.must("audit", err)
	var actions []string
	for _, r := range audit.Items {
		actions = append(actions, r.Action)
	}
	for _, want := range []string{"devicegroup.create", "devicegroup.update", "devicegroup.add_members", "devicegroup.delete"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit has no %s: %v", want, actions)
		}
	}
}

func asError(err error, target **mdm.Error) bool {
	e, ok := err.(*mdm.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestSetDistributionChecksTargets(t *testing.T) {
	f := setup(t)
	other := &mdm.UserGroup{TenantID: "t-2", Name: "Other", Kind: mdm.StaticGroup, CreatedAt: now, ModifiedAt: now}
	f.must("group", f.store.Groups().Create(f.ctx, other))
	err := f.store.InTx(f.ctx, func(tx mdm.Stores) error {
		_, err := SetDistribution(f.ctx, tx, "t-1", mdm.ItemApp, 1, []mdm.Distribution{
			{Target: mdm.TargetAllUsers, TargetID: 4},
			{Target: mdm.TargetUserGroup, TargetID: int64(other.ID)},
			{Target: mdm.TargetDeviceGroup, TargetID: 424242},
			{Target: "NOBODY"},
			{Target: mdm.TargetUserGroup, TargetID: int64(other.ID)},
		})
		return err
	})
	var e *mdm.Error
	if !asError(err, &e) || e.Code != mdm.Invalid {
		t.Fatalf("SetDistribution = %v, want invalid", err)
	}
	var fields []string
	for _, fe := range e.Fields {
		fields = append(fields, fe.Field+":"+fe.Code)
	}
	want := []string{"targets[0].id:NotAllowed", "targets[1].id:NotFound", "targets[2].id:NotFound", "targets[3].type:Enum",
		"targets[4].id:Duplicate", "targets[4].id:NotFound"}
	if d := cmp.Diff(want, fields); d != "" {
		t.Errorf("field errors (-want +got):\n%s", d)
	}
	if g, _ := f.store.Generations().Get(f.ctx, "t-1"); g != 0 {
		t.Errorf("a refused distribution bumped the generation to %d", g)
	}
	// DeleteItem returns the old distributions and bumps.
	f.distribute("t-1", 1, mdm.Distribution{Target: mdm.TargetAllUsers, Required: true})
	var old []mdm.Distribution
	f.must("DeleteItem", f.store.InTx(f.ctx, func(tx mdm.Stores) error {
		var err error
		old, err = DeleteItem(f.ctx, tx, "t-1", mdm.ItemApp, 1)
		return err
	}))
	if len(old) != 1 || !old[0].Required {
		t.Errorf("DeleteItem returned %+v", old)
	}
	if g, _ := f.store.Generations().Get(f.ctx, "t-1"); g != 2 {
		t.Errorf("generation = %d, want 2 (set, delete)", g)
	}
}

func TestCategoryService(t *testing.T) {
	f := setup(t)
	ctx := admin("t-1", authz.RoleAppContentManagement)
	str := func(s string) *string { return &s }
	c, err := f.svc.CreateCategory(ctx, CategoryInput{Name: str("Games"), Kind: str("app")})
	f.must("create", err)
	if c.Kind != mdm.ItemApp {
		t.Errorf("kind = %s", c.Kind)
	}
	if _, err := f.svc.CreateCategory(ctx, CategoryInput{Name: str("GAMES"), Kind: str("APP")}); !mdm.IsCode(err, mdm.Conflict) {
		t.Errorf("same name: %v", err)
	}
	if _, err := f.svc.CreateCategory(ctx, CategoryInput{Name: str("GAMES"), Kind: str("CONTENT")}); err != nil {
		t.Errorf("same name for content: %v", err)
	}
	if _, err := f.svc.CreateCategory(ctx, CategoryInput{Name: str("x"), Kind: str("CONFIGURATION")}); !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("configuration category: %v", err)
	}
	ro := admin("t-1", authz.RoleAppContentReadOnly)
	if p, err := f.svc.ListCategories(ro, mdm.ItemApp, mdm.ListOptions{Rows: 10}); err != nil || p.TotalCount != 1 {
		t.Errorf("list: %+v, %v", p, err)
	}
	if _, err := f.svc.UpdateCategory(ro, c.ID, CategoryInput{Name: str("x")}); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("read only update: %v", err)
	}
	if _, err := f.svc.ListCategories(admin("t-1", authz.RoleDeviceManagement), mdm.ItemApp, mdm.ListOptions{Rows: 10}); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("device admin lists categories: %v", err)
	}
	if _, err := f.svc.UpdateCategory(ctx, c.ID, CategoryInput{Kind: str("CONTENT"), Name: str("x")}); !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("change kind: %v", err)
	}
	if u, err := f.svc.UpdateCategory(ctx, c.ID, CategoryInput{Name: str("Fun")}); err != nil || u.Name != "Fun" {
		t.Errorf("rename: %+v, %v", u, err)
	}
	if err := f.svc.DeleteCategory(admin("t-2", authz.RoleAppContentManagement), c.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("delete from t-2: %v", err)
	}
	f.must("delete", f.svc.DeleteCategory(ctx, c.ID))
}

// TestDeviceRulesAgree checks that a dynamic device group's rule picks the same devices whether the
// resolver evaluates it in memory for one device (TargetsForDevice) or the database evaluates it for
// the tenant (DevicesReached).
func TestDeviceRulesAgree(t *testing.T) {
	f := setup(t)
	const T = mdm.TenantID("t-1")
	ann := f.account(T, "ann@a.example.com")
	bob := f.account(T, "Bob@B.example.com")
	devices := []*mdm.Device{
		f.device(T, ann, mdm.PlatformAndroid, mdm.KindAndroidPhone),
		f.device(T, ann, mdm.PlatformIOS, mdm.KindIPad),
		f.device(T, bob, mdm.PlatformIOS, mdm.KindAppleTV),
		f.device(T, nil, mdm.PlatformAndroid, mdm.KindAndroidTablet),
	}
	facts := mdm.DeviceFacts{DeviceName: "Lobby kiosk", OSVersion: "14", Model: "SM-X710", Manufacturer: "samsung",
		SerialNumber: "R5CR1", Jailbroken: true}
	f.must("SetFacts", f.store.Devices().SetFacts(f.ctx, T, devices[3].ID, mdm.KindAndroidTablet, facts, []byte("h"), now))
	rules := []string{
		"platformType=IOS", "deviceKind!=APPLE_TV", "platformVersion>=15", "platformVersion<15", "manufacturer=SAMSUNG",
		"deviceName=*kiosk", "jailbroken=true", "not jailbroken=true", "emailAddress=ann@*", "emailAddress!=ann@a.example.com",
		"uid=bob@b.example.com", "not uid=bob@b.example.com", "ownerId>0", "serialNumber=r5cr*", "lastCheckin=0",
		"registrationState=ACTIVE and (platformType=ANDROID or deviceKind=IPAD)", "id>" + fmt.Sprint(devices[1].ID),
		"complianceState=true and quarantined=false", "policyViolationCount<1", "createdAt>0",
	}
	r := f.svc.Resolver()
	for i, rule := range rules {
		g := &mdm.DeviceGroup{TenantID: T, Name: fmt.Sprintf("rule %d", i), Kind: mdm.DynamicDeviceGroup, Rule: rule,
			CreatedAt: now, ModifiedAt: now}
		f.must("create", f.store.DeviceGroups().Create(f.ctx, g))
		var inMemory []mdm.DeviceID
		for _, d := range devices {
			d, err := f.store.Devices().Get(f.ctx, T, d.ID)
			f.must("Get", err)
			targets, err := r.TargetsForDevice(f.ctx, T, d)
			f.must("TargetsForDevice", err)
			if slices.Contains(targets.DeviceGroups, g.ID) {
				inMemory = append(inMemory, d.ID)
			}
		}
		inSQL, err := r.DevicesReached(f.ctx, T, []mdm.Distribution{deviceGroup(g.ID, false)})
		f.must("DevicesReached", err)
		if d := cmp.Diff(inMemory, inSQL); d != "" {
			t.Errorf("rule %q: in memory (-) and in SQL (+) differ:\n%s", rule, d)
		}
	}
}
