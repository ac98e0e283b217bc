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

type raceStore struct {
	*sqlstore.Store
	beforeMarkSent func()
	afterComplete  func()
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

type raceCommands struct {
	mdm.CommandStore
	s raceStore
}

func (c raceCommands) MarkSent(ctx context.Context, tn mdm.TenantID, ids []mdm.CommandID, now time.Time) ([]mdm.CommandID, error) {
	if c.s.beforeMarkSent != nil {
		c.s.beforeMarkSent()
	}
	return c.CommandStore.MarkSent(ctx, tn, ids, now)
}

func (c raceCommands) Complete(ctx context.Context, tn mdm.TenantID, d mdm.DeviceID, r mdm.CommandResult, now time.Time) (*mdm.Command, error) {
	cmd, err := c.CommandStore.Complete(ctx, tn, d, r, now)
	if c.s.afterComplete != nil {
		c.s.afterComplete()
	}
	return cmd, err
}

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
