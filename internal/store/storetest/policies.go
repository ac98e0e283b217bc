package storetest

import (
	"slices"
	"testing"
	"time"

	"steward/internal/mdm"
)

var policyTests = []test{
	{"CRUD", testPolicies},
	{"Violations", testPolicyViolations},
	{"ViolationBatches", testPolicyViolationBatches},
	{"Lease", testLease},
}

func (f *fixture) policy(t *testing.T, tenant mdm.TenantID, name string, priority int) mdm.Policy {
	t.Helper()
	p := mdm.Policy{TenantID: tenant, Name: name, Description: "about " + name, Type: "COMPROMISED", Params: map[string]string{},
		Rule: "jailbroken = true", Platforms: []string{mdm.PlatformAndroid}, DeviceGroups: []mdm.DeviceGroupID{3},
		UserGroups: []mdm.GroupID{}, Priority: priority, Enabled: true,
		Actions:   []mdm.PolicyAction{{Kind: mdm.ActionMessage, AfterMinutes: 5, Email: true, Title: "T", Message: "M"}},
		CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create policy "+name, f.s.Policies().Create(f.ctx, &p))
	return p
}

func testPolicies(t *testing.T, f *fixture) {
	ps := f.s.Policies()
	a := f.policy(t, f.A.ID, "Rooted", 5)
	b := f.policy(t, f.A.ID, "First", 1)
	f.policy(t, f.B.ID, "Rooted", 1) // names are per tenant
	got, err := ps.Get(f.ctx, f.A.ID, a.ID)
	must(t, "Get", err)
	if d := diff(a, *got); d != "" {
		t.Errorf("Get (-created +got):\n%s", d)
	}
	_, err = ps.Get(f.ctx, f.B.ID, a.ID)
	wantCode(t, "Get through B", err, mdm.NotFound)
	dup := a
	dup.ID, dup.Name = 0, "ROOTED"
	wantCode(t, "duplicate name", ps.Create(f.ctx, &dup), mdm.Conflict)
	wantCode(t, "unknown tenant", ps.Create(f.ctx, &mdm.Policy{TenantID: newTenantID(t), Name: "x", CreatedAt: f.now, ModifiedAt: f.now}), mdm.NotFound)

	all, err := ps.All(f.ctx, f.A.ID)
	must(t, "All", err)
	if len(all) != 2 || all[0].ID != b.ID || all[1].ID != a.ID {
		t.Errorf("All: want by priority, got %+v", all)
	}
	page, err := ps.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Sort: []mdm.SortField{{Field: "name"}}})
	must(t, "List", err)
	if page.TotalCount != 2 || page.Items[0].Name != "First" {
		t.Errorf("List: %+v", page)
	}

	up := a
	up.Name, up.Enabled, up.ModifiedAt = "Rooted devices", false, f.now.Add(time.Hour)
	up.TenantID = f.B.ID
	wantCode(t, "Update through B", ps.Update(f.ctx, &up), mdm.NotFound)
	up.TenantID = f.A.ID
	must(t, "Update", ps.Update(f.ctx, &up))
	got, err = ps.Get(f.ctx, f.A.ID, a.ID)
	must(t, "Get after update", err)
	if d := diff(up, *got); d != "" {
		t.Errorf("after Update (-want +got):\n%s", d)
	}
	up.Name = "first"
	wantCode(t, "Update to a taken name", ps.Update(f.ctx, &up), mdm.Conflict)

	wantCode(t, "Delete through B", ps.Delete(f.ctx, f.B.ID, a.ID), mdm.NotFound)
	must(t, "Delete", ps.Delete(f.ctx, f.A.ID, a.ID))
	wantCode(t, "Delete again", ps.Delete(f.ctx, f.A.ID, a.ID), mdm.NotFound)
	tenants, err := ps.TenantsWithPolicies(f.ctx)
	must(t, "TenantsWithPolicies", err)
	if !slices.Contains(tenants, f.A.ID) || !slices.Contains(tenants, f.B.ID) {
		t.Errorf("TenantsWithPolicies: %v", tenants)
	}
}

func testPolicyViolations(t *testing.T, f *fixture) {
	ps := f.s.Policies()
	p := f.policy(t, f.A.ID, "Rooted", 1)
	pb := f.policy(t, f.B.ID, "Rooted", 1)
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	d, _ := f.device(t, ann, 1)
	db, _ := f.device(t, bob, 2)

	v := mdm.PolicyViolation{TenantID: f.A.ID, DeviceID: d.ID, PolicyID: p.ID, Since: f.now, Done: []int{}, CheckedAt: f.now}
	must(t, "CreateViolation", ps.CreateViolation(f.ctx, v))
	wantCode(t, "CreateViolation again", ps.CreateViolation(f.ctx, v), mdm.Conflict)
	must(t, "CreateViolation in B", ps.CreateViolation(f.ctx, mdm.PolicyViolation{TenantID: f.B.ID, DeviceID: db.ID,
		PolicyID: pb.ID, Since: f.now, CheckedAt: f.now}))

	got, err := ps.Violations(f.ctx, f.A.ID, []mdm.DeviceID{d.ID, db.ID})
	must(t, "Violations", err)
	if d := diff([]mdm.PolicyViolation{v}, got); d != "" {
		t.Errorf("Violations of A (-want +got):\n%s", d)
	}

	next := v
	next.Done, next.Quarantined, next.CheckedAt = []int{0}, true, f.now.Add(time.Minute)
	must(t, "UpdateViolation", ps.UpdateViolation(f.ctx, next, []int{}))
	wantCode(t, "UpdateViolation from a stale state", ps.UpdateViolation(f.ctx, next, []int{}), mdm.Conflict)
	wrong := next
	wrong.TenantID = f.B.ID
	wantCode(t, "UpdateViolation through B", ps.UpdateViolation(f.ctx, wrong, []int{0}), mdm.Conflict)
	got, _ = ps.Violations(f.ctx, f.A.ID, []mdm.DeviceID{d.ID})
	if d := diff([]mdm.PolicyViolation{next}, got); d != "" {
		t.Errorf("after UpdateViolation (-want +got):\n%s", d)
	}

	counts, err := ps.ViolationCounts(f.ctx, f.A.ID)
	must(t, "ViolationCounts", err)
	if d := diff(map[mdm.PolicyID]int{p.ID: 1}, counts); d != "" {
		t.Errorf("ViolationCounts (-want +got):\n%s", d)
	}

	c := mdm.DeviceCompliance{Compliant: false, Quarantined: true, Violated: []string{"Rooted"}}
	wantCode(t, "SetDeviceCompliance through B", ps.SetDeviceCompliance(f.ctx, f.B.ID, d.ID, c, false, f.now), mdm.NotFound)
	must(t, "SetDeviceCompliance", ps.SetDeviceCompliance(f.ctx, f.A.ID, d.ID, c, false, f.now))
	wantCode(t, "SetDeviceCompliance from a stale quarantine", ps.SetDeviceCompliance(f.ctx, f.A.ID, d.ID, c, false, f.now), mdm.Conflict)
	dev, err := f.s.Devices().Get(f.ctx, f.A.ID, d.ID)
	must(t, "Get device", err)
	if dev.ComplianceState || !dev.Quarantined || dev.PolicyViolationCount != 1 || !slices.Equal(dev.ViolatedPolicies, []string{"Rooted"}) {
		t.Errorf("device after SetDeviceCompliance: %+v", dev)
	}
	q, err := f.s.Devices().List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "quarantined", Op: mdm.Eq, Value: true}})
	must(t, "List quarantined", err)
	if q.TotalCount != 1 {
		t.Errorf("quarantined devices: %d", q.TotalCount)
	}

	batch, err := ps.DevicesAfter(f.ctx, f.A.ID, 0, 10)
	must(t, "DevicesAfter", err)
	if len(batch) != 1 || batch[0].ID != d.ID || !batch[0].Quarantined || batch[0].OwnerEmail != ann.Email {
		t.Errorf("DevicesAfter: %+v", batch)
	}
	if batch, _ := ps.DevicesAfter(f.ctx, f.A.ID, d.ID, 10); len(batch) != 0 {
		t.Errorf("DevicesAfter the last device: %+v", batch)
	}
	if batch, _ := ps.DevicesAfter(f.ctx, f.B.ID, 0, 10); len(batch) != 1 || batch[0].ID != db.ID {
		t.Errorf("DevicesAfter of B: %+v", batch)
	}
	wantCode(t, "DeleteViolation through B", ps.DeleteViolation(f.ctx, f.B.ID, d.ID, p.ID), mdm.NotFound)
	must(t, "DeleteViolation", ps.DeleteViolation(f.ctx, f.A.ID, d.ID, p.ID))
	wantCode(t, "DeleteViolation again", ps.DeleteViolation(f.ctx, f.A.ID, d.ID, p.ID), mdm.NotFound)
	// Deleting a policy removes its violations.
	must(t, "Delete policy of B", ps.Delete(f.ctx, f.B.ID, pb.ID))
	got, _ = ps.Violations(f.ctx, f.B.ID, []mdm.DeviceID{db.ID})
	if len(got) != 0 {
		t.Errorf("violations of a deleted policy: %+v", got)
	}
}

// testPolicyViolationBatches: the sweep's batched writes do what the one-row forms do, in the tenant only.
func testPolicyViolationBatches(t *testing.T, f *fixture) {
	ps := f.s.Policies()
	p := f.policy(t, f.A.ID, "Rooted", 1)
	q := f.policy(t, f.A.ID, "Old", 2)
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	db, _ := f.device(t, bob, 3)

	vs := []mdm.PolicyViolation{
		{TenantID: f.A.ID, DeviceID: d1.ID, PolicyID: p.ID, Since: f.now, Done: []int{0}, CheckedAt: f.now},
		{TenantID: f.A.ID, DeviceID: d1.ID, PolicyID: q.ID, Since: f.now, Done: []int{}, Quarantined: true, CheckedAt: f.now},
		{TenantID: f.A.ID, DeviceID: d2.ID, PolicyID: p.ID, Since: f.now.Add(time.Minute), Done: []int{}, CheckedAt: f.now},
	}
	must(t, "CreateViolations", ps.CreateViolations(f.ctx, vs))
	wantCode(t, "CreateViolations with one recorded already", ps.CreateViolations(f.ctx, vs[2:]), mdm.Conflict)
	got, err := ps.Violations(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID})
	must(t, "Violations", err)
	if d := diff(vs, got); d != "" {
		t.Errorf("after CreateViolations (-want +got):\n%s", d)
	}

	keys := []mdm.ViolationKey{{DeviceID: d1.ID, PolicyID: q.ID}, {DeviceID: d2.ID, PolicyID: p.ID}}
	wantCode(t, "DeleteViolations through B", ps.DeleteViolations(f.ctx, f.B.ID, keys), mdm.Conflict)
	must(t, "DeleteViolations", ps.DeleteViolations(f.ctx, f.A.ID, keys))
	wantCode(t, "DeleteViolations again", ps.DeleteViolations(f.ctx, f.A.ID, keys), mdm.Conflict)
	got, _ = ps.Violations(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID})
	if d := diff(vs[:1], got); d != "" {
		t.Errorf("after DeleteViolations (-want +got):\n%s", d)
	}

	cs := []mdm.ComplianceChange{
		{DeviceID: d1.ID, Compliance: mdm.DeviceCompliance{Violated: []string{"Rooted"}}},
		{DeviceID: d2.ID, Compliance: mdm.DeviceCompliance{Violated: []string{"Rooted", "Old"}, Quarantined: true}},
	}
	wantCode(t, "SetDevicesCompliance through B", ps.SetDevicesCompliance(f.ctx, f.B.ID, cs, f.now), mdm.Conflict)
	must(t, "SetDevicesCompliance", ps.SetDevicesCompliance(f.ctx, f.A.ID, cs, f.now))
	wantCode(t, "SetDevicesCompliance from a stale quarantine", ps.SetDevicesCompliance(f.ctx, f.A.ID, cs[1:], f.now), mdm.Conflict)
	devs, err := ps.DevicesByID(f.ctx, f.A.ID, []mdm.DeviceID{d2.ID, d1.ID, db.ID})
	must(t, "DevicesByID", err)
	if len(devs) != 2 || devs[0].ID != d1.ID || devs[1].ID != d2.ID || devs[0].OwnerEmail != ann.Email {
		t.Fatalf("DevicesByID: want d1 and d2 of A, got %+v", devs)
	}
	if c := devs[0]; c.ComplianceState || c.Quarantined || c.PolicyViolationCount != 1 || !slices.Equal(c.ViolatedPolicies, []string{"Rooted"}) {
		t.Errorf("d1 after SetDevicesCompliance: %+v", c)
	}
	if c := devs[1]; c.ComplianceState || !c.Quarantined || c.PolicyViolationCount != 2 || !slices.Equal(c.ViolatedPolicies, []string{"Rooted", "Old"}) {
		t.Errorf("d2 after SetDevicesCompliance: %+v", c)
	}
	if other, _ := f.s.Devices().Get(f.ctx, f.B.ID, db.ID); !other.ComplianceState {
		t.Errorf("B's device changed: %+v", other)
	}

	recs := []*mdm.AuditRecord{
		{TenantID: f.A.ID, At: f.now, Action: "storetest.first", TargetType: "device", TargetID: "1", Details: map[string]any{}, ActorKind: "system"},
		{TenantID: f.A.ID, At: f.now, Action: "storetest.second", TargetType: "device", TargetID: "2", Details: map[string]any{"n": 2.0}, ActorKind: "system"},
	}
	must(t, "AppendAll", f.s.Audit().AppendAll(f.ctx, recs))
	page, err := f.s.Audit().List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Sort: []mdm.SortField{{Field: "id"}},
		Filter: mdm.Compare{Field: "action", Op: mdm.Contains, Value: "storetest."}})
	must(t, "List audit", err)
	if len(page.Items) != 2 || page.Items[0].Action != "storetest.first" || page.Items[1].Details["n"] != 2.0 {
		t.Errorf("audit after AppendAll: %+v", page.Items)
	}
}

func testLease(t *testing.T, f *fixture) {
	ps := f.s.Leases()
	const name = "storetest.job"
	until := f.now.Add(time.Minute)
	ok, err := ps.AcquireLease(f.ctx, name, "a", f.now, until)
	if err != nil || !ok {
		t.Fatalf("first AcquireLease: %v %v", ok, err)
	}
	if ok, _ := ps.AcquireLease(f.ctx, name, "b", f.now.Add(time.Second), until); ok {
		t.Error("b took a live lease")
	}
	if ok, _ := ps.AcquireLease(f.ctx, name, "a", f.now.Add(time.Second), until.Add(time.Minute)); !ok {
		t.Error("a could not renew its lease")
	}
	if last, err := ps.LastRun(f.ctx, name); err != nil || !last.IsZero() {
		t.Errorf("LastRun before any run: %v %v", last, err)
	}
	must(t, "LeaseRan", ps.LeaseRan(f.ctx, name, f.now))
	if last, _ := ps.LastRun(f.ctx, name); !last.Equal(f.now) {
		t.Errorf("LastRun: %v", last)
	}
	if ok, _ := ps.AcquireLease(f.ctx, name, "b", until.Add(2*time.Minute), until.Add(3*time.Minute)); !ok {
		t.Error("b could not take an expired lease")
	}
	exactlyOneWins(t, "AcquireLease of a new job", 8, func(i int) error {
		ok, err := ps.AcquireLease(f.ctx, "storetest.race", string(rune('a'+i)), f.now, until)
		if err == nil && !ok {
			return mdm.Errorf(mdm.Conflict, "held")
		}
		return err
	})
}
