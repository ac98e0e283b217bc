package sqlstore_test

import (
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// TestDeleteLeavesNoRows: deleting a device removes its app and command rows, which no store method
// can read once the device is gone, and leaves another device's rows alone.
func TestDeleteLeavesNoRows(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		ctx := t.Context()
		s := migrated(t, open(t))
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		tn := mdm.Tenant{ID: "00000000-0000-4000-8000-00000000000a", Name: "A", State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
		if err := s.Tenants().Create(ctx, &tn); err != nil {
			t.Fatal(err)
		}
		var ids []mdm.DeviceID
		for i, guid := range []string{"g1", "g2"} {
			d, err := s.Devices().Create(ctx, mdm.NewDevice{TenantID: tn.ID, GUID: guid, Platform: mdm.PlatformAndroid,
				CredentialHash: []byte{byte(i + 1)}}, now)
			if err != nil {
				t.Fatal(err)
			}
			apps := []mdm.InstalledApp{{AppID: "a"}, {AppID: "b"}}
			if err := s.Devices().SetApps(ctx, tn.ID, d.ID, apps, nil, now); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		if _, err := s.Commands().Enqueue(ctx, tn.ID, ids, []string{mdm.StateActive}, mdm.NewCommand{Type: mdm.CmdLock}, now); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Devices().Delete(ctx, tn.ID, ids[:1]); err != nil || n != 1 {
			t.Fatalf("Delete = %d, %v", n, err)
		}
		for _, c := range []struct {
			table string
			id    mdm.DeviceID
			want  int
		}{{"device_apps", ids[0], 0}, {"device_commands", ids[0], 0}, {"device_apps", ids[1], 2}, {"device_commands", ids[1], 1}} {
			var n int
			if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+c.table+` WHERE device_id=$1`, c.id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != c.want {
				t.Errorf("%s rows of device %d: %d, want %d", c.table, c.id, n, c.want)
			}
		}
	})
}
