package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/sim"
)

// TestDemoDevices: serve --demo runs a dozen simulated devices for the demo tenant; a restart resumes
// them instead of registering more, and replaces only those the server no longer knows.
func TestDemoDevices(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), func(c *Config) { c.Demo = true })
			s := e.srv
			ctx := context.Background()
			path := filepath.Join(s.cfg.DataDir, demoDevicesFile)
			admin, err := s.store.Accounts().ByUsername(ctx, DemoAdmin)
			if err != nil {
				t.Fatal(err)
			}
			counts := func() (active, ever int) {
				for i := range demoUsers {
					u, err := s.store.Accounts().ByUsername(ctx, demoUserEmail(i))
					if err != nil {
						return -1, -1
					}
					a, e, err := s.store.Devices().CountForAccount(ctx, admin.TenantID, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					active, ever = active+a, ever+e
				}
				return active, ever
			}
			// run starts the demo devices and returns once they have saved their credentials.
			run := func() (stop func()) {
				before, _ := os.ReadFile(path)
				ctx, cancel := context.WithCancel(ctx)
				var wg sync.WaitGroup
				wg.Go(func() { s.runDemoDevices(ctx, e.url, sim.NewHTTPClient(4)) })
				eventually(t, "the demo devices saved their credentials", func() bool {
					now, err := os.ReadFile(path)
					return err == nil && !bytes.Equal(now, before)
				})
				return func() { cancel(); wg.Wait() }
			}

			stop := run()
			if a, ev := counts(); a != demoDeviceCount || ev != demoDeviceCount {
				t.Fatalf("first start: %d active, %d ever, want %d", a, ev, demoDeviceCount)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v; want 0600", demoDevicesFile, err, fi.Mode().Perm())
			}
			devs, err := s.store.Devices().List(ctx, admin.TenantID, mdm.ListOptions{Rows: 100})
			if err != nil {
				t.Fatal(err)
			}
			flagged := 0
			for _, d := range devs.Items {
				if d.Facts.Jailbroken || !d.Facts.PasscodeCompliant {
					flagged++
				}
			}
			if flagged != demoNonCompliant {
				t.Errorf("%d non-compliant demo devices, want %d", flagged, demoNonCompliant)
			}

			// Without a push service the demo wakes its devices in process: a lock is carried out at once.
			actx := mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(admin.ID), Username: admin.Username,
				TenantID: admin.TenantID, Roles: []string{mdm.RoleTenantAdmin}})
			target := devs.Items[1].ID
			if _, err := s.devices.Act(actx, devices.Lock, []mdm.DeviceID{target}, devices.ActionOptions{Message: "demo"}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the demo device acknowledged the lock", func() bool {
				h, err := s.store.Commands().History(ctx, admin.TenantID, target, mdm.ListOptions{Rows: 10})
				return err == nil && len(h.Items) == 1 && h.Items[0].Status == mdm.CmdAcknowledged
			})
			if w := s.demoWake.fleet.Load().Stats().Snapshot().Wakes; w != 1 {
				t.Errorf("%d wakes, want 1", w)
			}
			stop()

			stop = run()
			if a, ev := counts(); a != demoDeviceCount || ev != demoDeviceCount {
				t.Errorf("restart: %d active, %d ever, want the same %d devices", a, ev, demoDeviceCount)
			}
			stop()

			// A device deleted from the console is registered afresh at the next start, and only that one.
			if _, err := s.devices.Delete(actx, []mdm.DeviceID{devs.Items[0].ID}); err != nil {
				t.Fatal(err)
			}
			stop = run()
			defer stop()
			if a, ev := counts(); a != demoDeviceCount || ev != demoDeviceCount {
				t.Errorf("after a deletion: %d active, %d ever, want %d", a, ev, demoDeviceCount)
			}
		})
	}
}
