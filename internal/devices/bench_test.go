package devices_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// BenchmarkCheckIn measures check-ins through the service on SQLite (authentication, check-in and the
// coalesced flush), with the authentication cache defeated as it is for devices that check in minutes
// apart. "idle" reports what it reported last time; "inventory" reports changed facts each time.
func BenchmarkCheckIn(b *testing.B) {
	for _, mode := range []string{"idle", "inventory"} {
		b.Run(mode, func(b *testing.B) {
			store, err := sqlstore.Open(b.Context(), "", b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			f := newFixture(b, store)
			f.setting("t-1", mdm.PINOnly, 0)
			const fleet = 200
			creds := make([]string, fleet)
			for i := range creds {
				a := f.user("t-1", fmt.Sprintf("u%d@acme.example.com", i), "")
				creds[i] = f.register(a, fmt.Sprintf("B%d", i)).Credential
			}
			facts := phoneFacts("B")
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					f.clock.add(6 * time.Second) // past the authentication cache
					d, err := f.svc.AuthenticateDevice(f.ctx, creds[i%fleet])
					if err != nil {
						b.Error(err)
						return
					}
					c := devices.CheckIn{}
					if mode == "inventory" {
						fc := facts
						fc.AvailableCapMB = i
						c.Facts = &fc
					}
					if _, err := f.svc.CheckIn(f.ctx, d, c); err != nil {
						b.Error(err)
						return
					}
					if i%1000 == 0 {
						if err := f.svc.Flush(f.ctx); err != nil {
							b.Error(err)
						}
					}
				}
			})
			if err := f.svc.Flush(f.ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkins/s")
		})
	}
}
