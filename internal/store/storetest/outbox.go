package storetest

import (
	"cmp"
	"slices"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
)

var outboxTests = []test{
	{"EnqueueGetList", testOutboxEnqueueGetList},
	{"Claim", testOutboxClaim},
	{"MarkSentRetry", testOutboxMark},
	{"ConcurrentClaim", testOutboxConcurrentClaim},
}

// mail enqueues a message for tenant (empty for platform mail), due at due.
func (f *fixture) mail(t *testing.T, tenant mdm.TenantID, to string, due time.Time) mdm.MailMessage {
	t.Helper()
	m := mdm.MailMessage{
		TenantID: tenant, Template: "activation", To: to, Subject: "Welcome " + to,
		SealedBody: append([]byte{0, 1, 0xff}, to...), NextAttemptAt: due, CreatedAt: f.now,
	}
	must(t, "Enqueue", f.s.Outbox().Enqueue(f.ctx, &m))
	return m
}

// sortByID sorts ms by id in place and returns it: Claim's order is not part of its contract.
func sortByID(ms []mdm.MailMessage) []mdm.MailMessage {
	slices.SortFunc(ms, func(a, b mdm.MailMessage) int { return cmp.Compare(a.ID, b.ID) })
	return ms
}

// getMail fetches a message with the platform view.
func (f *fixture) getMail(t *testing.T, id int64) mdm.MailMessage {
	t.Helper()
	m, err := f.s.Outbox().Get(f.ctx, mdm.AllTenants, id)
	must(t, "Get mail", err)
	return *m
}

func testOutboxEnqueueGetList(t *testing.T, f *fixture) {
	ob := f.s.Outbox()
	m := mdm.MailMessage{
		TenantID: f.A.ID, Template: "activation", To: "ann@a.example", Subject: "Activate your account",
		SealedBody: []byte("sealed\x00bytes"), Status: mdm.MailSent, Attempts: 9, // ignored: a new message is queued
		NextAttemptAt: f.now.Add(time.Second), CreatedAt: f.now,
	}
	must(t, "Enqueue", ob.Enqueue(f.ctx, &m))
	if m.ID == 0 || m.Status != mdm.MailQueued {
		t.Fatalf("after Enqueue: id %d, status %q; want an id and %q", m.ID, m.Status, mdm.MailQueued)
	}
	a2 := f.mail(t, f.A.ID, "bob@a.example", f.now)
	b1 := f.mail(t, f.B.ID, "ann@b.example", f.now)
	p1 := f.mail(t, "", "ops@example.com", f.now)

	want := m
	want.Attempts = 0
	for _, tc := range []struct {
		name   string
		tenant mdm.TenantID
	}{{"A", f.A.ID}, {"platform view", mdm.AllTenants}} {
		got, err := ob.Get(f.ctx, tc.tenant, m.ID)
		if err != nil || diff(want, *got) != "" {
			t.Errorf("Get(%s) = %+v, %v; want %+v", tc.name, got, err, want)
			continue
		}
		wantUTC(t, "Get", got.NextAttemptAt, got.CreatedAt)
	}
	_, err := ob.Get(f.ctx, f.B.ID, m.ID)
	wantCode(t, "Get(B, A's message)", err, mdm.NotFound)
	_, err = ob.Get(f.ctx, f.A.ID, b1.ID)
	wantCode(t, "Get(A, B's message)", err, mdm.NotFound)
	_, err = ob.Get(f.ctx, f.A.ID, p1.ID)
	wantCode(t, "Get(A, platform message)", err, mdm.NotFound)
	_, err = ob.Get(f.ctx, mdm.AllTenants, p1.ID+1000)
	wantCode(t, "Get(unknown)", err, mdm.NotFound)

	all := []mdm.MailMessage{want, a2, b1, p1}
	eq := func(field string, v any) mdm.Compare { return mdm.Compare{Field: field, Op: mdm.Eq, Value: v} }
	byID := []mdm.SortField{{Field: "id"}}
	tests := []struct {
		name   string
		tenant mdm.TenantID
		opts   mdm.ListOptions
		want   []mdm.MailMessage
		total  int // when more than len(want)
	}{
		{"A", f.A.ID, mdm.ListOptions{Sort: byID}, []mdm.MailMessage{want, a2}, 0},
		{"B", f.B.ID, mdm.ListOptions{Sort: byID}, []mdm.MailMessage{b1}, 0},
		{"all", mdm.AllTenants, mdm.ListOptions{Sort: byID}, all, 0},
		{"all, newest id first", mdm.AllTenants, mdm.ListOptions{Rows: 2, Sort: []mdm.SortField{{Field: "id", Desc: true}}}, []mdm.MailMessage{p1, b1}, len(all)},
		{"A by recipient", f.A.ID, mdm.ListOptions{Filter: eq("to", "ANN@*")}, []mdm.MailMessage{want}, 0},
		{"B by recipient", f.B.ID, mdm.ListOptions{Filter: eq("to", "ann@*")}, []mdm.MailMessage{b1}, 0},
		{"B asking for A's tenantId", f.B.ID, mdm.ListOptions{Filter: eq("tenantId", string(f.A.ID))}, nil, 0},
		{"B or A's id", f.B.ID, mdm.ListOptions{Sort: byID, Filter: mdm.Or{eq("id", m.ID), eq("status", "queued")}}, []mdm.MailMessage{b1}, 0},
		{"all, template and status", mdm.AllTenants, mdm.ListOptions{Sort: byID, Filter: mdm.And{eq("template", "activation"), eq("status", "QUEUED")}}, all, 0},
		{"all, not A", mdm.AllTenants, mdm.ListOptions{Sort: byID, Filter: mdm.Not{Term: eq("tenantId", string(f.A.ID))}}, []mdm.MailMessage{b1, p1}, 0},
		{"query subject", f.A.ID, mdm.ListOptions{Query: "activate"}, []mdm.MailMessage{want}, 0},
		{"B: query for A's subject", f.B.ID, mdm.ListOptions{Query: "activate"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Rows == 0 {
				tc.opts.Rows = 50
			}
			page, err := ob.List(f.ctx, tc.tenant, tc.opts)
			must(t, "List", err)
			if d := diff(tc.want, page.Items); d != "" {
				t.Errorf("messages (-want +got):\n%s", d)
			}
			// Only the paged case has more matches than items.
			wantTotal := max(len(tc.want), tc.total)
			if page.TotalCount != wantTotal {
				t.Errorf("TotalCount = %d, want %d", page.TotalCount, wantTotal)
			}
		})
	}
}

func testOutboxClaim(t *testing.T, f *fixture) {
	ob := f.s.Outbox()
	now := f.now
	past := f.mail(t, f.A.ID, "a@a.example", now.Add(-time.Minute))
	due := f.mail(t, f.B.ID, "b@b.example", now)
	future := f.mail(t, f.A.ID, "later@a.example", now.Add(time.Hour))

	lease := now.Add(5 * time.Minute)
	got, err := ob.Claim(f.ctx, now, lease, 10)
	must(t, "Claim", err)
	want := []mdm.MailMessage{past, due}
	for i := range want {
		want[i].Status, want[i].Attempts = mdm.MailSending, 1
	}
	if d := diff(want, sortByID(got)); d != "" {
		t.Fatalf("first Claim (-want +got):\n%s", d)
	}
	// The claim is visible through Get, and each tenant still sees only its own message.
	if m, err := ob.Get(f.ctx, f.B.ID, due.ID); err != nil || m.Status != mdm.MailSending || m.Attempts != 1 {
		t.Errorf("B's claimed message = %+v, %v; want SENDING after 1 attempt", m, err)
	}
	_, err = ob.Get(f.ctx, f.B.ID, past.ID)
	wantCode(t, "Get(B, A's claimed message)", err, mdm.NotFound)

	// Leased messages stay with their worker until the lease ends; the future one is not due yet.
	for _, at := range []time.Time{now, now.Add(time.Minute), lease.Add(-time.Millisecond)} {
		got, err := ob.Claim(f.ctx, at, at.Add(5*time.Minute), 10)
		must(t, "Claim during lease", err)
		if len(got) != 0 {
			t.Errorf("Claim at %v during the lease = %d messages, want none", at.Sub(now), len(got))
		}
	}

	// After the lease, another worker takes them over.
	after := lease.Add(time.Millisecond)
	got, err = ob.Claim(f.ctx, after, after.Add(5*time.Minute), 10)
	must(t, "Claim after lease", err)
	for i := range want {
		want[i].Attempts = 2
	}
	if d := diff(want, sortByID(got)); d != "" {
		t.Errorf("Claim after the lease (-want +got):\n%s", d)
	}

	// limit bounds a claim.
	at := future.NextAttemptAt.Add(time.Hour)
	got, err = ob.Claim(f.ctx, at, at.Add(time.Minute), 1)
	must(t, "Claim limit 1", err)
	if len(got) != 1 {
		t.Fatalf("Claim with limit 1 = %d messages, want 1", len(got))
	}
	rest, err := ob.Claim(f.ctx, at, at.Add(time.Minute), 10)
	must(t, "Claim the rest", err)
	if n := len(got) + len(rest); n != 3 {
		t.Errorf("claimed %d + %d messages once all are due, want 3 in all", len(got), len(rest))
	}
}

func testOutboxMark(t *testing.T, f *fixture) {
	ob := f.s.Outbox()
	now := f.now
	sent := f.mail(t, f.A.ID, "sent@a.example", now)
	retry := f.mail(t, f.B.ID, "retry@b.example", now)
	failed := f.mail(t, f.A.ID, "failed@a.example", now)
	bystander := f.mail(t, f.B.ID, "other@b.example", now.Add(24*time.Hour))
	lease := now.Add(time.Minute)
	got, err := ob.Claim(f.ctx, now, lease, 10)
	must(t, "Claim", err)
	if len(got) != 3 {
		t.Fatalf("Claim = %d messages, want 3", len(got))
	}

	sentAt := now.Add(10 * time.Second)
	must(t, "MarkSent", ob.MarkSent(f.ctx, sent.ID, sentAt))
	next := now.Add(10 * time.Minute)
	must(t, "MarkRetry", ob.MarkRetry(f.ctx, retry.ID, next, "451 try again later", false))
	must(t, "MarkRetry failed", ob.MarkRetry(f.ctx, failed.ID, now.Add(time.Hour), "550 no such user", true))

	wantSent := sent
	wantSent.Status, wantSent.Attempts, wantSent.SentAt = mdm.MailSent, 1, &sentAt
	wantRetry := retry
	wantRetry.Status, wantRetry.Attempts, wantRetry.NextAttemptAt, wantRetry.LastError = mdm.MailQueued, 1, next, "451 try again later"
	wantFailed := failed
	wantFailed.Status, wantFailed.Attempts, wantFailed.LastError = mdm.MailFailed, 1, "550 no such user"
	for _, tc := range []struct {
		tenant mdm.TenantID
		want   mdm.MailMessage
	}{{f.A.ID, wantSent}, {f.B.ID, wantRetry}, {f.A.ID, wantFailed}, {f.B.ID, bystander}} {
		got, err := ob.Get(f.ctx, tc.tenant, tc.want.ID)
		// A failed message keeps its last attempt time or takes the given one; either is fine.
		if tc.want.Status == mdm.MailFailed && err == nil {
			tc.want.NextAttemptAt = got.NextAttemptAt
		}
		if err != nil || diff(tc.want, *got) != "" {
			t.Errorf("Get(%s) = %+v, %v\nwant %+v", tc.want.To, got, err, tc.want)
		}
	}

	// A retry is not due before next, even though the old lease has ended; sent and failed mail never is.
	got, err = ob.Claim(f.ctx, next.Add(-time.Millisecond), next.Add(time.Hour), 10)
	must(t, "Claim before retry", err)
	if len(got) != 0 {
		t.Errorf("Claim before the retry time = %v, want none", ids(got))
	}
	got, err = ob.Claim(f.ctx, next, next.Add(time.Minute), 10)
	must(t, "Claim at retry", err)
	if d := diff([]int64{retry.ID}, ids(got)); d != "" {
		t.Errorf("Claim at the retry time (-want +got ids):\n%s", d)
	} else if got[0].Attempts != 2 || got[0].LastError != wantRetry.LastError {
		t.Errorf("retried message = %+v, want attempt 2 keeping its last error", got[0])
	}
	far := now.Add(48 * time.Hour)
	got, err = ob.Claim(f.ctx, far, far.Add(time.Minute), 10)
	must(t, "Claim much later", err)
	if d := diff([]int64{retry.ID, bystander.ID}, ids(sortByID(got))); d != "" {
		t.Errorf("Claim much later (-want +got ids):\n%s", d)
	}
	for _, id := range []int64{sent.ID, failed.ID} {
		if m := f.getMail(t, id); m.Status == mdm.MailSending {
			t.Errorf("message %s was claimed again after it was %s", m.To, m.Status)
		}
	}
}

func ids(ms []mdm.MailMessage) []int64 {
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func testOutboxConcurrentClaim(t *testing.T, f *fixture) {
	const messages, workers, batch = 40, 4, 3
	want := map[int64]bool{}
	for i := range messages {
		tenant := f.A.ID
		if i%2 == 1 {
			tenant = f.B.ID
		}
		m := f.mail(t, tenant, "user@example.com", f.now.Add(time.Duration(-i)*time.Second))
		want[m.ID] = true
	}

	// Workers claim in small batches until the queue is empty; every message must go to exactly one.
	claims := make([][]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for {
				got, err := f.s.Outbox().Claim(f.ctx, f.now, f.now.Add(time.Hour), batch)
				if err != nil {
					errs[w] = err
					return
				}
				if len(got) > batch {
					errs[w] = mdm.Errorf(mdm.Internal, "claimed %d messages with limit %d", len(got), batch)
					return
				}
				if len(got) == 0 {
					return
				}
				claims[w] = append(claims[w], ids(got)...)
			}
		})
	}
	close(start)
	wg.Wait()

	owner := map[int64]int{}
	for w, claimed := range claims {
		if errs[w] != nil {
			t.Errorf("worker %d: %v", w, errs[w])
		}
		for _, id := range claimed {
			if prev, dup := owner[id]; dup {
				t.Errorf("message %d claimed by workers %d and %d", id, prev, w)
			}
			owner[id] = w
		}
	}
	for id := range want {
		if _, ok := owner[id]; !ok {
			t.Errorf("message %d was never claimed", id)
		}
	}
	if len(owner) != len(want) {
		t.Errorf("claimed %d distinct messages, want %d", len(owner), len(want))
	}
	// Each was claimed once, so each records one attempt; tenants still list only their own half.
	for _, tn := range []mdm.TenantID{f.A.ID, f.B.ID} {
		page, err := f.s.Outbox().List(f.ctx, tn, mdm.ListOptions{Rows: 100})
		must(t, "List", err)
		if page.TotalCount != messages/2 {
			t.Errorf("tenant %s lists %d messages, want %d", tn, page.TotalCount, messages/2)
		}
		for _, m := range page.Items {
			if m.TenantID != tn || m.Attempts != 1 || m.Status != mdm.MailSending {
				t.Errorf("tenant %s lists message %d of %s, status %s after %d attempts; want its own, SENDING after 1", tn, m.ID, m.TenantID, m.Status, m.Attempts)
			}
		}
	}
}
