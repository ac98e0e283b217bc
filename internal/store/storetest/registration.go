package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

var registrationTests = []test{
	{"Overrides", testRegistrationOverrides},
	{"GroupMembers", testGroupMembers},
}

func overrideGroups(os []mdm.GroupRegistrationSettings) []mdm.GroupID {
	out := []mdm.GroupID{}
	for _, o := range os {
		out = append(out, o.GroupID)
	}
	return out
}

func (f *fixture) group(t *testing.T, tenant mdm.TenantID, name string, kind mdm.GroupKind, rule string) mdm.UserGroup {
	t.Helper()
	g := mdm.UserGroup{TenantID: tenant, Name: name, Kind: kind, Rule: rule, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "create group "+name, f.s.Groups().Create(f.ctx, &g))
	return g
}

// testRegistrationOverrides: group overrides are numbered 1..n per tenant, reordered and renumbered as
// a whole, and invisible to the other tenant.
func testRegistrationOverrides(t *testing.T, f *fixture) {
	rs := f.s.RegistrationSettings()
	sales := f.group(t, f.A.ID, "Sales", mdm.StaticGroup, "")
	eng := f.group(t, f.A.ID, "Engineering", mdm.DynamicGroup, "emailAddress=*@eng.a.example.com")
	ops := f.group(t, f.A.ID, "Ops", mdm.StaticGroup, "")
	bGroup := f.group(t, f.B.ID, "Sales", mdm.StaticGroup, "")

	_, err := rs.Override(f.ctx, f.A.ID, sales.ID)
	wantCode(t, "Override before any", err, mdm.NotFound)
	pw := mdm.DefaultRegistrationSettings()
	pw.AuthType = mdm.PasswordOnly
	got, err := rs.PutOverride(f.ctx, f.A.ID, sales.ID, pw, f.now)
	must(t, "PutOverride sales", err)
	want := &mdm.GroupRegistrationSettings{GroupID: sales.ID, GroupName: "Sales", GroupKind: mdm.StaticGroup, Priority: 1,
		Settings: pw}
	want.Settings.ModifiedAt = f.now
	if d := diff(want, got); d != "" {
		t.Errorf("PutOverride (-want +got):\n%s", d)
	}
	pin := mdm.DefaultRegistrationSettings()
	pin.PINLength = 9
	for _, g := range []mdm.UserGroup{eng, ops} {
		_, err := rs.PutOverride(f.ctx, f.A.ID, g.ID, pin, f.now)
		must(t, "PutOverride "+g.Name, err)
	}
	// Changing an override keeps its place.
	pw.PINLifetimeDays = 30
	got, err = rs.PutOverride(f.ctx, f.A.ID, sales.ID, pw, f.now.Add(time.Minute))
	must(t, "PutOverride again", err)
	if got.Priority != 1 || got.Settings.PINLifetimeDays != 30 || !got.Settings.ModifiedAt.Equal(f.now.Add(time.Minute)) {
		t.Errorf("changed override = %+v", got)
	}
	list, err := rs.Overrides(f.ctx, f.A.ID)
	must(t, "Overrides", err)
	if d := diff([]mdm.GroupID{sales.ID, eng.ID, ops.ID}, overrideGroups(list)); d != "" {
		t.Errorf("priority order (-want +got):\n%s", d)
	}
	if list[1].GroupRule != eng.Rule || list[1].Priority != 2 || list[1].Settings.PINLength != 9 {
		t.Errorf("engineering override = %+v", list[1])
	}

	// Tenant B sees and changes none of A's overrides, and numbers its own from 1.
	_, err = rs.Override(f.ctx, f.B.ID, sales.ID)
	wantCode(t, "Override through B", err, mdm.NotFound)
	_, err = rs.PutOverride(f.ctx, f.B.ID, sales.ID, pin, f.now)
	wantCode(t, "PutOverride on A's group through B", err, mdm.NotFound)
	wantCode(t, "DeleteOverride through B", rs.DeleteOverride(f.ctx, f.B.ID, sales.ID), mdm.NotFound)
	wantCode(t, "Reorder A's groups through B", rs.Reorder(f.ctx, f.B.ID, []mdm.GroupID{ops.ID, eng.ID, sales.ID}), mdm.Invalid)
	bo, err := rs.PutOverride(f.ctx, f.B.ID, bGroup.ID, pin, f.now)
	must(t, "PutOverride in B", err)
	if bo.Priority != 1 {
		t.Errorf("B's first override has priority %d, want 1", bo.Priority)
	}
	bl, err := rs.Overrides(f.ctx, f.B.ID)
	must(t, "Overrides B", err)
	if d := diff([]mdm.GroupID{bGroup.ID}, overrideGroups(bl)); d != "" {
		t.Errorf("B's overrides (-want +got):\n%s", d)
	}

	// Reorder takes the whole order or nothing.
	for name, order := range map[string][]mdm.GroupID{
		"partial":   {ops.ID, eng.ID},
		"repeated":  {ops.ID, ops.ID, sales.ID},
		"unknown":   {ops.ID, eng.ID, sales.ID, 999999},
		"B's group": {ops.ID, eng.ID, bGroup.ID},
	} {
		wantCode(t, "Reorder "+name, rs.Reorder(f.ctx, f.A.ID, order), mdm.Invalid)
	}
	list, _ = rs.Overrides(f.ctx, f.A.ID)
	if d := diff([]mdm.GroupID{sales.ID, eng.ID, ops.ID}, overrideGroups(list)); d != "" {
		t.Errorf("a refused Reorder changed the order (-want +got):\n%s", d)
	}
	must(t, "Reorder", rs.Reorder(f.ctx, f.A.ID, []mdm.GroupID{ops.ID, sales.ID, eng.ID}))
	list, _ = rs.Overrides(f.ctx, f.A.ID)
	if d := diff([]mdm.GroupID{ops.ID, sales.ID, eng.ID}, overrideGroups(list)); d != "" {
		t.Errorf("after Reorder (-want +got):\n%s", d)
	}
	for i, o := range list {
		if o.Priority != i+1 {
			t.Errorf("override %d has priority %d, want %d", o.GroupID, o.Priority, i+1)
		}
	}

	// Deleting an override, or its group, renumbers the rest 1..n.
	must(t, "DeleteOverride", rs.DeleteOverride(f.ctx, f.A.ID, ops.ID))
	wantCode(t, "DeleteOverride twice", rs.DeleteOverride(f.ctx, f.A.ID, ops.ID), mdm.NotFound)
	list, _ = rs.Overrides(f.ctx, f.A.ID)
	if len(list) != 2 || list[0].GroupID != sales.ID || list[0].Priority != 1 || list[1].Priority != 2 {
		t.Errorf("after DeleteOverride: %+v", list)
	}
	must(t, "Delete group", f.s.Groups().Delete(f.ctx, f.A.ID, sales.ID))
	list, _ = rs.Overrides(f.ctx, f.A.ID)
	if len(list) != 1 || list[0].GroupID != eng.ID || list[0].Priority != 1 {
		t.Errorf("after deleting the group: %+v", list)
	}
	// A new override goes last.
	got, err = rs.PutOverride(f.ctx, f.A.ID, ops.ID, pin, f.now)
	must(t, "PutOverride after delete", err)
	if got.Priority != 2 {
		t.Errorf("new override priority %d, want 2", got.Priority)
	}
	// The tenant default is unaffected by overrides.
	d, err := rs.Get(f.ctx, f.A.ID)
	must(t, "Get default", err)
	if d.AuthType != mdm.PINOnly {
		t.Errorf("default = %+v", d)
	}
	bl, _ = rs.Overrides(f.ctx, f.B.ID)
	if len(bl) != 1 || bl[0].Priority != 1 {
		t.Errorf("A's changes reached B: %+v", bl)
	}
}

// testGroupMembers: a static group's member page, filtered and paged, within its tenant only.
func testGroupMembers(t *testing.T, f *fixture) {
	gs := f.s.Groups()
	g := f.group(t, f.A.ID, "Sales", mdm.StaticGroup, "")
	var ids []mdm.AccountID
	for _, u := range []string{"ann@a.example.com", "abe@a.example.com", "amy@a.example.com"} {
		ids = append(ids, f.account(t, f.A.ID, u).ID)
	}
	f.account(t, f.A.ID, "out@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	must(t, "AddMembers", gs.AddMembers(f.ctx, f.A.ID, g.ID, ids))
	p, err := gs.Members(f.ctx, f.A.ID, g.ID, mdm.ListOptions{Rows: 2, Sort: []mdm.SortField{{Field: "UID"}}})
	must(t, "Members", err)
	if p.TotalCount != 3 || len(p.Items) != 2 || p.Items[0].Username != "abe@a.example.com" || p.Items[1].Username != "amy@a.example.com" {
		t.Errorf("Members page 1 = %d %+v", p.TotalCount, p.Items)
	}
	p, err = gs.Members(f.ctx, f.A.ID, g.ID, mdm.ListOptions{Rows: 10,
		Filter: mdm.Compare{Field: "UID", Op: mdm.Eq, Value: "ann@a.example.com"}})
	must(t, "Members filtered", err)
	if p.TotalCount != 1 || p.Items[0].ID != ids[0] {
		t.Errorf("filtered Members = %+v", p)
	}
	_, err = gs.Members(f.ctx, f.B.ID, g.ID, mdm.ListOptions{Rows: 10})
	wantCode(t, "Members through B", err, mdm.NotFound)
	bg := f.group(t, f.B.ID, "Sales", mdm.StaticGroup, "")
	must(t, "AddMembers B", gs.AddMembers(f.ctx, f.B.ID, bg.ID, []mdm.AccountID{bob.ID}))
	p, err = gs.Members(f.ctx, f.B.ID, bg.ID, mdm.ListOptions{Rows: 10})
	must(t, "Members B", err)
	if p.TotalCount != 1 || p.Items[0].ID != bob.ID {
		t.Errorf("B's members = %+v", p)
	}
}

// testAccountAPIUser: the API-user flag is stored, changed, and filtered on, per tenant.
func testAccountAPIUser(t *testing.T, f *fixture) {
	as := f.s.Accounts()
	api := mdm.Account{TenantID: f.A.ID, Username: "api@a.example.com", Email: "api@a.example.com", PasswordHash: "x",
		Enabled: true, APIUser: true, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create API user", f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &api) }))
	plain := f.account(t, f.A.ID, "plain@a.example.com")
	f.account(t, f.B.ID, "bob@b.example.com")
	got, err := as.Get(f.ctx, f.A.ID, api.ID)
	must(t, "Get", err)
	if !got.APIUser {
		t.Errorf("the API-user flag was not stored: %+v", got)
	}
	isAPI := mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "apiUser", Op: mdm.Eq, Value: true}}
	p, err := as.List(f.ctx, f.A.ID, isAPI)
	must(t, "List apiUser=true", err)
	if p.TotalCount != 1 || p.Items[0].ID != api.ID {
		t.Errorf("apiUser=true in A = %+v", p.Items)
	}
	p, err = as.List(f.ctx, f.B.ID, isAPI)
	must(t, "List apiUser=true in B", err)
	if p.TotalCount != 0 {
		t.Errorf("B lists A's API user: %+v", p.Items)
	}
	on, off := true, false
	_, err = as.Update(f.ctx, f.B.ID, plain.ID, mdm.AccountPatch{APIUser: &on}, f.now)
	wantCode(t, "Update through B", err, mdm.NotFound)
	got, err = as.Update(f.ctx, f.A.ID, plain.ID, mdm.AccountPatch{APIUser: &on}, f.now)
	must(t, "Update on", err)
	if !got.APIUser {
		t.Errorf("Update did not set the flag: %+v", got)
	}
	got, err = as.Update(f.ctx, f.A.ID, api.ID, mdm.AccountPatch{APIUser: &off}, f.now)
	must(t, "Update off", err)
	if got.APIUser {
		t.Errorf("Update did not clear the flag: %+v", got)
	}
}
