package storetest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"steward/internal/mdm"
)

var commandTests = []test{
	{"Queue", testCommandQueue},
	{"Redelivery", testCommandRedelivery},
	{"TenantsApart", testCommandTenantsApart},
	{"EnqueueStates", testCommandEnqueueStates},
	{"Cancel", testCommandCancel},
	{"Prune", testCommandPrune},
	{"History", testCommandHistory},
	{"Collapse", testCommandCollapse},
	{"CancelOpen", testCommandCancelOpen},
	{"LateAcknowledgement", testCommandLateAcknowledgement},
	{"Expire", testCommandExpire},
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
	markSent(t, f, "MarkSent", 2, f.A.ID, []mdm.CommandID{due[0].ID, due[1].ID}, sent)
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

// testCommandRedelivery: unanswered SENT commands come back after resendBefore, NOT_NOW ones a resend
// delay after the answer; an answer closes a command once.
func testCommandRedelivery(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d1.ID}, mdm.CmdLock, d1.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d1.ID}, mdm.CmdWipe, d1.ID)
	due, err := cs.Due(f.ctx, f.A.ID, d1.ID, f.now, 0)
	must(t, "Due", err)
	if len(due) != 2 {
		t.Fatalf("Due = %v, want two", commandTypes(due))
	}
	lock, wipe := due[0], due[1]
	sent := f.now.Add(time.Minute)
	markSent(t, f, "MarkSent", 2, f.A.ID, []mdm.CommandID{lock.ID, wipe.ID}, sent)
	// Not yet due again: they were sent at resendBefore, not before it.
	if due, _ := cs.Due(f.ctx, f.A.ID, d1.ID, sent, 10); len(due) != 0 {
		t.Errorf("Due right after sending = %v, want none", commandTypes(due))
	}
	// The device answers NOT_NOW to the wipe a while later and never answers the lock. NOT_NOW restarts
	// the resend delay: not in the reply to that answer, but once the delay has passed.
	busy := sent.Add(time.Minute)
	_, err = cs.Complete(f.ctx, f.A.ID, d1.ID, mdm.CommandResult{ID: wipe.ID, Status: mdm.CmdNotNow}, busy)
	must(t, "Complete NOT_NOW", err)
	due, err = cs.Due(f.ctx, f.A.ID, d1.ID, sent.Add(time.Millisecond), 10)
	must(t, "Due", err)
	if d := diff([]string{mdm.CmdLock}, commandTypes(due)); d != "" {
		t.Errorf("Due with the lock overdue, the wipe answered NOT_NOW since (-want +got):\n%s", d)
	}
	due, err = cs.Due(f.ctx, f.A.ID, d1.ID, busy.Add(time.Millisecond), 10)
	must(t, "Due", err)
	if d := diff([]string{mdm.CmdLock, mdm.CmdWipe}, commandTypes(due)); d != "" {
		t.Errorf("Due once the NOT_NOW delay has passed, oldest first (-want +got):\n%s", d)
	}
	if due[1].Status != mdm.CmdNotNow || due[1].CompletedAt != nil {
		t.Errorf("NOT_NOW command: status %s, completed %v; want NOT_NOW, open", due[1].Status, due[1].CompletedAt)
	}

	// Answers: only the device's own open commands, once; only the three answer states.
	_, err = cs.Complete(f.ctx, f.A.ID, d2.ID, mdm.CommandResult{ID: lock.ID, Status: mdm.CmdAcknowledged}, sent)
	wantCode(t, "another device answers the lock", err, mdm.NotFound)
	_, err = cs.Complete(f.ctx, f.A.ID, d1.ID, mdm.CommandResult{ID: lock.ID, Status: mdm.CmdCancelled}, sent)
	wantCode(t, "answer CANCELLED", err, mdm.Invalid)
	_, err = cs.Complete(f.ctx, f.A.ID, d1.ID, mdm.CommandResult{ID: lock.ID, Status: mdm.CmdPending}, sent)
	wantCode(t, "answer PENDING", err, mdm.Invalid)
	done := sent.Add(time.Second)
	got, err := cs.Complete(f.ctx, f.A.ID, d1.ID, mdm.CommandResult{ID: lock.ID, Status: mdm.CmdError, Error: "no passcode"}, done)
	must(t, "Complete ERROR", err)
	if got.Status != mdm.CmdError || got.Error != "no passcode" || got.CompletedAt == nil || !got.CompletedAt.Equal(done) {
		t.Errorf("after ERROR: %+v", got)
	}
	_, err = cs.Complete(f.ctx, f.A.ID, d1.ID, mdm.CommandResult{ID: lock.ID, Status: mdm.CmdAcknowledged}, done)
	wantCode(t, "Complete twice", err, mdm.NotFound)
	// A late MarkSent does not reopen an answered command.
	markSent(t, f, "MarkSent", 0, f.A.ID, []mdm.CommandID{lock.ID}, done)
	page, err := cs.History(f.ctx, f.A.ID, d1.ID, mdm.ListOptions{Filter: mdm.Compare{Field: "id", Op: mdm.Eq, Value: int64(lock.ID)}})
	must(t, "History", err)
	if len(page.Items) != 1 || page.Items[0].Status != mdm.CmdError {
		t.Errorf("lock after a late MarkSent: %+v", page.Items)
	}
	// A command cancelled between Due and MarkSent is not marked, so it is not delivered.
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d2.ID}, mdm.CmdWipe, d2.ID)
	due, err = cs.Due(f.ctx, f.A.ID, d2.ID, done, 1)
	must(t, "Due", err)
	_, err = cs.CancelOpen(f.ctx, f.A.ID, []mdm.DeviceID{d2.ID}, mdm.CmdWipe, []string{mdm.CmdPending}, done)
	must(t, "CancelOpen", err)
	markSent(t, f, "MarkSent of a cancelled wipe", 0, f.A.ID, []mdm.CommandID{due[0].ID}, done)
	// A huge result is cut to a bound, on a character boundary.
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d2.ID}, mdm.CmdForceCheckin, d2.ID)
	due, err = cs.Due(f.ctx, f.A.ID, d2.ID, done, 1)
	must(t, "Due", err)
	huge := strings.Repeat("é", 100_000)
	got, err = cs.Complete(f.ctx, f.A.ID, d2.ID, mdm.CommandResult{ID: due[0].ID, Status: mdm.CmdAcknowledged, Result: huge}, done)
	must(t, "Complete with a huge result", err)
	if len(got.Result) >= len(huge) || len(got.Result) == 0 || !utf8.ValidString(got.Result) {
		t.Errorf("stored result: %d bytes, valid UTF-8 %v; want a shorter valid prefix", len(got.Result), utf8.ValidString(got.Result))
	}
}

// testCommandTenantsApart: B can neither queue for, read, answer nor cancel A's commands.
func testCommandTenantsApart(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	a, _ := f.device(t, ann, 1)
	b, _ := f.device(t, bob, 2)
	f.enqueue(t, f.B.ID, []mdm.DeviceID{a.ID, b.ID}, mdm.CmdLock, b.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{a.ID}, mdm.CmdWipe, a.ID)
	due, err := cs.Due(f.ctx, f.A.ID, a.ID, f.now, 10)
	must(t, "Due A", err)
	if d := diff([]string{mdm.CmdWipe}, commandTypes(due)); d != "" {
		t.Fatalf("A's queue (-want +got):\n%s", d)
	}
	wipe := due[0]
	if due, _ := cs.Due(f.ctx, f.B.ID, a.ID, f.now, 10); len(due) != 0 {
		t.Errorf("B's Due for A's device = %v", commandTypes(due))
	}
	markSent(t, f, "B marks A's command", 0, f.B.ID, []mdm.CommandID{wipe.ID}, f.now)
	_, err = cs.Complete(f.ctx, f.B.ID, a.ID, mdm.CommandResult{ID: wipe.ID, Status: mdm.CmdAcknowledged}, f.now)
	wantCode(t, "B answers A's command", err, mdm.NotFound)
	_, err = cs.Complete(f.ctx, f.B.ID, b.ID, mdm.CommandResult{ID: wipe.ID, Status: mdm.CmdAcknowledged}, f.now)
	wantCode(t, "B's device answers A's command", err, mdm.NotFound)
	if n, err := cs.Cancel(f.ctx, f.B.ID, a.ID, mdm.CmdWipe, f.now); err != nil || n != 0 {
		t.Errorf("B cancels A's wipe: %d, %v", n, err)
	}
	if page, _ := cs.History(f.ctx, f.B.ID, a.ID, mdm.ListOptions{}); page.TotalCount != 0 {
		t.Errorf("B's history of A's device: %+v", page)
	}
	due, err = cs.Due(f.ctx, f.A.ID, a.ID, f.now, 10)
	must(t, "Due A", err)
	if d := diff([]mdm.Command{wipe}, due); d != "" {
		t.Errorf("A's wipe after B's attempts (-want +got):\n%s", d)
	}
}

// testCommandEnqueueStates: a command goes only to listed devices of the tenant in the given states.
func testCommandEnqueueStates(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	var ids []mdm.DeviceID
	for i := range 4 {
		d, _ := f.device(t, ann, i)
		ids = append(ids, d.ID)
	}
	_, err := f.s.Devices().SetState(f.ctx, f.A.ID, ids[1:2], []string{mdm.StateActive}, mdm.StateRetired, f.now)
	must(t, "SetState", err)
	_, err = f.s.Devices().SetState(f.ctx, f.A.ID, ids[2:3], []string{mdm.StateActive}, mdm.StateWipePending, f.now)
	must(t, "SetState", err)
	cmd := mdm.NewCommand{Type: mdm.CmdMessage, Payload: map[string]string{"message": "hi"}, CreatedBy: "admin"}
	// A device named twice gets one command.
	got, err := cs.Enqueue(f.ctx, f.A.ID, append(ids, ids[0]), []string{mdm.StateActive, mdm.StateWipePending}, cmd, f.now)
	must(t, "Enqueue", err)
	if d := diff([]mdm.DeviceID{ids[0], ids[2], ids[3]}, got); d != "" {
		t.Errorf("Enqueue skips the retired device (-want +got):\n%s", d)
	}
	if got, err := cs.Enqueue(f.ctx, f.A.ID, nil, []string{mdm.StateActive}, cmd, f.now); err != nil || len(got) != 0 {
		t.Errorf("Enqueue for no devices = %v, %v", got, err)
	}
	if got, err := cs.Enqueue(f.ctx, f.A.ID, ids, nil, cmd, f.now); err != nil || len(got) != 0 {
		t.Errorf("Enqueue for no states = %v, %v", got, err)
	}
	_, err = cs.Enqueue(f.ctx, f.A.ID, make([]mdm.DeviceID, 10_001), []string{mdm.StateActive}, cmd, f.now)
	wantCode(t, "Enqueue for 10,001 ids", err, mdm.Invalid)
	_, err = cs.Enqueue(f.ctx, f.A.ID, ids, []string{mdm.StateActive}, mdm.NewCommand{}, f.now)
	wantCode(t, "Enqueue without a type", err, mdm.Invalid)
	counts, err := cs.Counts(f.ctx)
	must(t, "Counts", err)
	if counts[mdm.CmdPending] != 3 || counts[mdm.CmdAcknowledged] != 0 {
		t.Errorf("Counts = %v, want 3 pending", counts)
	}
	// A nil payload reads back as an empty map.
	_, err = cs.Enqueue(f.ctx, f.A.ID, ids[3:], []string{mdm.StateActive}, mdm.NewCommand{Type: mdm.CmdUnlock, CreatedBy: "system"}, f.now)
	must(t, "Enqueue without payload", err)
	due, err := cs.Due(f.ctx, f.A.ID, ids[3], f.now, 10)
	must(t, "Due", err)
	if len(due) != 2 || due[1].Payload == nil || len(due[1].Payload) != 0 {
		t.Errorf("Due = %+v, want the unlock with an empty payload last", due)
	}
}

func testCommandCancel(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d, _ := f.device(t, ann, 1)
	other, _ := f.device(t, ann, 2)
	for range 3 {
		f.enqueue(t, f.A.ID, []mdm.DeviceID{d.ID, other.ID}, mdm.CmdWipe, d.ID, other.ID)
	}
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d.ID}, mdm.CmdLock, d.ID)
	due, err := cs.Due(f.ctx, f.A.ID, d.ID, f.now, 10)
	must(t, "Due", err)
	// One wipe acknowledged, one sent, one pending: the open two are cancelled.
	markSent(t, f, "MarkSent", 2, f.A.ID, []mdm.CommandID{due[0].ID, due[1].ID}, f.now)
	_, err = cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: due[0].ID, Status: mdm.CmdAcknowledged}, f.now)
	must(t, "Complete", err)
	later := f.now.Add(time.Minute)
	n, err := cs.Cancel(f.ctx, f.A.ID, d.ID, mdm.CmdWipe, later)
	if err != nil || n != 2 {
		t.Errorf("Cancel = %d, %v; want 2", n, err)
	}
	due, err = cs.Due(f.ctx, f.A.ID, d.ID, later.Add(time.Hour), 10)
	must(t, "Due", err)
	if d := diff([]string{mdm.CmdLock}, commandTypes(due)); d != "" {
		t.Errorf("Due after cancelling the wipes (-want +got):\n%s", d)
	}
	_, err = cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: due[0].ID - 1, Status: mdm.CmdAcknowledged}, later)
	wantCode(t, "answer a cancelled command", err, mdm.NotFound)
	if due, _ := cs.Due(f.ctx, f.A.ID, other.ID, later, 10); len(due) != 3 {
		t.Errorf("the other device's wipes: %d, want 3 still due", len(due))
	}
}

// testCommandPrune: finished commands older than the cut-off go, at most limit at a time, in every
// tenant; open ones stay however old.
func testCommandPrune(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	a, _ := f.device(t, ann, 1)
	b, _ := f.device(t, bob, 2)
	for range 3 {
		f.enqueue(t, f.A.ID, []mdm.DeviceID{a.ID}, mdm.CmdLock, a.ID)
		f.enqueue(t, f.B.ID, []mdm.DeviceID{b.ID}, mdm.CmdLock, b.ID)
	}
	f.enqueue(t, f.A.ID, []mdm.DeviceID{a.ID}, mdm.CmdWipe, a.ID)
	answer := func(tenant mdm.TenantID, dev mdm.DeviceID, n int, status string, at time.Time) {
		due, err := cs.Due(f.ctx, tenant, dev, at, n)
		must(t, "Due", err)
		for _, c := range due {
			_, err := cs.Complete(f.ctx, tenant, dev, mdm.CommandResult{ID: c.ID, Status: status}, at)
			must(t, "Complete", err)
		}
	}
	old, recent := f.now.Add(-48*time.Hour), f.now.Add(-time.Hour)
	answer(f.A.ID, a.ID, 2, mdm.CmdAcknowledged, old) // A: 2 old acknowledged
	answer(f.B.ID, b.ID, 1, mdm.CmdError, old)        // B: 1 old error
	answer(f.B.ID, b.ID, 1, mdm.CmdAcknowledged, recent)
	_, err := cs.Cancel(f.ctx, f.A.ID, a.ID, mdm.CmdWipe, old) // A: 1 old cancelled
	must(t, "Cancel", err)
	answer(f.A.ID, a.ID, 1, mdm.CmdNotNow, old) // A: the last lock stays open
	// Left open: A's NOT_NOW lock and B's last pending lock.
	cutoff := f.now.Add(-24 * time.Hour)
	if n, err := cs.Prune(f.ctx, cutoff, 3); err != nil || n != 3 {
		t.Errorf("Prune(limit 3) = %d, %v; want 3", n, err)
	}
	if n, err := cs.Prune(f.ctx, cutoff, 10); err != nil || n != 1 {
		t.Errorf("second Prune = %d, %v; want the 1 left", n, err)
	}
	if n, err := cs.Prune(f.ctx, cutoff, 10); err != nil || n != 0 {
		t.Errorf("third Prune = %d, %v; want 0", n, err)
	}
	counts, err := cs.Counts(f.ctx)
	must(t, "Counts", err)
	want := map[string]int{mdm.CmdPending: 1, mdm.CmdSent: 0, mdm.CmdAcknowledged: 1, mdm.CmdError: 0, mdm.CmdNotNow: 1, mdm.CmdCancelled: 0}
	if d := diff(want, counts); d != "" {
		t.Errorf("Counts after pruning (-want +got):\n%s", d)
	}
	if n, err := cs.Prune(f.ctx, f.now, 0); err != nil || n != 0 {
		t.Errorf("Prune(limit 0) = %d, %v", n, err)
	}
	// Once the newest command is pruned, the next one still gets a new id: a late answer to the old
	// one must not complete it.
	f.enqueue(t, f.B.ID, []mdm.DeviceID{b.ID}, mdm.CmdMessage, b.ID)
	answer(f.B.ID, b.ID, 2, mdm.CmdAcknowledged, old)
	page, err := cs.History(f.ctx, f.B.ID, b.ID, mdm.ListOptions{})
	must(t, "History", err)
	newest := page.Items[0].ID
	if n, err := cs.Prune(f.ctx, cutoff, 10); err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want 2", n, err)
	}
	f.enqueue(t, f.B.ID, []mdm.DeviceID{b.ID}, mdm.CmdLock, b.ID)
	page, err = cs.History(f.ctx, f.B.ID, b.ID, mdm.ListOptions{})
	must(t, "History", err)
	if len(page.Items) != 2 || page.Items[0].ID <= newest {
		t.Errorf("a command queued after pruning command %d: %+v", newest, page.Items)
	}
}

// testCommandHistory: newest first by default, filtered and sorted on request.
func testCommandHistory(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d, _ := f.device(t, ann, 1)
	other, _ := f.device(t, ann, 2)
	for _, typ := range []string{mdm.CmdLock, mdm.CmdMessage, mdm.CmdUnlock} {
		f.enqueue(t, f.A.ID, []mdm.DeviceID{d.ID, other.ID}, typ, d.ID, other.ID)
	}
	due, err := cs.Due(f.ctx, f.A.ID, d.ID, f.now, 1)
	must(t, "Due", err)
	_, err = cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: due[0].ID, Status: mdm.CmdAcknowledged}, f.now)
	must(t, "Complete", err)
	for _, c := range []struct {
		name string
		opts mdm.ListOptions
		want []string
		all  int
	}{
		{"newest first", mdm.ListOptions{}, []string{mdm.CmdUnlock, mdm.CmdMessage, mdm.CmdLock}, 3},
		{"oldest first", mdm.ListOptions{Sort: []mdm.SortField{{Field: "id"}}, Rows: 2}, []string{mdm.CmdLock, mdm.CmdMessage}, 3},
		{"acknowledged", mdm.ListOptions{Filter: mdm.Compare{Field: "status", Op: mdm.Eq, Value: "acknowledged"}}, []string{mdm.CmdLock}, 1},
		{"by type", mdm.ListOptions{Sort: []mdm.SortField{{Field: "type"}}}, []string{mdm.CmdLock, mdm.CmdMessage, mdm.CmdUnlock}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			page, err := cs.History(f.ctx, f.A.ID, d.ID, c.opts)
			must(t, "History", err)
			if d := diff(c.want, commandTypes(page.Items)); d != "" || page.TotalCount != c.all {
				t.Errorf("History: total %d, want %d (-want +got):\n%s", page.TotalCount, c.all, d)
			}
		})
	}
}

// statuses returns the statuses of a device's commands, oldest first, as "TYPE STATUS".
func (f *fixture) statuses(t *testing.T, tenant mdm.TenantID, id mdm.DeviceID) []string {
	t.Helper()
	page, err := f.s.Commands().History(f.ctx, tenant, id, mdm.ListOptions{Sort: []mdm.SortField{{Field: "id"}}})
	must(t, "History", err)
	out := []string{}
	for _, c := range page.Items {
		out = append(out, c.Type+" "+c.Status)
	}
	return out
}

// testCommandCollapse: with Collapse, a device whose newest command is the same one still pending gets
// no second one; any other newest command, payload or state queues it.
func testCommandCollapse(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	both := []mdm.DeviceID{d1.ID, d2.ID}
	enqueue := func(ids []mdm.DeviceID, typ, msg string, want ...mdm.DeviceID) {
		t.Helper()
		got, err := cs.Enqueue(f.ctx, f.A.ID, ids, everyState, mdm.NewCommand{Type: typ, Payload: map[string]string{"message": msg},
			CreatedBy: "admin", Collapse: true}, f.now)
		must(t, "Enqueue", err)
		if d := diff(want, got); d != "" {
			t.Errorf("Enqueue %s %q for %v (-want +got):\n%s", typ, msg, ids, d)
		}
	}
	enqueue(both[:1], mdm.CmdLock, "", d1.ID)
	enqueue(both, mdm.CmdLock, "", d2.ID)
	enqueue(both, mdm.CmdLock, "other", d1.ID, d2.ID)
	enqueue(both[:1], mdm.CmdUnlock, "", d1.ID)
	enqueue(both, mdm.CmdLock, "other", d1.ID)
	due, err := cs.Due(f.ctx, f.A.ID, d2.ID, f.now, 10)
	must(t, "Due", err)
	markSent(t, f, "MarkSent", 1, f.A.ID, []mdm.CommandID{due[len(due)-1].ID}, f.now)
	enqueue(both[1:], mdm.CmdLock, "other", d2.ID)
	if d := diff([]string{"LOCK PENDING", "LOCK PENDING", "UNLOCK PENDING", "LOCK PENDING"}, f.statuses(t, f.A.ID, d1.ID)); d != "" {
		t.Errorf("d1 (-want +got):\n%s", d)
	}
	if d := diff([]string{"LOCK PENDING", "LOCK SENT", "LOCK PENDING"}, f.statuses(t, f.A.ID, d2.ID)); d != "" {
		t.Errorf("d2 (-want +got):\n%s", d)
	}
	// B's identical pending lock does not collapse A's.
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	b, _ := f.device(t, bob, 3)
	f.enqueue(t, f.B.ID, []mdm.DeviceID{b.ID}, mdm.CmdForceCheckin, b.ID)
	got, err := cs.Enqueue(f.ctx, f.B.ID, []mdm.DeviceID{b.ID, d1.ID}, everyState, mdm.NewCommand{Type: mdm.CmdForceCheckin,
		Payload: map[string]string{"message": "hello " + mdm.CmdForceCheckin}, Collapse: true}, f.now)
	if err != nil || len(got) != 0 {
		t.Errorf("B repeats its check-in request: %v, %v; want none queued", got, err)
	}
}

// testCommandCancelOpen: one statement cancels the listed devices' commands of a type (or of every
// type) in the given statuses, in the tenant only; Having finds devices by their commands.
func testCommandCancelOpen(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	b, _ := f.device(t, bob, 3)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID}, mdm.CmdWipe, d1.ID, d2.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID}, mdm.CmdLock, d1.ID, d2.ID)
	f.enqueue(t, f.B.ID, []mdm.DeviceID{b.ID}, mdm.CmdWipe, b.ID)
	due, err := cs.Due(f.ctx, f.A.ID, d1.ID, f.now, 1)
	must(t, "Due", err)
	markSent(t, f, "MarkSent", 1, f.A.ID, []mdm.CommandID{due[0].ID}, f.now) // d1's wipe
	all := []mdm.DeviceID{d1.ID, d2.ID, b.ID}
	sent, err := cs.Having(f.ctx, f.A.ID, all, mdm.CmdWipe, []string{mdm.CmdSent})
	must(t, "Having", err)
	if d := diff([]mdm.DeviceID{d1.ID}, sent); d != "" {
		t.Errorf("Having a sent wipe (-want +got):\n%s", d)
	}
	pending, err := cs.Having(f.ctx, f.B.ID, all, mdm.CmdWipe, []string{mdm.CmdPending})
	must(t, "Having", err)
	if d := diff([]mdm.DeviceID{b.ID}, pending); d != "" {
		t.Errorf("B Having a pending wipe (-want +got):\n%s", d)
	}
	n, err := cs.CancelOpen(f.ctx, f.A.ID, all, mdm.CmdWipe, []string{mdm.CmdPending, mdm.CmdNotNow}, f.now)
	if err != nil || n != 1 {
		t.Errorf("CancelOpen the unsent wipes = %d, %v; want 1", n, err)
	}
	n, err = cs.CancelOpen(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, b.ID}, "", []string{mdm.CmdPending, mdm.CmdSent, mdm.CmdNotNow}, f.now)
	if err != nil || n != 2 {
		t.Errorf("CancelOpen everything of d1 = %d, %v; want 2", n, err)
	}
	if d := diff([]string{"WIPE CANCELLED", "LOCK CANCELLED"}, f.statuses(t, f.A.ID, d1.ID)); d != "" {
		t.Errorf("d1 (-want +got):\n%s", d)
	}
	if d := diff([]string{"WIPE CANCELLED", "LOCK PENDING"}, f.statuses(t, f.A.ID, d2.ID)); d != "" {
		t.Errorf("d2 (-want +got):\n%s", d)
	}
	if d := diff([]string{"WIPE PENDING"}, f.statuses(t, f.B.ID, b.ID)); d != "" {
		t.Errorf("B's device (-want +got):\n%s", d)
	}
}

// testCommandLateAcknowledgement: a WIPE or RETIRE sent and then cancelled still takes the device's
// acknowledgement (it was carried out), and only that; one never sent does not.
func testCommandLateAcknowledgement(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d, _ := f.device(t, ann, 1)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d.ID}, mdm.CmdRetire, d.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d.ID}, mdm.CmdLock, d.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{d.ID}, mdm.CmdWipe, d.ID)
	due, err := cs.Due(f.ctx, f.A.ID, d.ID, f.now, 2)
	must(t, "Due", err)
	retire, lock := due[0], due[1]
	markSent(t, f, "MarkSent", 2, f.A.ID, []mdm.CommandID{retire.ID, lock.ID}, f.now)
	_, err = cs.CancelOpen(f.ctx, f.A.ID, []mdm.DeviceID{d.ID}, "", []string{mdm.CmdPending, mdm.CmdSent}, f.now)
	must(t, "CancelOpen", err)
	_, err = cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: retire.ID, Status: mdm.CmdError}, f.now)
	wantCode(t, "an error to the cancelled retire", err, mdm.NotFound)
	_, err = cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: lock.ID, Status: mdm.CmdAcknowledged}, f.now)
	wantCode(t, "acknowledge the cancelled lock", err, mdm.NotFound)
	_, err = cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: lock.ID + 1, Status: mdm.CmdAcknowledged}, f.now)
	wantCode(t, "acknowledge the wipe never sent", err, mdm.NotFound)
	got, err := cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: retire.ID, Status: mdm.CmdAcknowledged}, f.now)
	must(t, "acknowledge the sent, cancelled retire", err)
	if got.Status != mdm.CmdAcknowledged || got.Type != mdm.CmdRetire {
		t.Errorf("late acknowledgement: %+v", got)
	}
	_, err = cs.Complete(f.ctx, f.A.ID, d.ID, mdm.CommandResult{ID: retire.ID, Status: mdm.CmdAcknowledged}, f.now)
	wantCode(t, "acknowledge it twice", err, mdm.NotFound)
}

// testCommandExpire: open commands older than the cut-off become ERROR with the reason, at most limit
// at a time, in every tenant; WIPE, RETIRE and answered ones are left alone.
func testCommandExpire(t *testing.T, f *fixture) {
	cs := f.s.Commands()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	a, _ := f.device(t, ann, 1)
	b, _ := f.device(t, bob, 2)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{a.ID}, mdm.CmdLock, a.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{a.ID}, mdm.CmdWipe, a.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{a.ID}, mdm.CmdRetire, a.ID)
	f.enqueue(t, f.A.ID, []mdm.DeviceID{a.ID}, mdm.CmdMessage, a.ID)
	f.enqueue(t, f.B.ID, []mdm.DeviceID{b.ID}, mdm.CmdForceCheckin, b.ID)
	due, err := cs.Due(f.ctx, f.A.ID, a.ID, f.now, 10)
	must(t, "Due", err)
	markSent(t, f, "MarkSent", 1, f.A.ID, []mdm.CommandID{due[3].ID}, f.now)
	_, err = cs.Complete(f.ctx, f.A.ID, a.ID, mdm.CommandResult{ID: due[3].ID, Status: mdm.CmdAcknowledged}, f.now)
	must(t, "Complete", err)
	later := f.now.Add(time.Hour)
	if n, err := cs.Expire(f.ctx, f.now, later, "expired", 10); err != nil || n != 0 {
		t.Errorf("Expire before anything is old = %d, %v", n, err)
	}
	if n, err := cs.Expire(f.ctx, f.now.Add(time.Millisecond), later, "expired: not delivered", 1); err != nil || n != 1 {
		t.Errorf("Expire(limit 1) = %d, %v", n, err)
	}
	if n, err := cs.Expire(f.ctx, f.now.Add(time.Millisecond), later, "expired: not delivered", 10); err != nil || n != 1 {
		t.Errorf("second Expire = %d, %v; want the 1 left", n, err)
	}
	if d := diff([]string{"LOCK ERROR", "WIPE PENDING", "RETIRE PENDING", "MESSAGE ACKNOWLEDGED"}, f.statuses(t, f.A.ID, a.ID)); d != "" {
		t.Errorf("A's device (-want +got):\n%s", d)
	}
	page, err := cs.History(f.ctx, f.B.ID, b.ID, mdm.ListOptions{})
	must(t, "History", err)
	if c := page.Items[0]; c.Status != mdm.CmdError || c.Error != "expired: not delivered" || c.CompletedAt == nil || !c.CompletedAt.Equal(later) {
		t.Errorf("B's expired command: %+v", c)
	}
	if n, err := cs.Expire(f.ctx, later, later, "x", 0); err != nil || n != 0 {
		t.Errorf("Expire(limit 0) = %d, %v", n, err)
	}
}

// testDeviceStates: States reads the listed devices' states in one query, in the tenant only.
func testDeviceStates(t *testing.T, f *fixture) {
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	d1, _ := f.device(t, ann, 1)
	d2, _ := f.device(t, ann, 2)
	b, _ := f.device(t, bob, 3)
	_, err := f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{d2.ID}, []string{mdm.StateActive}, mdm.StateWipePending, f.now)
	must(t, "SetState", err)
	got, err := f.s.Devices().States(f.ctx, f.A.ID, []mdm.DeviceID{d1.ID, d2.ID, b.ID, b.ID + 1000})
	must(t, "States", err)
	want := map[mdm.DeviceID]string{d1.ID: mdm.StateActive, d2.ID: mdm.StateWipePending}
	if d := diff(want, got); d != "" {
		t.Errorf("States (-want +got):\n%s", d)
	}
	if got, err := f.s.Devices().States(f.ctx, f.A.ID, nil); err != nil || len(got) != 0 {
		t.Errorf("States of no devices = %v, %v", got, err)
	}
	_, err = f.s.Devices().States(f.ctx, f.A.ID, make([]mdm.DeviceID, 10_001))
	wantCode(t, "States of 10,001 ids", err, mdm.Invalid)
}

// markSent marks ids sent and checks that exactly want of them were marked (the others were answered,
// cancelled or are another tenant's).
func markSent(t *testing.T, f *fixture, what string, want int, tenantID mdm.TenantID, ids []mdm.CommandID, at time.Time) {
	t.Helper()
	marked, err := f.s.Commands().MarkSent(f.ctx, tenantID, ids, at)
	must(t, what, err)
	if len(marked) != want {
		t.Errorf("%s: marked %v of %v, want %d", what, marked, ids, want)
	}
}
