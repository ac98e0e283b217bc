package applemdm_test

import (
	"slices"
	"testing"
	"time"

	"steward/internal/apple"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// Device-reported text with Unicode format characters (the zero-width joiners of a family emoji, a
// right-to-left mark) and controls is recorded, not refused.
func TestDeviceTextWithFormatCharacters(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		const family = "Family \U0001F468\u200D\U0001F469\u200D\U0001F467"
		u, p := f.user("uni@t-1.example.com")
		d := f.newDev(u, p, "UDID-UNI")
		if s := d.checkin(map[string]any{"MessageType": "Authenticate", "Topic": d.p.topic, "ProductName": "iPhone15,2",
			"SerialNumber": "SN\u200F1", "DeviceName": family, "OSVersion": "18.2\u2028", "BuildVersion": "22C152"}); s != 200 {
			t.Fatalf("Authenticate with a family emoji in the name: %d, want 200", s)
		}
		rec, err := f.devs.AuthenticateDevice(f.ctx, devices.CertificateCredential(d.cert))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Facts.DeviceName != "Family \U0001F468\U0001F469\U0001F467" || rec.Facts.SerialNumber != "SN1" ||
			rec.Facts.OSVersion != "18.2" {
			t.Fatalf("stored facts %+v", rec.Facts)
		}
		if s := d.tokenUpdate(nil); s != 200 {
			t.Fatal(s)
		}
		_, cmd := d.connect(map[string]any{"Status": "Idle"})
		if requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("first command %v", cmd)
		}
		s, cmd := d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
			"QueryResponses": map[string]any{"DeviceName": "\u202Bمرحبا\u202C " + family, "WiFiMAC": "not a mac\u200D",
				"OSVersion": "18.3"}})
		if s != 200 || requestType(cmd) != apple.RequestInstalledApplicationList {
			t.Fatalf("DeviceInformation with format characters: %d %v", s, cmd)
		}
		s, _ = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
			"InstalledApplicationList": []any{
				map[string]any{"Identifier": "com.example.family", "Name": family, "ShortVersion": "1.0\u200E"},
				map[string]any{"Identifier": "\u200D", "Name": "no id once cleaned"},
				map[string]any{"Identifier": "com.example.rtl", "Name": "\u200Fתפוז", "ShortVersion": "2"},
			}})
		if s != 200 {
			t.Fatalf("app list with format characters: %d, want 200", s)
		}
		got, err := f.store.Devices().Get(f.ctx, "t-1", rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Facts.DeviceName != "مرحبا Family \U0001F468\U0001F469\U0001F467" || got.Facts.OSVersion != "18.3" || got.Facts.WifiMAC != "" {
			t.Fatalf("facts after DeviceInformation: %+v", got.Facts)
		}
		apps, err := f.store.Devices().Apps(f.ctx, "t-1", rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []mdm.InstalledApp{{AppID: "com.example.family", Name: "Family \U0001F468\U0001F469\U0001F467", Version: "1.0"},
			{AppID: "com.example.rtl", Name: "תפוז", Version: "2"}}
		if len(apps) != 2 || apps[0].AppID != want[0].AppID || apps[0].Name != want[0].Name || apps[0].Version != want[0].Version ||
			apps[1].Name != want[1].Name {
			t.Fatalf("apps %+v, want %+v", apps, want)
		}
	})
}

// A connect on the user channel gets nothing, never the device's commands.
func TestConnectUserChannel(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		d, rec := f.enrolled("chan@t-1.example.com", "UDID-CHAN", nil)
		if _, err := f.devs.Queue(f.ctx, "t-1", []mdm.DeviceID{rec.ID}, mdm.NewCommand{Type: mdm.CmdWipe}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if s, cmd := d.connect(map[string]any{"Status": "Idle", "UserID": "user-1"}); s != 200 || cmd != nil {
				t.Fatalf("user channel connect: %d %v, want an empty 200", s, cmd)
			}
		}
		for _, c := range f.commands(rec.ID) {
			if c.Status != mdm.CmdPending {
				t.Fatalf("%s is %s after user channel connects, want PENDING", c.Type, c.Status)
			}
		}
		if s, cmd := d.connect(map[string]any{"Status": "Idle"}); s != 200 || requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("device channel connect: %d %v", s, cmd)
		}
	})
}

// A follow-up queued while the device is connected does not push it; a command from elsewhere does.
func TestFollowUpsDoNotPush(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		d, rec := f.enrolled("quiet@t-1.example.com", "UDID-QUIET", nil)
		answerInventory(t, d)
		f.wakes.take()
		if _, err := f.devs.Act(f.admin, devices.ForceCheckin, []mdm.DeviceID{rec.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		if w := f.wakes.take(); !slices.Equal(w, []mdm.DeviceID{rec.ID}) {
			t.Fatalf("the forced check-in woke %v, want the device", w)
		}
		_, cmd := d.connect(map[string]any{"Status": "Idle"})
		_, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
			"QueryResponses": map[string]any{"OSVersion": "18.4"}})
		if requestType(cmd) != apple.RequestInstalledApplicationList {
			t.Fatalf("after the forced check-in's answer: %v", cmd)
		}
		d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"], "InstalledApplicationList": []any{}})
		// The periodic inventory, asked of a device that connects.
		f.clock.add(25 * time.Hour)
		if _, cmd := d.connect(map[string]any{"Status": "Idle"}); requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("idle after the interval: %v", cmd)
		}
		if w := f.wakes.take(); len(w) != 0 {
			t.Fatalf("follow-ups queued during a connect pushed %v", w)
		}
	})
}

// answerInventory answers the queries the enrollment queued.
func answerInventory(t *testing.T, d *dev) {
	t.Helper()
	_, cmd := d.connect(map[string]any{"Status": "Idle"})
	for cmd != nil {
		switch requestType(cmd) {
		case apple.RequestDeviceInformation:
			_, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
				"QueryResponses": map[string]any{"OSVersion": "18.3"}})
		case apple.RequestInstalledApplicationList:
			_, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
				"InstalledApplicationList": []any{}})
		default:
			t.Fatalf("unexpected command %v", cmd)
		}
	}
}

// Two replicas on one database: the forced check-in's follow-up and the inventory interval hold
// whichever replica the device reaches.
func TestReplicas(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		d, rec := f.enrolled("rep@t-1.example.com", "UDID-REP", nil)
		a, b := f.url, f.replica()
		f.at(a, func() { answerInventory(t, d) })
		// The forced check-in's query is sent by A and answered at B: B asks for the apps.
		if _, err := f.devs.Act(f.admin, devices.ForceCheckin, []mdm.DeviceID{rec.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		var cmd map[string]any
		f.at(a, func() { _, cmd = d.connect(map[string]any{"Status": "Idle"}) })
		if requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("forced check-in at A: %v", cmd)
		}
		f.at(b, func() {
			_, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
				"QueryResponses": map[string]any{"OSVersion": "18.4"}})
			if requestType(cmd) != apple.RequestInstalledApplicationList {
				t.Fatalf("the forced check-in's answer at B: %v, want the app list", cmd)
			}
			d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"], "InstalledApplicationList": []any{}})
		})
		// 23 hours on, B records a new inventory (an administrator's query); two hours later A, whose
		// cache holds the older time, must not ask again.
		f.clock.add(23 * time.Hour)
		if _, err := f.devs.Queue(f.ctx, "t-1", []mdm.DeviceID{rec.ID}, mdm.NewCommand{Type: mdm.CmdDeviceInformation}); err != nil {
			t.Fatal(err)
		}
		f.at(b, func() { answerInventory(t, d) })
		f.clock.add(2 * time.Hour)
		f.at(a, func() {
			if s, cmd := d.connect(map[string]any{"Status": "Idle"}); s != 200 || cmd != nil {
				t.Fatalf("idle at A after B's inventory: %d %v, want nothing", s, cmd)
			}
		})
		f.clock.add(23 * time.Hour)
		f.at(a, func() {
			if _, cmd := d.connect(map[string]any{"Status": "Idle"}); requestType(cmd) != apple.RequestDeviceInformation {
				t.Fatalf("idle at A after the interval: %v", cmd)
			}
		})
	})
}
