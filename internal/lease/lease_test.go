package lease_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"steward/internal/lease"
	"steward/internal/store/sqlstore"
)

// TestJob: of two replicas, the one holding the lease runs the job once per interval and the other
// not at all, until the holder stops renewing and its lease expires; a failed run is not recorded, so
// the next check runs it again; a run under way in this process is not overlapped.
func TestJob(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := lease.New(store.Leases(), "test.job", "a", time.Hour, clock)
	b := lease.New(store.Leases(), "test.job", "b", time.Hour, clock)
	runs := map[string]int{}
	job := func(name string) func(context.Context) error {
		return func(context.Context) error { runs[name]++; return nil }
	}
	step := func(j *lease.Job, name string, want bool) {
		t.Helper()
		ran, err := j.RunIfDue(ctx, job(name))
		if err != nil || ran != want {
			t.Fatalf("at %s %s ran = %v, %v; want %v", now.Format(time.TimeOnly), name, ran, err, want)
		}
	}
	step(a, "a", true)  // free: a takes it and runs
	step(b, "b", false) // a holds it
	step(a, "a", false) // not due yet
	now = now.Add(time.Hour)
	step(b, "b", false)
	step(a, "a", true) // due, and a renews its lease at every check
	now = now.Add(30 * time.Minute)
	step(a, "a", false)
	// a stops; its lease (taken for two hours at most) expires and b takes over.
	now = now.Add(2*time.Hour + time.Second)
	step(b, "b", true)
	step(a, "a", false)
	if runs["a"] != 2 || runs["b"] != 1 {
		t.Errorf("runs %v, want a twice and b once", runs)
	}

	// A failed run is not recorded: the next check runs again.
	now = now.Add(time.Hour)
	if ran, err := b.RunIfDue(ctx, func(context.Context) error { return errors.New("smtp down") }); !ran || err == nil {
		t.Errorf("failing run: %v, %v", ran, err)
	}
	step(b, "b", true)

	// In one process, a check while a run is under way does nothing.
	now = now.Add(time.Hour)
	inside := false
	_, err = b.RunIfDue(ctx, func(context.Context) error {
		ran, err := b.RunIfDue(ctx, job("nested"))
		inside = ran || err != nil
		return nil
	})
	if err != nil || inside || runs["nested"] != 0 {
		t.Errorf("a run overlapped another: %v %v", inside, err)
	}
}
