package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/android"
)

// agent is a minimal stand-in for the server side of the agent protocol: it registers devices, records
// check-ins and hands out queued commands once.
type agent struct {
	mu       sync.Mutex
	creds    map[string]int64 // credential → device id
	states   map[int64]string
	queue    map[int64][]android.Command
	checkins []android.CheckinRequest
	pins     map[string]string // username → PIN
	oneTime  bool              // a PIN works once
}

// newAgent starts the stand-in; extra adds routes to it.
func newAgent(t *testing.T, extra ...func(*agent, *http.ServeMux)) (*agent, string) {
	a := &agent{creds: map[string]int64{}, states: map[int64]string{}, queue: map[int64][]android.Command{},
		pins: map[string]string{"ann@example.com": "123456"}}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, result any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"errors": nil, "result": result})
	}
	fail := func(w http.ResponseWriter, status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"errors": map[string]any{
			"globalErrors": []map[string]string{{"code": code, "message": code + "!"}}}, "result": nil})
	}
	mux.HandleFunc("POST /api/agent/v1/register", func(w http.ResponseWriter, r *http.Request) {
		var req android.RegisterRequest
		json.NewDecoder(r.Body).Decode(&req)
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.pins[req.Username] == "" || a.pins[req.Username] != req.PIN || req.Facts.Model == "" {
			fail(w, 401, "unauthenticated")
			return
		}
		if a.oneTime {
			delete(a.pins, req.Username)
		}
		id := int64(len(a.creds) + 1)
		cred := strings.Repeat("c", 40) + string(rune('a'+id))
		a.creds[cred], a.states[id] = id, "ACTIVE"
		reply(w, 201, android.RegisterResponse{DeviceID: id, Credential: cred, RegistrationState: "ACTIVE",
			CheckinIntervalSeconds: 900})
	})
	mux.HandleFunc("POST /api/agent/v1/checkin", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id, ok := a.creds[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok || a.states[id] == "WIPED" || a.states[id] == "RETIRED" {
			fail(w, 401, "unauthenticated")
			return
		}
		var req android.CheckinRequest
		json.NewDecoder(r.Body).Decode(&req)
		a.checkins = append(a.checkins, req)
		for _, res := range req.Results {
			if res.Status == "ACKNOWLEDGED" && a.states[id] == "WIPE_PENDING" {
				a.states[id] = "WIPED"
			}
		}
		cmds := a.queue[id]
		delete(a.queue, id)
		for _, c := range cmds {
			if c.Type == "WIPE" {
				a.states[id] = "WIPE_PENDING"
			}
		}
		reply(w, 200, android.CheckinResponse{Commands: cmds, RegistrationState: a.states[id], CheckinIntervalSeconds: 900})
	})
	for _, f := range extra {
		f(a, mux)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return a, srv.URL
}

func (a *agent) enqueue(id int64, cmds ...android.Command) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queue[id] = append(a.queue[id], cmds...)
}

func (a *agent) takeCheckins() []android.CheckinRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.checkins
	a.checkins = nil
	return out
}

func registered(t *testing.T, url string, opts DeviceOptions) *Device {
	t.Helper()
	d := NewDevice(NewHTTPClient(4), 42, opts)
	if err := d.Register(context.Background(), url, "ann@example.com", "123456"); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRegisterRejectsWrongPIN(t *testing.T) {
	_, url := newAgent(t)
	d := NewDevice(NewHTTPClient(1), 1, DeviceOptions{})
	err := d.Register(context.Background(), url, "ann@example.com", "000000")
	if StatusOf(err) != 401 || ErrorKind(err) != "http_401" || !strings.Contains(err.Error(), "unauthenticated!") {
		t.Fatalf("err = %v, want the server's 401 with its message", err)
	}
	if d.Registered() {
		t.Error("registered without a credential")
	}
	if err := d.CheckIn(context.Background()); err != ErrNotRegistered {
		t.Errorf("CheckIn before registering = %v, want ErrNotRegistered", err)
	}
}

func TestCheckInOmitsWhatDidNotChange(t *testing.T) {
	a, url := newAgent(t)
	d := registered(t, url, DeviceOptions{})
	ctx := context.Background()
	d.mu.Lock()
	if _, err := d.checkinOnce(ctx); err != nil { // no drift: nothing changed since registering
		t.Fatal(err)
	}
	d.facts.AvailableCapMB -= 100
	if _, err := d.checkinOnce(ctx); err != nil {
		t.Fatal(err)
	}
	d.apps = append(d.apps, android.App{AppID: "com.example.new", Name: "New", Version: "1"})
	if _, err := d.checkinOnce(ctx); err != nil {
		t.Fatal(err)
	}
	d.mu.Unlock()
	got := a.takeCheckins()
	if len(got) != 3 {
		t.Fatalf("%d check-ins, want 3", len(got))
	}
	if got[0].Facts != nil || got[0].Apps != nil {
		t.Error("first check-in repeated the facts or apps the registration reported")
	}
	if got[1].Facts == nil || got[1].Apps != nil {
		t.Error("second check-in: want the changed facts only")
	}
	if got[2].Facts != nil || got[2].Apps == nil || len(*got[2].Apps) != len(d.State().Apps) {
		t.Error("third check-in: want the whole changed app list only")
	}
}

func TestCommandsAreCarriedOutAndAnswered(t *testing.T) {
	a, url := newAgent(t)
	d := registered(t, url, DeviceOptions{})
	id := d.State().DeviceID
	a.enqueue(id,
		android.Command{ID: 1, Type: "LOCK", Payload: map[string]string{"message": "call IT"}},
		android.Command{ID: 2, Type: "MESSAGE", Payload: map[string]string{"message": "hello"}},
		android.Command{ID: 3, Type: "INSTALL_APP"},
		android.Command{ID: 4, Type: "FORCE_CHECKIN"})
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := a.takeCheckins()
	if len(got) != 2 {
		t.Fatalf("%d check-ins, want 2 (the answers go back at once)", len(got))
	}
	want := []android.CommandResult{{ID: 1, Status: "ACKNOWLEDGED"}, {ID: 2, Status: "ACKNOWLEDGED"},
		{ID: 3, Status: "ERROR", Error: "unsupported"}, {ID: 4, Status: "ACKNOWLEDGED"}}
	if diff := cmp.Diff(want, got[1].Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if got[1].Facts == nil || got[1].Apps == nil {
		t.Error("FORCE_CHECKIN: the next check-in should report facts and apps in full")
	}
	s := d.State()
	if !s.Locked || s.LockMessage != "call IT" || len(s.Messages) != 1 || s.Messages[0] != "hello" {
		t.Errorf("state after commands: %+v", s)
	}

	a.enqueue(id, android.Command{ID: 5, Type: "UNLOCK"})
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := d.State(); s.Locked || s.Facts.PasscodeCompliant {
		t.Errorf("after UNLOCK: locked %v, passcode compliant %v; want the passcode cleared", s.Locked, s.Facts.PasscodeCompliant)
	}
	// The user sets a new passcode soon after: the device does not stay non-compliant for good.
	for i := 0; i < 100 && !d.State().Facts.PasscodeCompliant; i++ {
		if err := d.CheckIn(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if !d.State().Facts.PasscodeCompliant {
		t.Error("100 check-ins after UNLOCK the passcode is still not set again")
	}
}

func TestWipeAcknowledgesThenStops(t *testing.T) {
	a, url := newAgent(t)
	d := registered(t, url, DeviceOptions{})
	id := d.State().DeviceID
	a.enqueue(id, android.Command{ID: 7, Type: "WIPE"}, android.Command{ID: 8, Type: "LOCK"})
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := a.takeCheckins()
	if len(got) != 2 || cmp.Diff([]android.CommandResult{{ID: 7, Status: "ACKNOWLEDGED"}}, got[1].Results) != "" {
		t.Fatalf("check-ins %+v: want the wipe acknowledged (and the lock after it not run)", got)
	}
	s := d.State()
	if !s.Stopped || !s.Wiped || s.Registered || len(s.Apps) != 0 || s.Locked {
		t.Errorf("after wipe: %+v", s)
	}
	if err := d.CheckIn(context.Background()); err != ErrStopped {
		t.Errorf("CheckIn after wipe = %v, want ErrStopped", err)
	}
	if a.states[id] != "WIPED" {
		t.Errorf("server state %s, want WIPED", a.states[id])
	}
}

func TestUnknownCredentialStopsDevice(t *testing.T) {
	a, url := newAgent(t)
	d := registered(t, url, DeviceOptions{})
	a.mu.Lock()
	a.states[d.State().DeviceID] = "RETIRED"
	a.mu.Unlock()
	if err := d.CheckIn(context.Background()); StatusOf(err) != 401 {
		t.Fatalf("err = %v, want 401", err)
	}
	if !d.Stopped() {
		t.Error("a device whose credential is refused should stop")
	}
}

func TestNonCompliantDevices(t *testing.T) {
	for seed := uint64(1); seed < 50; seed++ {
		f := NewDevice(nil, seed, DeviceOptions{NonCompliant: true}).State().Facts
		if !f.Rooted && f.PasscodeCompliant {
			t.Fatalf("seed %d: non-compliant device is neither rooted nor without passcode", seed)
		}
		g := NewDevice(nil, seed, DeviceOptions{}).State().Facts
		if g.Rooted || !g.PasscodeCompliant {
			t.Fatalf("seed %d: compliant device rooted %v passcode %v", seed, g.Rooted, g.PasscodeCompliant)
		}
	}
}

func TestOSUpdateIsInstalledAndReported(t *testing.T) {
	a, url := newAgent(t)
	d := registered(t, url, DeviceOptions{})
	before := d.State().Facts.OSVersion
	a.enqueue(d.State().DeviceID, android.Command{ID: 7, Type: "OS_UPDATE",
		Payload: map[string]string{"productVersion": "2024-03-01", "patchId": "7a4c2e10-6d3b-4c8a-b5e2-9f0a1b2c3d03"}})
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := a.takeCheckins()
	if len(got) != 2 {
		t.Fatalf("%d check-ins, want 2", len(got))
	}
	if diff := cmp.Diff([]android.CommandResult{{ID: 7, Status: "ACKNOWLEDGED"}}, got[1].Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if got[1].Facts == nil {
		t.Fatal("after OS_UPDATE the next check-in should report the facts")
	}
	after := got[1].Facts.OSVersion
	if before != "15" && after == before || before == "15" && after != "15" {
		t.Errorf("OS version %s → %s: want the next release (the newest stays)", before, after)
	}
	if d.State().Executed["OS_UPDATE"] != 1 {
		t.Errorf("executed: %v", d.State().Executed)
	}
}

func TestRemoveContentIsAcknowledged(t *testing.T) {
	a, url := newAgent(t)
	d := registered(t, url, DeviceOptions{})
	a.enqueue(d.State().DeviceID, android.Command{ID: 9, Type: "REMOVE_CONTENT",
		Payload: map[string]string{"contentIds": "3,12"}})
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := a.takeCheckins()
	if len(got) != 2 {
		t.Fatalf("%d check-ins, want 2", len(got))
	}
	if diff := cmp.Diff([]android.CommandResult{{ID: 9, Status: "ACKNOWLEDGED"}}, got[1].Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"3", "12"}, d.State().RemovedContent); diff != "" {
		t.Errorf("removed content (-want +got):\n%s", diff)
	}
}
