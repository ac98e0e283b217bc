package devices_test

// Races between a device's answers and an administrator's actions, forced with a store that runs the
// other side at the worst moment.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

// raceStore runs a hook at one point of a device's or an administrator's transaction, to force the
// interleaving a test is about.
type raceStore struct {
	*sqlstore.Store
	beforeMarkSent   func()
	afterComplete    func()
	beforeCancelOpen func()
	afterSetFacts    func()
}

func (s raceStore) Commands() mdm.CommandStore { return raceCommands{s.Store.Commands(), s} }
func (s raceStore) InTx(ctx context.Context, fn func(tx mdm.Stores) error) error {
	return s.Store.InTx(ctx, func(tx mdm.Stores) error { return fn(raceTx{tx, s}) })
}

type raceTx struct {
	mdm.Stores
	s raceStore
}

func (t raceTx) Commands() mdm.CommandStore { return raceCommands{t.Stores.Commands(), t.s} }
func (t raceTx) Devices() mdm.DeviceStore   { return raceDevices{t.Stores.Devices(), t.s} }

type raceCommands struct {
	mdm.CommandStore
	s raceStore
}

func run(hook func()) {
	if hook != nil {
		hook()
	}
}

func (c raceCommands) MarkSent(ctx context.Context, tn mdm.TenantID, ids []mdm.CommandID, now time.Time) ([]mdm.CommandID, error) {
	run(c.s.beforeMarkSent)
	return c.CommandStore.MarkSent(ctx, tn, ids, now)
}

func (c raceCommands) Complete(ctx context.Context, tn mdm.TenantID, d mdm.DeviceID, r mdm.CommandResult, now time.Time) (*mdm.Command, error) {
	cmd, err := c.CommandStore.Complete(ctx, tn, d, r, now)
	run(c.s.afterComplete)
	return cmd, err
}

func (c raceCommands) CancelOpen(ctx context.Context, tn mdm.TenantID, ids []mdm.DeviceID, typ string, st []string, now time.Time) (int, error) {
	run(c.s.beforeCancelOpen)
	return c.CommandStore.CancelOpen(ctx, tn, ids, typ, st, now)
}

type raceDevices struct {
	mdm.DeviceStore
	s raceStore
}

func (d raceDevices) SetFacts(ctx context.Context, tn mdm.TenantID, id mdm.DeviceID, kind string, f mdm.DeviceFacts, hash []byte, now time.Time) error {
	err := d.DeviceStore.SetFacts(ctx, tn, id, kind, f, hash, now)
	run(d.s.afterSetFacts)
	return err
}

// raceService is a second service over s, sharing the fixture's accounts and clock.
func raceService(f *fixture, s raceStore) *devices.Service {
	keys, _ := secret.New(bytes.Repeat([]byte{7}, 32))
	return devices.New(s, keys, f.acc, slog.New(slog.NewTextHandler(io.Discard, nil)), devices.WithClock(f.clock.now))
}

// A wipe cancelled between Due and MarkSent is not handed to the device.
func TestWipeCancelledDuringDeliveryIsNotDelivered(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		svc2 := raceService(f, raceStore{Store: f.store, beforeMarkSent: func() {
			if _, err := f.svc.Act(f.admin1, devices.WipeCancel, ids, devices.ActionOptions{}); err != nil {
				t.Errorf("wipeCancel: %v", err)
			}
		}})
		d := f.device(r.Credential)
		reply, err := svc2.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range reply.Commands {
			t.Errorf("delivered %s although cancelled; record %s", c.Type, f.stored("t-1", d.ID).RegistrationState)
		}
	})
}

// The device's RETIRE confirmation and an administrator's wipe of the same device take their rows in
// the same order, so that PostgreSQL never has to break a deadlock by failing one of them.
func TestRetireAnswerAndWipeDoNotDeadlock(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Retire, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 {
			t.Fatalf("check-in: %+v %v", reply, err)
		}
		actErr := make(chan error, 1)
		svc2 := raceService(f, raceStore{Store: f.store, afterComplete: func() {
			go func() { _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); actErr <- err }()
			time.Sleep(500 * time.Millisecond)
		}})
		ackErr := svc2.Acknowledge(f.ctx, d, mdm.CommandResult{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged})
		wipeErr := <-actErr
		if ackErr != nil || mdm.IsCode(wipeErr, mdm.Internal) || mdm.IsCode(wipeErr, mdm.Unavailable) {
			t.Errorf("ack: %v; wipe: %v", ackErr, wipeErr)
		}
	})
}

// The reply to the check-in that answers NOT_NOW does not carry the same command again.
func TestNotNowIsNotResentInTheSameReply(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W1")
		if _, err := f.svc.Act(f.admin1, devices.Lock, []mdm.DeviceID{r.Device.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 {
			t.Fatalf("check-in: %+v %v", reply, err)
		}
		id := reply.Commands[0].ID
		reply, err = f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: []mdm.CommandResult{{ID: id, Status: mdm.CmdNotNow}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range reply.Commands {
			if c.ID == id {
				t.Errorf("command %d answered NOT_NOW comes straight back in the same reply", id)
			}
		}
	})
}

// The device fetches the WIPE just before a cancel reaches it: the cancel is refused and the device
// stays WIPE_PENDING, since it has the wipe. (On SQLite the cancel's transaction holds the one writer
// lock, so the delivery cannot come in between.)
func TestWipeCancelRacingDeliveryIsRefused(t *testing.T) {
	onPostgres(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		var delivered []mdm.Command
		hs := raceStore{Store: f.store, beforeCancelOpen: func() {
			reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
			if err != nil {
				t.Errorf("check-in: %v", err)
				return
			}
			delivered = reply.Commands
		}}
		cancelSvc := raceService(f, hs)
		_, err := cancelSvc.Act(f.admin1, devices.WipeCancel, ids, devices.ActionOptions{})
		state := f.stored("t-1", r.Device.ID).RegistrationState
		t.Logf("cancel err=%v, delivered=%d, state=%s, history=%v", err, len(delivered), state, f.history(r.Device.ID))
		if err == nil && len(delivered) == 1 && delivered[0].Type == mdm.CmdWipe {
			t.Errorf("wipe cancel succeeded (device %s) but the device received the WIPE meanwhile; history %v",
				state, f.history(r.Device.ID))
		}
	})
}

// LOCK, UNLOCK, LOCK keeps three commands; LOCK, LOCK keeps one.
func TestCollapseKeepsTheOrderThatMatters(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W1")
		ids := []mdm.DeviceID{r.Device.ID}
		for _, a := range []devices.Action{devices.Lock, devices.Lock, devices.Unlock, devices.Lock} {
			if _, err := f.svc.Act(f.admin1, a, ids, devices.ActionOptions{}); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
		}
		t.Logf("history %v", f.history(r.Device.ID))
	})
}

// A device acknowledging a WIPE it answered NOT_NOW while the administrator cancels it: both take the
// command's row before the device's, so that they do not deadlock.
func TestWipeCancelAndLateAnswerDoNotDeadlock(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 {
			t.Fatalf("check-in: %+v %v", reply, err)
		}
		id := reply.Commands[0].ID
		if _, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: []mdm.CommandResult{{ID: id, Status: mdm.CmdNotNow}}}); err != nil {
			t.Fatal(err)
		}
		actErr := make(chan error, 1)
		svc2 := raceService(f, raceStore{Store: f.store, afterComplete: func() {
			go func() { _, err := f.svc.Act(f.admin1, devices.WipeCancel, ids, devices.ActionOptions{}); actErr <- err }()
			time.Sleep(500 * time.Millisecond)
		}})
		ackErr := svc2.Acknowledge(f.ctx, d, mdm.CommandResult{ID: id, Status: mdm.CmdAcknowledged})
		cancelErr := <-actErr
		t.Logf("ack: %v; cancel: %v; state %s", ackErr, cancelErr, f.stored("t-1", d.ID).RegistrationState)
		if mdm.IsCode(ackErr, mdm.Unavailable) || mdm.IsCode(cancelErr, mdm.Unavailable) || mdm.IsCode(ackErr, mdm.Internal) || mdm.IsCode(cancelErr, mdm.Internal) {
			t.Errorf("deadlock: ack %v; cancel %v", ackErr, cancelErr)
		}
	})
}

// A check-in that reports new facts and acknowledges the RETIRE takes the RETIRE's row before the
// device's, as a wipe does, so that the two do not deadlock.
func TestCheckInWithFactsAndWipeDoNotDeadlock(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Retire, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 {
			t.Fatalf("check-in: %+v %v", reply, err)
		}
		actErr := make(chan error, 1)
		svc2 := raceService(f, raceStore{Store: f.store, afterSetFacts: func() {
			go func() { _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); actErr <- err }()
			time.Sleep(500 * time.Millisecond)
		}})
		facts := phoneFacts("W1")
		facts.OSVersion = "15"
		_, ackErr := svc2.CheckIn(f.ctx, d, devices.CheckIn{Facts: &facts,
			Results: []mdm.CommandResult{{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged}}})
		wipeErr := <-actErr
		t.Logf("check-in: %v; wipe: %v; state %s", ackErr, wipeErr, f.stored("t-1", d.ID).RegistrationState)
		if mdm.IsCode(ackErr, mdm.Unavailable) || mdm.IsCode(wipeErr, mdm.Unavailable) {
			t.Errorf("deadlock: check-in %v; wipe %v", ackErr, wipeErr)
		}
	})
}
