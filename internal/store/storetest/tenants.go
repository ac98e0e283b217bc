package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
)

var tenantTests = []test{
	{"Create", testTenantCreate},
	{"CreateConflict", testTenantCreateConflict},
	{"Update", testTenantUpdate},
	{"List", testTenantList},
	{"ListFoldsUnicodeCase", testTenantListUnicode},
	{"Usage", testTenantUsage},
}

func testTenantCreate(t *testing.T, f *fixture) {
	// Outside a transaction too: the interface does not require one.
	c := mdm.Tenant{
		ID: newTenantID(t), Name: "Tenant C", State: mdm.TenantSuspended, LicenseDevices: 5,
		// Sub-millisecond and non-UTC on purpose: the store keeps UTC epoch milliseconds.
		CreatedAt:  epoch.Add(1500 * time.Microsecond).In(time.FixedZone("CET", 3600)),
		ModifiedAt: epoch.Add(2 * time.Hour),
	}
	must(t, "Create C", f.s.Tenants().Create(f.ctx, &c))

	all := []mdm.Tenant{f.A, f.B, c}
	seen := map[mdm.SpaceID]mdm.TenantID{}
	for _, tn := range all {
		if tn.DefaultDmPartitionID == 0 || tn.DefaultCmPartitionID == 0 {
			t.Errorf("tenant %s: default spaces dm=%d cm=%d, want nonzero ids", tn.Name, tn.DefaultDmPartitionID, tn.DefaultCmPartitionID)
		}
		for _, id := range []mdm.SpaceID{tn.DefaultDmPartitionID, tn.DefaultCmPartitionID} {
			if other, dup := seen[id]; dup {
				t.Errorf("space id %d belongs to both %s and %s", id, other, tn.ID)
			}
			seen[id] = tn.ID
		}
	}

	for _, tn := range all {
		got, err := f.s.Tenants().Get(f.ctx, tn.ID)
		if err != nil {
			t.Errorf("Get(%s): %v", tn.Name, err)
			continue
		}
		want := tn
		want.CreatedAt = tn.CreatedAt.Truncate(time.Millisecond)
		if d := diff(want, *got); d != "" {
			t.Errorf("Get(%s) mismatch (-want +got):\n%s", tn.Name, d)
		}
		wantUTC(t, "Get("+tn.Name+")", got.CreatedAt, got.ModifiedAt)
	}

	_, err := f.s.Tenants().Get(f.ctx, newTenantID(t))
	wantCode(t, "Get(unknown id)", err, mdm.NotFound)
	_, err = f.s.Tenants().Get(f.ctx, "")
	wantCode(t, "Get(empty id)", err, mdm.NotFound)
}

func testTenantCreateConflict(t *testing.T, f *fixture) {
	c := f.tenant(t, "ÄRZTE am See", 0)
	tests := []struct {
		name string
		id   mdm.TenantID
		tn   string
	}{
		{"same name", newTenantID(t), "Tenant A"},
		{"name in other case", newTenantID(t), "tENANT b"},
		{"same id", f.A.ID, "Tenant Z"},
		{"non-ASCII name in other case", newTenantID(t), "ärzte am see"},
	}
	for _, tc := range tests {
		tn := mdm.Tenant{ID: tc.id, Name: tc.tn, State: mdm.TenantActive, CreatedAt: f.now, ModifiedAt: f.now}
		err := f.s.Tenants().Create(f.ctx, &tn)
		wantCode(t, tc.name, err, mdm.Conflict)
		err = f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(f.ctx, &tn) })
		wantCode(t, tc.name+" in InTx", err, mdm.Conflict)
	}

	// A rejected create leaves nothing behind, and the existing tenants are untouched.
	// Compared by id: where "Ä" sorts depends on the database collation.
	byID := func(x, y mdm.Tenant) int { return strings.Compare(string(x.ID), string(y.ID)) }
	page, err := f.s.Tenants().List(f.ctx, mdm.ListOptions{Rows: 100})
	must(t, "List", err)
	want := []mdm.Tenant{f.A, f.B, c}
	slices.SortFunc(want, byID)
	slices.SortFunc(page.Items, byID)
	if d := diff(want, page.Items); d != "" || page.TotalCount != 3 {
		t.Errorf("after conflicts: List = %d tenants, mismatch (-want +got):\n%s", page.TotalCount, d)
	}

	// Of several concurrent creates of one name, exactly one succeeds.
	exactlyOneWins(t, "create of one name", 6, func(int) error {
		tn := mdm.Tenant{ID: newTenantID(t), Name: "Race", State: mdm.TenantActive, CreatedAt: f.now, ModifiedAt: f.now}
		return f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(f.ctx, &tn) })
	})
}

func testTenantUpdate(t *testing.T, f *fixture) {
	ts := f.s.Tenants()
	later := f.now.Add(time.Hour)
	name, state, seats := "Renamed A", mdm.TenantSuspended, 250
	got, err := ts.Update(f.ctx, f.A.ID, mdm.TenantPatch{Name: &name, State: &state, LicenseDevices: &seats}, later)
	must(t, "Update all fields", err)
	want := f.A
	want.Name, want.State, want.LicenseDevices, want.ModifiedAt = name, state, seats, later
	if d := diff(want, *got); d != "" {
		t.Errorf("Update returned (-want +got):\n%s", d)
	}
	if again, err := ts.Get(f.ctx, f.A.ID); err != nil || diff(want, *again) != "" {
		t.Errorf("Get after Update = %+v, %v; want %+v", again, err, want)
	}

	// A patch changes only its non-nil fields.
	seats = 7
	later = later.Add(time.Minute)
	got, err = ts.Update(f.ctx, f.A.ID, mdm.TenantPatch{LicenseDevices: &seats}, later)
	must(t, "Update seats", err)
	want.LicenseDevices, want.ModifiedAt = 7, later
	if d := diff(want, *got); d != "" {
		t.Errorf("partial Update returned (-want +got):\n%s", d)
	}

	// Renaming onto another tenant's name conflicts, in any case, and changes nothing.
	for _, n := range []string{"Tenant B", "TENANT B"} {
		_, err = ts.Update(f.ctx, f.A.ID, mdm.TenantPatch{Name: &n}, later.Add(time.Hour))
		wantCode(t, "rename A to "+n, err, mdm.Conflict)
	}
	if again, err := ts.Get(f.ctx, f.A.ID); err != nil || diff(want, *again) != "" {
		t.Errorf("Get after failed rename = %+v, %v; want %+v", again, err, want)
	}

	// A tenant may change the case of its own name.
	upper := "RENAMED A"
	got, err = ts.Update(f.ctx, f.A.ID, mdm.TenantPatch{Name: &upper}, later)
	must(t, "change case of own name", err)
	if got.Name != upper {
		t.Errorf("name = %q, want %q", got.Name, upper)
	}
	// The old name is free again once renamed away.
	free := mdm.Tenant{ID: newTenantID(t), Name: "tenant a", State: mdm.TenantActive, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "create tenant under A's old name", f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(f.ctx, &free) }))

	// Updating A never touches B.
	if b, err := ts.Get(f.ctx, f.B.ID); err != nil || diff(f.B, *b) != "" {
		t.Errorf("B after updates to A = %+v, %v; want %+v", b, err, f.B)
	}

	_, err = ts.Update(f.ctx, newTenantID(t), mdm.TenantPatch{LicenseDevices: &seats}, later)
	wantCode(t, "Update(unknown)", err, mdm.NotFound)
	_, err = ts.Update(f.ctx, newTenantID(t), mdm.TenantPatch{Name: &name}, later)
	wantCode(t, "rename unknown", err, mdm.NotFound)
}

func testTenantList(t *testing.T, f *fixture) {
	// A (10 seats) and B (20) are ACTIVE. Names share a prefix where sort order matters, so that the
	// expectation holds under any database collation.
	c := f.tenant(t, "Tenant C", 30)
	d := f.tenant(t, "Tenant D", 40)
	e := f.tenant(t, "Other_E", 50)
	later := f.now.Add(time.Hour)
	for _, id := range []mdm.TenantID{c.ID, e.ID} {
		s := mdm.TenantSuspended
		_, err := f.s.Tenants().Update(f.ctx, id, mdm.TenantPatch{State: &s}, later)
		must(t, "suspend", err)
	}
	byName := []mdm.SortField{{Field: "name"}}
	ids := map[string]mdm.TenantID{"A": f.A.ID, "B": f.B.ID, "C": c.ID, "D": d.ID, "E": e.ID}
	eq := func(field string, v any) mdm.Compare { return mdm.Compare{Field: field, Op: mdm.Eq, Value: v} }

	tests := []struct {
		name  string
		opts  mdm.ListOptions
		want  []string // tenant letters, in order
		total int
	}{
		{"all by name", mdm.ListOptions{Sort: byName}, []string{"E", "A", "B", "C", "D"}, 5},
		{"by name desc", mdm.ListOptions{Sort: []mdm.SortField{{Field: "name", Desc: true}}}, []string{"D", "C", "B", "A", "E"}, 5},
		{"by seats desc", mdm.ListOptions{Sort: []mdm.SortField{{Field: "licenseDevices", Desc: true}}}, []string{"E", "D", "C", "B", "A"}, 5},
		{"by state then seats desc", mdm.ListOptions{Sort: []mdm.SortField{{Field: "state"}, {Field: "licenseDevices", Desc: true}}},
			[]string{"D", "B", "A", "E", "C"}, 5},
		{"page 2 of 2", mdm.ListOptions{Start: 2, Rows: 2, Sort: byName}, []string{"B", "C"}, 5},
		{"last short page", mdm.ListOptions{Start: 4, Rows: 2, Sort: byName}, []string{"D"}, 5},
		{"past the end", mdm.ListOptions{Start: 10, Rows: 2, Sort: byName}, nil, 5},
		{"state, value in other case", mdm.ListOptions{Sort: byName, Filter: eq("state", "suspended")}, []string{"E", "C"}, 2},
		{"id", mdm.ListOptions{Filter: eq("id", string(d.ID))}, []string{"D"}, 1},
		{"name exact, other case", mdm.ListOptions{Filter: eq("name", "tenant b")}, []string{"B"}, 1},
		{"name wildcard", mdm.ListOptions{Sort: byName, Filter: eq("name", "TENANT *")}, []string{"A", "B", "C", "D"}, 4},
		{"wildcard in the middle", mdm.ListOptions{Sort: byName, Filter: eq("name", "t*t c")}, []string{"C"}, 1},
		{"name not wildcard", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "name", Op: mdm.Ne, Value: "tenant*"}}, []string{"E"}, 1},
		{"underscore is literal in a wildcard", mdm.ListOptions{Filter: eq("name", "tenant_*")}, nil, 0},
		{"name not equal", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "name", Op: mdm.Ne, Value: "TENANT A"}}, []string{"E", "B", "C", "D"}, 4},
		{"seats <", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "licenseDevices", Op: mdm.Lt, Value: int64(30)}}, []string{"A", "B"}, 2},
		{"seats <=", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "licenseDevices", Op: mdm.Le, Value: int64(30)}}, []string{"A", "B", "C"}, 3},
		{"seats >", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "licenseDevices", Op: mdm.Gt, Value: int64(40)}}, []string{"E"}, 1},
		{"seats >=", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "licenseDevices", Op: mdm.Ge, Value: int64(40)}}, []string{"E", "D"}, 2},
		{"seats !=", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "licenseDevices", Op: mdm.Ne, Value: int64(10)}}, []string{"E", "B", "C", "D"}, 4},
		{"modified at or after", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "modifiedAt", Op: mdm.Ge, Value: later.UnixMilli()}}, []string{"E", "C"}, 2},
		{"created after", mdm.ListOptions{Filter: mdm.Compare{Field: "createdAt", Op: mdm.Gt, Value: epoch.UnixMilli()}}, nil, 0},
		{"created at or before", mdm.ListOptions{Sort: byName, Filter: mdm.Compare{Field: "createdAt", Op: mdm.Le, Value: epoch.UnixMilli()}},
			[]string{"E", "A", "B", "C", "D"}, 5},
		{"and", mdm.ListOptions{Sort: byName, Filter: mdm.And{eq("state", "ACTIVE"), mdm.Compare{Field: "licenseDevices", Op: mdm.Ge, Value: int64(20)}}},
			[]string{"B", "D"}, 2},
		{"or", mdm.ListOptions{Sort: byName, Filter: mdm.Or{eq("name", "Tenant A"), mdm.Compare{Field: "licenseDevices", Op: mdm.Gt, Value: int64(40)}}},
			[]string{"E", "A"}, 2},
		{"not", mdm.ListOptions{Sort: byName, Filter: mdm.Not{Term: eq("state", "ACTIVE")}}, []string{"E", "C"}, 2},
		{"not or", mdm.ListOptions{Sort: byName, Filter: mdm.Not{Term: mdm.Or{eq("name", "Tenant A"), eq("name", "Tenant B")}}},
			[]string{"E", "C", "D"}, 3},
		// (suspended or seats <= 10) and not name=Other*: the grouping matters.
		{"nested", mdm.ListOptions{Sort: byName, Filter: mdm.And{
			mdm.Or{eq("state", "SUSPENDED"), mdm.Compare{Field: "licenseDevices", Op: mdm.Le, Value: int64(10)}},
			mdm.Not{Term: eq("name", "other*")},
		}}, []string{"A", "C"}, 2},
		{"query", mdm.ListOptions{Sort: byName, Query: "ANT c"}, []string{"C"}, 1},
		{"query matches many", mdm.ListOptions{Sort: byName, Query: " tenant "}, []string{"A", "B", "C", "D"}, 4},
		{"query with underscore", mdm.ListOptions{Query: "R_E"}, []string{"E"}, 1},
		{"query underscore is literal", mdm.ListOptions{Query: "t_a"}, nil, 0},
		{"query percent is literal", mdm.ListOptions{Query: "%"}, nil, 0},
		{"query with filter and paging", mdm.ListOptions{Start: 1, Rows: 1, Sort: byName, Query: "tenant", Filter: eq("state", "ACTIVE")},
			[]string{"B"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Rows == 0 {
				tc.opts.Rows = 50
			}
			page, err := f.s.Tenants().List(f.ctx, tc.opts)
			must(t, "List", err)
			var got []string
			for _, tn := range page.Items {
				got = append(got, letterOf(ids, tn.ID))
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("tenants (-want +got):\n%s", d)
			}
			if page.TotalCount != tc.total {
				t.Errorf("TotalCount = %d, want %d", page.TotalCount, tc.total)
			}
		})
	}

	// Without a sort, the order is still stable (by id) so that paging never skips or repeats.
	var paged []mdm.TenantID
	for start := 0; start < 5; start += 2 {
		page, err := f.s.Tenants().List(f.ctx, mdm.ListOptions{Start: start, Rows: 2})
		must(t, "List page", err)
		for _, tn := range page.Items {
			paged = append(paged, tn.ID)
		}
	}
	// Compare as sets: id order is collation-dependent on PostgreSQL.
	all := []mdm.TenantID{f.A.ID, f.B.ID, c.ID, d.ID, e.ID}
	slices.Sort(all)
	slices.Sort(paged)
	if d := diff(all, paged); d != "" {
		t.Errorf("unsorted pages (-want +got):\n%s", d)
	}

	// Items are whole tenants.
	page, err := f.s.Tenants().List(f.ctx, mdm.ListOptions{Rows: 10, Filter: eq("id", string(f.B.ID))})
	must(t, "List B", err)
	if d := diff([]mdm.Tenant{f.B}, page.Items); d != "" {
		t.Errorf("List items (-want +got):\n%s", d)
	}
}

func letterOf(ids map[string]mdm.TenantID, id mdm.TenantID) string {
	for l, v := range ids {
		if v == id {
			return l
		}
	}
	return string(id)
}

func testTenantUsage(t *testing.T, f *fixture) {
	f.account(t, f.A.ID, "a1@example.com")
	f.account(t, f.A.ID, "a2@example.com")
	f.account(t, f.B.ID, "b1@example.com")
	c := f.tenant(t, "Tenant C", 0)
	s := mdm.TenantSuspended
	_, err := f.s.Tenants().Update(f.ctx, c.ID, mdm.TenantPatch{State: &s}, f.now)
	must(t, "suspend C", err)

	got, err := f.s.Tenants().Usage(f.ctx)
	must(t, "Usage", err)
	// The report's order is not part of the contract.
	slices.SortFunc(got, func(x, y mdm.TenantUsage) int { return strings.Compare(x.Name, y.Name) })
	want := []mdm.TenantUsage{
		{TenantID: f.A.ID, Name: "Tenant A", State: mdm.TenantActive, Users: 2, LicensedSeats: 10},
		{TenantID: f.B.ID, Name: "Tenant B", State: mdm.TenantActive, Users: 1, LicensedSeats: 20},
		{TenantID: c.ID, Name: "Tenant C", State: mdm.TenantSuspended, Users: 0, LicensedSeats: 0},
	}
	if d := diff(want, got); d != "" {
		t.Errorf("Usage (-want +got):\n%s", d)
	}
}

// testTenantListUnicode: text filters and searches ignore case beyond ASCII on every database.
func testTenantListUnicode(t *testing.T, f *fixture) {
	u := f.tenant(t, "Ärzte am Ölberg", 1)
	for name, opts := range map[string]mdm.ListOptions{
		"equal":    {Filter: mdm.Compare{Field: "name", Op: mdm.Eq, Value: "ärzte am ölberg"}},
		"wildcard": {Filter: mdm.Compare{Field: "name", Op: mdm.Eq, Value: "ÄRZTE*"}},
		"query":    {Query: "ÖLBERG"},
	} {
		opts.Rows = 10
		p, err := f.s.Tenants().List(f.ctx, opts)
		must(t, name, err)
		if p.TotalCount != 1 || len(p.Items) != 1 || p.Items[0].ID != u.ID {
			t.Errorf("%s: got %d tenants (%v), want only %q", name, p.TotalCount, p.Items, u.Name)
		}
	}
}
