package devices_test

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

func devicesNew(f *fixture, s mdm.Store) *devices.Service {
	keys, _ := secret.New(bytes.Repeat([]byte{7}, 32))
	return devices.New(s, keys, f.acc, slog.New(slog.NewTextHandler(io.Discard, nil)), devices.WithClock(f.clock.now))
}

type havingStore struct {
	raceStore
	afterHaving func()
}

func (s havingStore) InTx(ctx context.Context, fn func(tx mdm.Stores) error) error {
	return s.Store.InTx(ctx, func(tx mdm.Stores) error { return fn(havingTx{tx, s}) })
}

type havingTx struct {
	mdm.Stores
	s havingStore
}

func (t havingTx) Commands() mdm.CommandStore { return havingCommands{t.Stores.Commands(), t.s} }

type havingCommands struct {
	mdm.CommandStore
	s havingStore
}

func (c havingCommands) CancelOpen(ctx context.Context, tn mdm.TenantID, ids []mdm.DeviceID, typ string, st []string, now time.Time) (int, error) {
	if c.s.afterHaving != nil {
		c.s.afterHaving()
	}
	return c.CommandStore.CancelOpen(ctx, tn, ids, typ, st, now)
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
		hs := havingStore{raceStore: raceStore{Store: f.store}, afterHaving: func() {
			reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
			if err != nil {
				t.Errorf("check-in: %v", err)
				return
			}
			delivered = reply.Commands
		}}
		cancelSvc := devicesNew(f, hs)
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

type factsStore struct {
	*sqlstore.Store
	afterSetFacts func()
}

func (s factsStore) InTx(ctx context.Context, fn func(tx mdm.Stores) error) error {
	return s.Store.InTx(ctx, func(tx mdm.Stores) error { return fn(factsTx{tx, s}) })
}

type factsTx struct {
	mdm.Stores
	s factsStore
}

func (t factsTx) Devices() mdm.DeviceStore { return factsDevices{t.Stores.Devices(), t.s} }

type factsDevices struct {
	mdm.DeviceStore
	s factsStore
}

func (d factsDevices) SetFacts(ctx context.Context, tn mdm.TenantID, id mdm.DeviceID, kind string, f mdm.DeviceFacts, hash []byte, now time.Time) error {
	err := d.DeviceStore.SetFacts(ctx, tn, id, kind, f, hash, now)
	if d.s.afterSetFacts != nil {
		d.s.afterSetFacts()
	}
	return err
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
		svc2 := devicesNew(f, factsStore{Store: f.store, afterSetFacts: func() {
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
