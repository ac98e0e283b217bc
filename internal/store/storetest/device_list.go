package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

func deviceNames(ds []mdm.Device) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Facts.DeviceName)
	}
	return out
}

// testDeviceList: filters, free text, sort and paging over A's devices, never B's.
func testDeviceList(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	amy := f.account(t, f.A.ID, "amy@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	// Phone 1..5 in A (ann owns 1-3, amy 4-5); Phone 6 in B, a twin of Phone 1.
	var a []mdm.Device
	for i := 1; i <= 5; i++ {
		owner := ann
		if i > 3 {
			owner = amy
		}
		d, _ := f.device(t, owner, i)
		a = append(a, d)
	}
	b, _ := f.device(t, bob, 6)
	later := f.now.Add(time.Hour)
	rooted := facts(2)
	rooted.Jailbroken = true
	must(t, "SetFacts", ds.SetFacts(f.ctx, f.A.ID, a[1].ID, mdm.KindAndroidPhone, rooted, nil, later))
	rooted = facts(5)
	rooted.Jailbroken = true
	must(t, "SetFacts", ds.SetFacts(f.ctx, f.A.ID, a[4].ID, mdm.KindAndroidPhone, rooted, nil, later))
	_, err := ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{a[4].ID}, []string{mdm.StateActive}, mdm.StateRetired, later)
	must(t, "SetState", err)
	must(t, "TouchCheckins", ds.TouchCheckins(f.ctx, []mdm.CheckinTouch{
		{TenantID: f.A.ID, ID: a[0].ID, At: later.Add(3 * time.Minute)},
		{TenantID: f.A.ID, ID: a[2].ID, At: later.Add(time.Minute)},
		{TenantID: f.B.ID, ID: b.ID, At: later},
	}))
	eq := func(field string, v any) mdm.Compare { return mdm.Compare{Field: field, Op: mdm.Eq, Value: v} }

	for _, c := range []struct {
		name string
		opts mdm.ListOptions
		want []string
		all  int
	}{
		{"all, by id", mdm.ListOptions{}, []string{"Phone 1", "Phone 2", "Phone 3", "Phone 4", "Phone 5"}, 5},
		{"active and (quarantined or jailbroken)", mdm.ListOptions{Filter: mdm.And{eq("registrationState", "ACTIVE"),
			mdm.Or{eq("quarantined", true), eq("jailbroken", true)}}}, []string{"Phone 2"}, 1},
		{"owner email, any case", mdm.ListOptions{Filter: eq("emailAddress", "AMY@a.example.com")}, []string{"Phone 4", "Phone 5"}, 2},
		{"owner uid", mdm.ListOptions{Filter: eq("uid", "ann@a.example.com")}, []string{"Phone 1", "Phone 2", "Phone 3"}, 3},
		{"owner email and state", mdm.ListOptions{Filter: mdm.And{eq("emailAddress", "amy@A.example.com"), eq("registrationState", "ACTIVE")}},
			[]string{"Phone 4"}, 1},
		{"owner uid or serial", mdm.ListOptions{Filter: mdm.Or{eq("uid", "AMY@a.example.com"), eq("serialNumber", facts(1).SerialNumber)}},
			[]string{"Phone 1", "Phone 4", "Phone 5"}, 3},
		{"owner email wildcard", mdm.ListOptions{Filter: eq("emailAddress", "am*")}, []string{"Phone 4", "Phone 5"}, 2},
		{"serial", mdm.ListOptions{Filter: eq("serialNumber", facts(3).SerialNumber)}, []string{"Phone 3"}, 1},
		{"wifi mac, upper case", mdm.ListOptions{Filter: eq("wifiMacAddress", "A2:BC:00:00:00:01")}, []string{"Phone 1"}, 1},
		{"serial of B's device", mdm.ListOptions{Filter: eq("serialNumber", facts(6).SerialNumber)}, []string{}, 0},
		{"not retired", mdm.ListOptions{Filter: mdm.Not{Term: eq("registrationState", "RETIRED")}, Rows: 2},
			[]string{"Phone 1", "Phone 2"}, 4},
		{"never checked in", mdm.ListOptions{Filter: eq("lastCheckin", int64(0))}, []string{"Phone 2", "Phone 4", "Phone 5"}, 3},
		{"checked in since", mdm.ListOptions{Filter: mdm.Compare{Field: "lastCheckin", Op: mdm.Gt, Value: later.UnixMilli()}},
			[]string{"Phone 1", "Phone 3"}, 2},
		{"owner id", mdm.ListOptions{Filter: eq("ownerId", int64(amy.ID))}, []string{"Phone 4", "Phone 5"}, 2},
		{"q matches the name", mdm.ListOptions{Query: "phone 4"}, []string{"Phone 4"}, 1},
		{"q matches the owner's email", mdm.ListOptions{Query: "amy@"}, []string{"Phone 4", "Phone 5"}, 2},
		{"q matches the serial", mdm.ListOptions{Query: facts(2).SerialNumber}, []string{"Phone 2"}, 1},
		{"q treats % literally", mdm.ListOptions{Query: "%"}, []string{}, 0},
		{"last check-in, newest first", mdm.ListOptions{Sort: []mdm.SortField{{Field: "lastCheckin", Desc: true}}, Rows: 3},
			[]string{"Phone 1", "Phone 3", "Phone 2"}, 5},
		{"by name descending, second page", mdm.ListOptions{Sort: []mdm.SortField{{Field: "deviceName", Desc: true}}, Start: 2, Rows: 2},
			[]string{"Phone 3", "Phone 2"}, 5},
		{"by owner email then id", mdm.ListOptions{Sort: []mdm.SortField{{Field: "emailAddress"}}, Rows: 3},
			[]string{"Phone 4", "Phone 5", "Phone 1"}, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Exact, then twice with a recent total allowed (a count, then the same count again).
			for i, recent := range []bool{false, true, true} {
				opts := c.opts
				opts.RecentTotal = recent
				page, err := ds.List(f.ctx, f.A.ID, opts)
				must(t, "List", err)
				if d := diff(c.want, deviceNames(page.Items)); d != "" {
					t.Errorf("call %d: items (-want +got):\n%s", i, d)
				}
				if page.TotalCount != c.all {
					t.Errorf("call %d: TotalCount = %d, want %d", i, page.TotalCount, c.all)
				}
			}
		})
	}
	// The list carries the owner and the full record.
	page, err := ds.List(f.ctx, f.A.ID, mdm.ListOptions{Filter: eq("id", int64(a[0].ID))})
	must(t, "List one", err)
	if len(page.Items) != 1 || page.Items[0].OwnerEmail != ann.Email || page.Items[0].Facts != facts(1) {
		t.Errorf("List(id) = %+v", page.Items)
	}
	_, err = ds.List(f.ctx, f.A.ID, mdm.ListOptions{Sort: []mdm.SortField{{Field: "credentialHash"}}})
	wantCode(t, "sort on an unknown field", err, mdm.Invalid)
	_, err = ds.List(f.ctx, "", mdm.ListOptions{})
	if err == nil {
		t.Error("List without a tenant succeeded")
	}
}

// testDeviceListRecentTotal: a list that accepts a recent total still sees at once the devices this
// store registers, changes the state of or deletes, and never another tenant's total for the same filter.
func testDeviceListRecentTotal(t *testing.T, f *fixture) {
	ds := f.s.Devices()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	for i := 1; i <= 3; i++ {
		f.device(t, ann, i)
	}
	f.device(t, bob, 10)
	active := mdm.ListOptions{Rows: 2, RecentTotal: true,
		Filter: mdm.Compare{Field: "registrationState", Op: mdm.Eq, Value: mdm.StateActive}}
	total := func(tenant mdm.TenantID, opts mdm.ListOptions, want int) {
		t.Helper()
		page, err := ds.List(f.ctx, tenant, opts)
		must(t, "List", err)
		if page.TotalCount != want {
			t.Errorf("TotalCount of %s = %d, want %d", tenant, page.TotalCount, want)
		}
	}
	total(f.A.ID, active, 3)
	total(f.B.ID, active, 1)
	total(f.A.ID, active, 3)

	v15 := mdm.ListOptions{Rows: 2, RecentTotal: true, Filter: mdm.Compare{Field: "platformVersion", Op: mdm.Eq, Value: "15"}}
	total(f.A.ID, v15, 0)
	d1, _ := f.device(t, ann, 7) // active, deleted below
	upgraded := facts(7)
	upgraded.OSVersion = "15"
	must(t, "SetFacts", ds.SetFacts(f.ctx, f.A.ID, d1.ID, mdm.KindAndroidPhone, upgraded, nil, f.now))
	total(f.A.ID, v15, 1)
	_, err := ds.Delete(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID})
	must(t, "Delete", err)
	total(f.A.ID, v15, 0)

	d4, _ := f.device(t, ann, 4)
	total(f.A.ID, active, 4)
	total(f.B.ID, active, 1)

	_, err = ds.SetState(f.ctx, f.A.ID, []mdm.DeviceID{d4.ID}, []string{mdm.StateActive}, mdm.StateRetired, f.now)
	must(t, "SetState", err)
	total(f.A.ID, active, 3)

	d5, _ := f.device(t, ann, 5)
	total(f.A.ID, active, 4)
	_, err = ds.Delete(f.ctx, f.A.ID, []mdm.DeviceID{d5.ID})
	must(t, "Delete", err)
	total(f.A.ID, active, 3)

	// A registration in a transaction: its own list counts it, and so does the next list after commit.
	err = f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		if _, err := tx.Devices().Create(f.ctx, newDevice(t, ann, 6), f.now); err != nil {
			return err
		}
		page, err := tx.Devices().List(f.ctx, f.A.ID, active)
		if err == nil && page.TotalCount != 4 {
			t.Errorf("TotalCount inside the transaction = %d, want 4", page.TotalCount)
		}
		return err
	})
	must(t, "InTx", err)
	total(f.A.ID, active, 4)
	total(f.B.ID, active, 1)

	// A filter on the owner counts through the owner's account.
	byOwner := active
	byOwner.Filter = mdm.Compare{Field: "emailAddress", Op: mdm.Eq, Value: "ann@a.example.com"}
	total(f.A.ID, byOwner, 5)
	total(f.B.ID, byOwner, 0)
}
