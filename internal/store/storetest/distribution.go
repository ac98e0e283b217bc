package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

var distributionTests = []test{
	{"DeviceGroups", testDeviceGroups},
	{"DeviceGroupMembers", testDeviceGroupMembers},
	{"Distributions", testDistributions},
	{"DevicesReached", testDevicesReached},
	{"Generations", testGenerations},
	{"Categories", testCategories},
	{"ItemCategories", testItemCategories},
}

func deviceGroupNames(gs []mdm.DeviceGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func testDeviceGroups(t *testing.T, f *fixture) {
	dg := f.s.DeviceGroups()
	// Every tenant starts with the built-in groups, and ensuring them again changes nothing.
	for _, tn := range []mdm.TenantID{f.A.ID, f.B.ID} {
		must(t, "EnsureBuiltIns again", dg.EnsureBuiltIns(f.ctx, tn, f.now))
		all, err := dg.All(f.ctx, tn)
		must(t, "All", err)
		if d := diff([]string{"All Devices", "iOS Devices", "Android Devices", "tvOS Devices"}, deviceGroupNames(all)); d != "" {
			t.Errorf("tenant %s built-ins (-want +got):\n%s", tn, d)
		}
		for _, g := range all {
			if !g.BuiltIn || g.TenantID != tn {
				t.Errorf("built-in %+v", g)
			}
		}
		if all[0].Kind != mdm.AllDevicesGroup || all[1].Rule != "platformType=IOS" {
			t.Errorf("built-ins = %+v", all)
		}
	}
	g := &mdm.DeviceGroup{TenantID: f.A.ID, Name: "Kiosks", Description: "lobby", Kind: mdm.StaticDeviceGroup,
		CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create", dg.Create(f.ctx, g))
	if g.ID == 0 {
		t.Fatal("Create set no id")
	}
	wantCode(t, "same name other case", dg.Create(f.ctx, &mdm.DeviceGroup{TenantID: f.A.ID, Name: "KIOSKS",
		Kind: mdm.StaticDeviceGroup, CreatedAt: f.now, ModifiedAt: f.now}), mdm.Conflict)
	must(t, "same name in B", dg.Create(f.ctx, &mdm.DeviceGroup{TenantID: f.B.ID, Name: "Kiosks",
		Kind: mdm.StaticDeviceGroup, CreatedAt: f.now, ModifiedAt: f.now}))
	wantCode(t, "unknown tenant", dg.Create(f.ctx, &mdm.DeviceGroup{TenantID: newTenantID(t), Name: "X",
		Kind: mdm.StaticDeviceGroup, CreatedAt: f.now, ModifiedAt: f.now}), mdm.NotFound)

	got, err := dg.Get(f.ctx, f.A.ID, g.ID)
	must(t, "Get", err)
	if d := diff(*g, *got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	wantUTC(t, "Get", got.CreatedAt, got.ModifiedAt)
	_, err = dg.Get(f.ctx, f.B.ID, g.ID)
	wantCode(t, "Get through B", err, mdm.NotFound)

	rule := "deviceKind=IPAD"
	dyn := &mdm.DeviceGroup{TenantID: f.A.ID, Name: "iPads", Kind: mdm.DynamicDeviceGroup, Rule: rule, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create dynamic", dg.Create(f.ctx, dyn))

	// List: filter, sort, search, tenant-scoped.
	p, err := dg.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 50, Filter: mdm.Compare{Field: "builtIn", Op: mdm.Eq, Value: false},
		Sort: []mdm.SortField{{Field: "name"}}})
	must(t, "List", err)
	if d := diff([]string{"iPads", "Kiosks"}, deviceGroupNames(p.Items)); d != "" || p.TotalCount != 2 {
		t.Errorf("List non-built-in (total %d) (-want +got):\n%s", p.TotalCount, d)
	}
	p, err = dg.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 50, Query: "lobby"})
	must(t, "List q", err)
	if d := diff([]string{"Kiosks"}, deviceGroupNames(p.Items)); d != "" {
		t.Errorf("List q=lobby (-want +got):\n%s", d)
	}
	p, err = dg.List(f.ctx, f.B.ID, mdm.ListOptions{Rows: 50})
	must(t, "List B", err)
	if p.TotalCount != 5 {
		t.Errorf("B lists %d groups, want its 4 built-ins and its Kiosks", p.TotalCount)
	}

	// Update.
	name, desc := "Lobby kiosks", "ground floor"
	upd, err := dg.Update(f.ctx, f.A.ID, g.ID, mdm.DeviceGroupPatch{Name: &name, Description: &desc}, f.now.Add(time.Minute))
	must(t, "Update", err)
	if upd.Name != name || upd.Description != desc || !upd.ModifiedAt.Equal(f.now.Add(time.Minute)) || !upd.CreatedAt.Equal(f.now) {
		t.Errorf("Update = %+v", upd)
	}
	taken := "ipads"
	_, err = dg.Update(f.ctx, f.A.ID, g.ID, mdm.DeviceGroupPatch{Name: &taken}, f.now)
	wantCode(t, "Update to a taken name", err, mdm.Conflict)
	_, err = dg.Update(f.ctx, f.B.ID, g.ID, mdm.DeviceGroupPatch{Name: &name}, f.now)
	wantCode(t, "Update through B", err, mdm.NotFound)
	newRule := "deviceKind=IPAD_MINI"
	upd, err = dg.Update(f.ctx, f.A.ID, dyn.ID, mdm.DeviceGroupPatch{Rule: &newRule}, f.now)
	must(t, "Update rule", err)
	if upd.Rule != newRule {
		t.Errorf("rule = %q", upd.Rule)
	}

	// Delete also removes the distributions naming the group.
	must(t, "Replace", f.s.Distributions().Replace(f.ctx, f.A.ID, mdm.ItemApp, 7, []mdm.Distribution{
		{Target: mdm.TargetDeviceGroup, TargetID: int64(g.ID)}, {Target: mdm.TargetAllUsers}}))
	wantCode(t, "Delete through B", dg.Delete(f.ctx, f.B.ID, g.ID), mdm.NotFound)
	must(t, "Delete", dg.Delete(f.ctx, f.A.ID, g.ID))
	_, err = dg.Get(f.ctx, f.A.ID, g.ID)
	wantCode(t, "Get deleted", err, mdm.NotFound)
	wantCode(t, "Delete again", dg.Delete(f.ctx, f.A.ID, g.ID), mdm.NotFound)
	ds, err := f.s.Distributions().ForItem(f.ctx, f.A.ID, mdm.ItemApp, 7)
	must(t, "ForItem", err)
	if len(ds) != 1 || ds[0].Target != mdm.TargetAllUsers {
		t.Errorf("after deleting the group, the item's distributions are %+v, want ALL_USERS only", ds)
	}
}

func testDeviceGroupMembers(t *testing.T, f *fixture) {
	dg := f.s.DeviceGroups()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	db, _ := f.device(t, bob, 3)
	g := &mdm.DeviceGroup{TenantID: f.A.ID, Name: "Kiosks", Kind: mdm.StaticDeviceGroup, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create", dg.Create(f.ctx, g))
	dyn := &mdm.DeviceGroup{TenantID: f.A.ID, Name: "Dyn", Kind: mdm.DynamicDeviceGroup, Rule: "platformType=IOS",
		CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create dynamic", dg.Create(f.ctx, dyn))

	// All or nothing: B's device is unknown in A.
	wantCode(t, "add B's device", dg.AddMembers(f.ctx, f.A.ID, g.ID, []mdm.DeviceID{d1.ID, db.ID}), mdm.NotFound)
	static, err := dg.StaticGroupsOf(f.ctx, f.A.ID, d1.ID)
	must(t, "StaticGroupsOf", err)
	if len(static) != 0 {
		t.Errorf("a refused AddMembers added d1: %v", static)
	}
	wantCode(t, "add to a dynamic group", dg.AddMembers(f.ctx, f.A.ID, dyn.ID, []mdm.DeviceID{d1.ID}), mdm.Conflict)
	wantCode(t, "add through B", dg.AddMembers(f.ctx, f.B.ID, g.ID, []mdm.DeviceID{db.ID}), mdm.NotFound)
	must(t, "AddMembers", dg.AddMembers(f.ctx, f.A.ID, g.ID, []mdm.DeviceID{d1.ID, d2.ID, d1.ID}))
	must(t, "AddMembers again", dg.AddMembers(f.ctx, f.A.ID, g.ID, []mdm.DeviceID{d1.ID}))
	static, err = dg.StaticGroupsOf(f.ctx, f.A.ID, d1.ID)
	must(t, "StaticGroupsOf", err)
	if d := diff([]mdm.DeviceGroupID{g.ID}, static); d != "" {
		t.Errorf("StaticGroupsOf (-want +got):\n%s", d)
	}
	static, err = dg.StaticGroupsOf(f.ctx, f.B.ID, d1.ID)
	must(t, "StaticGroupsOf through B", err)
	if len(static) != 0 {
		t.Errorf("B sees A's memberships: %v", static)
	}
	many, err := dg.StaticGroupsOfMany(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID, db.ID})
	must(t, "StaticGroupsOfMany", err)
	if d := diff(map[mdm.DeviceID][]mdm.DeviceGroupID{d1.ID: {g.ID}, d2.ID: {g.ID}}, many); d != "" {
		t.Errorf("StaticGroupsOfMany (-want +got):\n%s", d)
	}
	many, err = dg.StaticGroupsOfMany(f.ctx, f.B.ID, []mdm.DeviceID{d1.ID, d2.ID})
	must(t, "StaticGroupsOfMany through B", err)
	if len(many) != 0 {
		t.Errorf("B sees A's memberships: %v", many)
	}
	p, err := dg.Members(f.ctx, f.A.ID, g.ID, mdm.ListOptions{Rows: 10})
	must(t, "Members", err)
	if p.TotalCount != 2 || p.Items[0].ID != d1.ID || p.Items[1].ID != d2.ID || p.Items[0].OwnerEmail != ann.Email {
		t.Errorf("Members = %+v", p)
	}
	p, err = dg.Members(f.ctx, f.A.ID, g.ID, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "id", Op: mdm.Eq, Value: int64(d2.ID)}})
	must(t, "Members filtered", err)
	if p.TotalCount != 1 {
		t.Errorf("Members filtered = %+v", p)
	}
	_, err = dg.Members(f.ctx, f.B.ID, g.ID, mdm.ListOptions{Rows: 10})
	wantCode(t, "Members through B", err, mdm.NotFound)

	must(t, "RemoveMembers", dg.RemoveMembers(f.ctx, f.A.ID, g.ID, []mdm.DeviceID{d1.ID}))
	wantCode(t, "RemoveMembers through B", dg.RemoveMembers(f.ctx, f.B.ID, g.ID, []mdm.DeviceID{d2.ID}), mdm.NotFound)
	// Deleting a device removes its memberships.
	_, err = f.s.Devices().Delete(f.ctx, f.A.ID, []mdm.DeviceID{d2.ID})
	must(t, "Delete device", err)
	p, err = dg.Members(f.ctx, f.A.ID, g.ID, mdm.ListOptions{Rows: 10})
	must(t, "Members", err)
	if p.TotalCount != 0 {
		t.Errorf("Members after removing d1 and deleting d2 = %+v", p.Items)
	}
}

func testDistributions(t *testing.T, f *fixture) {
	ds := f.s.Distributions()
	static := &mdm.UserGroup{TenantID: f.A.ID, Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create user group", f.s.Groups().Create(f.ctx, static))
	bGroup := &mdm.UserGroup{TenantID: f.B.ID, Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create B user group", f.s.Groups().Create(f.ctx, bGroup))
	dgs, err := f.s.DeviceGroups().All(f.ctx, f.A.ID)
	must(t, "All", err)
	ios := dgs[1]

	want := []mdm.Distribution{
		{TenantID: f.A.ID, ItemKind: mdm.ItemApp, ItemID: 1, Target: mdm.TargetAllUsers},
		{TenantID: f.A.ID, ItemKind: mdm.ItemApp, ItemID: 1, Target: mdm.TargetDeviceGroup, TargetID: int64(ios.ID), Required: true},
		{TenantID: f.A.ID, ItemKind: mdm.ItemApp, ItemID: 1, Target: mdm.TargetUserGroup, TargetID: int64(static.ID)},
	}
	must(t, "Replace", ds.Replace(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.Distribution{
		{Target: mdm.TargetUserGroup, TargetID: int64(static.ID), Required: true},
		{Target: mdm.TargetDeviceGroup, TargetID: int64(ios.ID), Required: true},
		{Target: mdm.TargetAllUsers},
		{Target: mdm.TargetUserGroup, TargetID: int64(static.ID)}, // a later duplicate wins
	}))
	got, err := ds.ForItem(f.ctx, f.A.ID, mdm.ItemApp, 1)
	must(t, "ForItem", err)
	if d := diff(want, got); d != "" {
		t.Errorf("ForItem (-want +got):\n%s", d)
	}
	// The same item id of another kind, and of another tenant, are other items.
	must(t, "Replace content", ds.Replace(f.ctx, f.A.ID, mdm.ItemContent, 1, []mdm.Distribution{{Target: mdm.TargetAllUsers}}))
	must(t, "Replace B", ds.Replace(f.ctx, f.B.ID, mdm.ItemApp, 1, []mdm.Distribution{{Target: mdm.TargetUserGroup, TargetID: int64(bGroup.ID)}}))
	got, err = ds.ForItem(f.ctx, f.A.ID, mdm.ItemApp, 1)
	must(t, "ForItem", err)
	if d := diff(want, got); d != "" {
		t.Errorf("ForItem after other items (-want +got):\n%s", d)
	}

	// Targets unknown in the tenant change nothing.
	wantCode(t, "B's user group", ds.Replace(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.Distribution{{Target: mdm.TargetUserGroup,
		TargetID: int64(bGroup.ID)}}), mdm.NotFound)
	wantCode(t, "unknown device group", ds.Replace(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.Distribution{{Target: mdm.TargetDeviceGroup,
		TargetID: 999999}}), mdm.NotFound)
	wantCode(t, "ALL_USERS with an id", ds.Replace(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.Distribution{{Target: mdm.TargetAllUsers,
		TargetID: 3}}), mdm.Invalid)
	wantCode(t, "unknown kind", ds.Replace(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.Distribution{{Target: "EVERYONE"}}), mdm.Invalid)
	got, err = ds.ForItem(f.ctx, f.A.ID, mdm.ItemApp, 1)
	must(t, "ForItem", err)
	if d := diff(want, got); d != "" {
		t.Errorf("ForItem after refused replaces (-want +got):\n%s", d)
	}

	must(t, "Replace app 2", ds.Replace(f.ctx, f.A.ID, mdm.ItemApp, 2, []mdm.Distribution{{Target: mdm.TargetDeviceGroup, TargetID: int64(ios.ID)}}))
	byItem, err := ds.ForItems(f.ctx, f.A.ID, mdm.ItemApp, []int64{1, 2, 3})
	must(t, "ForItems", err)
	if len(byItem) != 2 || len(byItem[1]) != 3 || len(byItem[2]) != 1 {
		t.Errorf("ForItems = %+v", byItem)
	}

	// Reaching.
	reach, err := ds.Reaching(f.ctx, f.A.ID, mdm.ItemApp, mdm.Targets{UserGroups: []mdm.GroupID{static.ID}})
	must(t, "Reaching", err)
	if len(reach) != 1 || reach[0].ItemID != 1 || reach[0].Target != mdm.TargetUserGroup {
		t.Errorf("Reaching(Sales) = %+v", reach)
	}
	reach, err = ds.Reaching(f.ctx, f.A.ID, mdm.ItemApp, mdm.Targets{AllUsers: true, DeviceGroups: []mdm.DeviceGroupID{ios.ID}})
	must(t, "Reaching", err)
	if len(reach) != 3 || reach[0].ItemID != 1 || reach[2].ItemID != 2 {
		t.Errorf("Reaching(all users, iOS) = %+v", reach)
	}
	reach, err = ds.Reaching(f.ctx, f.A.ID, mdm.ItemConfiguration, mdm.Targets{AllUsers: true, DeviceGroups: []mdm.DeviceGroupID{ios.ID}})
	must(t, "Reaching configurations", err)
	if len(reach) != 0 {
		t.Errorf("Reaching configurations = %+v", reach)
	}
	reach, err = ds.Reaching(f.ctx, f.B.ID, mdm.ItemApp, mdm.Targets{AllUsers: true, UserGroups: []mdm.GroupID{static.ID}})
	must(t, "Reaching B", err)
	if len(reach) != 0 {
		t.Errorf("B reaches A's distributions: %+v", reach)
	}

	// ForTarget, DeleteForTarget, DeleteForItem.
	byTarget, err := ds.ForTarget(f.ctx, f.A.ID, mdm.TargetDeviceGroup, int64(ios.ID))
	must(t, "ForTarget", err)
	if len(byTarget) != 2 {
		t.Errorf("ForTarget(iOS) = %+v", byTarget)
	}
	must(t, "DeleteForItem", ds.DeleteForItem(f.ctx, f.A.ID, mdm.ItemApp, 2))
	got, err = ds.ForItem(f.ctx, f.A.ID, mdm.ItemApp, 2)
	must(t, "ForItem", err)
	if len(got) != 0 {
		t.Errorf("after DeleteForItem: %+v", got)
	}
	n, err := ds.DeleteForTarget(f.ctx, f.B.ID, mdm.TargetUserGroup, int64(static.ID))
	must(t, "DeleteForTarget through B", err)
	if n != 0 {
		t.Errorf("B deleted %d of A's distributions", n)
	}
	// Deleting the user group removes its distributions.
	must(t, "Delete group", f.s.Groups().Delete(f.ctx, f.A.ID, static.ID))
	got, err = ds.ForItem(f.ctx, f.A.ID, mdm.ItemApp, 1)
	must(t, "ForItem", err)
	if len(got) != 2 || got[0].Target != mdm.TargetAllUsers || got[1].Target != mdm.TargetDeviceGroup {
		t.Errorf("after deleting the user group: %+v", got)
	}
	got, err = ds.ForItem(f.ctx, f.B.ID, mdm.ItemApp, 1)
	must(t, "ForItem B", err)
	if len(got) != 1 {
		t.Errorf("B's distributions = %+v", got)
	}
	must(t, "Replace with none", ds.Replace(f.ctx, f.A.ID, mdm.ItemApp, 1, nil))
	got, err = ds.ForItem(f.ctx, f.A.ID, mdm.ItemApp, 1)
	must(t, "ForItem", err)
	if len(got) != 0 {
		t.Errorf("after Replace with none: %+v", got)
	}
}

func testDevicesReached(t *testing.T, f *fixture) {
	ds := f.s.Distributions()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	cat := f.account(t, f.A.ID, "cat@c.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	annPhone, _ := f.device(t, ann, 1)
	nd := newDevice(t, cat, 2)
	nd.Platform, nd.Kind = mdm.PlatformIOS, mdm.KindIPad
	catPad, err := f.s.Devices().Create(f.ctx, nd, f.now)
	must(t, "Create iPad", err)
	dan := f.account(t, f.A.ID, "dan@d.example.com")
	orphan, _ := f.device(t, dan, 3)
	must(t, "ClearAccount", f.s.Devices().ClearAccount(f.ctx, f.A.ID, []mdm.AccountID{dan.ID}))
	catPhone, _ := f.device(t, cat, 4)
	retired, _ := f.device(t, ann, 5)
	_, err = f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{retired.ID}, []string{mdm.StateActive}, mdm.StateRetired, f.now)
	must(t, "SetState", err)
	bobPhone, _ := f.device(t, bob, 6)

	sales := &mdm.UserGroup{TenantID: f.A.ID, Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create group", f.s.Groups().Create(f.ctx, sales))
	must(t, "AddMembers", f.s.Groups().AddMembers(f.ctx, f.A.ID, sales.ID, []mdm.AccountID{ann.ID}))
	kiosks := &mdm.DeviceGroup{TenantID: f.A.ID, Name: "Kiosks", Kind: mdm.StaticDeviceGroup, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create device group", f.s.DeviceGroups().Create(f.ctx, kiosks))
	must(t, "AddMembers", f.s.DeviceGroups().AddMembers(f.ctx, f.A.ID, kiosks.ID, []mdm.DeviceID{orphan.ID}))

	cmp := func(field string, v any) mdm.Filter { return mdm.Compare{Field: field, Op: mdm.Eq, Value: v} }
	all := []mdm.DeviceID{annPhone.ID, catPad.ID, orphan.ID, catPhone.ID}
	for _, tc := range []struct {
		name string
		r    mdm.Reach
		want []mdm.DeviceID
	}{
		{"nothing", mdm.Reach{}, nil},
		{"all devices (active only)", mdm.Reach{AllDevices: true}, all},
		{"all users: devices with an owner", mdm.Reach{AllUsers: true}, []mdm.DeviceID{annPhone.ID, catPad.ID, catPhone.ID}},
		{"static user group", mdm.Reach{StaticUserGroups: []mdm.GroupID{sales.ID}}, []mdm.DeviceID{annPhone.ID}},
		{"user rule", mdm.Reach{UserRules: []mdm.Filter{cmp("emailAddress", "*@c.example.com")}}, []mdm.DeviceID{catPad.ID, catPhone.ID}},
		{"negated user rule skips devices without owner", mdm.Reach{UserRules: []mdm.Filter{mdm.Not{Term: cmp("UID", "ann@a.example.com")}}},
			[]mdm.DeviceID{catPad.ID, catPhone.ID}},
		{"static device group", mdm.Reach{StaticDeviceGroups: []mdm.DeviceGroupID{kiosks.ID}}, []mdm.DeviceID{orphan.ID}},
		{"device rule", mdm.Reach{DeviceRules: []mdm.Filter{cmp("platformType", "ios")}}, []mdm.DeviceID{catPad.ID}},
		{"union", mdm.Reach{StaticDeviceGroups: []mdm.DeviceGroupID{kiosks.ID}, StaticUserGroups: []mdm.GroupID{sales.ID},
			DeviceRules: []mdm.Filter{cmp("deviceKind", mdm.KindIPad)}}, []mdm.DeviceID{annPhone.ID, catPad.ID, orphan.ID}},
	} {
		got, err := ds.DevicesReached(f.ctx, f.A.ID, tc.r, 0, 100)
		must(t, tc.name, err)
		if d := diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	// Paging by id.
	page1, err := ds.DevicesReached(f.ctx, f.A.ID, mdm.Reach{AllDevices: true}, 0, 2)
	must(t, "page 1", err)
	page2, err := ds.DevicesReached(f.ctx, f.A.ID, mdm.Reach{AllDevices: true}, page1[len(page1)-1], 2)
	must(t, "page 2", err)
	if d := diff(all, append(page1, page2...)); d != "" {
		t.Errorf("pages (-want +got):\n%s", d)
	}
	// B reaches only its own device.
	got, err := ds.DevicesReached(f.ctx, f.B.ID, mdm.Reach{AllDevices: true, StaticDeviceGroups: []mdm.DeviceGroupID{kiosks.ID}}, 0, 100)
	must(t, "B", err)
	if d := diff([]mdm.DeviceID{bobPhone.ID}, got); d != "" {
		t.Errorf("B (-want +got):\n%s", d)
	}
	got, err = ds.DevicesReached(f.ctx, f.B.ID, mdm.Reach{StaticUserGroups: []mdm.GroupID{sales.ID}}, 0, 100)
	must(t, "B", err)
	if len(got) != 0 {
		t.Errorf("B reaches A's group members: %v", got)
	}
}

func testGenerations(t *testing.T, f *fixture) {
	gs := f.s.Generations()
	g, err := gs.Get(f.ctx, f.A.ID)
	must(t, "Get", err)
	if g != 0 {
		t.Errorf("fresh generation = %d, want 0", g)
	}
	for want := int64(1); want <= 3; want++ {
		g, err := gs.Bump(f.ctx, f.A.ID)
		must(t, "Bump", err)
		if g != want {
			t.Errorf("Bump = %d, want %d", g, want)
		}
	}
	g, err = gs.Get(f.ctx, f.B.ID)
	must(t, "Get B", err)
	if g != 0 {
		t.Errorf("B's generation = %d after bumping A's", g)
	}
	// A bump rolled back with its transaction did not happen.
	_ = f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		if _, err := tx.Generations().Bump(f.ctx, f.A.ID); err != nil {
			return err
		}
		return mdm.Errorf(mdm.Conflict, "roll back")
	})
	g, err = gs.Get(f.ctx, f.A.ID)
	must(t, "Get", err)
	if g != 3 {
		t.Errorf("after a rolled-back bump: %d, want 3", g)
	}
	_, err = gs.Bump(f.ctx, "")
	wantCode(t, "Bump without tenant", err, mdm.Internal)
}

func categoryNames(cs []mdm.Category) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func testCategories(t *testing.T, f *fixture) {
	cs := f.s.Categories()
	games := &mdm.Category{TenantID: f.A.ID, Kind: mdm.ItemApp, Name: "Games", Description: "fun", CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create", cs.Create(f.ctx, games))
	wantCode(t, "same name, other case", cs.Create(f.ctx, &mdm.Category{TenantID: f.A.ID, Kind: mdm.ItemApp, Name: "GAMES",
		CreatedAt: f.now, ModifiedAt: f.now}), mdm.Conflict)
	must(t, "same name, content", cs.Create(f.ctx, &mdm.Category{TenantID: f.A.ID, Kind: mdm.ItemContent, Name: "Games",
		CreatedAt: f.now, ModifiedAt: f.now}))
	must(t, "same name, B", cs.Create(f.ctx, &mdm.Category{TenantID: f.B.ID, Kind: mdm.ItemApp, Name: "Games",
		CreatedAt: f.now, ModifiedAt: f.now}))
	must(t, "Create Business", cs.Create(f.ctx, &mdm.Category{TenantID: f.A.ID, Kind: mdm.ItemApp, Name: "Business",
		CreatedAt: f.now, ModifiedAt: f.now}))

	got, err := cs.Get(f.ctx, f.A.ID, games.ID)
	must(t, "Get", err)
	if d := diff(*games, *got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	_, err = cs.Get(f.ctx, f.B.ID, games.ID)
	wantCode(t, "Get through B", err, mdm.NotFound)

	p, err := cs.List(f.ctx, f.A.ID, mdm.ItemApp, mdm.ListOptions{Rows: 10, Sort: []mdm.SortField{{Field: "name"}}})
	must(t, "List", err)
	if d := diff([]string{"Business", "Games"}, categoryNames(p.Items)); d != "" || p.TotalCount != 2 {
		t.Errorf("List APP (-want +got):\n%s", d)
	}
	p, err = cs.List(f.ctx, f.A.ID, mdm.ItemContent, mdm.ListOptions{Rows: 10})
	must(t, "List content", err)
	if p.TotalCount != 1 || p.Items[0].Kind != mdm.ItemContent {
		t.Errorf("List CONTENT = %+v", p.Items)
	}

	name := "Games & Fun"
	upd, err := cs.Update(f.ctx, f.A.ID, games.ID, mdm.CategoryPatch{Name: &name}, f.now.Add(time.Minute))
	must(t, "Update", err)
	if upd.Name != name || upd.Description != "fun" {
		t.Errorf("Update = %+v", upd)
	}
	taken := "business"
	_, err = cs.Update(f.ctx, f.A.ID, games.ID, mdm.CategoryPatch{Name: &taken}, f.now)
	wantCode(t, "Update to a taken name", err, mdm.Conflict)
	_, err = cs.Update(f.ctx, f.B.ID, games.ID, mdm.CategoryPatch{Name: &name}, f.now)
	wantCode(t, "Update through B", err, mdm.NotFound)
	wantCode(t, "Delete through B", cs.Delete(f.ctx, f.B.ID, games.ID), mdm.NotFound)
	must(t, "Delete", cs.Delete(f.ctx, f.A.ID, games.ID))
	wantCode(t, "Delete again", cs.Delete(f.ctx, f.A.ID, games.ID), mdm.NotFound)
}

func testItemCategories(t *testing.T, f *fixture) {
	cs := f.s.Categories()
	mk := func(tn mdm.TenantID, kind mdm.ItemKind, name string) mdm.Category {
		c := mdm.Category{TenantID: tn, Kind: kind, Name: name, CreatedAt: f.now, ModifiedAt: f.now}
		must(t, "Create "+name, cs.Create(f.ctx, &c))
		return c
	}
	games, tools := mk(f.A.ID, mdm.ItemApp, "Games"), mk(f.A.ID, mdm.ItemApp, "Tools")
	docs := mk(f.A.ID, mdm.ItemContent, "Docs")
	bGames := mk(f.B.ID, mdm.ItemApp, "Games")

	must(t, "Set", cs.SetItemCategories(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.CategoryID{tools.ID, games.ID, tools.ID}))
	must(t, "Set 2", cs.SetItemCategories(f.ctx, f.A.ID, mdm.ItemApp, 2, []mdm.CategoryID{games.ID}))
	wantCode(t, "content category on an app", cs.SetItemCategories(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.CategoryID{docs.ID}), mdm.NotFound)
	wantCode(t, "B's category", cs.SetItemCategories(f.ctx, f.A.ID, mdm.ItemApp, 1, []mdm.CategoryID{bGames.ID}), mdm.NotFound)
	byItem, err := cs.ForItems(f.ctx, f.A.ID, mdm.ItemApp, []int64{1, 2, 3})
	must(t, "ForItems", err)
	if d := diff([]string{"Games", "Tools"}, categoryNames(byItem[1])); d != "" {
		t.Errorf("item 1 (-want +got):\n%s", d)
	}
	if d := diff([]string{"Games"}, categoryNames(byItem[2])); d != "" || len(byItem) != 2 {
		t.Errorf("item 2 (-want +got):\n%s (%d items)", d, len(byItem))
	}
	byItem, err = cs.ForItems(f.ctx, f.B.ID, mdm.ItemApp, []int64{1, 2})
	must(t, "ForItems B", err)
	if len(byItem) != 0 {
		t.Errorf("B sees A's item categories: %+v", byItem)
	}
	items, err := cs.Items(f.ctx, f.A.ID, games.ID)
	must(t, "Items", err)
	if d := diff([]int64{1, 2}, items); d != "" {
		t.Errorf("Items(Games) (-want +got):\n%s", d)
	}
	_, err = cs.Items(f.ctx, f.B.ID, games.ID)
	wantCode(t, "Items through B", err, mdm.NotFound)

	must(t, "Set none", cs.SetItemCategories(f.ctx, f.A.ID, mdm.ItemApp, 2, nil))
	must(t, "Delete Tools", cs.Delete(f.ctx, f.A.ID, tools.ID))
	must(t, "DeleteForItem through B", cs.DeleteForItem(f.ctx, f.B.ID, mdm.ItemApp, 1))
	byItem, err = cs.ForItems(f.ctx, f.A.ID, mdm.ItemApp, []int64{1, 2})
	must(t, "ForItems", err)
	if d := diff([]string{"Games"}, categoryNames(byItem[1])); d != "" || len(byItem) != 1 {
		t.Errorf("after Set none and Delete Tools (-want +got):\n%s", d)
	}
	must(t, "DeleteForItem", cs.DeleteForItem(f.ctx, f.A.ID, mdm.ItemApp, 1))
	items, err = cs.Items(f.ctx, f.A.ID, games.ID)
	must(t, "Items", err)
	if len(items) != 0 {
		t.Errorf("Items after DeleteForItem = %v", items)
	}
}
