package storetest

import (
	"fmt"
	"testing"
	"time"

	"steward/internal/mdm"
)

var patchTests = []test{
	{"Catalog", testPatchCatalog},
	{"Groups", testPatchGroups},
	{"GroupsTenantsApart", testPatchGroupsTenantsApart},
	{"GroupAudit", testPatchGroupAudit},
}

func patchID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func (f *fixture) catalog(t *testing.T) []mdm.Patch {
	t.Helper()
	patches := []mdm.Patch{
		{ID: patchID(1), Name: "iOS 17.4", OperatingSystem: mdm.PatchOSiOS, OSVersion: "17.4", PublishedDate: f.now,
			KBNumber: "HT214081", Description: "iOS update", CVEIDs: []string{"CVE-2024-23296", "CVE-2024-23225"}},
		{ID: patchID(2), Name: "Android 2024-03", OperatingSystem: mdm.PatchOSAndroid, OSVersion: "2024-03-01",
			PublishedDate: f.now.Add(time.Hour), KBNumber: "ASB-2024-03", Description: "Android bulletin", CVEIDs: []string{"CVE-2024-0039"}},
		{ID: patchID(3), Name: "iOS 17.4.1", OperatingSystem: mdm.PatchOSiOS, OSVersion: "17.4.1", PublishedDate: f.now.Add(2 * time.Hour),
			KBNumber: "HT214096", CVEIDs: []string{"CVE-2024-23225"}},
	}
	cves := []mdm.CVE{{ID: "CVE-2024-23225", Description: "kernel"}, {ID: "CVE-2024-0039", Description: "system"},
		{ID: "CVE-2020-0001", Description: "fixed by nothing here"}}
	must(t, "PutCatalog", f.s.Patches().PutCatalog(f.ctx, cves, patches))
	return patches
}

func testPatchCatalog(t *testing.T, f *fixture) {
	ps := f.s.Patches()
	n, err := ps.CountPatches(f.ctx)
	must(t, "CountPatches", err)
	if n != 0 {
		t.Fatalf("a fresh store has %d patches", n)
	}
	patches := f.catalog(t)
	patches[0].CVEIDs = []string{"CVE-2024-23225", "CVE-2024-23296"} // stored sorted
	got, err := ps.Patches(f.ctx, []string{patchID(3), patchID(1), patchID(99)})
	must(t, "Patches", err)
	if d := diff([]mdm.Patch{patches[0], patches[2]}, got); d != "" {
		t.Errorf("Patches (-want +got):\n%s", d)
	}

	page, err := ps.ListPatches(f.ctx, mdm.ListOptions{Rows: 2, Sort: []mdm.SortField{{Field: "publishedDate", Desc: true}}})
	must(t, "ListPatches", err)
	if page.TotalCount != 3 || len(page.Items) != 2 || page.Items[0].ID != patchID(3) || page.Items[1].ID != patchID(2) {
		t.Errorf("ListPatches newest first = %d %+v", page.TotalCount, page.Items)
	}
	page, err = ps.ListPatches(f.ctx, mdm.ListOptions{Rows: 10, Query: "ios 17"})
	must(t, "ListPatches(query)", err)
	if page.TotalCount != 2 {
		t.Errorf("ListPatches(ios 17) = %d, want 2", page.TotalCount)
	}

	m, err := ps.CVEPatches(f.ctx, []string{"CVE-2024-23225", "CVE-2020-0001", "CVE-1999-9999", "CVE-2024-23296"})
	must(t, "CVEPatches", err)
	want := map[string][]string{"CVE-2024-23225": {patchID(1), patchID(3)}, "CVE-2020-0001": {},
		"CVE-2024-23296": {patchID(1)}}
	if d := diff(want, m); d != "" {
		t.Errorf("CVEPatches (-want +got):\n%s", d)
	}
	cves, err := ps.ListCVEs(f.ctx, mdm.ListOptions{Rows: 10})
	must(t, "ListCVEs", err)
	if cves.TotalCount != 4 { // CVE-2024-23296 was added from the patch
		t.Errorf("ListCVEs = %d %+v, want 4", cves.TotalCount, cves.Items)
	}

	// An import replaces a patch by id, with its CVE links, and keeps a known CVE's description.
	p := patches[2]
	p.Name, p.CVEIDs = "iOS 17.4.1 (re-released)", []string{"CVE-2024-0039"}
	must(t, "PutCatalog(again)", ps.PutCatalog(f.ctx, nil, []mdm.Patch{p}))
	m, err = ps.CVEPatches(f.ctx, []string{"CVE-2024-23225", "CVE-2024-0039"})
	must(t, "CVEPatches after update", err)
	if d := diff(map[string][]string{"CVE-2024-23225": {patchID(1)}, "CVE-2024-0039": {patchID(2), patchID(3)}}, m); d != "" {
		t.Errorf("CVEPatches after update (-want +got):\n%s", d)
	}
	cves, err = ps.ListCVEs(f.ctx, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "id", Op: mdm.Eq, Value: "CVE-2024-0039"}})
	must(t, "ListCVEs(filter)", err)
	if len(cves.Items) != 1 || cves.Items[0].Description != "system" {
		t.Errorf("CVE description after an import naming it = %+v", cves.Items)
	}
	if n, _ := ps.CountPatches(f.ctx); n != 3 {
		t.Errorf("CountPatches = %d, want 3", n)
	}
	// Bad text is refused and nothing of the call is kept.
	bad := mdm.Patch{ID: patchID(4), Name: "bad\x00", OperatingSystem: mdm.PatchOSiOS, OSVersion: "1", PublishedDate: f.now}
	wantCode(t, "PutCatalog(NUL)", ps.PutCatalog(f.ctx, []mdm.CVE{{ID: "CVE-2000-0001"}}, []mdm.Patch{bad}), mdm.Invalid)
	if m, _ := ps.CVEPatches(f.ctx, []string{"CVE-2000-0001"}); len(m) != 0 {
		t.Errorf("a refused import left a CVE behind")
	}
}

func (f *fixture) patchGroup(t *testing.T, tenant mdm.TenantID, n int, name string, patches ...string) mdm.PatchGroup {
	t.Helper()
	g := mdm.PatchGroup{ID: patchID(1000 + n), TenantID: tenant, Name: name, Version: 1, CreatedAt: f.now, ModifiedAt: f.now,
		PatchIDs: patches, CVEIDs: []string{"CVE-2024-23225"}}
	must(t, "CreateGroup", f.s.Patches().CreateGroup(f.ctx, &g))
	return g
}

func testPatchGroups(t *testing.T, f *fixture) {
	f.catalog(t)
	ps := f.s.Patches()
	g := f.patchGroup(t, f.A.ID, 1, "Critical", patchID(3), patchID(1))
	got, err := ps.Group(f.ctx, f.A.ID, g.ID)
	must(t, "Group", err)
	g.PatchIDs = []string{patchID(1), patchID(3)}
	if d := diff(g, *got); d != "" {
		t.Errorf("Group (-want +got):\n%s", d)
	}
	wantUTC(t, "Group", got.CreatedAt, got.ModifiedAt)
	dup := g
	dup.ID = patchID(1999)
	dup.Name = "CRITICAL"
	wantCode(t, "CreateGroup(same name)", ps.CreateGroup(f.ctx, &dup), mdm.Conflict)
	dup = g
	dup.Name = "other"
	wantCode(t, "CreateGroup(same id)", ps.CreateGroup(f.ctx, &dup), mdm.Conflict)

	up := *got
	up.Version, up.ModifiedAt, up.PatchIDs, up.CVEIDs = 2, f.now.Add(time.Minute), []string{patchID(2)}, []string{"CVE-2024-0039"}
	must(t, "UpdateGroup", ps.UpdateGroup(f.ctx, &up, 1))
	got, err = ps.Group(f.ctx, f.A.ID, g.ID)
	must(t, "Group after update", err)
	if d := diff(up, *got); d != "" {
		t.Errorf("Group after update (-want +got):\n%s", d)
	}
	stale := up
	stale.Version = 3
	wantCode(t, "UpdateGroup(stale version)", ps.UpdateGroup(f.ctx, &stale, 1), mdm.Conflict)
	stale.ID = patchID(1998)
	wantCode(t, "UpdateGroup(unknown)", ps.UpdateGroup(f.ctx, &stale, 2), mdm.NotFound)
	f.patchGroup(t, f.A.ID, 2, "Other")
	taken := up
	taken.Name, taken.Version = "other", 3
	wantCode(t, "UpdateGroup(name taken)", ps.UpdateGroup(f.ctx, &taken, 2), mdm.Conflict)

	page, err := ps.ListGroups(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Query: "crit"})
	must(t, "ListGroups", err)
	if page.TotalCount != 1 || page.Items[0].ID != g.ID {
		t.Errorf("ListGroups(crit) = %+v", page)
	}
	page, err = ps.ListGroups(f.ctx, f.A.ID, mdm.ListOptions{Rows: 1, Start: 1, Sort: []mdm.SortField{{Field: "name"}}})
	must(t, "ListGroups(page 2)", err)
	if page.TotalCount != 2 || len(page.Items) != 1 || page.Items[0].Name != "Other" {
		t.Errorf("ListGroups page 2 = %+v", page)
	}
	_, err = ps.ListGroups(f.ctx, mdm.AllTenants, mdm.ListOptions{Rows: 1})
	wantCode(t, "ListGroups(all tenants)", err, mdm.Internal)
}

func testPatchGroupsTenantsApart(t *testing.T, f *fixture) {
	f.catalog(t)
	ps := f.s.Patches()
	a := f.patchGroup(t, f.A.ID, 1, "Shared name", patchID(1))
	f.patchGroup(t, f.B.ID, 2, "Shared name", patchID(2)) // names are per tenant
	_, err := ps.Group(f.ctx, f.B.ID, a.ID)
	wantCode(t, "Group(other tenant)", err, mdm.NotFound)
	up := a
	up.TenantID, up.Version, up.Name = f.B.ID, 2, "hijack"
	wantCode(t, "UpdateGroup(other tenant)", ps.UpdateGroup(f.ctx, &up, 1), mdm.NotFound)
	got, err := ps.Group(f.ctx, f.A.ID, a.ID)
	must(t, "Group", err)
	if got.Name != "Shared name" || got.Version != 1 {
		t.Errorf("A's group changed through B: %+v", got)
	}
	page, err := ps.ListGroups(f.ctx, f.B.ID, mdm.ListOptions{Rows: 10})
	must(t, "ListGroups(B)", err)
	if page.TotalCount != 1 || page.Items[0].TenantID != f.B.ID {
		t.Errorf("B lists %+v", page.Items)
	}
}

func testPatchGroupAudit(t *testing.T, f *fixture) {
	ps := f.s.Patches()
	rows := []mdm.PatchGroupAudit{
		{TenantID: f.A.ID, At: f.now, EditedBy: "ann", Action: mdm.PatchGroupCreated, GroupID: patchID(1001), GroupName: "G", GroupVersion: 1},
		{TenantID: f.A.ID, At: f.now, EditedBy: "ann", Action: mdm.PatchGroupPatchAdded, GroupID: patchID(1001), GroupName: "G",
			GroupVersion: 1, PatchID: patchID(1), PatchName: "iOS 17.4"},
		{TenantID: f.B.ID, At: f.now, EditedBy: "bob", Action: mdm.PatchGroupCreated, GroupID: patchID(1002), GroupName: "H", GroupVersion: 1},
	}
	must(t, "AppendGroupAudit", ps.AppendGroupAudit(f.ctx, rows))
	if rows[0].ID == 0 || rows[1].ID <= rows[0].ID {
		t.Errorf("ids not filled in order: %d %d", rows[0].ID, rows[1].ID)
	}
	page, err := ps.ListGroupAudit(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Sort: []mdm.SortField{{Field: "id", Desc: true}}})
	must(t, "ListGroupAudit", err)
	if d := diff([]mdm.PatchGroupAudit{rows[1], rows[0]}, page.Items); d != "" {
		t.Errorf("ListGroupAudit(A) (-want +got):\n%s", d)
	}
	page, err = ps.ListGroupAudit(f.ctx, f.B.ID, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "action", Op: mdm.Eq, Value: "patchadded"}})
	must(t, "ListGroupAudit(B)", err)
	if page.TotalCount != 0 {
		t.Errorf("B sees A's audit: %+v", page.Items)
	}
	wantCode(t, "AppendGroupAudit(no tenant)", ps.AppendGroupAudit(f.ctx, []mdm.PatchGroupAudit{{Action: "x"}}), mdm.Invalid)
}
