package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/android"
)

// TestMeasureCheckins measures agent check-ins per second through the whole HTTP stack on SQLite:
// devices checking in back to back, reporting their (unchanged) facts. It only reports; it asserts no
// speed. Run with STEWARD_MEASURE=1 go test ./internal/server -run TestMeasureCheckins -v.
func TestMeasureCheckins(t *testing.T) {
	if os.Getenv("STEWARD_MEASURE") == "" {
		t.Skip("set STEWARD_MEASURE=1 to measure")
	}
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Measure")
	const devices, workers = 10, 8 // a tenant has 10 seats by default
	creds := make([]string, devices)
	facts := make([]android.Facts, devices)
	for i := range creds {
		email := fmt.Sprintf("m%d@measure.example.com", i)
		facts[i] = sampleFacts(fmt.Sprintf("M%04d", i))
		_, pin := e.deviceUser(ta, email)
		creds[i] = e.registerDevice(email, pin, facts[i], nil).Credential
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var ok, failed atomic.Int64
	stop := time.Now().Add(5 * time.Second)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(stop); i += workers {
				n := i % devices
				body, _ := json.Marshal(android.CheckinRequest{Facts: &facts[n]})
				req, _ := http.NewRequest("POST", e.url+"/api/agent/v1/checkin", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+creds[n])
				res, err := client.Do(req)
				if err != nil || res.StatusCode != 200 {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
				if res != nil {
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d check-ins in 5 s (%.0f/s) by %d workers over %d devices, %d failed", ok.Load(),
		float64(ok.Load())/5, workers, devices, failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d check-ins failed", failed.Load())
	}
}
