package sqlstore_test

import (
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// BenchmarkDevicesReached times the convergence query over a 20,000-device tenant: every device
// (All Devices), a dynamic device rule, and a static device group of 5,000, each read in full in
// pages of 5,000 as the resolver does.
func BenchmarkDevicesReached(b *testing.B) {
	forEachDBBench(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := b.Context()
		tenant, ids := benchTenant(b, s)
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		g := &mdm.DeviceGroup{TenantID: tenant, Name: "Half", Kind: mdm.StaticDeviceGroup, CreatedAt: now, ModifiedAt: now}
		if err := s.DeviceGroups().Create(ctx, g); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 5_000; i += 500 {
			if err := s.DeviceGroups().AddMembers(ctx, tenant, g.ID, ids[i*2:i*2+500]); err != nil {
				b.Fatal(err)
			}
		}
		all := func(r mdm.Reach, want int) func(b *testing.B) {
			return func(b *testing.B) {
				for b.Loop() {
					n := 0
					var after mdm.DeviceID
					for {
						got, err := s.Distributions().DevicesReached(ctx, tenant, r, after, 5_000)
						if err != nil {
							b.Fatal(err)
						}
						n += len(got)
						if len(got) < 5_000 {
							break
						}
						after = got[len(got)-1]
					}
					if n != want {
						b.Fatalf("reached %d devices, want %d", n, want)
					}
				}
			}
		}
		b.Run("AllDevices", all(mdm.Reach{AllDevices: true}, len(ids)))
		b.Run("Rule", all(mdm.Reach{DeviceRules: []mdm.Filter{mdm.Compare{Field: "serialNumber", Op: mdm.Eq, Value: "sn01*"}}}, 10_000))
		b.Run("StaticGroup", all(mdm.Reach{StaticDeviceGroups: []mdm.DeviceGroupID{g.ID}}, 5_000))
	})
}
