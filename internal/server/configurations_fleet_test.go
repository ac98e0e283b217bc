package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/configurations"
	"steward/internal/mdm"
	"steward/internal/sim"
	"steward/internal/sim/ios"
)

// configFleet is a tenant with n simulated Android devices that the server wakes through a push double
// delivering to the fleet in process, and a long check-in interval: the devices come back only when
// woken.
type configFleet struct {
	e     *apiEnv
	ta    string
	fleet *sim.Fleet
	stop  func()
}

func newConfigFleet(t *testing.T, databaseURL string, n int, mutate func(*Config)) *configFleet {
	t.Helper()
	var push atomic.Pointer[http.Handler]
	double := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := push.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(double.Close)
	e := newAPIEnv(t, databaseURL, func(c *Config) {
		c.PushURL, c.PushProject, c.PushKey = double.URL, "steward-test", "push-key-1"
		if mutate != nil {
			mutate(c)
		}
	})
	e.call("POST", "/api/v1/tenants", e.admin(), fmt.Sprintf(`{"name":"Fleetco","adminEmail":"ta@fleetco.example.com",`+
		`"adminFirstName":"Ta","adminLastName":"Admin","adminPassword":"Tenant-admin-pw-1","licenseDevices":%d}`, n+10)).must(t, 200, nil)
	ta := "ta@fleetco.example.com:Tenant-admin-pw-1"
	fleet := sim.NewFleet(sim.Config{BaseURL: e.url, Devices: n, Interval: time.Hour, Concurrency: 32, Seed: 11,
		PushTokens: true, Static: true,
		Provisioner: &sim.APIProvisioner{Client: sim.NewHTTPClient(8), BaseURL: e.url,
			Username: "ta@fleetco.example.com", Password: "Tenant-admin-pw-1", Domain: "fleetco.example.com",
			Prefix: "sim", DevicesPerUser: 2}})
	h := fleet.PushHandler("push-key-1")
	push.Store(&h)
	if err := fleet.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Every device checks in once, so the server has its push token.
	for _, d := range fleet.Devices() {
		if err := d.CheckIn(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fleet.Run(ctx); close(done) }()
	f := &configFleet{e: e, ta: ta, fleet: fleet, stop: func() { cancel(); <-done }}
	t.Cleanup(f.stop)
	return f
}

// allDevicesGroup returns the id of the tenant's All Devices group.
func (f *configFleet) allDevicesGroup(t *testing.T) int64 {
	t.Helper()
	gs, err := f.e.srv.store.DeviceGroups().All(context.Background(), mdm.TenantID(f.e.tenantOf(f.ta)))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Kind == mdm.AllDevicesGroup {
			return int64(g.ID)
		}
	}
	t.Fatal("no All Devices group")
	return 0
}

// TestConfigurationFleetConverges: simulated Android and iOS devices receive a Wi-Fi configuration
// assigned to All Devices without any step but the assignment (the Android fleet is woken by pushes;
// the iOS devices connect as they would on their APNs wake-up), and report it installed; a new version
// replaces it and unassigning removes it.
func TestConfigurationFleetConverges(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			f := newConfigFleet(t, db(t), 6, func(c *Config) { c.ConfigurationInterval = 200 * time.Millisecond })
			e, ta := f.e, f.ta
			ctx := context.Background()
			e.uploadPushCertificate(ta)
			var phones []*ios.Device
			for i := range 2 {
				email := fmt.Sprintf("ios%d@fleetco.example.com", i)
				_, pin := e.deviceUser(ta, email)
				dev := ios.NewDevice(http.DefaultClient, uint64(300+i), ios.DeviceOptions{Model: 1})
				if err := dev.Enroll(ctx, e.url, email, pin, ""); err != nil {
					t.Fatal(err)
				}
				if err := dev.CheckIn(ctx); err != nil {
					t.Fatal(err)
				}
				phones = append(phones, dev)
			}
			wifi := e.createConfig(ta, `{"name":"Fleet Wi-Fi","type":"WIFI","attributes":{"ssid":"Fleet","securityType":"WPA2","password":"fleet-pw-123"}}`)
			e.distribute(ta, wifi.ID, fmt.Sprintf(`{"type":"DEVICE_GROUP","id":%d}`, f.allDevicesGroup(t)))
			installed := func(version int64) func() bool {
				return func() bool {
					for _, p := range phones {
						if err := p.CheckIn(ctx); err != nil {
							t.Fatal(err)
						}
					}
					c := e.getConfig(ta, wifi.ID)
					return c.Version == version && c.TotalDeviceCount == 8 && c.InstalledDeviceCount == 8
				}
			}
			eventually(t, "every device installs the Wi-Fi configuration", installed(1))
			tenant := e.tenantOf(ta)
			ident := configurations.Identifier(mdm.TenantID(tenant), mdm.ConfigurationID(wifi.ID))
			for _, p := range phones {
				if _, ok := p.State().Profiles[ident]; !ok {
					t.Fatalf("iOS device has no %s: %v", ident, p.State().Profiles)
				}
			}
			id := strconv.FormatInt(wifi.ID, 10)
			for _, d := range f.fleet.Devices() {
				if c, ok := d.State().Configurations[id]; !ok || c.Version != "1" {
					t.Fatalf("Android device configurations %v", d.State().Configurations)
				}
			}
			uuid := phones[0].State().Profiles[ident]
			e.call("PUT", "/api/v1/configurations/"+id, ta, `{"attributes":{"ssid":"Fleet5"}}`).must(t, 200, nil)
			eventually(t, "every device installs version 2", installed(2))
			if now := phones[0].State().Profiles[ident]; now == uuid {
				t.Fatalf("the new version kept PayloadUUID %s", now)
			}
			e.distribute(ta, wifi.ID, ``)
			eventually(t, "every device removes it", func() bool {
				for _, p := range phones {
					p.CheckIn(ctx)
					if len(p.State().Profiles) != 0 {
						return false
					}
				}
				for _, d := range f.fleet.Devices() {
					if len(d.State().Configurations) != 0 {
						return false
					}
				}
				var statuses []struct{}
				e.call("GET", "/api/v1/configurations/"+id+"/devices", ta, "").must(t, 200, &statuses)
				return e.getConfig(ta, wifi.ID).TotalDeviceCount == 0 && len(statuses) == 0
			})
		})
	}
}

// TestConfigurationConvergenceLoad measures how long STEWARD_CONFIG_LOAD (e.g. 1000) simulated Android
// devices take to converge after one assignment change: from the distribution request until every
// device has reported the configuration installed, then again for a new version. Not a timed
// assertion: it reports the numbers. Run with
//
//	STEWARD_CONFIG_LOAD=1000 go test ./internal/server -run TestConfigurationConvergenceLoad -v
func TestConfigurationConvergenceLoad(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("STEWARD_CONFIG_LOAD"))
	if n <= 0 {
		n = 20 // every device must converge; the measurement wants STEWARD_CONFIG_LOAD=1000
	}
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			f := newConfigFleet(t, db(t), n, nil)
			t.Logf("%s: %d devices provisioned and checked in in %v", name, n, time.Since(start).Round(time.Millisecond))
			e, ta := f.e, f.ta
			wifi := e.createConfig(ta, `{"name":"Load Wi-Fi","type":"WIFI","attributes":{"ssid":"Load","securityType":"WPA2","password":"load-pw-123"}}`)
			wait := func(version int64) time.Duration {
				began := time.Now()
				for {
					c := e.getConfig(ta, wifi.ID)
					if c.Version == version && c.InstalledDeviceCount == n {
						return time.Since(began)
					}
					if time.Since(began) > 10*time.Minute {
						t.Fatalf("not converged after 10 minutes: %+v", c)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			began := time.Now()
			e.distribute(ta, wifi.ID, fmt.Sprintf(`{"type":"DEVICE_GROUP","id":%d}`, f.allDevicesGroup(t)))
			wait(1)
			t.Logf("%s: assignment to All Devices: %d devices installed in %v", name, n, time.Since(began).Round(time.Millisecond))
			began = time.Now()
			e.call("PUT", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), ta, `{"attributes":{"ssid":"Load2"}}`).must(t, 200, nil)
			wait(2)
			t.Logf("%s: new version: %d devices installed in %v", name, n, time.Since(began).Round(time.Millisecond))
			t.Logf("%s: fleet %s", name, f.fleet.Stats().Snapshot())
		})
	}
}
