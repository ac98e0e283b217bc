package server

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"steward/internal/sim"
)

// simDeviceJSON is what these tests read of a device.
type simDeviceJSON struct {
	ID                int64  `json:"id"`
	SerialNumber      string `json:"serialNumber"`
	IMEI              string `json:"imei"`
	WifiMAC           string `json:"wifiMacAddress"`
	DeviceModel       string `json:"deviceModel"`
	Manufacturer      string `json:"manufacturer"`
	DeviceKind        string `json:"deviceKind"`
	PlatformType      string `json:"platformType"`
	RegistrationState string `json:"registrationState"`
	Jailbroken        bool   `json:"jailbroken"`
	PasscodeCompliant bool   `json:"passcodeCompliant"`
	AppCount          int    `json:"appCount"`
	EmailAddress      string `json:"emailAddress"`
	LastCheckin       *int64 `json:"lastCheckin"`
}

type simDeviceList struct {
	SearchResults []simDeviceJSON `json:"searchResults"`
	TotalCount    int             `json:"totalCount"`
}

// eventually polls cond until it holds or the deadline passes; the deadline is generous and is not a
// timing assertion: the work is done when cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSimulatedFleet runs a fleet of simulated devices against a real server: registration through
// the admin API's PINs, inventory visible in the device API, lock and wipe carried out and confirmed.
func TestSimulatedFleet(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			e.call("POST", "/api/v1/tenants", e.admin(), `{"name":"Simco","adminEmail":"ta@simco.example.com",`+
				`"adminFirstName":"Ta","adminLastName":"Admin","adminPassword":"Tenant-admin-pw-1","licenseDevices":50}`).must(t, 200, nil)
			ta := "ta@simco.example.com:Tenant-admin-pw-1"
			_, other := e.createTenant("Othersim")

			const n, nonCompliant = 20, 4
			fleet := sim.NewFleet(sim.Config{BaseURL: e.url, Devices: n, NonCompliant: nonCompliant,
				Interval: 300 * time.Millisecond, Jitter: 0.2, Concurrency: 8, Seed: 7,
				Provisioner: &sim.APIProvisioner{Client: sim.NewHTTPClient(8), BaseURL: e.url,
					Username: "ta@simco.example.com", Password: "Tenant-admin-pw-1", Domain: "simco.example.com",
					Prefix: "sim", DevicesPerUser: 3}})
			if err := fleet.Provision(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { fleet.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })

			bySerial := map[string]*sim.Device{}
			byID := map[int64]*sim.Device{}
			for _, d := range fleet.Devices() {
				s := d.State()
				bySerial[s.Facts.SerialNumber], byID[s.DeviceID] = d, d
			}
			testFleetInventory(t, e, ta, bySerial, nonCompliant)
			ids := slices.Sorted(maps.Keys(byID))
			testFleetLock(t, e, ta, byID, ids[:5])
			testFleetWipe(t, e, ta, byID[ids[7]], ids[7])
			testFleetIsolation(t, e, other, ids[0])
			if snap := fleet.Stats().Snapshot(); snap.Registrations != n || snap.Checkins == 0 {
				t.Errorf("fleet stats: %s", snap)
			}
		})
	}
}

// testFleetInventory: every device is listed with the facts it reported, apps included, and the
// non-compliant ones show as such.
func testFleetInventory(t *testing.T, e *apiEnv, ta string, bySerial map[string]*sim.Device, nonCompliant int) {
	var list simDeviceList
	e.call("GET", "/api/v1/device?rows=100", ta, "").must(t, 200, &list)
	if list.TotalCount != len(bySerial) || len(list.SearchResults) != len(bySerial) {
		t.Fatalf("listed %d (total %d), want %d", len(list.SearchResults), list.TotalCount, len(bySerial))
	}
	flagged := 0
	kinds := map[string]bool{}
	for _, got := range list.SearchResults {
		d, ok := bySerial[got.SerialNumber]
		if !ok {
			t.Fatalf("listed a device the fleet does not have: %+v", got)
		}
		f := d.State().Facts
		if got.Jailbroken != f.Rooted || got.PasscodeCompliant != f.PasscodeCompliant || got.IMEI != f.IMEI ||
			got.WifiMAC != f.WifiMAC || got.DeviceModel != f.Model || got.PlatformType != "ANDROID" ||
			got.RegistrationState != "ACTIVE" || !strings.HasSuffix(got.EmailAddress, "@simco.example.com") {
			t.Errorf("device %d: listed %+v, reported %+v", got.ID, got, f)
		}
		if got.Jailbroken || !got.PasscodeCompliant {
			flagged++
		}
		kinds[got.DeviceKind] = true
		if got.AppCount < 10 {
			t.Errorf("device %d: appCount %d", got.ID, got.AppCount)
		}
	}
	if flagged != nonCompliant {
		t.Errorf("%d devices rooted or without passcode, want %d", flagged, nonCompliant)
	}
	if !kinds["ANDROID_PHONE"] || !kinds["ANDROID_TABLET"] {
		t.Errorf("device kinds %v: want phones and tablets", kinds)
	}

	// The filter finds exactly the rooted ones.
	rooted := 0
	for _, d := range bySerial {
		if d.State().Facts.Rooted {
			rooted++
		}
	}
	var jb simDeviceList
	e.call("GET", "/api/v1/device?rows=100&fq="+url.QueryEscape("registrationState=ACTIVE and jailbroken=true"), ta, "").
		must(t, 200, &jb)
	if jb.TotalCount != rooted {
		t.Errorf("fq jailbroken=true: %d, want %d", jb.TotalCount, rooted)
	}

	// A device's apps are those it reported (drift may add one or drop one meanwhile, never the agent).
	first := list.SearchResults[0]
	r := e.call("GET", fmt.Sprintf("/api/v1/device/%d/apps", first.ID), ta, "").must(t, 200, nil)
	if !strings.Contains(r.Body, `"com.steward.agent"`) || !strings.Contains(r.Body, `"com.android.chrome"`) {
		t.Errorf("apps of device %d: %s", first.ID, r.Body)
	}

	// Check-ins are recorded (coalesced, so wait for the flush).
	eventually(t, "lastCheckin of every device", func() bool {
		var l simDeviceList
		e.call("GET", "/api/v1/device?rows=100", ta, "").must(t, 200, &l)
		for _, d := range l.SearchResults {
			if d.LastCheckin == nil || *d.LastCheckin == 0 {
				return false
			}
		}
		return true
	})
}

// testFleetLock: the admin locks five devices; each carries the lock out and the server records it
// acknowledged.
func testFleetLock(t *testing.T, e *apiEnv, ta string, byID map[int64]*sim.Device, ids []int64) {
	q := url.Values{}
	for _, id := range ids {
		q.Add("ids", fmt.Sprint(id))
	}
	q.Set("message", "Returned to IT")
	r := e.call("PUT", "/api/v1/device/lock?"+q.Encode(), ta, "").must(t, 200, nil)
	if strings.TrimSpace(string(r.Env.Result)) != "1" {
		t.Errorf("lock result %s, want 1", r.Env.Result)
	}
	for _, id := range ids {
		d := byID[id]
		eventually(t, fmt.Sprintf("device %d locked and acknowledged", id), func() bool {
			if !d.State().Locked {
				return false
			}
			return commandStatus(t, e, ta, id, "LOCK") == "ACKNOWLEDGED"
		})
		if s := d.State(); s.LockMessage != "Returned to IT" {
			t.Errorf("device %d lock message %q", id, s.LockMessage)
		}
	}
	for id, d := range byID {
		if !slices.Contains(ids, id) && d.State().Locked {
			t.Errorf("device %d was locked but not asked to", id)
		}
	}
}

// testFleetWipe: a wiped device acknowledges, stops, and the server shows it WIPED.
func testFleetWipe(t *testing.T, e *apiEnv, ta string, d *sim.Device, id int64) {
	e.call("PUT", fmt.Sprintf("/api/v1/device/wipe?ids=%d", id), ta, "").must(t, 200, nil)
	eventually(t, "the device wiped itself", func() bool { return d.State().Wiped && d.Stopped() })
	eventually(t, "the server shows it WIPED", func() bool {
		var got simDeviceJSON
		e.call("GET", fmt.Sprintf("/api/v1/device/%d", id), ta, "").must(t, 200, &got)
		return got.RegistrationState == "WIPED"
	})
	if s := d.State(); s.Registered || len(s.Apps) != 0 {
		t.Errorf("wiped device still holds a credential or apps: %+v", s)
	}
	if err := d.CheckIn(context.Background()); err != sim.ErrStopped {
		t.Errorf("a wiped device checked in: %v", err)
	}
}

// testFleetIsolation: another tenant's admin neither sees nor reaches the fleet.
func testFleetIsolation(t *testing.T, e *apiEnv, other string, id int64) {
	var list simDeviceList
	e.call("GET", "/api/v1/device", other, "").must(t, 200, &list)
	if list.TotalCount != 0 {
		t.Errorf("another tenant lists %d devices", list.TotalCount)
	}
	if r := e.call("GET", fmt.Sprintf("/api/v1/device/%d", id), other, ""); r.Status != 404 {
		t.Errorf("another tenant reads device %d: %d, want 404", id, r.Status)
	}
}

// commandStatus is the status of the device's newest command of type typ, or "".
func commandStatus(t *testing.T, e *apiEnv, ta string, id int64, typ string) string {
	var h struct {
		SearchResults []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"searchResults"`
	}
	e.call("GET", fmt.Sprintf("/api/v1/device/%d/commands?rows=100", id), ta, "").must(t, 200, &h)
	for _, c := range h.SearchResults {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}
