package storetest

import (
	"slices"
	"testing"
	"time"

	"steward/internal/mdm"
)

var accountTests = []test{
	{"CreateGet", testAccountCreateGet},
	{"UsernameUnique", testAccountUsernameUnique},
	{"ByUsername", testAccountByUsername},
	{"SetPassword", testAccountSetPassword},
	{"List", testAccountList},
	{"UpdateDelete", testAccountUpdateDelete},
	{"APIUser", testAccountAPIUser},
	{"WithRole", testAccountWithRole},
	{"RegistrationSettings", testRegistrationSettings},
}

func testAccountUpdateDelete(t *testing.T, f *fixture) {
	as := f.s.Accounts()
	a := f.account(t, f.A.ID, "ann@a.example.com")
	b := f.account(t, f.B.ID, "bob@b.example.com")
	later := f.now.Add(time.Minute)
	first, roles, off := "Annie", []string{"USER_READ_ONLY"}, false
	got, err := as.Update(f.ctx, f.A.ID, a.ID, mdm.AccountPatch{FirstName: &first, Roles: &roles, Enabled: &off}, later)
	must(t, "Update", err)
	if got.FirstName != "Annie" || got.LastName != a.LastName || !slices.Equal(got.Roles, roles) || got.Enabled ||
		!got.ModifiedAt.Equal(later) {
		t.Errorf("after Update: %+v", got)
	}
	// B cannot update or delete A's account through its own tenant id.
	_, err = as.Update(f.ctx, f.B.ID, a.ID, mdm.AccountPatch{FirstName: &first}, later)
	wantCode(t, "Update across tenants", err, mdm.NotFound)
	n, err := as.Delete(f.ctx, f.B.ID, []mdm.AccountID{a.ID})
	if err != nil || n != 0 {
		t.Errorf("Delete across tenants = %d, %v; want 0", n, err)
	}
	if _, err := as.Get(f.ctx, f.A.ID, a.ID); err != nil {
		t.Errorf("A's account after B's delete: %v", err)
	}
	// Deleting frees the username, leaves others alone, and skips unknown ids.
	n, err = as.Delete(f.ctx, f.A.ID, []mdm.AccountID{a.ID, a.ID + 1000})
	if err != nil || n != 1 {
		t.Errorf("Delete = %d, %v; want 1", n, err)
	}
	_, err = as.Get(f.ctx, f.A.ID, a.ID)
	wantCode(t, "deleted account", err, mdm.NotFound)
	_, err = as.ByUsername(f.ctx, "ann@a.example.com")
	wantCode(t, "deleted username", err, mdm.NotFound)
	f.account(t, f.B.ID, "ANN@a.example.com") // the username is free again, in any tenant
	if _, err := as.Get(f.ctx, f.B.ID, b.ID); err != nil {
		t.Errorf("B's account after A's delete: %v", err)
	}
}

func testAccountCreateGet(t *testing.T, f *fixture) {
	as := f.s.Accounts()
	a := mdm.Account{
		TenantID: f.A.ID, Username: "Ann.Admin@Example.com", Email: "ann@example.com", FirstName: "Ann",
		LastName: "Admin", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		Roles: []string{mdm.RoleTenantAdmin, "DEVICE_READ"}, Enabled: true,
		CreatedAt: f.now, ModifiedAt: f.now.Add(time.Second), CreatedBy: "system:root",
	}
	// Outside a transaction too: the interface does not require one.
	must(t, "Create in A", as.Create(f.ctx, &a))
	if a.ID == 0 {
		t.Fatal("Create did not set the account id")
	}
	// A PIN-only account: no password, no roles, disabled.
	b := mdm.Account{TenantID: f.B.ID, Username: "bob@example.org", Email: "bob@example.org", CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create in B", as.Create(f.ctx, &b))
	if b.ID == 0 || b.ID == a.ID {
		t.Fatalf("account ids: A's %d, B's %d; want distinct nonzero ids", a.ID, b.ID)
	}

	for _, want := range []mdm.Account{a, b} {
		got, err := as.Get(f.ctx, want.TenantID, want.ID)
		if err != nil {
			t.Errorf("Get(%s): %v", want.Username, err)
			continue
		}
		if d := diff(want, *got); d != "" {
			t.Errorf("Get(%s) (-want +got):\n%s", want.Username, d)
		}
		wantUTC(t, "Get("+want.Username+")", got.CreatedAt, got.ModifiedAt)
	}

	// Another tenant's id is unknown here.
	_, err := as.Get(f.ctx, f.B.ID, a.ID)
	wantCode(t, "Get(B, A's account)", err, mdm.NotFound)
	_, err = as.Get(f.ctx, f.A.ID, b.ID)
	wantCode(t, "Get(A, B's account)", err, mdm.NotFound)
	_, err = as.Get(f.ctx, f.A.ID, a.ID+b.ID+1000)
	wantCode(t, "Get(unknown id)", err, mdm.NotFound)
	_, err = as.Get(f.ctx, newTenantID(t), a.ID)
	wantCode(t, "Get(unknown tenant)", err, mdm.NotFound)

	// An account needs an existing tenant, and a failed create leaves its username free.
	orphan := mdm.Account{TenantID: newTenantID(t), Username: "orphan@example.com", Email: "orphan@example.com", CreatedAt: f.now, ModifiedAt: f.now}
	if err := as.Create(f.ctx, &orphan); err == nil {
		t.Error("Create in an unknown tenant succeeded")
	}
	_, err = as.ByUsername(f.ctx, orphan.Username)
	wantCode(t, "ByUsername after a failed create", err, mdm.NotFound)
}

func testAccountUsernameUnique(t *testing.T, f *fixture) {
	first := f.account(t, f.A.ID, "Ann@Example.com")
	umlaut := f.account(t, f.A.ID, "ÜLKÜ@example.com")
	tests := []struct {
		name     string
		tenant   mdm.TenantID
		username string
	}{
		{"same tenant, same name", f.A.ID, "Ann@Example.com"},
		{"same tenant, other case", f.A.ID, "ann@example.COM"},
		{"other tenant", f.B.ID, "Ann@Example.com"},
		{"other tenant, other case", f.B.ID, "ANN@EXAMPLE.COM"},
		{"non-ASCII, other case", f.B.ID, "ülkü@example.com"},
	}
	for _, tc := range tests {
		a := mdm.Account{TenantID: tc.tenant, Username: tc.username, Email: tc.username, CreatedAt: f.now, ModifiedAt: f.now}
		wantCode(t, tc.name, f.s.Accounts().Create(f.ctx, &a), mdm.Conflict)
		a.ID = 0
		err := f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &a) })
		wantCode(t, tc.name+" (in InTx)", err, mdm.Conflict)
	}

	// A rejected create leaves no account behind in either tenant, and the name still leads to A.
	for tenant, want := range map[mdm.TenantID][]mdm.Account{f.A.ID: {first, umlaut}, f.B.ID: nil} {
		page, err := f.s.Accounts().List(f.ctx, tenant, mdm.ListOptions{Rows: 50})
		must(t, "List", err)
		if d := diff(want, page.Items); d != "" || page.TotalCount != len(want) {
			t.Errorf("tenant %s after conflicts: TotalCount %d, items (-want +got):\n%s", tenant, page.TotalCount, d)
		}
	}
	got, err := f.s.Accounts().ByUsername(f.ctx, "ann@example.com")
	if err != nil || got.ID != first.ID || got.TenantID != f.A.ID {
		t.Errorf("ByUsername after conflicts = %+v, %v; want A's account %d", got, err, first.ID)
	}
	// Usage counts users per tenant and must not count the rejected ones.
	usage, err := f.s.Tenants().Usage(f.ctx)
	must(t, "Usage", err)
	for _, u := range usage {
		want := map[mdm.TenantID]int{f.A.ID: 2, f.B.ID: 0}[u.TenantID]
		if u.Users != want {
			t.Errorf("Usage: tenant %s has %d users, want %d", u.Name, u.Users, want)
		}
	}

	// A different username is fine in either tenant.
	f.account(t, f.B.ID, "ann2@example.com")

	// Of several concurrent creates of one username, in either tenant, exactly one succeeds.
	exactlyOneWins(t, "create of one username", 6, func(i int) error {
		tenant := []mdm.TenantID{f.A.ID, f.B.ID}[i%2]
		a := mdm.Account{TenantID: tenant, Username: "race@example.com", Email: "race@example.com", CreatedAt: f.now, ModifiedAt: f.now}
		return f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &a) })
	})
	listed := 0
	for _, tn := range []mdm.TenantID{f.A.ID, f.B.ID} {
		page, err := f.s.Accounts().List(f.ctx, tn, mdm.ListOptions{Rows: 50, Filter: mdm.Compare{Field: "UID", Op: mdm.Eq, Value: "race@example.com"}})
		must(t, "List", err)
		listed += page.TotalCount
	}
	if listed != 1 {
		t.Errorf("tenants A and B list %d accounts named race@example.com, want 1", listed)
	}
}

func testAccountByUsername(t *testing.T, f *fixture) {
	a := f.account(t, f.A.ID, "Alice@Example.com")
	b := f.account(t, f.B.ID, "bert@example.com")
	tests := []struct {
		username string
		want     mdm.Account
	}{
		{"Alice@Example.com", a},
		{"alice@example.com", a},
		{"ALICE@EXAMPLE.COM", a},
		{"bert@example.com", b},
		{"Bert@Example.Com", b},
	}
	for _, tc := range tests {
		got, err := f.s.Accounts().ByUsername(f.ctx, tc.username)
		if err != nil {
			t.Errorf("ByUsername(%q): %v", tc.username, err)
			continue
		}
		if d := diff(tc.want, *got); d != "" {
			t.Errorf("ByUsername(%q) (-want +got):\n%s", tc.username, d)
		}
	}
	for _, u := range []string{"nobody@example.com", "alice", "", "alice@example.co"} {
		_, err := f.s.Accounts().ByUsername(f.ctx, u)
		wantCode(t, "ByUsername("+u+")", err, mdm.NotFound)
	}
}

func testAccountSetPassword(t *testing.T, f *fixture) {
	a := f.account(t, f.A.ID, "a@example.com")
	b := f.account(t, f.B.ID, "b@example.com")
	later := f.now.Add(time.Hour)

	must(t, "SetPassword", f.s.Accounts().SetPassword(f.ctx, f.A.ID, a.ID, "new-hash", later))
	want := a
	want.PasswordHash, want.ModifiedAt = "new-hash", later
	if got, err := f.s.Accounts().Get(f.ctx, f.A.ID, a.ID); err != nil || diff(want, *got) != "" {
		t.Errorf("after SetPassword: Get = %+v, %v; want %+v", got, err, want)
	}

	// B cannot set A's password: not found, and nothing changes.
	err := f.s.Accounts().SetPassword(f.ctx, f.B.ID, a.ID, "evil", later.Add(time.Hour))
	wantCode(t, "SetPassword(B, A's account)", err, mdm.NotFound)
	if got, err := f.s.Accounts().Get(f.ctx, f.A.ID, a.ID); err != nil || diff(want, *got) != "" {
		t.Errorf("after SetPassword from B: Get = %+v, %v; want %+v", got, err, want)
	}
	if got, err := f.s.Accounts().Get(f.ctx, f.B.ID, b.ID); err != nil || diff(b, *got) != "" {
		t.Errorf("B's own account changed: %+v, %v; want %+v", got, err, b)
	}
	err = f.s.Accounts().SetPassword(f.ctx, f.A.ID, a.ID+b.ID+1000, "x", later)
	wantCode(t, "SetPassword(unknown)", err, mdm.NotFound)

	// Clearing the password (a PIN-only account) is allowed.
	must(t, "clear password", f.s.Accounts().SetPassword(f.ctx, f.A.ID, a.ID, "", later))
	if got, err := f.s.Accounts().Get(f.ctx, f.A.ID, a.ID); err != nil || got.PasswordHash != "" {
		t.Errorf("after clearing: Get = %+v, %v; want an empty hash", got, err)
	}
}

func testAccountList(t *testing.T, f *fixture) {
	people := []struct {
		tenant            mdm.TenantID
		user, first, last string
	}{
		{f.A.ID, "ann@a.example", "ann", "zeller"},
		{f.A.ID, "bob@a.example", "bob", "young"},
		{f.A.ID, "cid@a.example", "cid", "xu"},
		{f.A.ID, "dee@other.example", "dee", "walker"},
		{f.A.ID, "eve@a.example", "eve", "vance"},
		{f.B.ID, "ann@b.example", "ann", "bravo"},
		{f.B.ID, "zed@b.example", "zed", "walker"},
	}
	byUser := map[string]mdm.Account{}
	for i, p := range people {
		a := mdm.Account{
			TenantID: p.tenant, Username: p.user, Email: p.user, FirstName: p.first, LastName: p.last,
			Enabled: true, CreatedAt: f.now.Add(time.Duration(i) * time.Minute), ModifiedAt: f.now,
		}
		must(t, "Create "+p.user, f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &a) }))
		byUser[p.user] = a
	}
	eq := func(field string, v any) mdm.Compare { return mdm.Compare{Field: field, Op: mdm.Eq, Value: v} }
	byLast := []mdm.SortField{{Field: "lastName"}}

	tests := []struct {
		name   string
		tenant mdm.TenantID
		opts   mdm.ListOptions
		want   []string
		total  int
	}{
		{"A by last name", f.A.ID, mdm.ListOptions{Sort: byLast}, []string{"eve@a.example", "dee@other.example", "cid@a.example", "bob@a.example", "ann@a.example"}, 5},
		{"B by last name", f.B.ID, mdm.ListOptions{Sort: byLast}, []string{"ann@b.example", "zed@b.example"}, 2},
		{"A by UID desc, paged", f.A.ID, mdm.ListOptions{Start: 1, Rows: 2, Sort: []mdm.SortField{{Field: "UID", Desc: true}}},
			[]string{"dee@other.example", "cid@a.example"}, 5},
		{"A by createdAt desc", f.A.ID, mdm.ListOptions{Rows: 1, Sort: []mdm.SortField{{Field: "createdAt", Desc: true}}}, []string{"eve@a.example"}, 5},
		{"email wildcard", f.A.ID, mdm.ListOptions{Sort: byLast, Filter: eq("emailAddress", "*@A.EXAMPLE")},
			[]string{"eve@a.example", "cid@a.example", "bob@a.example", "ann@a.example"}, 4},
		{"first name shared with B", f.A.ID, mdm.ListOptions{Filter: eq("firstName", "ann")}, []string{"ann@a.example"}, 1},
		{"B: last name shared with A", f.B.ID, mdm.ListOptions{Filter: eq("lastName", "walker")}, []string{"zed@b.example"}, 1},
		// An Or must stay inside the tenant condition.
		{"B: or naming A's accounts", f.B.ID, mdm.ListOptions{Sort: byLast, Filter: mdm.Or{eq("UID", "bob@a.example"), eq("firstName", "zed")}},
			[]string{"zed@b.example"}, 1},
		{"B: A's id", f.B.ID, mdm.ListOptions{Filter: eq("id", int64(byUser["bob@a.example"].ID))}, nil, 0},
		{"B: not A's id", f.B.ID, mdm.ListOptions{Sort: byLast, Filter: mdm.Not{Term: eq("id", int64(byUser["bob@a.example"].ID))}},
			[]string{"ann@b.example", "zed@b.example"}, 2},
		{"A: id", f.A.ID, mdm.ListOptions{Filter: eq("id", int64(byUser["bob@a.example"].ID))}, []string{"bob@a.example"}, 1},
		{"A: created in the first three minutes", f.A.ID, mdm.ListOptions{Sort: byLast, Filter: mdm.Compare{Field: "createdAt", Op: mdm.Lt, Value: f.now.Add(3 * time.Minute).UnixMilli()}},
			[]string{"cid@a.example", "bob@a.example", "ann@a.example"}, 3},
		{"query over names", f.A.ID, mdm.ListOptions{Sort: byLast, Query: "WALK"}, []string{"dee@other.example"}, 1},
		{"query over username", f.A.ID, mdm.ListOptions{Sort: byLast, Query: "other.example"}, []string{"dee@other.example"}, 1},
		{"B: query matching only A", f.B.ID, mdm.ListOptions{Query: "eve"}, nil, 0},
		{"B: query", f.B.ID, mdm.ListOptions{Sort: byLast, Query: "ann"}, []string{"ann@b.example"}, 1},
		{"unknown tenant", newTenantID(t), mdm.ListOptions{}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Rows == 0 {
				tc.opts.Rows = 50
			}
			page, err := f.s.Accounts().List(f.ctx, tc.tenant, tc.opts)
			must(t, "List", err)
			var got []string
			for _, a := range page.Items {
				got = append(got, a.Username)
				if a.TenantID != tc.tenant {
					t.Errorf("listed %s of tenant %s in tenant %s", a.Username, a.TenantID, tc.tenant)
				}
				if d := diff(byUser[a.Username], a); d != "" {
					t.Errorf("item %s (-want +got):\n%s", a.Username, d)
				}
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("usernames (-want +got):\n%s", d)
			}
			if page.TotalCount != tc.total {
				t.Errorf("TotalCount = %d, want %d", page.TotalCount, tc.total)
			}
		})
	}
}

var systemAdminTests = []test{
	{"CreateGet", testSystemAdmins},
}

func testSystemAdmins(t *testing.T, f *fixture) {
	sa := f.s.SystemAdmins()
	n, err := sa.Count(f.ctx)
	if err != nil || n != 0 {
		t.Fatalf("Count on a new store = %d, %v; want 0", n, err)
	}
	root := mdm.SystemAdmin{Username: "root", PasswordHash: "hash-1", CreatedAt: f.now}
	must(t, "Create root", sa.Create(f.ctx, &root))
	ops := mdm.SystemAdmin{Username: "ops@example.com", PasswordHash: "hash-2", CreatedAt: f.now.Add(time.Minute)}
	must(t, "Create ops", f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.SystemAdmins().Create(f.ctx, &ops) }))
	if root.ID == 0 || ops.ID == 0 || root.ID == ops.ID {
		t.Fatalf("ids %d and %d, want distinct nonzero ids", root.ID, ops.ID)
	}

	for _, want := range []mdm.SystemAdmin{root, ops} {
		got, err := sa.Get(f.ctx, want.ID)
		if err != nil || diff(want, *got) != "" {
			t.Errorf("Get(%d) = %+v, %v; want %+v", want.ID, got, err, want)
		}
		got, err = sa.ByUsername(f.ctx, want.Username)
		if err != nil || diff(want, *got) != "" {
			t.Errorf("ByUsername(%q) = %+v, %v; want %+v", want.Username, got, err, want)
		}
	}

	dup := mdm.SystemAdmin{Username: "root", PasswordHash: "other", CreatedAt: f.now}
	wantCode(t, "Create duplicate", sa.Create(f.ctx, &dup), mdm.Conflict)
	if n, err := sa.Count(f.ctx); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}
	if got, err := sa.ByUsername(f.ctx, "root"); err != nil || got.PasswordHash != "hash-1" {
		t.Errorf("root after duplicate create = %+v, %v; want the original", got, err)
	}

	_, err = sa.Get(f.ctx, root.ID+ops.ID+1000)
	wantCode(t, "Get(unknown)", err, mdm.NotFound)
	_, err = sa.ByUsername(f.ctx, "nobody")
	wantCode(t, "ByUsername(unknown)", err, mdm.NotFound)

	// Tenant accounts and System Admins never stand in for each other.
	acc := f.account(t, f.A.ID, "admin@a.example")
	_, err = sa.ByUsername(f.ctx, acc.Username)
	wantCode(t, "SystemAdmins().ByUsername(tenant account)", err, mdm.NotFound)
	_, err = f.s.Accounts().ByUsername(f.ctx, ops.Username)
	wantCode(t, "Accounts().ByUsername(system admin)", err, mdm.NotFound)
	for _, tn := range []mdm.TenantID{f.A.ID, f.B.ID} {
		// Ids may coincide across tables; what matters is that no account is the admin.
		if got, err := f.s.Accounts().Get(f.ctx, tn, mdm.AccountID(root.ID)); err == nil && got.Username == root.Username {
			t.Errorf("tenant %s can read the system admin as an account", tn)
		}
		page, err := f.s.Accounts().List(f.ctx, tn, mdm.ListOptions{Rows: 50})
		must(t, "List accounts", err)
		names := make([]string, 0, len(page.Items))
		for _, a := range page.Items {
			names = append(names, a.Username)
		}
		if slices.Contains(names, "root") || slices.Contains(names, ops.Username) {
			t.Errorf("tenant %s lists system admins: %v", tn, names)
		}
	}
	if n, err := sa.Count(f.ctx); err != nil || n != 2 {
		t.Errorf("Count after creating a tenant account = %d, %v; want 2", n, err)
	}
}

func testRegistrationSettings(t *testing.T, f *fixture) {
	rs := f.s.RegistrationSettings()
	got, err := rs.Get(f.ctx, f.A.ID)
	must(t, "Get defaults", err)
	if *got != mdm.DefaultRegistrationSettings() {
		t.Errorf("defaults = %+v", got)
	}
	set := mdm.RegistrationSettings{AuthType: mdm.PasswordOnly, PINLifetimeDays: 30, PINLength: 12, AllowPINRequest: false, DevicesPerUser: 2}
	must(t, "Put", rs.Put(f.ctx, f.A.ID, set, f.now))
	set.AuthType = mdm.PINAndPassword
	must(t, "Put again", rs.Put(f.ctx, f.A.ID, set, f.now.Add(time.Minute)))
	got, err = rs.Get(f.ctx, f.A.ID)
	must(t, "Get", err)
	want := set
	want.ModifiedAt = f.now.Add(time.Minute)
	if *got != want {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if b, _ := rs.Get(f.ctx, f.B.ID); *b != mdm.DefaultRegistrationSettings() {
		t.Errorf("B's settings changed with A's: %+v", b)
	}
	wantCode(t, "Put for an unknown tenant", rs.Put(f.ctx, "no-such-tenant", set, f.now), mdm.NotFound)
}
