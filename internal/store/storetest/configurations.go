package storetest

import (
	"testing"

	"steward/internal/mdm"
)

var configurationTests = []test{
	{"CRUDAndPriority", testConfigurations},
	{"Deliveries", testConfigDeliveries},
	{"Convergence", testConfigConvergence},
}

func (f *fixture) configuration(t *testing.T, tenant mdm.TenantID, name, typ string) *mdm.Configuration {
	t.Helper()
	c := &mdm.Configuration{TenantID: tenant, Name: name, Type: typ, Version: 1,
		Attributes: map[string]any{"ssid": name, "n": float64(3)}, Secrets: []byte("sealed"), CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "create configuration "+name, f.s.Configurations().Create(f.ctx, c))
	return c
}

func configNames(p mdm.Page[mdm.Configuration]) []string {
	var out []string
	for _, c := range p.Items {
		out = append(out, c.Name)
	}
	return out
}

func testConfigurations(t *testing.T, f *fixture) {
	cs := f.s.Configurations()
	w1 := f.configuration(t, f.A.ID, "Wifi One", "WIFI")
	w2 := f.configuration(t, f.A.ID, "Wifi Two", "WIFI")
	w3 := f.configuration(t, f.A.ID, "Wifi Three", "WIFI")
	p1 := f.configuration(t, f.A.ID, "Passcode", "PASSCODE")
	b1 := f.configuration(t, f.B.ID, "Wifi One", "WIFI") // the same name in another tenant
	if w1.Priority != 1 || w2.Priority != 2 || w3.Priority != 3 || p1.Priority != 1 || b1.Priority != 1 {
		t.Errorf("priorities %d %d %d %d %d, want 1 2 3 1 1", w1.Priority, w2.Priority, w3.Priority, p1.Priority, b1.Priority)
	}
	dup := &mdm.Configuration{TenantID: f.A.ID, Name: "WIFI ONE", Type: "WIFI", Version: 1, CreatedAt: f.now, ModifiedAt: f.now}
	wantCode(t, "duplicate name", cs.Create(f.ctx, dup), mdm.Conflict)

	got, err := cs.Get(f.ctx, f.A.ID, w1.ID)
	must(t, "get", err)
	if got.Name != "Wifi One" || got.Attributes["ssid"] != "Wifi One" || string(got.Secrets) != "sealed" || got.Version != 1 {
		t.Errorf("got %+v", got)
	}
	wantUTC(t, "configuration times", got.CreatedAt, got.ModifiedAt)
	_, err = cs.Get(f.ctx, f.B.ID, w1.ID)
	wantCode(t, "get of another tenant's", err, mdm.NotFound)
	many, err := cs.GetMany(f.ctx, f.B.ID, []mdm.ConfigurationID{w1.ID, b1.ID})
	must(t, "get many", err)
	if len(many) != 1 || many[b1.ID] == nil {
		t.Errorf("GetMany across tenants: %v", many)
	}

	p, err := cs.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10})
	must(t, "list", err)
	if d := diff([]string{"Passcode", "Wifi One", "Wifi Two", "Wifi Three"}, configNames(p)); d != "" || p.TotalCount != 4 {
		t.Errorf("list by type and priority (-want +got):\n%s", d)
	}

	// Moving the third to the top renumbers the others; other types and tenants keep theirs.
	must(t, "set priority", cs.SetPriority(f.ctx, f.A.ID, w3.ID, 1, f.now))
	p, _ = cs.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "type", Op: mdm.Eq, Value: "WIFI"}})
	if d := diff([]string{"Wifi Three", "Wifi One", "Wifi Two"}, configNames(p)); d != "" {
		t.Errorf("after priority change (-want +got):\n%s", d)
	}
	must(t, "priority past the end", cs.SetPriority(f.ctx, f.A.ID, w3.ID, 99, f.now))
	if c, _ := cs.Get(f.ctx, f.A.ID, w3.ID); c.Priority != 3 {
		t.Errorf("clamped priority %d, want 3", c.Priority)
	}
	wantCode(t, "priority of another tenant's", cs.SetPriority(f.ctx, f.B.ID, w3.ID, 1, f.now), mdm.NotFound)
	if c, _ := cs.Get(f.ctx, f.B.ID, b1.ID); c.Priority != 1 {
		t.Errorf("other tenant's priority moved: %d", c.Priority)
	}

	got.Name, got.Version, got.Attributes, got.Secrets = "Renamed", 2, map[string]any{"ssid": "x"}, nil
	must(t, "update", cs.Update(f.ctx, got))
	if c, _ := cs.Get(f.ctx, f.A.ID, w1.ID); c.Name != "Renamed" || c.Version != 2 || c.Secrets != nil {
		t.Errorf("updated %+v", c)
	}
	other := *got
	other.TenantID = f.B.ID
	wantCode(t, "update of another tenant's", cs.Update(f.ctx, &other), mdm.NotFound)
	got.ID, got.Name = w2.ID, "renamed"
	wantCode(t, "update to a taken name", cs.Update(f.ctx, got), mdm.Conflict)

	wantCode(t, "delete of another tenant's", cs.Delete(f.ctx, f.B.ID, w1.ID), mdm.NotFound)
	must(t, "delete", cs.Delete(f.ctx, f.A.ID, w1.ID))
	_, err = cs.Get(f.ctx, f.A.ID, w1.ID)
	wantCode(t, "get deleted", err, mdm.NotFound)
	p, _ = cs.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "type", Op: mdm.Eq, Value: "WIFI"}})
	var prios []int
	for _, c := range p.Items {
		prios = append(prios, c.Priority)
	}
	if d := diff([]int{1, 2}, prios); d != "" {
		t.Errorf("priorities after delete (-want +got):\n%s", d)
	}
}

func testConfigDeliveries(t *testing.T, f *fixture) {
	cs := f.s.Configurations()
	a, b := f.account(t, f.A.ID, "ann@a.example.com"), f.account(t, f.B.ID, "bob@b.example.com")
	da, _ := f.device(t, a, 1)
	db, _ := f.device(t, b, 2)
	w := f.configuration(t, f.A.ID, "Wifi", "WIFI")
	wb := f.configuration(t, f.B.ID, "Wifi", "WIFI")
	must(t, "set delivery", cs.SetDelivery(f.ctx, mdm.ConfigDelivery{TenantID: f.A.ID, DeviceID: da.ID, ConfigurationID: w.ID,
		Version: 1, Identifier: "com.x.1", Status: mdm.DeliveryPending, UpdatedAt: f.now}))
	must(t, "set delivery B", cs.SetDelivery(f.ctx, mdm.ConfigDelivery{TenantID: f.B.ID, DeviceID: db.ID, ConfigurationID: wb.ID,
		Version: 1, Identifier: "com.x.2", Status: mdm.DeliveryPending, UpdatedAt: f.now}))
	wantCode(t, "delivery to another tenant's device", cs.SetDelivery(f.ctx, mdm.ConfigDelivery{TenantID: f.B.ID, DeviceID: da.ID,
		ConfigurationID: wb.ID, Version: 1, Identifier: "x", Status: mdm.DeliveryPending, UpdatedAt: f.now}), mdm.NotFound)

	counts, err := cs.Counts(f.ctx, f.A.ID, []mdm.ConfigurationID{w.ID, wb.ID})
	must(t, "counts", err)
	if d := diff(map[mdm.ConfigurationID]mdm.ConfigCounts{w.ID: {Total: 1, Pending: 1}}, counts); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	// An answer for another version, or in another tenant, changes nothing.
	must(t, "stale answer", cs.Answer(f.ctx, f.A.ID, da.ID, w.ID, 7, false, mdm.DeliveryInstalled, "", f.now))
	must(t, "other tenant's answer", cs.Answer(f.ctx, f.B.ID, da.ID, w.ID, 1, false, mdm.DeliveryInstalled, "", f.now))
	if ds, _ := cs.Deliveries(f.ctx, f.A.ID, da.ID); ds[w.ID].Status != mdm.DeliveryPending {
		t.Errorf("after stale answers: %+v", ds[w.ID])
	}
	must(t, "error answer", cs.Answer(f.ctx, f.A.ID, da.ID, w.ID, 1, false, mdm.DeliveryError, "bad password", f.now))
	ds, err := cs.Deliveries(f.ctx, f.A.ID, da.ID)
	must(t, "deliveries", err)
	if d := ds[w.ID]; d.Status != mdm.DeliveryError || d.Error != "bad password" || d.Identifier != "com.x.1" || d.Remove {
		t.Errorf("delivery %+v", d)
	}
	counts, _ = cs.Counts(f.ctx, f.A.ID, []mdm.ConfigurationID{w.ID})
	if counts[w.ID] != (mdm.ConfigCounts{Total: 1, Error: 1}) {
		t.Errorf("counts %+v", counts[w.ID])
	}
	// A newer configuration version makes the installed delivery pending in the counts.
	must(t, "installed", cs.Answer(f.ctx, f.A.ID, da.ID, w.ID, 1, false, mdm.DeliveryInstalled, "", f.now))
	w.Version = 2
	must(t, "new version", cs.Update(f.ctx, w))
	counts, _ = cs.Counts(f.ctx, f.A.ID, []mdm.ConfigurationID{w.ID})
	if counts[w.ID] != (mdm.ConfigCounts{Total: 1, Pending: 1}) {
		t.Errorf("counts after a new version %+v", counts[w.ID])
	}
	list, err := cs.ForConfiguration(f.ctx, f.A.ID, w.ID, 0, 10)
	must(t, "for configuration", err)
	if len(list) != 1 || list[0].DeviceID != da.ID {
		t.Errorf("for configuration %+v", list)
	}
	if list, _ := cs.ForConfiguration(f.ctx, f.B.ID, w.ID, 0, 10); len(list) != 0 {
		t.Errorf("other tenant sees %+v", list)
	}
	// A removal: an install answer no longer counts; the removal's answer deletes the delivery.
	d := ds[w.ID]
	d.Remove, d.Status = true, mdm.DeliveryPending
	must(t, "removal", cs.SetDelivery(f.ctx, d))
	must(t, "install answer during removal", cs.Answer(f.ctx, f.A.ID, da.ID, w.ID, 1, false, mdm.DeliveryInstalled, "", f.now))
	if ds, _ := cs.Deliveries(f.ctx, f.A.ID, da.ID); !ds[w.ID].Remove || ds[w.ID].Status != mdm.DeliveryPending {
		t.Errorf("removal %+v", ds[w.ID])
	}
	if counts, _ := cs.Counts(f.ctx, f.A.ID, []mdm.ConfigurationID{w.ID}); counts[w.ID].Total != 0 {
		t.Errorf("a removal counts: %+v", counts[w.ID])
	}
	must(t, "removal answer", cs.Answer(f.ctx, f.A.ID, da.ID, w.ID, 1, true, mdm.DeliveryInstalled, "", f.now))
	if ds, _ := cs.Deliveries(f.ctx, f.A.ID, da.ID); len(ds) != 0 {
		t.Errorf("after removal %+v", ds)
	}
	// A retired device's deliveries no longer count.
	must(t, "B installed", cs.Answer(f.ctx, f.B.ID, db.ID, wb.ID, 1, false, mdm.DeliveryInstalled, "", f.now))
	if counts, _ := cs.Counts(f.ctx, f.B.ID, []mdm.ConfigurationID{wb.ID}); counts[wb.ID] != (mdm.ConfigCounts{Total: 1, Installed: 1}) {
		t.Errorf("B counts %+v", counts[wb.ID])
	}
	if _, err := f.s.Devices().SetState(f.ctx, f.B.ID, []mdm.DeviceID{db.ID}, []string{mdm.StateActive}, mdm.StateRetired, f.now); err != nil {
		t.Fatal(err)
	}
	if counts, _ := cs.Counts(f.ctx, f.B.ID, []mdm.ConfigurationID{wb.ID}); counts[wb.ID].Total != 0 {
		t.Errorf("a retired device counts: %+v", counts[wb.ID])
	}
	if list, _ := cs.ForConfiguration(f.ctx, f.B.ID, wb.ID, 0, 10); len(list) != 0 {
		t.Errorf("a retired device is listed: %+v", list)
	}
	// Deleting a device takes its deliveries.
	if _, err := f.s.Devices().Delete(f.ctx, f.B.ID, []mdm.DeviceID{db.ID}); err != nil {
		t.Fatal(err)
	}
	if ds, _ := cs.Deliveries(f.ctx, f.B.ID, db.ID); len(ds) != 0 {
		t.Errorf("deleted device's deliveries %+v", ds)
	}
}

func testConfigConvergence(t *testing.T, f *fixture) {
	cs := f.s.Configurations()
	a, b := f.account(t, f.A.ID, "ann@a.example.com"), f.account(t, f.B.ID, "bob@b.example.com")
	d1, _ := f.device(t, a, 1)
	d2, _ := f.device(t, a, 2)
	db, _ := f.device(t, b, 3)
	behind := func(tenant mdm.TenantID, gen int64, after mdm.DeviceID, limit int) []mdm.DeviceID {
		t.Helper()
		ids, err := cs.DevicesBehind(f.ctx, tenant, gen, after, limit)
		must(t, "devices behind", err)
		return ids
	}
	if d := diff([]mdm.DeviceID{d1.ID, d2.ID}, behind(f.A.ID, 0, 0, 10)); d != "" {
		t.Errorf("new devices are behind (-want +got):\n%s", d)
	}
	if d := diff([]mdm.DeviceID{d2.ID}, behind(f.A.ID, 0, d1.ID, 10)); d != "" {
		t.Errorf("paged (-want +got):\n%s", d)
	}
	must(t, "converged", cs.Converged(f.ctx, f.A.ID, d1.ID, 3, f.now))
	must(t, "converged again", cs.Converged(f.ctx, f.A.ID, d1.ID, 5, f.now))
	if d := diff([]mdm.DeviceID{d2.ID}, behind(f.A.ID, 5, 0, 10)); d != "" {
		t.Errorf("after converging (-want +got):\n%s", d)
	}
	if d := diff([]mdm.DeviceID{d1.ID, d2.ID}, behind(f.A.ID, 6, 0, 10)); d != "" {
		t.Errorf("generation moved (-want +got):\n%s", d)
	}
	wantCode(t, "converged for another tenant's device", cs.Converged(f.ctx, f.B.ID, d2.ID, 1, f.now), mdm.NotFound)
	if d := diff([]mdm.DeviceID{db.ID}, behind(f.B.ID, 0, 0, 10)); d != "" {
		t.Errorf("tenant B (-want +got):\n%s", d)
	}
	// Retired devices are never behind.
	if _, err := f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{d2.ID}, []string{mdm.StateActive}, mdm.StateRetired, f.now); err != nil {
		t.Fatal(err)
	}
	if d := diff([]mdm.DeviceID{d1.ID}, behind(f.A.ID, 9, 0, 10)); d != "" {
		t.Errorf("retired device (-want +got):\n%s", d)
	}
}
