package android

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// pushDouble is a loopback stand-in for the push service: per token it answers from a script of
// statuses (the last one repeats) and records every message it accepted.
type pushDouble struct {
	mu        sync.Mutex
	script    map[string][]int
	calls     map[string]int
	delivered []string
	auth      []string
	paths     []string
}

func newPushDouble(t *testing.T, script map[string][]int) (*pushDouble, *httptest.Server) {
	d := &pushDouble{script: script, calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m pushMessage
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err != nil || m.Message.Data["steward"] != "wake" {
			http.Error(w, "bad message", 400)
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.auth = append(d.auth, r.Header.Get("Authorization"))
		d.paths = append(d.paths, r.URL.Path)
		tok := m.Message.Token
		steps := d.script[tok]
		status := 200
		if n := d.calls[tok]; len(steps) > 0 {
			status = steps[min(n, len(steps)-1)]
		}
		d.calls[tok]++
		w.Header().Set("Content-Type", "application/json")
		switch status {
		case 200:
			d.delivered = append(d.delivered, tok)
			io.WriteString(w, `{"name":"projects/p1/messages/1"}`)
		case 404:
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":404,"status":"NOT_FOUND","message":"Requested entity was not found."}}`)
		default:
			w.WriteHeader(status)
			io.WriteString(w, `{"error":{"code":503,"status":"UNAVAILABLE","message":"try later"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return d, srv
}

func (d *pushDouble) snapshot() (delivered []string, calls map[string]int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	calls = map[string]int{}
	for k, v := range d.calls {
		calls[k] = v
	}
	return append([]string(nil), d.delivered...), calls
}

// waitFor polls cond until it holds, failing after a generous deadline (this is no timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func target(id int64, token string) devices.WakeTarget {
	return devices.WakeTarget{TenantID: "t1", DeviceID: mdm.DeviceID(id), Platform: mdm.PlatformAndroid, PushToken: token}
}

func TestPusherDeliversRetriesAndDrops(t *testing.T) {
	double, srv := newPushDouble(t, map[string][]int{"flaky": {503, 200}, "gone": {404}})
	var mu sync.Mutex
	var unregistered []mdm.DeviceID
	p := NewPusher(PushConfig{URL: srv.URL + "/", Project: "p1", Key: "k-123", Backoff: time.Millisecond,
		Unregistered: func(_ context.Context, t devices.WakeTarget) {
			mu.Lock()
			unregistered = append(unregistered, t.DeviceID)
			mu.Unlock()
		}}, slog.New(slog.DiscardHandler))

	// Queued before the worker runs: five wakes of device 1 coalesce into one message; the iOS target
	// and the device without a token are not this sender's.
	for range 5 {
		p.Wake(context.Background(), []devices.WakeTarget{target(1, "good")})
	}
	p.Wake(context.Background(), []devices.WakeTarget{target(2, "flaky"), target(3, "gone"), target(4, ""),
		{TenantID: "t1", DeviceID: 5, Platform: mdm.PlatformIOS, PushToken: "apns"}})
	if got := p.Stats().Queued; got != 3 {
		t.Fatalf("queued %d wakes, want 3 (coalesced, Android with a token only)", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "two deliveries and one unregistered token", func() bool {
		s := p.Stats()
		return s.Sent == 2 && s.Unregistered == 1 && s.Queued == 0
	})
	delivered, calls := double.snapshot()
	if diff := cmp.Diff(map[string]int{"good": 1, "flaky": 2, "gone": 1}, calls); diff != "" {
		t.Errorf("calls per token (-want +got):\n%s", diff)
	}
	if len(delivered) != 2 {
		t.Errorf("delivered %v, want good and flaky", delivered)
	}
	mu.Lock()
	if diff := cmp.Diff([]mdm.DeviceID{3}, unregistered); diff != "" {
		t.Errorf("unregistered devices (-want +got):\n%s", diff)
	}
	mu.Unlock()
	double.mu.Lock()
	for i := range double.auth {
		if double.auth[i] != "Bearer k-123" || double.paths[i] != "/v1/projects/p1/messages:send" {
			t.Errorf("request %d: Authorization %q path %q", i, double.auth[i], double.paths[i])
		}
	}
	double.mu.Unlock()

	// A wake after the worker started is delivered too.
	p.Wake(ctx, []devices.WakeTarget{target(1, "good")})
	waitFor(t, "a third delivery", func() bool { return p.Stats().Sent == 3 })
}

func TestPusherGivesUpAfterMaxAttempts(t *testing.T) {
	_, srv := newPushDouble(t, map[string][]int{"down": {503}})
	p := NewPusher(PushConfig{URL: srv.URL, Project: "p1", Key: "k", Backoff: time.Millisecond, MaxAttempts: 3},
		slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	p.Wake(ctx, []devices.WakeTarget{target(7, "down")})
	waitFor(t, "the wake to be given up", func() bool { return p.Stats().Dropped == 1 })
	if s := p.Stats(); s.Sent != 0 || s.Queued != 0 {
		t.Errorf("stats %+v, want nothing sent or queued", s)
	}
}

func TestPusherQueueIsBounded(t *testing.T) {
	p := NewPusher(PushConfig{URL: "http://127.0.0.1:1", Project: "p", MaxQueue: 2}, slog.New(slog.DiscardHandler))
	p.Wake(context.Background(), []devices.WakeTarget{target(1, "a"), target(2, "b"), target(3, "c")})
	if s := p.Stats(); s.Queued != 2 || s.Dropped != 1 {
		t.Errorf("stats %+v, want 2 queued and 1 dropped", s)
	}
}

func TestRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "3": 3 * time.Second, "x": 0, "-1": 0} {
		if got := retryAfter(in); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestPusherDoesNotRetryARefusedKey(t *testing.T) {
	double, srv := newPushDouble(t, map[string][]int{"a": {401}, "b": {403}})
	p := NewPusher(PushConfig{URL: srv.URL, Project: "p1", Key: "wrong", Backoff: time.Millisecond},
		slog.New(slog.DiscardHandler))
	p.Wake(context.Background(), []devices.WakeTarget{target(1, "a"), target(2, "b")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "both wakes to be dropped", func() bool { return p.Stats().Dropped == 2 })
	if _, calls := double.snapshot(); !cmp.Equal(calls, map[string]int{"a": 1, "b": 1}) {
		t.Errorf("calls %v, want one each (no retry of a refused key)", calls)
	}
}
