package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/android"
)

// TestConcurrentCheckinsAllSucceed drives 2,000 agent check-ins from 8 workers over 10 devices
// through the whole HTTP stack on SQLite: every one must succeed (no "database is locked", no lost
// request). It logs the rate it saw, for orientation only; speed is measured with `steward sim`.
func TestConcurrentCheckinsAllSucceed(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Measure")
	const devices, workers, total = 10, 8, 2000 // a tenant has 10 seats by default
	creds := make([]string, devices)
	bodies := make([][]byte, devices)
	for i := range creds {
		email := fmt.Sprintf("m%d@measure.example.com", i)
		facts := sampleFacts(fmt.Sprintf("M%04d", i))
		_, pin := e.deviceUser(ta, email)
		creds[i] = e.registerDevice(email, pin, facts, nil).Credential
		bodies[i], _ = json.Marshal(android.CheckinRequest{Facts: &facts})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var next, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= total; i = next.Add(1) {
				n := i % devices
				req, _ := http.NewRequest("POST", e.url+"/api/agent/v1/checkin", bytes.NewReader(bodies[n]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+creds[n])
				res, err := client.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if res != nil {
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("%d check-ins by %d workers over %d devices in %s (%.0f/s)", total, workers, devices, took.Round(time.Millisecond),
		float64(total)/took.Seconds())
	if failed.Load() != 0 {
		t.Errorf("%d of %d concurrent check-ins failed", failed.Load(), total)
	}
}
