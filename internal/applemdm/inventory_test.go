package applemdm_test

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"steward/internal/apple"
	"steward/internal/applemdm"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// sorted sorts the woken devices, keeping repeats: each device asked must be pushed once, not once per
// query.
func sorted(ids []mdm.DeviceID) []mdm.DeviceID {
	return slices.Sorted(slices.Values(ids))
}

// answerAll connects d until it has nothing more, acknowledging each inventory query.
func answerAll(t *testing.T, d *dev) {
	t.Helper()
	_, cmd := d.connect(map[string]any{"Status": "Idle"})
	for i := 0; cmd != nil; i++ {
		if i == 10 {
			t.Fatalf("device %s keeps getting commands", d.udid)
		}
		ans := map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"]}
		switch requestType(cmd) {
		case apple.RequestDeviceInformation:
			ans["QueryResponses"] = map[string]any{"OSVersion": "18.2"}
		case apple.RequestInstalledApplicationList:
			ans["InstalledApplicationList"] = []any{}
		default:
			t.Fatalf("device %s got %v", d.udid, cmd)
		}
		var s int
		s, cmd = d.connect(ans)
		if s != 200 {
			t.Fatalf("answer of %s: %d", d.udid, s)
		}
	}
}

// openInventory returns the inventory query types the device has open (PENDING, SENT or NOT_NOW).
func openInventory(f *fixture, id mdm.DeviceID) []string {
	var out []string
	for _, c := range f.commands(id) {
		if c.Status == mdm.CmdPending || c.Status == mdm.CmdSent || c.Status == mdm.CmdNotNow {
			out = append(out, c.Type)
		}
	}
	return out
}

// TestInventoryJob: a device that answered its inventory and then stays quiet (it never connects
// unless pushed) is asked again by the job once the interval has passed, not before, and woken; each
// run asks a bounded number, oldest inventory first; a device already asked is not asked twice. The
// job runs on another replica's service (its own devices service and caches) over the same database.
func TestInventoryJob(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		var devs []*dev
		var ids []mdm.DeviceID
		for _, u := range []string{"a", "b", "c", "gone"} {
			d, rec := f.enrolled(u+"@t-1.example.com", "UDID-INV-"+u, nil)
			answerAll(t, d) // the first inventory, asked at TokenUpdate
			devs, ids = append(devs, d), append(ids, rec.ID)
			f.clock.add(time.Minute)
		}
		// One device checks out: it is never asked again.
		if s := devs[3].checkin(map[string]any{"MessageType": "CheckOut", "Topic": topic}); s != 200 {
			t.Fatalf("CheckOut: %d", s)
		}
		w := &wakes{}
		jobDevs := devices.New(f.store, f.keys, f.acc, slog.New(slog.DiscardHandler), devices.WithClock(f.clock.now), devices.WithWaker(w))
		job := applemdm.New(applemdm.Deps{Store: f.store, Keys: f.keys, Devices: jobDevs, Registrar: f.acc,
			Now: f.clock.now, InventoryInterval: 24 * time.Hour})
		for _, id := range ids {
			if got := openInventory(f, id); len(got) != 0 {
				t.Fatalf("device %d has open commands %v after answering", id, got)
			}
		}

		// Within the interval: nothing is asked.
		f.clock.add(23 * time.Hour)
		if n, err := job.QueueDueInventory(f.ctx, 2, 100); err != nil || n != 0 {
			t.Fatalf("within the interval: asked %d, %v; want 0", n, err)
		}
		if got := sorted(w.take()); len(got) != 0 {
			t.Fatalf("within the interval woke %v", got)
		}

		// After it: a run bounded to 2 asks the two oldest, and wakes them.
		f.clock.add(2 * time.Hour)
		if n, err := job.QueueDueInventory(f.ctx, 1, 2); err != nil || n != 2 {
			t.Fatalf("bounded run: asked %d, %v; want 2", n, err)
		}
		want := []string{mdm.CmdDeviceInformation, mdm.CmdInstalledApps}
		for i, id := range ids[:2] {
			if got := openInventory(f, id); !slices.Equal(got, want) {
				t.Errorf("device %d (%s) after the bounded run: open %v, want %v", id, devs[i].udid, got, want)
			}
		}
		if got := openInventory(f, ids[2]); len(got) != 0 {
			t.Errorf("the third device was asked beyond the bound: %v", got)
		}
		if got := sorted(w.take()); !slices.Equal(got, ids[:2]) {
			t.Errorf("woke %v, want %v", got, ids[:2])
		}

		// The next run asks the rest, and only them: the first two were asked already.
		if n, err := job.QueueDueInventory(f.ctx, 2, 100); err != nil || n != 1 {
			t.Fatalf("second run: asked %d, %v; want 1", n, err)
		}
		if got := openInventory(f, ids[2]); !slices.Equal(got, want) {
			t.Errorf("the third device after the second run: open %v, want %v", got, want)
		}
		for _, id := range ids[:2] {
			if got := openInventory(f, id); !slices.Equal(got, want) {
				t.Errorf("device %d asked twice: open %v", id, got)
			}
		}
		if got := openInventory(f, ids[3]); len(got) != 0 {
			t.Errorf("the checked-out device was asked: %v", got)
		}
		if got := sorted(w.take()); !slices.Equal(got, ids[2:3]) {
			t.Errorf("second run woke %v, want %v", got, ids[2:3])
		}
		if n, err := job.QueueDueInventory(f.ctx, 2, 100); err != nil || n != 0 {
			t.Fatalf("third run: asked %d, %v; want 0", n, err)
		}

		// The devices answer: nothing is due until their new inventory is old.
		for _, d := range devs[:3] {
			answerAll(t, d)
		}
		if n, err := job.QueueDueInventory(f.ctx, 2, 100); err != nil || n != 0 {
			t.Fatalf("after the answers: asked %d, %v; want 0", n, err)
		}
		f.clock.add(25 * time.Hour)
		if n, err := job.QueueDueInventory(f.ctx, 10, 100); err != nil || n != 3 {
			t.Fatalf("a day after the answers: asked %d, %v; want 3", n, err)
		}
		if _, err := job.QueueDueInventory(f.ctx, 0, 1); !mdm.IsCode(err, mdm.Invalid) {
			t.Errorf("batch 0: %v, want invalid", err)
		}
	})
}
