package mdm

import (
	"context"
	"time"
)

// LeaseStore keeps the job leases that let one replica of several on a database run a background job
// at a time. AcquireLease takes or renews the named lease for holder until until, when it is free,
// expired (at now) or already the holder's; it reports whether holder holds it. LeaseRan records and
// LastRun reads when the lease's job last completed (the zero time when it never did).
type LeaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	LeaseRan(ctx context.Context, name string, at time.Time) error
	LastRun(ctx context.Context, name string) (time.Time, error)
}
