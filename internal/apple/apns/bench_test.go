package apns

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"steward/internal/mdm"
)

// BenchmarkFanOut measures draining one push per device for b.N devices to a loopback APNs whose
// answers take rtt, standing in for the round trip to Apple.
func BenchmarkFanOut(b *testing.B) {
	for _, tc := range []struct {
		rtt time.Duration
		n   int
	}{{0, 1}, {0, 16}, {5 * time.Millisecond, 1}, {5 * time.Millisecond, 16}} {
		rtt := tc.rtt
		b.Run(fmt.Sprintf("rtt=%v/concurrency=%d", rtt, tc.n), func(b *testing.B) {
			c := pushCert(b, "com.apple.mgmt.External.t1")
			slow := func(seen, int) (int, http.Header, string) { time.Sleep(rtt); return http.StatusOK, nil, "" }
			a := newAPNsServer(b, slow, c)
			h := newHarness(b, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil, WithQueueSize(b.N), WithConcurrency(tc.n))
			tok := make([]byte, 32)
			b.ResetTimer()
			for i := range b.N {
				binary.BigEndian.PutUint64(tok, uint64(i))
				h.p.Push(Target{TenantID: "t-1", DeviceID: mdm.DeviceID(i), Token: hex.EncodeToString(tok), Magic: "M"})
			}
			h.run()
			for range b.N {
				<-a.got
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pushes/s")
		})
	}
}
