package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

var commandTests = []test{
	{"Queue", testCommandQueue},
}

var everyState = []string{mdm.StateActive, mdm.StateRetirePending, mdm.StateRetired, mdm.StateWipePending, mdm.StateWiped}

// enqueue queues a command of type typ for ids and fails the test unless it queued for want.
func (f *fixture) enqueue(t *testing.T, tenant mdm.TenantID, ids []mdm.DeviceID, typ string, want ...mdm.DeviceID) {
	t.Helper()
	got, err := f.s.Commands().Enqueue(f.ctx, tenant, ids, everyState,
		mdm.NewCommand{Type: typ, Payload: map[string]string{"message": "hello " + typ}, CreatedBy: "admin"}, f.now)
	must(t, "Enqueue", err)
	if d := diff(want, got); d != "" {
		t.Errorf("Enqueue %s for %v (-want +got):\n%s", typ, ids, d)
	}
}

func commandTypes(cs []mdm.Command) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Type)
	}
	return out
}

func testCommandQueue(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d2.ID, d1.ID, d1.ID + 1000}, mdm.CmdLock, d1.ID, d2.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d1.ID}, mdm.CmdMessage, d1.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d1.ID}, mdm.CmdForceCheckin, d1.ID)

	due, err := cs.Due(f.ctx, f.A.ID, d1.ID, f.now, 2)
	must(t, "Due", err)
	if d := diff([]string{mdm.CmdLock, mdm.CmdMessage}, commandTypes(due)); d != "" {
		t.Fatalf("Due, oldest first, at most 2 (-want +got):\n%s", d)
	}
	lock := due[0]
	want := mdm.Command{ID: lock.ID, TenantID: f.A.ID, DeviceID: d1.ID, Type: mdm.CmdLock,
		Payload: map[string]string{"message": "hello LOCK"}, Status: mdm.CmdPending, CreatedBy: "admin", CreatedAt: f.now}
	if d := diff(want, lock); d != "" {
		t.Errorf("queued command (-want +got):\n%s", d)
	}
	sent := f.now.Add(time.Minute)
	must(t, "MarkSent", cs.MarkSent(f.ctx, f.A.ID, []mdm.CommandID{due[0].ID, due[1].ID}, sent))
	due, err = cs.Due(f.ctx, f.A.ID, d1.ID, f.now, 10)
	must(t, "Due after MarkSent", err)
	if d := diff([]string{mdm.CmdForceCheckin}, commandTypes(due)); d != "" {
		t.Errorf("Due after sending two (-want +got):\n%s", d)
	}
	done := sent.Add(time.Second)
	got, err := cs.Complete(f.ctx, f.A.ID, d1.ID, mdm.CommandResult{ID: lock.ID, Status: mdm.CmdAcknowledged, Result: `{"ok":true}`}, done)
	must(t, "Complete", err)
	want.Status, want.SentAt, want.CompletedAt, want.Result = mdm.CmdAcknowledged, &sent, &done, `{"ok":true}`
	if d := diff(want, *got); d != "" {
		t.Errorf("Complete (-want +got):\n%s", d)
	}
}
