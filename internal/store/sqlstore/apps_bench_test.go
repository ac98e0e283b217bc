package sqlstore_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// BenchmarkAppInventory times the App Inventory over one tenant of STEWARD_BENCH_DEVICES devices
// (100,000 by default), each with 30 installed apps: 20 common ones (every device, three versions each)
// and 10 drawn from 2,000 others, so 3,000,000 installed-app rows and 2,020 distinct apps; 50 apps are
// managed. It reads the first page (by device count), a search, a platform filter, the last page and
// the drill-down from a common app to its devices; Refresh recomputes the summary the pages read, and
// Source is the fingerprint of the devices that decides whether to.
func BenchmarkAppInventory(b *testing.B) {
	n := 100_000
	if s := os.Getenv("STEWARD_BENCH_DEVICES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	forEachDBBench(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := b.Context()
		tenant := mdm.TenantID("bench-inventory")
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		tn := mdm.Tenant{ID: tenant, Name: "Inventory", State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
		if err := s.InTx(ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(ctx, &tn) }); err != nil {
			b.Fatal(err)
		}
		series := `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < $2) `
		from := `s`
		if s.Dialect() == "postgres" {
			series, from = ``, `generate_series(1, $2::bigint) AS s(n)`
		}
		started := time.Now()
		for _, q := range []string{
			series + `INSERT INTO devices (tenant_id, id, platform, registration_state, created_at)
				SELECT $1, n, CASE WHEN n % 3 = 0 THEN 'IOS' ELSE 'ANDROID' END, 'ACTIVE', 0 FROM ` + from,
			series + `INSERT INTO device_apps (tenant_id, device_id, app_id, name, version)
				SELECT $1, s.n, 'com.common.app' || k.n, 'Common ' || k.n, '1.' || ((s.n + k.n) % 3)
				FROM ` + from + `, (SELECT n FROM ` + from + ` LIMIT 20) k`,
			series + `INSERT INTO device_apps (tenant_id, device_id, app_id, name, version)
				SELECT $1, s.n, 'com.pool.app' || ((s.n * 7 + j.n * 131) % 2000), 'Pool ' || ((s.n * 7 + j.n * 131) % 2000), '2.0'
				FROM ` + from + `, (SELECT n FROM ` + from + ` LIMIT 10) j`,
		} {
			if _, err := s.DB().ExecContext(ctx, q, tenant, n); err != nil {
				b.Fatal(err)
			}
		}
		for i := range 50 {
			a := mdm.App{TenantID: tenant, Platform: mdm.PlatformAndroid, Source: mdm.AppPublic, BundleID: "com.pool.app" + strconv.Itoa(i*40),
				Name: "Managed", CreatedAt: now}
			if err := s.Apps().Create(ctx, &a); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.DB().ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
		b.Logf("%d devices, %d installed apps, loaded in %s", n, n*30, time.Since(started).Round(time.Millisecond))
		b.Run("Refresh", func(b *testing.B) {
			for b.Loop() {
				key, _, err := s.Apps().InventorySource(ctx, tenant)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Apps().RefreshInventory(ctx, tenant, key, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Source", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.Apps().InventorySource(ctx, tenant); err != nil {
					b.Fatal(err)
				}
			}
		})
		yes := true
		for _, c := range []struct {
			name string
			q    mdm.InventoryQuery
		}{
			{"FirstPage", mdm.InventoryQuery{Rows: 50}},
			{"Search", mdm.InventoryQuery{Rows: 50, Query: "pool.app12"}},
			{"Android", mdm.InventoryQuery{Rows: 50, Platform: mdm.PlatformAndroid}},
			{"Managed", mdm.InventoryQuery{Rows: 50, Managed: &yes}},
			{"LastPage", mdm.InventoryQuery{Rows: 50, Start: 2000}},
		} {
			b.Run(c.name, func(b *testing.B) {
				for b.Loop() {
					p, err := s.Apps().Inventory(ctx, tenant, c.q)
					if err != nil {
						b.Fatal(err)
					}
					if p.TotalCount == 0 {
						b.Fatal("empty inventory")
					}
				}
			})
		}
		b.Run("DrillDown", func(b *testing.B) {
			for b.Loop() {
				p, err := s.Apps().InventoryDevices(ctx, tenant, mdm.PlatformAndroid, "com.common.app3", mdm.ListOptions{Rows: 50, Start: 1000})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Items) != 50 {
					b.Fatalf("%d devices", len(p.Items))
				}
			}
		})
	})
}
