package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// BenchmarkApple times the Apple statements that scale with the fleet: the inventory job's read of
// 200 due devices when the oldest half of 20,000 Apple devices are retired (they stay at the head of
// the due index), and the delete of one device, which cascades to apple_devices.
func BenchmarkApple(b *testing.B) {
	forEachDBBench(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := b.Context()
		tenant, ids := benchTenant(b, s)
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		if _, err := s.DB().ExecContext(ctx, `UPDATE devices SET platform=$1 WHERE tenant_id=$2`, mdm.PlatformIOS, tenant); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Devices().SetState(ctx, tenant, ids[:len(ids)/2], []string{mdm.StateActive}, mdm.StateRetired, now); err != nil {
			b.Fatal(err)
		}
		for start := 0; start < len(ids); start += 500 {
			var vals []string
			for i := start; i < min(start+500, len(ids)); i++ {
				vals = append(vals, fmt.Sprintf("('%s', %d, 'udid-%d', 'e', 't', 'm', %d, 0, 0)", tenant, ids[i], i, now.UnixMilli()+int64(i)))
			}
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO apple_devices (tenant_id, device_id, udid, enrollment_id, topic,
				push_magic, enrolled_at, token_at, inventory_at) VALUES `+strings.Join(vals, ", ")); err != nil {
				b.Fatal(err)
			}
		}
		if s.Dialect() == "postgres" {
			if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("InventoryDue200", func(b *testing.B) {
			for b.Loop() {
				got, err := s.Apple().InventoryDue(ctx, now.Add(time.Hour), 200)
				if err != nil || len(got) != 200 || got[0].DeviceID != ids[len(ids)/2] {
					b.Fatalf("InventoryDue: %d devices, %v", len(got), err)
				}
			}
		})
		b.Run("DeleteOne", func(b *testing.B) {
			next := 0
			for b.Loop() {
				if next == len(ids)/2 {
					b.Fatal("out of devices")
				}
				if _, err := s.Devices().Delete(ctx, tenant, ids[next:next+1]); err != nil {
					b.Fatal(err)
				}
				next++
			}
		})
	})
}
