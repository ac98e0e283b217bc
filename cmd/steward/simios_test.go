package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/server"
	"steward/internal/sim"
	"steward/internal/sim/ios"
)

// TestSimIOS runs simulated Apple devices against a real server whose APNs is the simulator's
// stand-in: `steward sim --platform ios` in its enroll and fanout modes, then a fleet in process whose
// inventory reaches the device records and which a lock reaches through a push.
func TestSimIOS(t *testing.T) {
	ctx := context.Background()
	var fleet atomic.Pointer[sim.Fleet]
	caFile := filepath.Join(t.TempDir(), "apns-ca.pem")
	apns, err := ios.StartAPNs("127.0.0.1:0", caFile, func(token string) bool {
		f := fleet.Load()
		return f != nil && f.Wake(token)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer apns.Close()

	// The server's base URL goes into the enrollment profiles, so its address is known first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	s, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), BaseURL: base,
		AdminPassword: "system-admin-pw-1234", LogFormat: "text", APNsURL: apns.URL(), APNsCAFile: caFile},
		slog.New(slog.DiscardHandler))
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	stop := s.Background()
	defer stop()
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: s.Handler()}}
	ts.Start()
	defer ts.Close()
	const ta, password = "ta@simios.example.com", "Tenant-admin-pw-1"
	createTenant(t, ts.URL, "Simios", ta)

	run := func(args ...string) string {
		t.Helper()
		c := parse(t, append([]string{"sim", "--platform", "ios", "--url", ts.URL, "--username", ta, "--password-stdin",
			"--domain", "simios.example.com", "--keys", "2"}, args...)...)
		var out bytes.Buffer
		if err := c.Sim.Run(ctx, strings.NewReader(password+"\n"), &out); err != nil {
			t.Fatalf("sim %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}

	// An enrollment storm of three: the tenant had no push certificate, so the simulator uploads one.
	got := run("--mode", "enroll", "--devices", "3", "--seed", "1")
	for _, want := range []string{"uploaded a self-signed one", "enrolled 3 devices", "errors 0", "scep 3 ", "tokenupdate 3 ", "enroll 3 "} {
		if !strings.Contains(got, want) {
			t.Errorf("enroll output lacks %q:\n%s", want, got)
		}
	}

	// Fan-out without pushes: the devices learn of the forceCheckin at their next connect.
	got = run("--mode", "fanout", "--devices", "2", "--seed", "2", "--interval", "200ms", "--duration", "60s")
	for _, want := range []string{"push certificate: the tenant's", "enrolled 2 devices", "forceCheckin to 2 devices",
		"acknowledged by all"} {
		if !strings.Contains(got, want) {
			t.Errorf("fanout output lacks %q:\n%s", want, got)
		}
	}
	if m := regexp.MustCompile(`DeviceInformation Acknowledged: (\d+)`).FindStringSubmatch(got[strings.Index(got, "during the drain"):]); m == nil || m[1] == "0" {
		t.Errorf("no DeviceInformation acknowledged during the drain:\n%s", got)
	}

	// In process: three devices (an iPhone, an iPad, an iPad mini), each woken only by pushes.
	client := sim.NewHTTPClient(8)
	admin := &sim.Admin{Client: client, BaseURL: ts.URL, Username: ta, Password: password}
	stats := sim.NewStats()
	var devs []*ios.Device
	var members []sim.Member
	for i := range 3 {
		d := ios.NewDevice(client, 300+uint64(i), ios.DeviceOptions{Model: []int{1, 5, 7}[i], Observer: stats})
		devs, members = append(devs, d), append(members, d)
	}
	f := sim.NewFleetOf(sim.Config{BaseURL: ts.URL, Interval: time.Hour, Stats: stats,
		Provisioner: &sim.APIProvisioner{Client: client, BaseURL: ts.URL, Username: ta, Password: password,
			Domain: "simios.example.com", Prefix: "inproc"}}, members)
	fleet.Store(f)
	if err := f.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if err := d.CheckIn(ctx); err != nil { // the first connect: the server asks for the inventory
			t.Fatal(err)
		}
	}
	records, err := admin.Devices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, r := range records {
		ids[r.SerialNumber] = r.ID
	}
	if len(records) != 8 {
		t.Errorf("%d devices listed, want 8 (3 + 2 + 3)", len(records))
	}
	for _, d := range devs {
		st := d.State()
		id, ok := ids[st.SerialNumber]
		if !ok {
			t.Fatalf("device %s (%s) is not listed", st.SerialNumber, st.ProductName)
		}
		var rec struct {
			DeviceModel     string `json:"deviceModel"`
			DeviceName      string `json:"deviceName"`
			PlatformType    string `json:"platformType"`
			PlatformVersion string `json:"platformVersion"`
			AppCount        int    `json:"appCount"`
			Manufacturer    string `json:"manufacturer"`
		}
		if err := admin.Call(ctx, "GET", "/api/v1/device/"+itoa(id), nil, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.DeviceModel != st.ProductName || rec.DeviceName != st.DeviceName || rec.PlatformVersion != st.OSVersion ||
			rec.AppCount != len(st.Apps) || rec.Manufacturer != "Apple" {
			t.Errorf("device %d record %+v, want the inventory of %+v", id, rec, st)
		}
		if st.Executed["DeviceInformation"] != 1 || st.Executed["InstalledApplicationList"] != 1 {
			t.Errorf("device %s carried out %v, want one inventory", st.SerialNumber, st.Executed)
		}
	}

	// A lock reaches the second device through a push; the others stay as they are.
	done := make(chan struct{})
	runCtx, cancel := context.WithCancel(ctx)
	go func() { f.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	target := devs[1]
	if err := admin.Call(ctx, "PUT", "/api/v1/device/lock?ids="+itoa(ids[target.State().SerialNumber])+"&message=Found%3F",
		nil, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !target.State().Locked {
		if time.Now().After(deadline) {
			t.Fatalf("the lock did not reach the device (pushes %d, stats %s)", apns.Pushes(), stats.Snapshot())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := target.State(); st.LockMessage != "Found?" {
		t.Errorf("lock message %q, want Found?", st.LockMessage)
	}
	if apns.Pushes() < 1 {
		t.Errorf("no push reached the APNs stand-in")
	}
	for _, d := range []*ios.Device{devs[0], devs[2]} {
		if d.State().Locked {
			t.Errorf("device %s locked too", d.State().SerialNumber)
		}
	}
	if snap := stats.Snapshot(); snap.ErrorCount() != 0 {
		t.Errorf("errors: %v", snap.Errors)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
