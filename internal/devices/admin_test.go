package devices_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/devices"
	"steward/internal/mdm"
)

func TestMessageByEmailAndPush(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		bo := f.user("t-1", "bo@acme.example.com", userPW)
		s1, s2, b1 := f.register(sam, "M1"), f.register(sam, "M2"), f.register(bo, "M3")
		ids := []mdm.DeviceID{s1.Device.ID, s2.Device.ID, b1.Device.ID, s1.Device.ID}
		n, err := f.svc.SendMessage(f.admin1, devices.Message{DeviceIDs: ids, Email: true, Subject: "Wi-Fi", Body: "New network on Monday.",
			Push: true, PushText: "Wi-Fi changes Monday"})
		if err != nil {
			t.Fatal(err)
		}
		if n != 3+2 { // a push to each of three devices, one email to each of two owners
			t.Errorf("queued %d, want 5", n)
		}
		if f.mailed != 1 {
			t.Errorf("mail worker woken %d times, want 1", f.mailed)
		}
		page, err := f.store.Outbox().List(f.ctx, "t-1", mdm.ListOptions{Rows: 50})
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, m := range page.Items {
			if m.Template == "admin_message" {
				to = append(to, m.To)
			}
		}
		if diff := cmp.Diff([]string{"bo@acme.example.com", "sam@acme.example.com"}, sorted(to)); diff != "" {
			t.Errorf("message recipients (-want +got):\n%s", diff)
		}
		reply, err := f.svc.CheckIn(f.ctx, f.device(b1.Credential), devices.CheckIn{})
		if err != nil || len(reply.Commands) != 1 || reply.Commands[0].Payload["message"] != "Wi-Fi changes Monday" {
			t.Errorf("pushed message: %+v, %v", reply, err)
		}
		for name, m := range map[string]devices.Message{
			"neither":      {DeviceIDs: ids[:1], Body: "x"},
			"no ids":       {Email: true, Body: "x"},
			"long subject": {DeviceIDs: ids[:1], Email: true, Subject: strings.Repeat("s", 201), Body: "x"},
			"long body":    {DeviceIDs: ids[:1], Email: true, Body: strings.Repeat("b", 4001)},
			"empty body":   {DeviceIDs: ids[:1], Email: true},
		} {
			if _, err := f.svc.SendMessage(f.admin1, m); !mdm.IsCode(err, mdm.Invalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
	})
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestActInput(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "V1")
		id := []mdm.DeviceID{r.Device.ID}
		tooMany := make([]mdm.DeviceID, 10001)
		for i := range tooMany {
			tooMany[i] = mdm.DeviceID(i + 1)
		}
		for name, c := range map[string]struct {
			act  devices.Action
			ids  []mdm.DeviceID
			opts devices.ActionOptions
		}{
			"no ids":     {devices.Lock, nil, devices.ActionOptions{}},
			"too many":   {devices.Lock, tooMany, devices.ActionOptions{}},
			"zero id":    {devices.Lock, []mdm.DeviceID{0}, devices.ActionOptions{}},
			"unknown":    {devices.Action("explode"), id, devices.ActionOptions{}},
			"long text":  {devices.Lock, id, devices.ActionOptions{Message: strings.Repeat("m", 257)}},
			"phone":      {devices.Lock, id, devices.ActionOptions{PhoneNumber: "call me"}},
			"long phone": {devices.Lock, id, devices.ActionOptions{PhoneNumber: strings.Repeat("1", 33)}},
			"macOS PIN":  {devices.Lock, id, devices.ActionOptions{PIN: "123456"}},
		} {
			if _, err := f.svc.Act(f.admin1, c.act, c.ids, c.opts); !mdm.IsCode(err, mdm.Invalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		// Duplicates are one device, one command.
		if n, err := f.svc.Act(f.admin1, devices.Lock, []mdm.DeviceID{r.Device.ID, r.Device.ID}, devices.ActionOptions{Message: "hi"}); err != nil || n != 1 {
			t.Errorf("lock with a duplicate id: %d, %v; want 1", n, err)
		}
	})
}

func TestCustomAttributesOwnerAndDelete(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		sam := f.user("t-1", "sam@acme.example.com", userPW)
		bo := f.user("t-1", "bo@acme.example.com", userPW)
		cy := f.user("t-2", "cy@globex.example.com", userPW)
		r := f.register(sam, "A1")
		id := r.Device.ID
		attrs := map[string]string{"cost_center": "4711", "asset.tag": "A-1"}
		if err := f.svc.SetCustomAttributes(f.admin1, id, attrs); err != nil {
			t.Fatal(err)
		}
		if d, err := f.svc.Get(f.admin1, id); err != nil || !cmp.Equal(d.CustomAttributes, attrs) {
			t.Errorf("custom attributes: %v, %v", d.CustomAttributes, err)
		}
		tooMany := map[string]string{}
		for i := range 51 {
			tooMany["k"+strings.Repeat("x", i)] = "v"
		}
		for name, bad := range map[string]map[string]string{
			"key space": {"a b": "x"}, "long key": {strings.Repeat("k", 65): "x"}, "empty key": {"": "x"},
			"long value": {"k": strings.Repeat("v", 257)}, "control": {"k": "a\nb"}, "too many": tooMany,
		} {
			if err := f.svc.SetCustomAttributes(f.admin1, id, bad); !mdm.IsCode(err, mdm.Invalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if err := f.svc.SetCustomAttributes(f.admin2, id, attrs); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("another tenant's device: %v, want not_found", err)
		}

		if err := f.svc.UpdateAccount(f.admin1, bo.ID, []mdm.DeviceID{id}); err != nil {
			t.Fatal(err)
		}
		if d := f.stored("t-1", id); d.AccountID != bo.ID || d.OwnerUsername != bo.Username {
			t.Errorf("owner after update: %d %q", d.AccountID, d.OwnerUsername)
		}
		if err := f.svc.UpdateAccount(f.admin1, cy.ID, []mdm.DeviceID{id}); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("owner from another tenant: %v, want not_found", err)
		}
		if err := f.svc.UpdateAccount(f.admin1, sam.ID, []mdm.DeviceID{id, id + 1000}); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("unknown device: %v, want not_found", err)
		}
		if d := f.stored("t-1", id); d.AccountID != bo.ID {
			t.Errorf("a refused update changed the owner to %d", d.AccountID)
		}

		if n, err := f.svc.Delete(f.admin1, []mdm.DeviceID{id}); err != nil || n != 1 {
			t.Fatalf("delete: %d, %v", n, err)
		}
		if _, err := f.svc.AuthenticateDevice(f.ctx, r.Credential); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("deleted device's credential: %v, want unauthenticated", err)
		}
	})
}

func TestRetentionPrunesCompletedCommands(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		r := f.register(f.user("t-1", "sam@acme.example.com", userPW), "X1")
		ids := []mdm.DeviceID{r.Device.ID}
		for i := range 3 {
			if _, err := f.svc.Act(f.admin1, devices.Lock, ids, devices.ActionOptions{Message: fmt.Sprint("lock ", i)}); err != nil {
				t.Fatal(err)
			}
		}
		d := f.device(r.Credential)
		reply, err := f.svc.CheckIn(f.ctx, d, devices.CheckIn{})
		if err != nil || len(reply.Commands) != 3 {
			t.Fatalf("check-in: %+v, %v", reply, err)
		}
		// Two answered now, one left open.
		for _, c := range reply.Commands[:2] {
			if err := f.svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: c.ID, Status: mdm.CmdAcknowledged}); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := f.svc.QueueCounts(f.ctx)
		if err != nil || counts[mdm.CmdAcknowledged] != 2 || counts[mdm.CmdSent] != 1 {
			t.Errorf("queue counts: %v, %v", counts, err)
		}
		if n, err := f.svc.Prune(f.ctx); err != nil || n != 0 {
			t.Errorf("prune within the retention: %d, %v", n, err)
		}
		f.clock.add(devices.DefaultRetention + time.Hour)
		if n, err := f.svc.Prune(f.ctx); err != nil || n != 2 {
			t.Errorf("prune after the retention: %d, %v; want 2", n, err)
		}
		// The one never answered has expired: ERROR now, pruned a retention later.
		counts, err = f.svc.QueueCounts(f.ctx)
		if err != nil || counts[mdm.CmdAcknowledged] != 0 || counts[mdm.CmdSent] != 0 || counts[mdm.CmdError] != 1 {
			t.Errorf("queue counts after pruning: %v, %v", counts, err)
		}
		page, err := f.svc.Commands(f.admin1, d.ID, mdm.ListOptions{})
		if err != nil || len(page.Items) != 1 || !strings.HasPrefix(page.Items[0].Error, "expired: no answer from the device within") {
			t.Errorf("history after pruning: %+v, %v", page.Items, err)
		}
		f.clock.add(devices.DefaultRetention + time.Hour)
		if n, err := f.svc.Prune(f.ctx); err != nil || n != 1 {
			t.Errorf("prune a retention after the expiry: %d, %v; want 1", n, err)
		}
	})
}
