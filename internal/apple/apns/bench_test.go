package apns

import (
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"steward/internal/mdm"
)

// BenchmarkFanOut measures draining one push per device for b.N devices to a loopback APNs whose
// answers take rtt, standing in for the round trip to Apple.
func BenchmarkFanOut(b *testing.B) {
	for _, rtt := range []time.Duration{0, 5 * time.Millisecond} {
		b.Run("rtt="+rtt.String(), func(b *testing.B) {
			c := pushCert(b, "com.apple.mgmt.External.t1")
			slow := func(seen, int) (int, http.Header, string) { time.Sleep(rtt); return http.StatusOK, nil, "" }
			a := newAPNsServer(b, slow, c)
			h := newHarness(b, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil, WithQueueSize(b.N))
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
