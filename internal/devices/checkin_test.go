package devices_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/devices"
	"steward/internal/mdm"
)

func TestCheckInWritesInventoryOnlyWhenItChanged(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r := f.register(a, "I1")
		facts, apps := phoneFacts("I1"), append([]mdm.InstalledApp(nil), someApps...)
		// The same facts and apps (apps in another order): nothing to write.
		apps[0], apps[1] = apps[1], apps[0]
		f.clock.add(time.Minute)
		f.counts.take()
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Facts: &facts, Apps: &apps})
		if err != nil || len(reply.Commands) != 0 || reply.RegistrationState != mdm.StateActive || reply.CheckinInterval != time.Minute {
			t.Fatalf("idle check-in: %+v, %v", reply, err)
		}
		want := map[string]int{"ByCredential": 1, "Due": 1}
		if diff := cmp.Diff(want, f.counts.take()); diff != "" {
			t.Errorf("store calls of an idle check-in (-want +got):\n%s", diff)
		}

		// New facts (now a tablet) and one more app: one transaction writes both.
		facts.OSVersion, facts.FormFactor = "15", "tablet"
		apps = append(apps, mdm.InstalledApp{AppID: "com.example.new", Name: "New", Version: "1"})
		f.clock.add(time.Minute)
		if _, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Facts: &facts, Apps: &apps}); err != nil {
			t.Fatal(err)
		}
		got := f.counts.take()
		if got["SetFacts"] != 1 || got["SetApps"] != 1 || got["InTx"] != 1 {
			t.Errorf("store calls of a changed check-in: %v", got)
		}
		s := f.stored("t-1", d.ID)
		if s.Facts.OSVersion != "15" || s.Kind != mdm.KindAndroidTablet || s.AppCount != 3 {
			t.Errorf("stored after the change: facts %+v kind %s apps %d", s.Facts, s.Kind, s.AppCount)
		}
		stored, err := f.store.Devices().Apps(f.ctx, "t-1", d.ID)
		if err != nil || len(stored) != 3 {
			t.Errorf("stored apps %v, %v", stored, err)
		}

		// The same again, with a device authenticated afresh: no write.
		f.clock.add(time.Minute)
		d = f.device(r.Credential)
		if _, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Facts: &facts, Apps: &apps}); err != nil {
			t.Fatal(err)
		}
		if got := f.counts.take(); got["SetFacts"]+got["SetApps"]+got["InTx"] != 0 {
			t.Errorf("unchanged inventory written again: %v", got)
		}

		// A new push token is stored; the same one is not written again.
		token := "new-push-token"
		for range 2 {
			d = f.device(r.Credential)
			if _, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{PushToken: &token}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.counts.take(); got["SetPushToken"] != 1 {
			t.Errorf("push token writes: %v, want 1", got)
		}
		if s := f.stored("t-1", d.ID); s.PushToken != token {
			t.Errorf("stored push token %q", s.PushToken)
		}
	})
}

func TestLastSeenIsCoalesced(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r1, r2 := f.register(a, "L1"), f.register(a, "L2")
		f.counts.take()
		for i := range 3 {
			f.clock.add(time.Second)
			for _, r := range []*devices.Registered{r1, r2} {
				if _, err := f.svc.CheckIn(f.ctx, f.device(r.Credential), devices.CheckIn{}); err != nil {
					t.Fatalf("check-in %d: %v", i, err)
				}
			}
		}
		last := f.clock.now()
		if got := f.counts.take(); got["TouchCheckins"] != 0 || got["InTx"] != 0 {
			t.Errorf("check-ins wrote: %v", got)
		}
		if s := f.stored("t-1", r1.Device.ID); !s.LastCheckin.IsZero() {
			t.Errorf("last check-in stored before the flush: %v", s.LastCheckin)
		}
		// Reads show the time before it is written.
		d, err := f.svc.Get(f.admin1, r1.Device.ID)
		if err != nil || !d.LastCheckin.Equal(last) {
			t.Errorf("Get before the flush: %v, %v; want %v", d.LastCheckin, err, last)
		}
		page, err := f.svc.List(f.admin1, mdm.ListOptions{Rows: 10})
		if err != nil || len(page.Items) != 2 || !page.Items[0].LastCheckin.Equal(last) || !page.Items[1].LastCheckin.Equal(last) {
			t.Errorf("List before the flush: %+v, %v", page, err)
		}
		if err := f.svc.Flush(f.ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.counts.take(); got["TouchCheckins"] != 1 {
			t.Errorf("flush: %v, want one TouchCheckins", got)
		}
		for _, r := range []*devices.Registered{r1, r2} {
			if s := f.stored("t-1", r.Device.ID); !s.LastCheckin.Equal(last) {
				t.Errorf("stored last check-in %v, want %v", s.LastCheckin, last)
			}
		}
		if err := f.svc.Flush(f.ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.counts.take(); got["TouchCheckins"] != 0 {
			t.Errorf("an empty flush wrote: %v", got)
		}
	})
}

func TestCheckInResults(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r, other := f.register(a, "R1"), f.register(a, "R2")
		ids := []mdm.DeviceID{r.Device.ID, other.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Lock, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d, od := f.device(r.Credential), f.device(other.Credential)
		mine, err := f.svc.FetchCommands(f.ctx, d, 10)
		if err != nil || len(mine) != 1 {
			t.Fatalf("fetch: %v, %v", mine, err)
		}
		theirs, err := f.svc.FetchCommands(f.ctx, od, 10)
		if err != nil || len(theirs) != 1 {
			t.Fatalf("fetch: %v, %v", theirs, err)
		}
		// A result for another device's command or an unknown one is skipped; the check-in goes on.
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: []mdm.CommandResult{
			{ID: theirs[0].ID, Status: mdm.CmdAcknowledged}, {ID: 999999, Status: mdm.CmdAcknowledged},
			{ID: mine[0].ID, Status: mdm.CmdAcknowledged, Result: `{"locked":true}`},
		}})
		if err != nil || len(reply.Commands) != 0 {
			t.Fatalf("check-in with results: %+v, %v", reply, err)
		}
		// A bad status is refused.
		if _, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: []mdm.CommandResult{{ID: mine[0].ID, Status: "DONE"}}}); !mdm.IsCode(err, mdm.Invalid) {
			t.Errorf("bad status: %v, want invalid", err)
		}
		// The separate endpoint says not_found for a command that is not the device's.
		if err := f.svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: theirs[0].ID, Status: mdm.CmdAcknowledged}); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("acknowledging another device's command: %v, want not_found", err)
		}
		if err := f.svc.Acknowledge(f.ctx, od, mdm.CommandResult{ID: theirs[0].ID, Status: mdm.CmdError, Error: "no"}); err != nil {
			t.Errorf("acknowledge: %v", err)
		}
		hist, err := f.svc.Commands(f.admin1, d.ID, mdm.ListOptions{Rows: 10})
		if err != nil || len(hist.Items) != 1 || hist.Items[0].Status != mdm.CmdAcknowledged || hist.Items[0].Result != `{"locked":true}` {
			t.Errorf("history: %+v, %v", hist, err)
		}
		hist, err = f.svc.Commands(f.admin1, od.ID, mdm.ListOptions{Rows: 10})
		if err != nil || len(hist.Items) != 1 || hist.Items[0].Status != mdm.CmdError {
			t.Errorf("history of the other device: %+v, %v", hist, err)
		}
		if _, err := f.svc.FetchCommands(f.ctx, d, 0); !mdm.IsCode(err, mdm.Invalid) {
			t.Errorf("fetch limit 0: %v, want invalid", err)
		}
	})
}

func TestRunFlushesBeforeItReturns(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "U1")
		ctx, cancel := context.WithCancel(f.ctx)
		done := make(chan struct{})
		go func() { f.svc.Run(ctx); close(done) }()
		if _, err := f.svc.CheckIn(f.ctx, f.device(r.Credential), devices.CheckIn{}); err != nil {
			t.Fatal(err)
		}
		cancel()
		<-done
		if s := f.stored("t-1", r.Device.ID); !s.LastCheckin.Equal(f.clock.now()) {
			t.Errorf("stored last check-in %v after Run returned, want %v", s.LastCheckin, f.clock.now())
		}
	})
}

func TestCheckInNoCommandsLeavesTheQueue(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "nc@acme.example.com", userPW)
		r := f.register(a, "NC1")
		d := f.device(r.Credential)
		if _, err := f.svc.Act(f.admin1, devices.Lock, []mdm.DeviceID{d.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		f.counts.take()
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{NoCommands: true})
		if err != nil || len(reply.Commands) != 0 {
			t.Fatalf("check-in without commands: %+v, %v", reply, err)
		}
		if got := f.counts.take(); got["Due"] != 0 || got["MarkSent"] != 0 {
			t.Errorf("a check-in without commands read or marked the queue: %v", got)
		}
		cmds, err := f.svc.FetchCommands(f.ctx, d, 1)
		if err != nil || len(cmds) != 1 || cmds[0].Type != mdm.CmdLock {
			t.Fatalf("the lock is still due: %+v, %v", cmds, err)
		}
	})
}
