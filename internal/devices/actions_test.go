package devices_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/authz"
	"steward/internal/devices"
	"steward/internal/mdm"
)

func commandTypes(cmds []mdm.Command) []string {
	out := []string{}
	for _, c := range cmds {
		out = append(out, c.Type)
	}
	return out
}

func TestQueueIsFIFOAndResends(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r := f.register(a, "Q1")
		ids := []mdm.DeviceID{r.Device.ID}
		f.waker.take()
		n, err := f.svc.Act(f.admin1, devices.Lock, ids, devices.ActionOptions{Message: "Found? Call us", PhoneNumber: "+1 (555) 010-0000"})
		if err != nil || n != 1 {
			t.Fatalf("lock: %d, %v", n, err)
		}
		if diff := cmp.Diff([]devices.WakeTarget{{TenantID: "t-1", DeviceID: r.Device.ID, Platform: mdm.PlatformAndroid,
			PushToken: "push-Q1"}}, f.waker.take()); diff != "" {
			t.Errorf("woken (-want +got):\n%s", diff)
		}
		if _, err := f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: ids, Push: true, PushText: "hello"}); err != nil {
			t.Fatal(err)
		}
		for _, act := range []devices.Action{devices.Unlock, devices.ForceCheckin} {
			if _, err := f.svc.Act(f.admin1, act, ids, devices.ActionOptions{}); err != nil {
				t.Fatal(err)
			}
			f.clock.add(time.Millisecond) // distinct creation times; the queue orders by them and by id
		}
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{mdm.CmdLock, mdm.CmdMessage, mdm.CmdUnlock, mdm.CmdForceCheckin}, commandTypes(reply.Commands)); diff != "" {
			t.Fatalf("delivered (-want +got):\n%s", diff)
		}
		lock := reply.Commands[0]
		if diff := cmp.Diff(map[string]string{"message": "Found? Call us", "phoneNumber": "+1 (555) 010-0000"}, lock.Payload); diff != "" {
			t.Errorf("lock payload (-want +got):\n%s", diff)
		}
		if lock.Status != mdm.CmdSent || lock.CreatedBy != "admin@t-1.example.com" {
			t.Errorf("lock command: %+v", lock)
		}
		// Sent and unanswered: not again at once, again after the resend delay.
		if again, _ := f.svc.FetchCommands(f.ctx, d, 10); len(again) != 0 {
			t.Errorf("sent commands delivered again at once: %v", commandTypes(again))
		}
		results := []mdm.CommandResult{{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged},
			{ID: reply.Commands[1].ID, Status: mdm.CmdNotNow}}
		reply, err = f.svc.CheckIn(f.ctx, d, devices.CheckIn{Results: results})
		if err != nil {
			t.Fatal(err)
		}
		// NOT_NOW: not in the reply to that answer (the device is busy), but after the resend delay.
		if len(reply.Commands) != 0 {
			t.Errorf("after NOT_NOW, delivered again at once: %v", commandTypes(reply.Commands))
		}
		f.clock.add(3 * time.Minute)
		again, err := f.svc.FetchCommands(f.ctx, d, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{mdm.CmdMessage, mdm.CmdUnlock, mdm.CmdForceCheckin}, commandTypes(again)); diff != "" {
			t.Errorf("resent after the delay (-want +got):\n%s", diff)
		}
	})
}

func TestWipeAndWipeCancel(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r1, r2 := f.register(a, "W1"), f.register(a, "W2")
		both := []mdm.DeviceID{r1.Device.ID, r2.Device.ID}
		if n, err := f.svc.Act(f.admin1, devices.Wipe, both, devices.ActionOptions{}); err != nil || n != 2 {
			t.Fatalf("wipe: %d, %v", n, err)
		}
		for _, id := range both {
			if s := f.stored("t-1", id).RegistrationState; s != mdm.StateWipePending {
				t.Errorf("device %d: %s, want WIPE_PENDING", id, s)
			}
		}
		// Locking a device that is being wiped is a conflict naming it; nothing is queued.
		if _, err := f.svc.Act(f.admin1, devices.Lock, both, devices.ActionOptions{}); !mdm.IsCode(err, mdm.Conflict) ||
			!strings.Contains(mdm.Message(err), "WIPE_PENDING") {
			t.Errorf("lock while wiping: %v, want conflict", err)
		}
		// Cancel the second one's wipe: ACTIVE again, and its WIPE is never delivered.
		if _, err := f.svc.Act(f.admin1, devices.WipeCancel, both[1:], devices.ActionOptions{}); err != nil {
			t.Fatal(err)
		}
		if s := f.stored("t-1", both[1]).RegistrationState; s != mdm.StateActive {
			t.Errorf("after wipeCancel: %s, want ACTIVE", s)
		}
		if _, err := f.svc.Act(f.admin1, devices.WipeCancel, both[1:], devices.ActionOptions{}); !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("wipeCancel of an active device: %v, want conflict", err)
		}
		reply, err := f.svc.CheckIn(f.ctx, f.device(r2.Credential), devices.CheckIn{})
		if err != nil || len(reply.Commands) != 0 || reply.RegistrationState != mdm.StateActive {
			t.Errorf("check-in after the cancel: %+v, %v", reply, err)
		}
		// The first one receives its wipe, stays WIPE_PENDING until it confirms, then is WIPED.
		d := f.device(r1.Credential)
		reply, err = f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 || reply.Commands[0].Type != mdm.CmdWipe || reply.RegistrationState != mdm.StateWipePending {
			t.Fatalf("check-in while wiping: %+v, %v", reply, err)
		}
		if err := f.svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged}); err != nil {
			t.Fatal(err)
		}
		if s := f.stored("t-1", d.ID).RegistrationState; s != mdm.StateWiped {
			t.Errorf("after the acknowledged wipe: %s, want WIPED", s)
		}
		if _, err := f.svc.AuthenticateDevice(f.ctx, r1.Credential); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("wiped device's credential: %v, want unauthenticated", err)
		}
	})
}

func TestWipeOvertakesAPendingRetire(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "W3")
		ids := []mdm.DeviceID{r.Device.ID}
		for _, act := range []devices.Action{devices.Retire, devices.Wipe} {
			if _, err := f.svc.Act(f.admin1, act, ids, devices.ActionOptions{}); err != nil {
				t.Fatalf("%s: %v", act, err)
			}
		}
		reply, err := f.svc.CheckIn(f.ctx, f.device(r.Credential), devices.CheckIn{})
		if err != nil || reply.RegistrationState != mdm.StateWipePending {
			t.Fatalf("check-in: %+v, %v", reply, err)
		}
		if diff := cmp.Diff([]string{mdm.CmdWipe}, commandTypes(reply.Commands)); diff != "" {
			t.Errorf("delivered (-want +got):\n%s", diff)
		}
		if _, err := f.svc.Act(f.admin1, devices.Retire, ids, devices.ActionOptions{}); !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("retire while wiping: %v, want conflict", err)
		}
	})
}

func TestActOnAnotherTenantsDevice(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		mine := f.register(f.user("t-1", "sam@acme.example.com", userPW), "T1")
		theirs := f.register(f.user("t-2", "cy@globex.example.com", userPW), "T2")
		ids := []mdm.DeviceID{mine.Device.ID, theirs.Device.ID}
		for _, act := range []devices.Action{devices.Lock, devices.Wipe, devices.Retire} {
			_, err := f.svc.Act(f.admin1, act, ids, devices.ActionOptions{})
			if !mdm.IsCode(err, mdm.NotFound) || !strings.Contains(mdm.Message(err), fmt.Sprintf("device %d not found", theirs.Device.ID)) {
				t.Errorf("%s: %v, want not_found naming device %d", act, err, theirs.Device.ID)
			}
		}
		if _, err := f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: ids, Email: true, Body: "hi"}); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("message: %v, want not_found", err)
		}
		if _, err := f.svc.Get(f.admin1, theirs.Device.ID); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("get: %v, want not_found", err)
		}
		if _, err := f.svc.Delete(f.admin1, ids); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("delete: %v, want not_found", err)
		}
		// Nothing was queued or changed for either device.
		for _, r := range []*devices.Registered{mine, theirs} {
			reply, err := f.svc.CheckIn(f.ctx, f.device(r.Credential), devices.CheckIn{})
			if err != nil || len(reply.Commands) != 0 || reply.RegistrationState != mdm.StateActive {
				t.Errorf("device %d after the refused actions: %+v, %v", r.Device.ID, reply, err)
			}
		}
		if page, err := f.svc.List(f.admin2, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 1 || page.Items[0].ID != theirs.Device.ID {
			t.Errorf("tenant 2's list: %+v, %v", page, err)
		}
	})
}

func TestPermissions(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		a := f.user("t-1", "sam@acme.example.com", userPW)
		r := f.register(a, "P1")
		ids := []mdm.DeviceID{r.Device.ID}
		userRO := f.as(a, authz.RoleUserReadOnly)
		deviceRO := f.as(a, authz.RoleDeviceReadOnly)
		helpdesk := f.as(a, authz.RoleDeviceActions)
		if _, err := f.svc.List(userRO, mdm.ListOptions{Rows: 10}); !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("List as User Read Only: %v, want forbidden", err)
		}
		if _, err := f.svc.Get(userRO, r.Device.ID); !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("Get as User Read Only: %v, want forbidden", err)
		}
		if _, err := f.svc.List(deviceRO, mdm.ListOptions{Rows: 10}); err != nil {
			t.Errorf("List as Device Read Only: %v", err)
		}
		for name, ctx := range map[string]context.Context{"User Read Only": userRO, "Device Read Only": deviceRO} {
			if _, err := f.svc.Act(ctx, devices.Lock, ids, devices.ActionOptions{}); !mdm.IsCode(err, mdm.Forbidden) {
				t.Errorf("lock as %s: %v, want forbidden", name, err)
			}
			if err := f.svc.SetCustomAttributes(ctx, r.Device.ID, map[string]string{"a": "b"}); !mdm.IsCode(err, mdm.Forbidden) {
				t.Errorf("custom attributes as %s: %v, want forbidden", name, err)
			}
		}
		if _, err := f.svc.Act(helpdesk, devices.Lock, ids, devices.ActionOptions{}); err != nil {
			t.Errorf("lock as Device Actions: %v", err)
		}
		if _, err := f.svc.Delete(helpdesk, ids); !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("delete as Device Actions: %v, want forbidden", err)
		}
		if _, err := f.svc.List(f.ctx, mdm.ListOptions{Rows: 10}); !mdm.IsCode(err, mdm.Unauthenticated) && !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("List without a principal: %v", err)
		}
	})
}
