package storetest

import (
	"slices"
	"testing"
	"time"

	"steward/internal/mdm"
)

var groupTests = []test{
	{"Groups", testGroups},
}

func groupNames(gs []mdm.UserGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func testGroups(t *testing.T, f *fixture) {
	gs := f.s.Groups()
	// Every tenant starts with its All Users group.
	for _, tn := range []mdm.TenantID{f.A.ID, f.B.ID} {
		p, err := gs.List(f.ctx, tn, mdm.ListOptions{Rows: 10})
		must(t, "List", err)
		if p.TotalCount != 1 || p.Items[0].Kind != mdm.AllUsersGroup || p.Items[0].Name != "All Users" {
			t.Errorf("tenant %s starts with %+v, want only All Users", tn, p.Items)
		}
	}
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	static := &mdm.UserGroup{TenantID: f.A.ID, Name: "Sales", Kind: mdm.StaticGroup, Roles: []string{"USER_READ_ONLY"},
		CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create static", gs.Create(f.ctx, static))
	dynamic := &mdm.UserGroup{TenantID: f.A.ID, Name: "Everyone at a", Kind: mdm.DynamicGroup, Rule: "emailAddress=*@a.example.com",
		CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create dynamic", gs.Create(f.ctx, dynamic))
	wantCode(t, "same name, other case", gs.Create(f.ctx, &mdm.UserGroup{TenantID: f.A.ID, Name: "SALES", Kind: mdm.StaticGroup,
		CreatedAt: f.now, ModifiedAt: f.now}), mdm.Conflict)
	must(t, "same name in B", gs.Create(f.ctx, &mdm.UserGroup{TenantID: f.B.ID, Name: "Sales", Kind: mdm.StaticGroup,
		CreatedAt: f.now, ModifiedAt: f.now}))

	// Members: only accounts of the same tenant, all or none, idempotent.
	wantCode(t, "add B's account to A's group", gs.AddMembers(f.ctx, f.A.ID, static.ID, []mdm.AccountID{ann.ID, bob.ID}), mdm.NotFound)
	got, err := gs.GroupsFor(f.ctx, f.A.ID, ann.ID)
	must(t, "GroupsFor", err)
	if slices.Contains(groupNames(got), "Sales") {
		t.Error("a refused AddMembers added ann anyway")
	}
	must(t, "AddMembers", gs.AddMembers(f.ctx, f.A.ID, static.ID, []mdm.AccountID{ann.ID}))
	must(t, "AddMembers again", gs.AddMembers(f.ctx, f.A.ID, static.ID, []mdm.AccountID{ann.ID}))
	wantCode(t, "AddMembers through B", gs.AddMembers(f.ctx, f.B.ID, static.ID, []mdm.AccountID{bob.ID}), mdm.NotFound)
	got, err = gs.GroupsFor(f.ctx, f.A.ID, ann.ID)
	must(t, "GroupsFor", err)
	if d := diff([]string{"All Users", "Sales", "Everyone at a"}, groupNames(got)); d != "" {
		t.Errorf("GroupsFor(ann) (-want +got):\n%s", d)
	}
	got, err = gs.GroupsFor(f.ctx, f.B.ID, bob.ID)
	must(t, "GroupsFor B", err)
	if d := diff([]string{"All Users"}, groupNames(got)); d != "" {
		t.Errorf("GroupsFor(bob) (-want +got):\n%s", d)
	}

	// The same for many accounts at once: amy is in no static group; bob is another tenant's.
	amy := f.account(t, f.A.ID, "amy@a.example.com")
	many, err := gs.GroupsForAccounts(f.ctx, f.A.ID, []mdm.AccountID{ann.ID, amy.ID, bob.ID})
	must(t, "GroupsForAccounts", err)
	names := map[mdm.AccountID][]string{}
	for id, gs := range many {
		names[id] = groupNames(gs)
	}
	if d := diff(map[mdm.AccountID][]string{ann.ID: {"All Users", "Sales", "Everyone at a"},
		amy.ID: {"All Users", "Everyone at a"}, bob.ID: {"All Users", "Everyone at a"}}, names); d != "" {
		t.Errorf("GroupsForAccounts (-want +got):\n%s", d)
	}
	many, err = gs.GroupsForAccounts(f.ctx, f.B.ID, []mdm.AccountID{ann.ID, bob.ID})
	must(t, "GroupsForAccounts B", err)
	if d := diff([]string{"All Users"}, groupNames(many[bob.ID])); d != "" || slices.Contains(groupNames(many[ann.ID]), "Sales") {
		t.Errorf("GroupsForAccounts in B (-want +got):\n%s %v", d, groupNames(many[ann.ID]))
	}

	// Update and isolation.
	name, roles := "Sales EMEA", []string{"DEVICE_READ_ONLY"}
	upd, err := gs.Update(f.ctx, f.A.ID, static.ID, mdm.GroupPatch{Name: &name, Roles: &roles}, f.now.Add(time.Minute))
	must(t, "Update", err)
	if upd.Name != name || !slices.Equal(upd.Roles, roles) {
		t.Errorf("Update = %+v", upd)
	}
	_, err = gs.Update(f.ctx, f.B.ID, static.ID, mdm.GroupPatch{Name: &name}, f.now)
	wantCode(t, "Update through B", err, mdm.NotFound)
	_, err = gs.Get(f.ctx, f.B.ID, static.ID)
	wantCode(t, "Get through B", err, mdm.NotFound)
	wantCode(t, "Delete through B", gs.Delete(f.ctx, f.B.ID, static.ID), mdm.NotFound)

	// Deleting an account or a group removes the memberships.
	must(t, "RemoveMembers", gs.RemoveMembers(f.ctx, f.A.ID, static.ID, []mdm.AccountID{ann.ID}))
	got, _ = gs.GroupsFor(f.ctx, f.A.ID, ann.ID)
	if slices.Contains(groupNames(got), name) {
		t.Error("RemoveMembers left ann in the group")
	}
	must(t, "AddMembers", gs.AddMembers(f.ctx, f.A.ID, static.ID, []mdm.AccountID{ann.ID}))
	must(t, "Delete", gs.Delete(f.ctx, f.A.ID, static.ID))
	_, err = gs.Get(f.ctx, f.A.ID, static.ID)
	wantCode(t, "deleted group", err, mdm.NotFound)
	other := &mdm.UserGroup{TenantID: f.A.ID, Name: "Other", Kind: mdm.StaticGroup, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create", gs.Create(f.ctx, other))
	must(t, "AddMembers", gs.AddMembers(f.ctx, f.A.ID, other.ID, []mdm.AccountID{ann.ID}))
	n, err := f.s.Accounts().Delete(f.ctx, f.A.ID, []mdm.AccountID{ann.ID})
	if err != nil || n != 1 {
		t.Fatalf("Delete account = %d, %v", n, err)
	}
	got, _ = gs.GroupsFor(f.ctx, f.A.ID, ann.ID)
	if slices.Contains(groupNames(got), "Other") {
		t.Error("a deleted account is still a member")
	}
}
