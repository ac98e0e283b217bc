package apns

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// seen is one push as the APNs stand-in received it.
type seen struct {
	Proto       int
	Method      string
	Path        string
	Topic       string // apns-topic
	PushType    string
	Priority    string
	ClientTopic string // the UID of the client certificate the push came with
	Body        string
}

// apnsServer is a loopback HTTP/2 server that requires a client certificate from one of certs and
// answers each push with reply(push, how many pushes that path has had before).
type apnsServer struct {
	srv   *httptest.Server
	pool  *x509.CertPool
	mu    sync.Mutex
	count map[string]int
	got   chan seen
}

func newAPNsServer(t testing.TB, reply func(s seen, n int) (int, http.Header, string), clients ...*PushCertificate) *apnsServer {
	t.Helper()
	a := &apnsServer{count: map[string]int{}, got: make(chan seen, 100)}
	cas := x509.NewCertPool()
	for _, c := range clients {
		cas.AddCert(c.Cert.Leaf)
	}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := seen{Proto: r.ProtoMajor, Method: r.Method, Path: r.URL.Path, Topic: r.Header.Get("apns-topic"),
			PushType: r.Header.Get("apns-push-type"), Priority: r.Header.Get("apns-priority"),
			ClientTopic: topic(r.TLS.PeerCertificates[0]), Body: string(body)}
		a.mu.Lock()
		n := a.count[s.Path]
		a.count[s.Path]++
		a.mu.Unlock()
		status, h, reason := reply(s, n)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000001")
		w.WriteHeader(status)
		if reason != "" {
			fmt.Fprintf(w, `{"reason":%q}`, reason)
		}
		a.got <- s
	}))
	a.srv.EnableHTTP2 = true
	a.srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: cas}
	a.srv.StartTLS()
	t.Cleanup(a.srv.Close)
	a.pool = x509.NewCertPool()
	a.pool.AddCert(a.srv.Certificate())
	return a
}

// next waits for the next push; the deadline only keeps a broken test from hanging.
func (a *apnsServer) next(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-a.got:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("no push arrived")
		return seen{}
	}
}

func (a *apnsServer) pushes(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.count[path]
}

func ok(seen, int) (int, http.Header, string) { return http.StatusOK, nil, "" }

// pushCert makes a tenant's push certificate through the parser, as an upload would.
func pushCert(t testing.TB, topic string) *PushCertificate {
	t.Helper()
	k := ecKey(t)
	pc, err := ParsePushCertificate(cat(certPEM(newCert(t, k, topic, time.Now().Add(time.Hour))), pkcs8PEM(t, k)), "")
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// fakeTime stands in for the clock: waiting returns at once and moves the clock on, and every wait
// asked for is recorded.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	f.now = f.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- f.now
	return ch
}

func (f *fakeTime) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

type harness struct {
	p       *Pusher
	clock   *fakeTime
	invalid chan key
	logs    *syncBuffer
	stop    func() // ends Run and waits for it
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHarness builds a Pusher for a, with certs per tenant; run starts its worker.
func newHarness(t testing.TB, a *apnsServer, certs map[mdm.TenantID]*PushCertificate, magic MagicSource, opts ...Option) *harness {
	h := &harness{clock: &fakeTime{now: time.Now()}, invalid: make(chan key, 10), logs: &syncBuffer{}}
	src := func(_ context.Context, tenant mdm.TenantID) (*PushCertificate, error) {
		if c, ok := certs[tenant]; ok {
			return c, nil
		}
		return nil, fmt.Errorf("tenant %s has no push certificate", tenant)
	}
	// One push at a time unless a test asks for more: "the next push arrived" then means the one
	// before it has been handled.
	opts = append([]Option{WithBaseURL(a.srv.URL + "/"), WithRootCAs(a.pool), WithRetry(4, time.Second, 10*time.Second), WithConcurrency(1),
		WithLogger(slog.New(slog.NewTextHandler(h.logs, nil))),
		WithOnInvalid(func(_ context.Context, tenant mdm.TenantID, device mdm.DeviceID, _ string) {
			h.invalid <- key{tenant, device}
		})},
		opts...)
	h.p = New(src, magic, opts...)
	h.p.now, h.p.after = h.clock.Now, h.clock.After
	h.stop = func() {}
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.p.Run(ctx); close(done) }()
	h.stop = func() { cancel(); <-done }
}

var token1 = bytes.Repeat([]byte{0xab, 0x01}, 16)

func path(token []byte) string { return "/3/device/" + hex.EncodeToString(token) }

func TestPushDeliversOverHTTP2WithTheTenantsCertificate(t *testing.T) {
	c1, c2 := pushCert(t, "com.apple.mgmt.External.t1"), pushCert(t, "com.apple.mgmt.External.t2")
	a := newAPNsServer(t, ok, c1, c2)
	magic := func(_ context.Context, tenant mdm.TenantID, device mdm.DeviceID) (string, error) {
		return "magic-" + string(tenant) + "-" + fmt.Sprint(device), nil
	}
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c1, "t-2": c2}, magic)
	h.run()

	token2 := bytes.Repeat([]byte{0x02}, 32)
	h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: base64.StdEncoding.EncodeToString(token1), Magic: "M-1"})
	if diff := cmp.Diff(seen{Proto: 2, Method: "POST", Path: path(token1), Topic: "com.apple.mgmt.External.t1", PushType: "mdm",
		Priority: "10", ClientTopic: "com.apple.mgmt.External.t1", Body: `{"mdm":"M-1"}`}, a.next(t)); diff != "" {
		t.Errorf("push (-want +got):\n%s", diff)
	}
	// Through the devices.Waker face: only the Apple device is APNs's, and its magic is looked up.
	h.p.Wake(context.Background(), []devices.WakeTarget{
		{TenantID: "t-2", DeviceID: 1, Platform: mdm.PlatformAndroid, PushToken: "fcm-token"},
		{TenantID: "t-2", DeviceID: 2, Platform: mdm.PlatformIOS, PushToken: strings.ToUpper(hex.EncodeToString(token2))},
	})
	if diff := cmp.Diff(seen{Proto: 2, Method: "POST", Path: path(token2), Topic: "com.apple.mgmt.External.t2", PushType: "mdm",
		Priority: "10", ClientTopic: "com.apple.mgmt.External.t2", Body: `{"mdm":"magic-t-2-2"}`}, a.next(t)); diff != "" {
		t.Errorf("woken (-want +got):\n%s", diff)
	}
	// A tenant without a certificate: nothing is sent (the next push seen is the one after).
	h.p.Push(Target{TenantID: "t-3", DeviceID: 3, Token: hex.EncodeToString(token1), Magic: "M-3"})
	h.p.Push(Target{TenantID: "t-1", DeviceID: 4, Token: hex.EncodeToString(token2), Magic: "M-4"})
	if s := a.next(t); s.Body != `{"mdm":"M-4"}` {
		t.Errorf("next push %+v, want d-4's", s)
	}
	if !strings.Contains(h.logs.String(), "tenant=t-3") {
		t.Errorf("the missing certificate was not logged:\n%s", h.logs)
	}
}

func TestPushRetriesHonouringRetryAfter(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	busy := func(s seen, n int) (int, http.Header, string) {
		switch {
		case s.Path == path(token1) && n == 0:
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}, "ServiceUnavailable"
		case s.Path == path(token1) && n == 1:
			return http.StatusTooManyRequests, nil, "TooManyRequests"
		case s.Path == path(token1) && n == 2:
			return http.StatusInternalServerError, nil, "InternalServerError"
		}
		return http.StatusOK, nil, ""
	}
	a := newAPNsServer(t, busy, c)
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil)
	h.run()
	h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: "M"})
	for range 4 {
		if s := a.next(t); s.Path != path(token1) {
			t.Fatalf("push to %s", s.Path)
		}
	}
	// Retry-After first, then the backoff doubling from 1s (the second and third failures).
	if diff := cmp.Diff([]time.Duration{7 * time.Second, 2 * time.Second, 4 * time.Second}, h.clock.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	h.stop()
	if n := a.pushes(path(token1)); n != 4 || h.p.Len() != 0 {
		t.Errorf("%d pushes, %d still queued; want 4 and none", n, h.p.Len())
	}
}

func TestPushGivesUpAfterTheLastAttempt(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	down := func(s seen, _ int) (int, http.Header, string) {
		if s.Path == path(token1) {
			return http.StatusServiceUnavailable, nil, "ServiceUnavailable"
		}
		return http.StatusOK, nil, ""
	}
	a := newAPNsServer(t, down, c)
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil)
	h.run()
	h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: "M"})
	for range 4 {
		a.next(t)
	}
	// Once the fourth answer is handled the worker takes the next push; a fifth attempt would be queued.
	other := bytes.Repeat([]byte{9}, 32)
	h.p.Push(Target{TenantID: "t-1", DeviceID: 2, Token: hex.EncodeToString(other), Magic: "M"})
	if s := a.next(t); s.Path != path(other) {
		t.Fatalf("push to %s, want d-2's", s.Path)
	}
	h.stop()
	if n := a.pushes(path(token1)); n != 4 || h.p.Len() != 0 {
		t.Errorf("%d pushes, %d still queued; want 4 and none", n, h.p.Len())
	}
}

func TestPushAnswers(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		reason  string
		invalid bool
	}{
		{"unregistered", http.StatusGone, "Unregistered", true},
		{"bad device token", http.StatusBadRequest, "BadDeviceToken", true},
		{"bad topic", http.StatusBadRequest, "TopicDisallowed", false},
		{"certificate refused", http.StatusForbidden, "BadCertificate", false},
		{"payload too large", http.StatusRequestEntityTooLarge, "PayloadTooLarge", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pushCert(t, "com.apple.mgmt.External.t1")
			answer := func(s seen, _ int) (int, http.Header, string) {
				if s.Path == path(token1) {
					return tt.status, nil, tt.reason
				}
				return http.StatusOK, nil, ""
			}
			a := newAPNsServer(t, answer, c)
			h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil)
			h.run()
			h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: "M"})
			a.next(t)
			other := bytes.Repeat([]byte{9}, 32)
			h.p.Push(Target{TenantID: "t-1", DeviceID: 2, Token: hex.EncodeToString(other), Magic: "M"})
			a.next(t) // d-1's answer has been handled
			h.stop()
			var got []key
			for len(h.invalid) > 0 {
				got = append(got, <-h.invalid)
			}
			var want []key
			if tt.invalid {
				want = []key{{"t-1", 1}}
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(key{})); diff != "" {
				t.Errorf("invalid (-want +got):\n%s", diff)
			}
			if n := a.pushes(path(token1)); n != 1 || h.p.Len() != 0 {
				t.Errorf("%d pushes, %d queued; want 1 and no retry", n, h.p.Len())
			}
		})
	}
}

func TestPushLogsARefusedCertificateOncePerBurst(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	var mu sync.Mutex
	refuse := true
	answer := func(seen, int) (int, http.Header, string) {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return http.StatusForbidden, nil, "BadCertificate"
		}
		return http.StatusOK, nil, ""
	}
	a := newAPNsServer(t, answer, c)
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil)
	h.run()
	push := func(dev mdm.DeviceID, b byte) {
		h.p.Push(Target{TenantID: "t-1", DeviceID: dev, Token: hex.EncodeToString(bytes.Repeat([]byte{b}, 32)), Magic: "M"})
		a.next(t)
	}
	push(1, 1)
	push(2, 2)
	push(3, 3)
	mu.Lock()
	refuse = false
	mu.Unlock()
	push(4, 4) // succeeds: the burst is over
	mu.Lock()
	refuse = true
	mu.Unlock()
	push(5, 5)
	push(6, 6) // its answer is handled once the next push has gone
	push(7, 7)
	h.stop()
	if n := strings.Count(h.logs.String(), "push certificate refused"); n != 2 {
		t.Errorf("logged %d times, want 2 (once per burst):\n%s", n, h.logs)
	}
}

func TestPushCoalescesWakesOfOneDevice(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	a := newAPNsServer(t, ok, c)
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil)
	other := bytes.Repeat([]byte{9}, 32)
	for i := range 5 {
		h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: fmt.Sprint("M", i)})
	}
	h.p.Push(Target{TenantID: "t-1", DeviceID: 2, Token: hex.EncodeToString(other), Magic: "N"})
	h.p.Push(Target{TenantID: "t-2", DeviceID: 1, Token: hex.EncodeToString(other), Magic: "T2"}) // another tenant's d-1
	if n := h.p.Len(); n != 3 {
		t.Fatalf("%d queued, want 3", n)
	}
	h.run()
	var bodies []string
	for range 2 {
		bodies = append(bodies, a.next(t).Body)
	}
	// t-2 has no certificate here, so two pushes go, in the order first queued, with the latest magic.
	if diff := cmp.Diff([]string{`{"mdm":"M4"}`, `{"mdm":"N"}`}, bodies); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
}

func TestPushQueueIsBounded(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	a := newAPNsServer(t, ok, c)
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil, WithQueueSize(3))
	var got []bool
	for i := range 5 {
		got = append(got, h.p.Push(Target{TenantID: "t-1", DeviceID: mdm.DeviceID(i), Token: hex.EncodeToString(token1), Magic: "M"}))
	}
	got = append(got, h.p.Push(Target{TenantID: "t-1", DeviceID: 0, Token: hex.EncodeToString(token1), Magic: "again"}))
	if diff := cmp.Diff([]bool{true, true, true, false, false, true}, got); diff != "" {
		t.Errorf("accepted (-want +got):\n%s", diff)
	}
	if n := h.p.Len(); n != 3 {
		t.Errorf("%d queued, want 3", n)
	}
	if !strings.Contains(h.logs.String(), "queue full") {
		t.Errorf("the dropped pushes were not logged:\n%s", h.logs)
	}
	h.run()
	for range 3 {
		a.next(t)
	}
	// Sent pushes free their places.
	if !h.p.Push(Target{TenantID: "t-1", DeviceID: 9, Token: hex.EncodeToString(token1), Magic: "M"}) {
		t.Error("a push after the queue drained was refused")
	}
	a.next(t)
}

func TestPushSendsConcurrentlyButOnePerDevice(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	const n = 4
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{}) // closed once n pushes are in flight together
	release := make(chan struct{})
	held := func(s seen, _ int) (int, http.Header, string) {
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		if s.Path == path(token1) {
			<-release
		}
		<-all // with fewer than n in flight at once this never returns and the test fails
		return http.StatusOK, nil, ""
	}
	a := newAPNsServer(t, held, c)
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil, WithConcurrency(n))
	h.run()
	h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: "first"})
	for i := 2; i <= n; i++ {
		h.p.Push(Target{TenantID: "t-1", DeviceID: mdm.DeviceID(i), Token: hex.EncodeToString(bytes.Repeat([]byte{byte(i)}, 32)), Magic: "M"})
	}
	for range n - 1 {
		if s := a.next(t); s.Path == path(token1) {
			t.Fatal("device 1's push answered before its release")
		}
	}
	// Device 1's push is still in flight: a new wake for it waits rather than going alongside.
	h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: "second"})
	h.p.Push(Target{TenantID: "t-1", DeviceID: 9, Token: hex.EncodeToString(bytes.Repeat([]byte{9}, 32)), Magic: "M"})
	if s := a.next(t); s.Path == path(token1) {
		t.Fatal("device 1 answered before its release")
	}
	if got := a.pushes(path(token1)); got != 1 {
		t.Fatalf("device 1 has %d pushes in flight, want 1", got)
	}
	close(release)
	var bodies []string
	for range 2 {
		bodies = append(bodies, a.next(t).Body)
	}
	if diff := cmp.Diff([]string{`{"mdm":"first"}`, `{"mdm":"second"}`}, bodies); diff != "" {
		t.Errorf("device 1's pushes (-want +got):\n%s", diff)
	}
}

func TestPushDropsPushesForAnExpiredCertificate(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	k := ecKey(t)
	old, err := ParsePushCertificate(cat(certPEM(newCert(t, k, "com.apple.mgmt.External.t2", time.Now().Add(-time.Minute))), pkcs8PEM(t, k)), "")
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("got %v, want ErrExpired", err)
	}
	a := newAPNsServer(t, ok, c, old)
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c, "t-2": old}, nil)
	h.run()
	h.p.Push(Target{TenantID: "t-2", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: "M"})
	h.p.Push(Target{TenantID: "t-2", DeviceID: 2, Token: hex.EncodeToString(token1), Magic: "M"})
	h.p.Push(Target{TenantID: "t-1", DeviceID: 3, Token: hex.EncodeToString(token1), Magic: "M"})
	if s := a.next(t); s.Topic != "com.apple.mgmt.External.t1" {
		t.Errorf("push for %s, want only t-1's", s.Topic)
	}
	h.stop()
	if n := strings.Count(h.logs.String(), "push certificate expired"); n != 1 || a.pushes(path(token1)) != 1 {
		t.Errorf("logged %d times, %d pushes; want once and one:\n%s", n, a.pushes(path(token1)), h.logs)
	}
}

func TestPushRetriesWhenAPNsIsUnreachable(t *testing.T) {
	c := pushCert(t, "com.apple.mgmt.External.t1")
	a := newAPNsServer(t, ok, c)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	h := newHarness(t, a, map[mdm.TenantID]*PushCertificate{"t-1": c}, nil, WithBaseURL(gone.URL))
	h.run()
	h.p.Push(Target{TenantID: "t-1", DeviceID: 1, Token: hex.EncodeToString(token1), Magic: "M"})
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(h.logs.String(), "giving up"); {
		if time.Now().After(deadline) {
			t.Fatalf("never gave up:\n%s", h.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.stop()
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, h.clock.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if logs := h.logs.String(); strings.Contains(logs, hex.EncodeToString(token1)) || h.p.Len() != 0 {
		t.Errorf("the token is in the log or a push is still queued (%d):\n%s", h.p.Len(), logs)
	}
}

func TestTokenHex(t *testing.T) {
	raw := []byte{0xde, 0xad, 0xbe, 0xef}
	for in, want := range map[string]string{
		"DEADBEEF": "deadbeef", "deadbeef": "deadbeef", base64.StdEncoding.EncodeToString(raw): "deadbeef",
		" 3q2+7w== ": "deadbeef", "": "", "not a token!": "",
	} {
		got, err := tokenHex(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("tokenHex(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": -1, "30": 30 * time.Second, "0": 0, "-5": -1, "soon": -1,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second, now.Add(-time.Hour).Format(http.TimeFormat): 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
