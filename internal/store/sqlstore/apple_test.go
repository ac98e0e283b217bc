package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// TestSQLiteForeignKeysIndexed: SQLite finds the child rows of a deleted parent by the foreign key's
// columns alone, so every foreign key of the Apple tables needs an index that leads with them, or each
// device or account delete scans the whole child table.
func TestSQLiteForeignKeysIndexed(t *testing.T) {
	s := migrated(t, openSQLite(t))
	db := s.DB()
	tables := strings.Fields("apple_devices apple_enrollments apple_push_certificates")
	for _, tbl := range tables {
		var fks [][]string // the child columns of each key, in order
		err := query(t.Context(), db, `SELECT id, seq, "from" FROM pragma_foreign_key_list($1) ORDER BY id, seq`, func(r *sql.Rows) error {
			var id, seq int
			var from string
			if err := r.Scan(&id, &seq, &from); err != nil {
				return err
			}
			if seq == 0 {
				fks = append(fks, nil)
			}
			fks[len(fks)-1] = append(fks[len(fks)-1], from)
			return nil
		}, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if len(fks) == 0 {
			t.Errorf("%s has no foreign keys: the test looks at the wrong tables", tbl)
		}
		var leads []string // each index's (and the primary key's) columns, comma-joined
		var names []string
		err = query(t.Context(), db, `SELECT name FROM pragma_index_list($1)`, func(r *sql.Rows) error {
			var n string
			err := r.Scan(&n)
			names = append(names, n)
			return err
		}, tbl)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			var cols []string
			err := query(t.Context(), db, `SELECT COALESCE(name, '') FROM pragma_index_info($1) ORDER BY seqno`, func(r *sql.Rows) error {
				var c string
				err := r.Scan(&c)
				cols = append(cols, c)
				return err
			}, n)
			if err != nil {
				t.Fatal(err)
			}
			leads = append(leads, strings.Join(cols, ","))
		}
		for _, fk := range fks {
			want := strings.Join(fk, ",")
			covered := false
			for _, l := range leads {
				if l == want || strings.HasPrefix(l, want+",") {
					covered = true
				}
			}
			if !covered {
				t.Errorf("%s: no index leads with the foreign key's columns (%s); indexes: %q", tbl, want, leads)
			}
		}
	}
}

// TestInventoryDueUsesIndex: the inventory job's query reads apple_devices by the due-time index
// in order instead of scanning and sorting every Apple device.
func TestInventoryDueUsesIndex(t *testing.T) {
	s := migrated(t, openSQLite(t))
	var plan []string
	// The query InventoryDue runs.
	err := query(t.Context(), s.DB(), `EXPLAIN QUERY PLAN SELECT a.device_id FROM apple_devices a
		JOIN devices d ON d.tenant_id=a.tenant_id AND d.id=a.device_id
		WHERE (CASE WHEN a.inventory_at = 0 THEN a.enrolled_at ELSE a.inventory_at END) < 5
		AND d.registration_state='ACTIVE' AND d.platform='IOS'
		AND NOT EXISTS (SELECT 1 FROM device_commands c WHERE c.tenant_id=a.tenant_id AND c.device_id=a.device_id
			AND c.status IN ('PENDING', 'SENT', 'NOT_NOW') AND c.type='DEVICE_INFORMATION')
		ORDER BY (CASE WHEN a.inventory_at = 0 THEN a.enrolled_at ELSE a.inventory_at END), a.tenant_id, a.device_id LIMIT 10`,
		func(r *sql.Rows) error {
			var id, parent, unused int
			var detail string
			err := r.Scan(&id, &parent, &unused, &detail)
			plan = append(plan, detail)
			return err
		})
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "apple_devices_inventory_due") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("the query plan does not read apple_devices_inventory_due in order:\n%s", p)
	}
}

// TestAppleCascades deletes parent rows with plain SQL (not through the stores, which may clean up
// themselves) and checks that the schema's cascades remove the Apple rows that go with them.
func TestAppleCascades(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		ctx := t.Context()
		s := migrated(t, open(t))
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		tn := mdm.Tenant{ID: "00000000-0000-4000-8000-00000000000a", Name: "A", State: mdm.TenantActive, LicenseDevices: 5, CreatedAt: now, ModifiedAt: now}
		acc := mdm.Account{TenantID: tn.ID, Username: "u@example.com", Email: "u@example.com", Enabled: true, CreatedAt: now, ModifiedAt: now}
		acc2 := mdm.Account{TenantID: tn.ID, Username: "v@example.com", Email: "v@example.com", Enabled: true, CreatedAt: now, ModifiedAt: now}
		err := s.InTx(ctx, func(tx mdm.Stores) error {
			if err := tx.Tenants().Create(ctx, &tn); err != nil {
				return err
			}
			if err := tx.Accounts().Create(ctx, &acc); err != nil {
				return err
			}
			return tx.Accounts().Create(ctx, &acc2)
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []mdm.DeviceID
		for i := range 2 {
			var id mdm.DeviceID
			if err := s.DB().QueryRowContext(ctx, `INSERT INTO devices (tenant_id, account_id, platform, registration_state, created_at)
				VALUES ($1,$2,'IOS','ACTIVE',$3) RETURNING id`, tn.ID, acc.ID, now.UnixMilli()).Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			if err := s.Apple().PutDevice(ctx, mdm.AppleDevice{TenantID: tn.ID, DeviceID: id, UDID: fmt.Sprint("udid-", i), EnrolledAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		for i, a := range []mdm.Account{acc, acc2} {
			if err := s.Apple().CreateEnrollment(ctx, mdm.AppleEnrollment{ID: fmt.Sprint("enr-", i), TenantID: tn.ID, AccountID: a.ID,
				ChallengeHash: []byte{byte(i + 1)}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}

		if _, err := s.DB().ExecContext(ctx, `DELETE FROM devices WHERE tenant_id=$1 AND id=$2`, tn.ID, ids[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apple().Device(ctx, tn.ID, ids[0]); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("Apple state of a device deleted with plain SQL: %v, want not_found (no cascade?)", err)
		}
		if _, err := s.Apple().Device(ctx, tn.ID, ids[1]); err != nil {
			t.Errorf("Apple state of another device: %v", err)
		}

		if _, err := s.DB().ExecContext(ctx, `DELETE FROM accounts WHERE tenant_id=$1 AND id=$2`, tn.ID, acc2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apple().Enrollment(ctx, "enr-1"); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("enrollment of an account deleted with plain SQL: %v, want not_found (no cascade?)", err)
		}
		if _, err := s.Apple().Enrollment(ctx, "enr-0"); err != nil {
			t.Errorf("enrollment of another account: %v", err)
		}
	})
}
