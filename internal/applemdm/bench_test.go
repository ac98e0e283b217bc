package applemdm_test

import (
	"testing"

	"steward/internal/apple"
	"steward/internal/applemdm"
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
