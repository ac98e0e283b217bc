package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// benchDevices is the size of the tenant the device benchmarks run against.
const benchDevices = 20_000

// benchTenant fills a tenant with benchDevices active devices (rows written directly, in bulk) and
// returns their ids.
func benchTenant(b *testing.B, s *sqlstore.Store) (mdm.TenantID, []mdm.DeviceID) {
	b.Helper()
	ctx := b.Context()
	now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	tn := mdm.Tenant{ID: "00000000-0000-4000-8000-0000000000be", Name: "Bench", State: mdm.TenantActive,
		LicenseDevices: benchDevices, CreatedAt: now, ModifiedAt: now}
	if err := s.Tenants().Create(ctx, &tn); err != nil {
		b.Fatal(err)
	}
	for start := 0; start < benchDevices; start += 500 {
		var vals []string
		for i := start; i < start+500; i++ {
			vals = append(vals, fmt.Sprintf("('%s', 'ANDROID', 'ACTIVE', %d, 'guid-%d', 'SN%06d')", tn.ID, now.UnixMilli(), i, i))
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO devices (tenant_id, platform, registration_state, created_at, guid,
			serial_number) VALUES `+strings.Join(vals, ", ")); err != nil {
			b.Fatal(err)
		}
	}
	// PostgreSQL plans from statistics, which autovacuum would have gathered by the time a tenant has
	// this many devices; SQLite gathers none and runs as it will in production.
	if s.Dialect() == "postgres" {
		if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	page, err := s.Devices().List(ctx, tn.ID, mdm.ListOptions{Rows: benchDevices})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]mdm.DeviceID, len(page.Items))
	for i, d := range page.Items {
		ids[i] = d.ID
	}
	return tn.ID, ids
}

// BenchmarkDevices times the statements that scale with a tenant's size: a fan-out to 10,000
// devices, a flush of 5,000 check-ins, a state change and a due-list read for one device.
func BenchmarkDevices(b *testing.B) {
	forEachDBBench(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := b.Context()
		tenant, ids := benchTenant(b, s)
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		b.Run("Enqueue10k", func(b *testing.B) {
			for b.Loop() {
				got, err := s.Commands().Enqueue(ctx, tenant, ids[:10_000], []string{mdm.StateActive},
					mdm.NewCommand{Type: mdm.CmdMessage, CreatedBy: "bench"}, now)
				if err != nil || len(got) != 10_000 {
					b.Fatal(len(got), err)
				}
			}
		})
		b.Run("TouchCheckins5k", func(b *testing.B) {
			at := now
			for b.Loop() {
				at = at.Add(time.Second)
				touches := make([]mdm.CheckinTouch, 5_000)
				for i := range touches {
					touches[i] = mdm.CheckinTouch{TenantID: tenant, ID: ids[i*3], At: at}
				}
				if err := s.Devices().TouchCheckins(ctx, touches); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("SetState1", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Devices().SetState(ctx, tenant, ids[7:8], []string{mdm.StateActive}, mdm.StateActive, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Due", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Commands().Due(ctx, tenant, ids[9], now, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ListBySerial", func(b *testing.B) {
			f := mdm.Compare{Field: "serialNumber", Op: mdm.Eq, Value: "sn001234"}
			for b.Loop() {
				if p, err := s.Devices().List(ctx, tenant, mdm.ListOptions{Filter: f}); err != nil || p.TotalCount != 1 {
					b.Fatal(p.TotalCount, err)
				}
			}
		})
	})
}

func forEachDBBench(b *testing.B, fn func(b *testing.B, s *sqlstore.Store)) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := sqlstore.Open(b.Context(), "", b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		fn(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		s := postgresServer(b).open(b)
		s.DB().SetMaxOpenConns(8)
		if _, err := s.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		fn(b, s)
	})
}
