// Package lease runs a background job on one replica at a time when several serve one database, at
// most once per interval, through the job's row in the lease table (mdm.LeaseStore).
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"steward/internal/mdm"
)

// Job is one named background job.
type Job struct {
	store  mdm.LeaseStore
	name   string
	holder string
	every  time.Duration
	now    func() time.Time

	running sync.Mutex // one run at a time in this process too: the lease is the replica's
}

// New returns the job called name, due every every. holder names this replica in the lease; "" makes
// a random name (one per job is enough: leases are per job). now nil is time.Now.
func New(store mdm.LeaseStore, name, holder string, every time.Duration, now func() time.Time) *Job {
	if holder == "" {
		holder = Holder()
	}
	if now == nil {
		now = time.Now
	}
	return &Job{store: store, name: name, holder: holder, every: every, now: now}
}

// Holder returns a fresh replica name.
func Holder() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "replica-" + hex.EncodeToString(b)
}

// CheckEvery is how often a replica should call RunIfDue: often enough that a lease is renewed well
// before it expires, and that the job runs close to its interval.
func (j *Job) CheckEvery() time.Duration { return max(j.every/5, time.Second) }

// hold is how long a taken lease lasts: several checks, so that the holder keeps it from one run to
// the next, and capped so that when the holder stops another replica takes over within about an hour
// past the interval.
func (j *Job) hold() time.Duration { return min(3*j.every, j.every+time.Hour) }

// RunIfDue runs f when this replica holds the job's lease (taking it when it is free or expired,
// renewing it when it is this replica's) and the last completed run is at least one interval old; the
// time of a run that succeeded is recorded in the database, so a restart neither runs early nor late.
// It reports whether f ran. A call while another of this replica's runs is under way does nothing.
func (j *Job) RunIfDue(ctx context.Context, f func(context.Context) error) (bool, error) {
	if !j.running.TryLock() {
		return false, nil
	}
	defer j.running.Unlock()
	now := j.now()
	ok, err := j.store.AcquireLease(ctx, j.name, j.holder, now, now.Add(j.hold()))
	if err != nil || !ok {
		return false, err
	}
	last, err := j.store.LastRun(ctx, j.name)
	if err != nil {
		return false, err
	}
	if !last.IsZero() && now.Sub(last) < j.every {
		return false, nil
	}
	if err := f(ctx); err != nil {
		return true, err
	}
	return true, j.store.LeaseRan(ctx, j.name, j.now())
}
