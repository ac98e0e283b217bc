package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/android"
)

func TestFleetProvisionsRunsAndWakes(t *testing.T) {
	a, url := newAgent(t)
	var pins atomic.Int64
	f := NewFleet(Config{BaseURL: url, Devices: 6, NonCompliant: 2, Interval: time.Hour, PushTokens: true,
		Provisioner: ProvisionFunc(func(ctx context.Context, i int, register func(Enrollment) error) error {
			pins.Add(1)
			return register(Enrollment{Username: "ann@example.com", PIN: "123456"})
		})})
	if err := f.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pins.Load() != 6 {
		t.Errorf("provisioner asked %d times, want 6", pins.Load())
	}
	nonCompliant := 0
	for _, d := range f.Devices() {
		if s := d.State().Facts; s.Rooted || !s.PasscodeCompliant {
			nonCompliant++
		}
	}
	if nonCompliant != 2 {
		t.Errorf("%d non-compliant devices, want 2", nonCompliant)
	}

	// An hour's interval: only wakes make devices check in during the test.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	push := httptest.NewServer(f.PushHandler("push-key"))
	defer push.Close()
	send := func(key, token string) int {
		req, _ := http.NewRequest("POST", push.URL+"/v1/projects/demo/messages:send",
			strings.NewReader(`{"message":{"token":"`+token+`","data":{"steward":"wake"}}}`))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	target := f.Devices()[3]
	a.enqueue(target.State().DeviceID, android.Command{ID: 99, Type: "LOCK"})
	if got := send("wrong", target.State().PushToken); got != 401 {
		t.Errorf("wrong key: %d, want 401", got)
	}
	if got := send("push-key", "sim-unknown"); got != 404 {
		t.Errorf("unknown token: %d, want 404", got)
	}
	if got := send("push-key", target.State().PushToken); got != 200 {
		t.Fatalf("wake: %d, want 200", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !target.State().Locked {
		if time.Now().After(deadline) {
			t.Fatal("the woken device did not check in and lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if snap := f.Stats().Snapshot(); snap.Wakes != 1 || snap.Registrations != 6 || snap.Commands["LOCK ACKNOWLEDGED"] != 1 {
		t.Errorf("stats: %s", snap)
	}
}
