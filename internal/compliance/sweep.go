package compliance

import (
	"context"
	"slices"
	"time"

	"steward/internal/assign"
	"steward/internal/mdm"
)

// sweepLease names the sweep's row in the job lease table.
const sweepLease = "compliance.sweep"

// sweepBatch is how many devices the sweep reads at once; writeBatch how many devices' changes it
// writes in one transaction.
const (
	sweepBatch = 500
	writeBatch = 100
)

// pending is a device whose evaluation changes something.
type pending struct {
	d       *mdm.Device
	verdict map[mdm.PolicyID]bool
	known   []mdm.PolicyViolation
}

// applyMany writes the changes of several devices in one transaction. When another evaluation raced
// one of them (conflict), the transaction is dropped and each device is written on its own.
func (s *Service) applyMany(ctx context.Context, ps []compiled, todo []pending, now time.Time) (int, error) {
	rs := make([]applied, len(todo))
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		for i, w := range todo {
			var err error
			if rs[i], err = s.apply(ctx, tx, w.d, ps, w.verdict, now); err != nil {
				return err
			}
		}
		return nil
	})
	if mdm.IsCode(err, mdm.Conflict) {
		n := 0
		for _, w := range todo {
			changed, err := s.evaluateDevice(ctx, w.d, ps, w.verdict, w.known)
			if err != nil {
				return n, err
			}
			if changed {
				n++
			}
		}
		return n, nil
	}
	if err != nil {
		return 0, err
	}
	for i, w := range todo {
		s.after(ctx, w.d, rs[i])
	}
	return len(todo), nil
}

// Run sweeps every interval until ctx ends. Before each sweep it takes the sweep's lease in the
// database (held for three intervals, renewed at each sweep), so that of several replicas on one
// database one sweeps and the others wait; when the holder stops, another takes over once the lease
// expires. The time of the last completed sweep is kept in the database too, so a restart does not
// sweep early or late.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(max(s.interval/5, time.Second))
	defer t.Stop()
	for {
		if _, err := s.SweepIfDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "compliance sweep", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepIfDue sweeps when this replica holds the lease and the last sweep is at least one interval old.
// It reports whether it swept.
func (s *Service) SweepIfDue(ctx context.Context) (bool, error) {
	return s.sweepJob.RunIfDue(ctx, func(ctx context.Context) error {
		_, err := s.Sweep(ctx)
		return err
	})
}

// SweepStats says what a sweep did.
type SweepStats struct {
	Devices int // devices evaluated
	Changed int // devices whose violations or compliance fields changed
}

// Sweep evaluates every policy on every device of every tenant that has policies, sweepBatch devices
// at a time: rules that measure time (out of contact) change without a check-in, and actions with a
// grace period come due. A device whose state is already right costs reads only.
func (s *Service) Sweep(ctx context.Context) (SweepStats, error) {
	var st SweepStats
	tenants, err := s.store.Policies().TenantsWithPolicies(ctx)
	if err != nil {
		return st, err
	}
	for _, tenantID := range tenants {
		if err := s.sweepTenant(ctx, tenantID, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (s *Service) sweepTenant(ctx context.Context, tenantID mdm.TenantID, st *SweepStats) error {
	all, err := s.store.Policies().All(ctx, tenantID)
	if err != nil {
		return err
	}
	ps := s.compile(ctx, tenantID, all)
	needApps, needTargets := false, scoped(ps)
	for _, p := range ps {
		needApps = needApps || p.apps
	}
	every := func(*compiled) bool { return true }
	res := assign.NewResolver(s.store)
	var after mdm.DeviceID
	for {
		items, err := s.store.Policies().DevicesAfter(ctx, tenantID, after, sweepBatch)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		ids := make([]mdm.DeviceID, len(items))
		for i, d := range items {
			ids[i] = d.ID
		}
		after = ids[len(ids)-1]
		rows, err := s.store.Policies().Violations(ctx, tenantID, ids)
		if err != nil {
			return err
		}
		known := map[mdm.DeviceID][]mdm.PolicyViolation{}
		for _, r := range rows {
			known[r.DeviceID] = append(known[r.DeviceID], r)
		}
		var targets map[mdm.DeviceID]mdm.Targets
		if needTargets {
			if targets, err = res.TargetsForDevices(ctx, tenantID, items); err != nil {
				return err
			}
		}
		now := s.now()
		var todo []pending
		for i := range items {
			d := &items[i]
			var apps []mdm.InstalledApp
			if needApps && d.AppCount > 0 {
				if apps, err = s.store.Devices().Apps(ctx, tenantID, d.ID); err != nil {
					return err
				}
			}
			st.Devices++
			v := s.verdicts(ctx, d, apps, targets[d.ID], ps, every, now)
			if needsWrite(d, ps, v, known[d.ID], now) {
				todo = append(todo, pending{d: d, verdict: v, known: known[d.ID]})
			}
		}
		for chunk := range slices.Chunk(todo, writeBatch) {
			n, err := s.applyMany(ctx, ps, chunk, now)
			if err != nil {
				return err
			}
			st.Changed += n
		}
		if len(items) < sweepBatch {
			return nil
		}
	}
}
