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
			page, err := ds.List(f.ctx, f.A.ID, c.opts)
			must(t, "List", err)
			if d := diff(c.want, deviceNames(page.Items)); d != "" {
				t.Errorf("items (-want +got):\n%s", d)
			}
			if page.TotalCount != c.all {
				t.Errorf("TotalCount = %d, want %d", page.TotalCount, c.all)
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
