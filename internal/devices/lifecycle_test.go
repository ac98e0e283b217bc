package devices_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// history returns a device's commands, oldest first, as "TYPE STATUS".
func (f *fixture) history(id mdm.DeviceID) []string {
	f.t.Helper()
	page, err := f.svc.Commands(f.admin1, id, mdm.ListOptions{Sort: []mdm.SortField{{Field: "id"}}})
	if err != nil {
		f.t.Fatal(err)
	}
	out := []string{}
	for _, c := range page.Items {
		out = append(out, c.Type+" "+c.Status)
	}
	return out
}

// audited returns the tenant's audit actions about devices, oldest first.
func (f *fixture) audited(tenant mdm.TenantID) []string {
	f.t.Helper()
	page, err := f.store.Audit().List(f.ctx, tenant, mdm.ListOptions{Rows: 100, Sort: []mdm.SortField{{Field: "id"}},
		Filter: mdm.Compare{Field: "targetType", Op: mdm.Eq, Value: "device"}})
	if err != nil {
		f.t.Fatal(err)
	}
	out := []string{}
	for _, r := range page.Items {
		out = append(out, r.Action)
	}
	return out
}

func TestPasswordOnlyFullAccountRegistersItsFirstDeviceByPassword(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.setting("t-1", mdm.PasswordOnly, 0)
		a := f.user("t-1", "pw@acme.example.com", userPW)
		reg := func(pw string) error {
			_, err := f.svc.Register(f.ctx, devices.Registration{Username: a.Username, Password: pw,
				Platform: mdm.PlatformAndroid, Facts: phoneFacts("P-" + pw)})
			return err
		}
		if err := reg("Wrong-password-1"); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("wrong password: %v, want unauthenticated", err)
		}
		if err := reg(userPW); err != nil {
			t.Fatalf("first device with the right password: %v", err)
		}
		if err := reg(userPW + "x"); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("second device, wrong password: %v", err)
		}
	})
}

func TestReceivedWipeIsNotCancelled(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 {
			t.Fatalf("%+v %v", reply, err)
		}
		_, err = f.svc.Act(f.admin1, devices.WipeCancel, ids, devices.ActionOptions{})
		if !mdm.IsCode(err, mdm.Conflict) || !strings.Contains(mdm.Message(err), "already received the wipe") {
			t.Errorf("wipeCancel of a received wipe: %v, want conflict", err)
		}
		if s := f.stored("t-1", d.ID).RegistrationState; s != mdm.StateWipePending {
			t.Errorf("after the refused cancel: %s, want WIPE_PENDING", s)
		}
		if diff := cmp.Diff([]string{"WIPE SENT"}, f.history(d.ID)); diff != "" {
			t.Errorf("commands after the refused cancel (-want +got):\n%s", diff)
		}
		if err := f.svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged}); err != nil {
			t.Fatal(err)
		}
		if s := f.stored("t-1", d.ID).RegistrationState; s != mdm.StateWiped {
			t.Errorf("device confirmed its wipe but is %s", s)
		}
	})
}

func TestWipeDeferredByTheDeviceIsCancelled(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		reply, _ := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err := f.svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: reply.Commands[0].ID, Status: mdm.CmdNotNow}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Act(f.admin1, devices.WipeCancel, ids, devices.ActionOptions{}); err != nil {
			t.Fatalf("wipeCancel of a NOT_NOW wipe: %v", err)
		}
		if s := f.stored("t-1", d.ID).RegistrationState; s != mdm.StateActive {
			t.Errorf("after the cancel: %s, want ACTIVE", s)
		}
		if diff := cmp.Diff([]string{"WIPE CANCELLED"}, f.history(d.ID)); diff != "" {
			t.Errorf("commands (-want +got):\n%s", diff)
		}
	})
}

// A retire the device received before a wipe overtook it (and cancelled it) was still carried out.
func TestRetireReceivedBeforeAWipeStillRetires(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X1")
		ids := []mdm.DeviceID{r.Device.ID}
		if _, err := f.svc.Act(f.admin1, devices.Retire, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(r.Credential)
		reply, _ := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if _, err := f.svc.Act(f.admin1, devices.Wipe, ids, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"RETIRE CANCELLED", "WIPE PENDING"}, f.history(d.ID)); diff != "" {
			t.Errorf("commands after the wipe (-want +got):\n%s", diff)
		}
		_, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: []mdm.CommandResult{{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged}}})
		if err != nil {
			t.Fatal(err)
		}
		if s := f.stored("t-1", d.ID).RegistrationState; s != mdm.StateRetired {
			t.Errorf("device confirmed its retirement but is %s", s)
		}
		// It takes nothing more: the wipe is cancelled with it.
		if diff := cmp.Diff([]string{"RETIRE ACKNOWLEDGED", "WIPE CANCELLED"}, f.history(d.ID)); diff != "" {
			t.Errorf("commands after the retirement (-want +got):\n%s", diff)
		}
	})
}

func TestRefusedWipeOrRetireMakesTheDeviceActiveAgain(t *testing.T) {
	for _, c := range []struct {
		action devices.Action
		audit  string
	}{{devices.Retire, "device.retire.failed"}, {devices.Wipe, "device.wipe.failed"}} {
		t.Run(string(c.action), func(t *testing.T) {
			eachDB(t, func(t *testing.T, f *fixture) {
				r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X2")
				ids := []mdm.DeviceID{r.Device.ID}
				if _, err := f.svc.Act(f.admin1, c.action, ids, devices.ActionOptions{}); err != nil {
					t.Fatal(err)
				}
				d := f.device(r.Credential)
				reply, _ := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
				reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: []mdm.CommandResult{
					{ID: reply.Commands[0].ID, Status: mdm.CmdError, Error: "device admin refused"}}})
				if err != nil || reply.RegistrationState != mdm.StateActive {
					t.Fatalf("check-in with the error: %+v, %v", reply, err)
				}
				if s := f.stored("t-1", d.ID).RegistrationState; s != mdm.StateActive {
					t.Errorf("after the refusal: %s, want ACTIVE", s)
				}
				if got := f.audited("t-1"); len(got) == 0 || got[len(got)-1] != c.audit {
					t.Errorf("audit: %v, want %s last", got, c.audit)
				}
				// The administrator can act again, and the credential still works.
				if _, err := f.svc.Act(f.admin1, c.action, ids, devices.ActionOptions{}); err != nil {
					t.Errorf("%s again: %v", c.action, err)
				}
				f.device(r.Credential)
			})
		})
	}
}

func TestFinishedDeviceTakesNoMoreCommands(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X3")
		ids := []mdm.DeviceID{r.Device.ID}
		for _, act := range []devices.Action{devices.ForceCheckin, devices.Wipe} {
			if _, err := f.svc.Act(f.admin1, act, ids, devices.ActionOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		d := f.device(r.Credential)
		f.svc.FetchCommands(f.ctx, d, 1) // the check-in request only: SENT
		if _, err := f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: ids, Push: true, PushText: "hi"}); !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("message while wiping: %v, want conflict", err)
		}
		all, _ := f.svc.FetchCommands(f.ctx, d, 10)
		if err := f.svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: all[0].ID, Status: mdm.CmdAcknowledged}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"FORCE_CHECKIN CANCELLED", "WIPE ACKNOWLEDGED"}, f.history(d.ID)); diff != "" {
			t.Errorf("commands of the wiped device (-want +got):\n%s", diff)
		}
	})
}

func TestRepeatedActionsAreQueuedOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r1, r2 := f.register(a, "C1"), f.register(a, "C2")
		one, both := []mdm.DeviceID{r1.Device.ID}, []mdm.DeviceID{r1.Device.ID, r2.Device.ID}
		act := func(action devices.Action, ids []mdm.DeviceID, msg string) {
			t.Helper()
			n, err := f.svc.Act(f.admin1, action, ids, devices.ActionOptions{Message: msg})
			if err != nil || n != len(ids) {
				t.Fatalf("%s: %d, %v; want %d", action, n, err, len(ids))
			}
		}
		act(devices.Lock, one, "")
		act(devices.Lock, one, "")     // the same, not sent yet: collapsed
		act(devices.Lock, both, "")    // collapsed for the first, queued for the second
		act(devices.Lock, one, "Call") // another message: queued
		act(devices.Unlock, one, "")
		act(devices.Lock, one, "Call") // after an unlock: queued, or the device would end unlocked
		act(devices.ForceCheckin, one, "")
		act(devices.ForceCheckin, one, "")
		want := []string{"LOCK PENDING", "LOCK PENDING", "UNLOCK PENDING", "LOCK PENDING", "FORCE_CHECKIN PENDING"}
		if diff := cmp.Diff(want, f.history(r1.Device.ID)); diff != "" {
			t.Errorf("first device's queue (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"LOCK PENDING"}, f.history(r2.Device.ID)); diff != "" {
			t.Errorf("second device's queue (-want +got):\n%s", diff)
		}
		// Once the device has fetched it, a repeat is a new command.
		f.svc.FetchCommands(f.ctx, f.device(r2.Credential), 10)
		act(devices.Lock, both[1:], "")
		if diff := cmp.Diff([]string{"LOCK SENT", "LOCK PENDING"}, f.history(r2.Device.ID)); diff != "" {
			t.Errorf("second device's queue after the fetch (-want +got):\n%s", diff)
		}
		// Messages are never collapsed.
		for range 2 {
			if _, err := f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: both[1:], Push: true, PushText: "hi"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.history(r2.Device.ID); len(got) != 4 {
			t.Errorf("after two messages: %v", got)
		}
		// A collapsed repeat still refuses a device in another state, and queues nothing then.
		if _, err := f.svc.Act(f.admin1, devices.Retire, both[1:], devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Act(f.admin1, devices.Lock, both, devices.ActionOptions{}); !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("lock with a retiring device: %v, want conflict", err)
		}
	})
}

func TestPruneKeepsAWipeWaitingForItsDevice(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X4")
		if _, err := f.svc.Act(f.admin1, devices.Wipe, []mdm.DeviceID{r.Device.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		f.clock.add(3 * devices.DefaultRetention)
		if _, err := f.svc.Prune(f.ctx); err != nil {
			t.Fatal(err)
		}
		reply, err := f.svc.CheckIn(f.ctx, f.device(r.Credential), devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 || reply.Commands[0].Type != mdm.CmdWipe {
			t.Errorf("the lost device comes back: %+v, %v; want its wipe", reply, err)
		}
	})
}

func TestUpdateAccountKeepsTheOwnersDeviceLimit(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.setting("t-1", mdm.PINOnly, 1)
		a := f.user("t-1", "a@acme.example.com", userPW)
		b := f.user("t-1", "b@acme.example.com", userPW)
		ra, rb := f.register(a, "U1"), f.register(b, "U2")
		err := f.svc.UpdateAccount(f.admin1, b.ID, []mdm.DeviceID{ra.Device.ID, rb.Device.ID})
		if !mdm.IsCode(err, mdm.Conflict) || !strings.Contains(mdm.Message(err), b.Username) {
			t.Errorf("past b's limit: %v, want conflict naming b", err)
		}
		if active, _, _ := f.store.Devices().CountForAccount(f.ctx, "t-1", b.ID); active != 1 {
			t.Errorf("b has %d active devices, want 1", active)
		}
		if got := f.stored("t-1", ra.Device.ID).AccountID; got != a.ID {
			t.Errorf("a's device now belongs to %d", got)
		}
		// A retired device holds no place: it may move.
		if _, err := f.svc.Act(f.admin1, devices.Retire, []mdm.DeviceID{ra.Device.ID}, devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		d := f.device(ra.Credential)
		reply, _ := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		f.svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged})
		if err := f.svc.UpdateAccount(f.admin1, b.ID, []mdm.DeviceID{ra.Device.ID}); err != nil {
			t.Errorf("moving a retired device: %v", err)
		}
	})
}

// Refusals name the devices from one read of their states, not one read each.
func TestRefusalReadsStatesOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X5")
		ids := []mdm.DeviceID{r.Device.ID}
		for i := range 500 {
			ids = append(ids, r.Device.ID+mdm.DeviceID(1000+i))
		}
		f.counts.take()
		_, err := f.svc.Act(f.admin1, devices.Lock, ids, devices.ActionOptions{})
		if !mdm.IsCode(err, mdm.NotFound) || !strings.Contains(mdm.Message(err), "and 490 more") {
			t.Errorf("lock with unknown devices: %v, want not_found", err)
		}
		err = f.svc.UpdateAccount(f.admin1, r.Device.AccountID, ids)
		if !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("updateAccount with unknown devices: %v, want not_found", err)
		}
		n := f.counts.take()
		if n["Get"] != 0 || n["States"] != 2 {
			t.Errorf("device reads: %d Get, %d States; want 0 and 2", n["Get"], n["States"])
		}
		if diff := cmp.Diff([]string{}, f.history(r.Device.ID)); diff != "" {
			t.Errorf("queued (-want +got):\n%s", diff)
		}
	})
}

func (d countingDevices) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.Device, error) {
	d.c.add("Get")
	return d.DeviceStore.Get(ctx, tenantID, id)
}

func (d countingDevices) States(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) (map[mdm.DeviceID]string, error) {
	d.c.add("States")
	return d.DeviceStore.States(ctx, tenantID, ids)
}
