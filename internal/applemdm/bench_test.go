package applemdm_test

import (
	"testing"

	"steward/internal/apple"
	"steward/internal/applemdm"
	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/store/sqlstore"

	"github.com/micromdm/plist"
)

// BenchmarkIdleConnect measures an enrolled device's idle connect over HTTP on SQLite: signature check,
// device authentication (cached), one queue read, an empty answer.
func BenchmarkIdleConnect(b *testing.B) {
	store, err := sqlstore.Open(b.Context(), "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	f := newFixture(b, store)
	d, _ := f.enrolled("bench@t-1.example.com", "UDID-BENCH", nil)
	// Answer the inventory queries so the queue is empty.
	_, cmd := d.connect(map[string]any{"Status": "Idle"})
	for cmd != nil {
		_, cmd = d.connect(map[string]any{"Status": "Error", "CommandUUID": cmd["CommandUUID"]})
	}
	body, err := plist.Marshal(map[string]any{"Status": apple.StatusIdle, "UDID": d.udid})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if s, out := d.put(applemdm.ConnectPath, "application/x-apple-aspen-mdm", body); s != 200 || len(out) != 0 {
			b.Fatalf("idle connect: %d %s", s, out)
		}
	}
}

// BenchmarkForcedCheckinAnswers measures what a forceCheckin costs the server per device over HTTP
// on SQLite: queueing it, then the device's three connects (Idle, the DeviceInformation answer, the
// InstalledApplicationList answer).
func BenchmarkForcedCheckinAnswers(b *testing.B) {
	store, err := sqlstore.Open(b.Context(), "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	f := newFixture(b, store)
	d, rec := f.enrolled("bench@t-1.example.com", "UDID-BENCH", nil)
	_, cmd := d.connect(map[string]any{"Status": "Idle"})
	for cmd != nil {
		_, cmd = d.connect(map[string]any{"Status": "Error", "CommandUUID": cmd["CommandUUID"]})
	}
	info := map[string]any{"OSVersion": "18.4", "DeviceName": "Bench", "ProductName": "iPhone14,2",
		"SerialNumber": "F2LXX0000000", "DeviceCapacity": 128.0, "AvailableDeviceCapacity": 64.0}
	apps := []any{map[string]any{"Identifier": "com.example.app", "Name": "App", "ShortVersion": "1.0"}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.devs.Act(f.admin, devices.ForceCheckin, []mdm.DeviceID{rec.ID}, devices.ActionOptions{}); err != nil {
			b.Fatal(err)
		}
		_, cmd := d.connect(map[string]any{"Status": "Idle"})
		if requestType(cmd) != apple.RequestDeviceInformation {
			b.Fatalf("forced check-in sends %v", cmd)
		}
		_, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"], "QueryResponses": info})
		if requestType(cmd) != apple.RequestInstalledApplicationList {
			b.Fatalf("after the information: %v", cmd)
		}
		if _, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
			"InstalledApplicationList": apps}); cmd != nil {
			b.Fatalf("after the apps: %v", cmd)
		}
	}
}
