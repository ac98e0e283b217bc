package applemdm_test

import (
	"bytes"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"steward/internal/apple"
	"steward/internal/applemdm"
	"steward/internal/devices"
	"steward/internal/mdm"
)

func TestEnrollPage(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		res, err := http.Get(f.url + applemdm.EnrollPath)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		// A refused sign-in shows the page again, escaped, with the status.
		status, _, body := f.post(url.Values{"username": {`<script>x</script>@example.com`}, "pin": {"1234"}})
		if status != 401 || bytes.Contains(body, []byte("<script>x")) || !bytes.Contains(body, []byte("&lt;script&gt;")) {
			t.Fatalf("wrong credentials: %d %s", status, body)
		}
		status, _, _ = f.post(url.Values{"username": {strings.Repeat("a", 9000)}})
		if status != 413 {
			t.Fatalf("oversized form: %d, want 413", status)
		}
	})
}

func TestEnrollmentStart(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		// A tenant without a push certificate: 409, nothing stored, the PIN still usable.
		f.tenant("t-3", "Initech", false)
		now := f.clock.now()
		a := mdm.Account{TenantID: "t-3", Username: "u@t-3.example.com", Email: "u@t-3.example.com", Enabled: true,
			CreatedAt: now, ModifiedAt: now}
		if err := f.store.Accounts().Create(f.ctx, &a); err != nil {
			t.Fatal(err)
		}
		admin3 := mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, Username: "admin@t-3.example.com",
			TenantID: "t-3", Roles: []string{mdm.RoleTenantAdmin}})
		pin, err := f.acc.IssueRegistrationPIN(admin3, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		status, _, body := f.post(url.Values{"username": {a.Username}, "pin": {pin.PIN}})
		if status != 409 || !bytes.Contains(body, []byte("push certificate")) {
			t.Fatalf("no push certificate: %d %.300s", status, body)
		}

		// A user at their device limit is told so before any profile.
		u, p := f.user("full@t-1.example.com")
		s := mdm.DefaultRegistrationSettings()
		s.DevicesPerUser = 1
		if err := f.store.RegistrationSettings().Put(f.ctx, "t-1", s, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		d := f.newDev(u, p, "UDID-FULL")
		if st := d.authenticate(); st != 200 {
			t.Fatalf("Authenticate: %d", st)
		}
		var acc *mdm.Account
		if acc, err = f.store.Accounts().ByUsername(f.ctx, u); err != nil {
			t.Fatal(err)
		}
		pin2, err := f.acc.IssueRegistrationPIN(f.admin, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if status, _, body := f.post(url.Values{"username": {u}, "pin": {pin2.PIN}}); status != 409 {
			t.Fatalf("at the device limit: %d %.300s, want 409", status, body)
		}

		// The enrollment keeps only the challenge's keyed hash; the audit record no secret.
		e, err := f.store.Apple().EnrollmentByChallenge(f.ctx, f.keys.Hash(d.p.challenge))
		if err != nil || e.ID != d.p.subject || e.TenantID != "t-1" || bytes.Contains(e.ChallengeHash, []byte(d.p.challenge)) {
			t.Fatalf("enrollment %+v, %v", e, err)
		}
		recs, err := f.store.Audit().List(f.ctx, "t-1", mdm.ListOptions{Rows: 100})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range recs.Items {
			if r.Action == "device.enrollment.start" {
				found = true
				for _, v := range r.Details {
					if s, ok := v.(string); ok && (s == d.p.challenge || s == p) {
						t.Fatalf("audit record carries a secret: %v", r.Details)
					}
				}
			}
		}
		if !found {
			t.Fatal("no device.enrollment.start audit record")
		}

		// The challenge is single use.
		if _, err := enrollAgain(f, d); err == nil {
			t.Fatal("a second certificate for one challenge")
		}
	})
}

func TestAuthenticate(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		// Another topic.
		u, p := f.user("topic@t-1.example.com")
		other := f.newDev(u, p, "UDID-TOPIC")
		other.p.topic = "com.apple.mgmt.External.other"
		if s := other.authenticate(); s != 403 {
			t.Fatalf("wrong topic: %d, want 403", s)
		}
		// A second device on one enrollment.
		first, rec := f.enrolled("one@t-1.example.com", "UDID-ONE", nil)
		twin := *first
		twin.udid = "UDID-TWIN"
		if s := twin.authenticate(); s != 403 {
			t.Fatalf("second device on one enrollment: %d, want 403", s)
		}
		// The same device enrolled again by another user: refused, nothing changes.
		u, p = f.user("colleague@t-1.example.com")
		thief := f.newDev(u, p, "UDID-ONE")
		if s := thief.authenticate(); s != 409 {
			t.Fatalf("another user's re-enrollment of a live device: %d, want 409", s)
		}
		if got, err := f.store.Devices().Get(f.ctx, "t-1", rec.ID); err != nil || got.RegistrationState != mdm.StateActive {
			t.Fatalf("after the refused re-enrollment: %+v %v", got, err)
		}
		if s, _ := first.connect(map[string]any{"Status": "Idle"}); s != 200 {
			t.Fatalf("the first device after another user's attempt: %d", s)
		}
		// Re-enrollment of the same device by its user: the old record is retired.
		again := f.newDev("one@t-1.example.com", f.pin("one@t-1.example.com"), "UDID-ONE")
		if s := again.authenticate(); s != 200 {
			t.Fatalf("re-enrollment: %d", s)
		}
		rec2, err := f.devs.AuthenticateDevice(f.ctx, devices.CertificateCredential(again.cert))
		if err != nil {
			t.Fatal(err)
		}
		old, err := f.store.Devices().Get(f.ctx, "t-1", rec.ID)
		if err != nil || old.RegistrationState != mdm.StateRetired || rec2.ID == rec.ID ||
			rec2.RegistrationState != mdm.StateActive {
			t.Fatalf("re-enrollment: old %+v (%v), new %+v", old, err, rec2)
		}
		if s, _ := first.connect(map[string]any{"Status": "Idle"}); s != 401 {
			t.Fatalf("the old certificate after re-enrollment: %d, want 401", s)
		}
		if s, _ := again.connect(map[string]any{"Status": "Idle"}); s != 200 {
			t.Fatalf("the new certificate: %d", s)
		}
		if rec2.Facts.Model != "iPhone15,2" || rec2.Facts.Manufacturer != "Apple" || rec2.Platform != mdm.PlatformIOS ||
			rec2.Kind != mdm.KindIPhone {
			t.Fatalf("facts from Authenticate: %+v", rec2)
		}
		// An expired enrollment.
		u, p = f.user("late@t-1.example.com")
		late := f.newDev(u, p, "UDID-LATE")
		f.clock.add(2 * time.Hour)
		if s := late.authenticate(); s != 403 {
			t.Fatalf("expired enrollment: %d, want 403", s)
		}
	})
}

func TestTokenUpdate(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		d, rec := f.enrolled("tok@t-1.example.com", "UDID-TOK", []byte("unlock-secret"))
		ad, err := f.store.Apple().Device(f.ctx, "t-1", rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ad.UnlockToken, []byte("unlock-secret")) || strings.Contains(ad.PushMagic, "magic") || ad.TokenAt.IsZero() {
			t.Fatalf("apple device %+v", ad)
		}
		// The push magic is stored sealed; the APNs sender gets it opened.
		if magic, err := f.svc.MagicSource()(f.ctx, "t-1", rec.ID); err != nil || magic != "magic-UDID-TOK" {
			t.Fatalf("MagicSource: %q, %v", magic, err)
		}
		if clear, err := f.keys.Open(ad.UnlockToken); err != nil || string(clear) != "unlock-secret" {
			t.Fatalf("sealed unlock token opens to %q, %v", clear, err)
		}
		if rec.PushToken != "01020304" {
			t.Fatalf("push token %q", rec.PushToken)
		}
		types := func() []string {
			var out []string
			for _, c := range f.commands(rec.ID) {
				out = append(out, c.Type)
			}
			return out
		}
		want := []string{mdm.CmdDeviceInformation, mdm.CmdInstalledApps}
		if got := types(); !slices.Equal(got, want) {
			t.Fatalf("after the first TokenUpdate: %v, want %v", got, want)
		}
		if s := d.tokenUpdate(nil); s != 200 {
			t.Fatal(s)
		}
		if got := types(); !slices.Equal(got, want) {
			t.Fatalf("a second TokenUpdate queued more: %v", got)
		}
		// The user channel is ignored.
		if s := d.checkin(map[string]any{"MessageType": "TokenUpdate", "Topic": topic, "Token": []byte{9},
			"PushMagic": "user-magic", "UserID": "user-1"}); s != 200 {
			t.Fatalf("user channel TokenUpdate: %d", s)
		}
		if magic, _ := f.svc.MagicSource()(f.ctx, "t-1", rec.ID); magic != "magic-UDID-TOK" {
			t.Fatalf("user channel changed the push magic to %q", magic)
		}
		// UserAuthenticate: this server has no user channel.
		if s := d.checkin(map[string]any{"MessageType": "UserAuthenticate", "UserID": "user-1",
			"UserShortName": "sam", "UserLongName": "Sam"}); s != 410 {
			t.Fatalf("UserAuthenticate: %d, want 410", s)
		}
		// Size and type limits.
		if s, _ := d.put(applemdm.CheckinPath, apple.CheckinContentType, bytes.Repeat([]byte("a"), apple.MaxBody+1)); s != 413 {
			t.Fatalf("oversized check-in: %d", s)
		}
		if s, _ := d.put(applemdm.CheckinPath, "text/plain", []byte("x")); s != 415 {
			t.Fatalf("check-in of the wrong type: %d", s)
		}
		// CheckOut retires it.
		if s := d.checkin(map[string]any{"MessageType": "CheckOut", "Topic": topic}); s != 200 {
			t.Fatal(s)
		}
		if got, _ := f.store.Devices().Get(f.ctx, "t-1", rec.ID); got.RegistrationState != mdm.StateRetired {
			t.Fatalf("after CheckOut: %s", got.RegistrationState)
		}
	})
}

// TestTokenUpdateAfterPartialFailure: an earlier TokenUpdate stored the token and failed before it
// queued the inventory (what a failure half-way leaves); the retry still asks for the inventory.
func TestTokenUpdateAfterPartialFailure(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		u, p := f.user("half@t-1.example.com")
		d := f.newDev(u, p, "UDID-HALF")
		if s := d.authenticate(); s != 200 {
			t.Fatal(s)
		}
		rec, err := f.devs.AuthenticateDevice(f.ctx, devices.CertificateCredential(d.cert))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.Apple().SetToken(f.ctx, "t-1", rec.ID, "x", nil, topic, f.clock.now()); err != nil {
			t.Fatal(err)
		}
		if len(f.commands(rec.ID)) != 0 {
			t.Fatal("commands before the TokenUpdate")
		}
		if s := d.tokenUpdate(nil); s != 200 {
			t.Fatal(s)
		}
		var got []string
		for _, c := range f.commands(rec.ID) {
			got = append(got, c.Type)
		}
		if want := []string{mdm.CmdDeviceInformation, mdm.CmdInstalledApps}; !slices.Equal(got, want) {
			t.Fatalf("after the retried TokenUpdate: %v, want %v", got, want)
		}
	})
}

func TestConnect(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		d, rec := f.enrolled("con@t-1.example.com", "UDID-CON", nil)
		// Commands an Apple device cannot take (after the inventory queries): answered as errors, and
		// the connect answers what follows them (nothing).
		for _, typ := range []string{mdm.CmdMessage, mdm.CmdUnlock} {
			if _, err := f.devs.Queue(f.ctx, "t-1", []mdm.DeviceID{rec.ID}, mdm.NewCommand{Type: typ, CreatedBy: "system",
				Payload: map[string]string{"message": "hi"}}); err != nil {
				t.Fatal(err)
			}
		}
		s, cmd := d.connect(map[string]any{"Status": "Idle"})
		if s != 200 || requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("first connect: %d %v", s, cmd)
		}
		// NotNow: nothing more this time.
		s, next := d.connect(map[string]any{"Status": "NotNow", "CommandUUID": cmd["CommandUUID"]})
		if s != 200 || next != nil {
			t.Fatalf("NotNow: %d %v, want an empty answer", s, next)
		}
		// The app list comes next; the commands after it cannot go to an Apple device.
		s, cmd = d.connect(map[string]any{"Status": "Idle"})
		if s != 200 || requestType(cmd) != apple.RequestInstalledApplicationList {
			t.Fatalf("after NotNow: %d %v", s, cmd)
		}
		s, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
			"InstalledApplicationList": []any{map[string]any{"Identifier": "com.example.a", "Name": "A", "ShortVersion": "1"}}})
		if s != 200 || cmd != nil {
			t.Fatalf("after the app list: %d %v", s, cmd)
		}
		apps, err := f.store.Devices().Apps(f.ctx, "t-1", rec.ID)
		if err != nil || len(apps) != 1 || apps[0].AppID != "com.example.a" {
			t.Fatalf("apps %+v %v", apps, err)
		}
		for _, c := range f.commands(rec.ID) {
			if (c.Type == mdm.CmdMessage || c.Type == mdm.CmdUnlock) && (c.Status != mdm.CmdError || c.Error == "") {
				t.Fatalf("%s: %s %q, want ERROR with a reason", c.Type, c.Status, c.Error)
			}
		}
		// The postponed query comes again later; its answer is merged over what Authenticate said.
		f.clock.add(3 * time.Minute)
		s, cmd = d.connect(map[string]any{"Status": "Idle"})
		if requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("the postponed query: %d %v", s, cmd)
		}
		s, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
			"QueryResponses": map[string]any{"ProductName": "iPad13,18", "ModelName": "iPad", "OSVersion": "18.3"}})
		if s != 200 || cmd != nil {
			t.Fatalf("after DeviceInformation: %d %v", s, cmd)
		}
		got, err := f.store.Devices().Get(f.ctx, "t-1", rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != mdm.KindIPad || got.Facts.OSVersion != "18.3" || got.Facts.SerialNumber != "SN-UDID-CON" ||
			got.Facts.DeviceName != "Sam's iPhone" {
			t.Fatalf("merged facts: %s %+v", got.Kind, got.Facts)
		}
		if ad, _ := f.store.Apple().Device(f.ctx, "t-1", rec.ID); ad.InventoryAt.IsZero() {
			t.Fatal("InventoryAt not set")
		}

		// A forced check-in asks for the information, then the apps.
		if _, err := f.devs.Act(f.admin, devices.ForceCheckin, []mdm.DeviceID{rec.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		_, cmd = d.connect(map[string]any{"Status": "Idle"})
		if requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("forced check-in sends %v", cmd)
		}
		f.counts.take()
		_, cmd = d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"],
			"QueryResponses": map[string]any{"OSVersion": "18.4"}})
		if requestType(cmd) != apple.RequestInstalledApplicationList {
			t.Fatalf("after the forced check-in's answer: %v, want the app list", cmd)
		}
		// The answer's writes (result, facts, inventory time, the app list query) are one transaction;
		// then the queue is read and the next command marked sent.
		if got, want := f.counts.take(), map[string]int{"InTx": 1, "Due": 1, "MarkSent": 1}; !maps.Equal(got, want) {
			t.Errorf("store calls of the forced check-in's answer: %v, want %v", got, want)
		}
		d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"], "InstalledApplicationList": []any{}})

		// Idle: nothing due until the inventory is older than the interval. An idle connect reads the
		// queue and nothing else: the device and its Apple record are cached.
		d.connect(map[string]any{"Status": "Idle"})
		f.counts.take()
		if s, cmd := d.connect(map[string]any{"Status": "Idle"}); s != 200 || cmd != nil {
			t.Fatalf("idle: %d %v", s, cmd)
		}
		if got, want := f.counts.take(), map[string]int{"Due": 1}; !maps.Equal(got, want) {
			t.Errorf("store calls of an idle connect: %v, want %v", got, want)
		}
		f.clock.add(25 * time.Hour)
		if _, cmd := d.connect(map[string]any{"Status": "Idle"}); requestType(cmd) != apple.RequestDeviceInformation {
			t.Fatalf("idle after the interval: %v", cmd)
		}

		// Errors: a report of a command that is not ours, garbage.
		if s, _ := d.connect(map[string]any{"Status": "Acknowledged", "CommandUUID": "not-ours"}); s != 400 {
			t.Fatalf("foreign CommandUUID: %d", s)
		}
		if s, _ := d.put(applemdm.ConnectPath, "application/x-apple-aspen-mdm", []byte("garbage")); s != 400 {
			t.Fatalf("garbage report: %d", s)
		}
	})
}

func TestUnlockNeedsToken(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		d, rec := f.enrolled("unl@t-1.example.com", "UDID-UNL", []byte("escrow"))
		if _, err := f.devs.Queue(f.ctx, "t-1", []mdm.DeviceID{rec.ID}, mdm.NewCommand{Type: mdm.CmdUnlock, CreatedBy: "system"}); err != nil {
			t.Fatal(err)
		}
		// Skip past the inventory queries.
		_, cmd := d.connect(map[string]any{"Status": "Idle"})
		_, cmd = d.connect(map[string]any{"Status": "Error", "CommandUUID": cmd["CommandUUID"]})
		_, cmd = d.connect(map[string]any{"Status": "Error", "CommandUUID": cmd["CommandUUID"]})
		if requestType(cmd) != apple.RequestClearPasscode {
			t.Fatalf("UNLOCK with an unlock token sends %v", cmd)
		}
		c, _ := cmd["Command"].(map[string]any)
		if tok, _ := c["UnlockToken"].([]byte); string(tok) != "escrow" {
			t.Fatalf("ClearPasscode carries %q", tok)
		}
	})
}

func TestPruneEnrollments(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		// One profile installed (its enrollment binds a device), one downloaded and never installed.
		u, p := f.user("pruned@t-1.example.com")
		bound := f.newDev(u, p, "UDID-BOUND")
		if st := bound.authenticate(); st != 200 {
			t.Fatalf("Authenticate: %d", st)
		}
		u2, p2 := f.user("unused@t-1.example.com")
		unused := f.profile(u2, p2)

		// Expired, but within the day it is kept for: nothing goes.
		f.clock.add(2 * time.Hour)
		if n, err := f.svc.PruneEnrollments(f.ctx); err != nil || n != 0 {
			t.Fatalf("prune within a day of expiry: %d, %v", n, err)
		}
		f.clock.add(24 * time.Hour)
		if n, err := f.svc.PruneEnrollments(f.ctx); err != nil || n != 1 {
			t.Fatalf("prune a day after expiry: %d, %v; want the unused enrollment only", n, err)
		}
		if _, err := f.store.Apple().Enrollment(f.ctx, unused.subject); !mdm.IsCode(err, mdm.NotFound) {
			t.Fatalf("the unused enrollment is still there: %v", err)
		}
		if _, err := f.store.Apple().Enrollment(f.ctx, bound.p.subject); err != nil {
			t.Fatalf("the bound enrollment went: %v", err)
		}
	})
}

// TestDuplicateAuthenticate sends one device's Authenticate several times at once (a retry racing the
// first), for a new device and for one enrolling again: it ends enrolled, with one live record.
func TestDuplicateAuthenticate(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		const n = 4
		race := func(d *dev) []int {
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { statuses[i] = d.authenticate() })
			}
			wg.Wait()
			return statuses
		}
		live := func(udid string) []mdm.Device {
			p, err := f.store.Devices().List(f.ctx, "t-1", mdm.ListOptions{Rows: 100})
			if err != nil {
				t.Fatal(err)
			}
			var out []mdm.Device
			for _, d := range p.Items {
				if d.RegistrationState != mdm.StateActive {
					continue
				}
				if ad, err := f.store.Apple().Device(f.ctx, "t-1", d.ID); err == nil && ad.UDID == udid {
					out = append(out, d)
				}
			}
			return out
		}
		u, p := f.user("race@t-1.example.com")
		d := f.newDev(u, p, "UDID-RACE")
		for round := range 3 {
			// A loser may be told to try again (503: the database's conflicting change); never refused.
			statuses := race(d)
			ok := 0
			for _, s := range statuses {
				if s != 200 && s != 503 {
					t.Fatalf("round %d: duplicate Authenticate statuses %v, want 200 or 503", round, statuses)
				}
				if s == 200 {
					ok++
				}
			}
			if ok == 0 {
				t.Fatalf("round %d: no Authenticate succeeded: %v", round, statuses)
			}
			if s := d.authenticate(); s != 200 {
				t.Fatalf("round %d: Authenticate repeated after the race: %d", round, s)
			}
			got := live("UDID-RACE")
			if len(got) != 1 {
				t.Fatalf("round %d: %d live records for the device, want 1: %+v", round, len(got), got)
			}
			rec, err := f.devs.AuthenticateDevice(f.ctx, devices.CertificateCredential(d.cert))
			if err != nil || rec.ID != got[0].ID {
				t.Fatalf("round %d: the device's certificate finds %+v, %v; want the live record %d", round, rec, err, got[0].ID)
			}
			if s, _ := d.connect(map[string]any{"Status": "Idle"}); s != 200 {
				t.Fatalf("round %d: the device after the race: %d", round, s)
			}
			// Next round: the same device enrolls again with a new profile of the same user.
			d = f.newDev(u, f.pin(u), "UDID-RACE")
		}
	})
}
