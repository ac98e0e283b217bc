package compliance

import (
	"context"
	"fmt"
	"slices"
	"time"

	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/mdm"
)

// sweepLease names the sweep's row in the job lease table.
const sweepLease = "compliance.sweep"

// sweepBatch is how many devices the sweep reads at once; writeBatch how many devices' changes it
// writes in one transaction.
const (
	sweepBatch = 1000
	writeBatch = 1000
)

// pending is a device whose evaluation changes something.
type pending struct {
	d       *mdm.Device
	verdict map[mdm.PolicyID]bool
	known   []mdm.PolicyViolation
}

// applyMany writes the changes of several devices of one tenant in one transaction (see applyBatch).
// When another evaluation raced one of them (conflict), the transaction is dropped and each device is
// written on its own.
func (s *Service) applyMany(ctx context.Context, ps []compiled, todo []pending, now time.Time) (int, error) {
	var rs []applied
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		var err error
		rs, err = s.applyBatch(ctx, tx, ps, todo, now)
		return err
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

// rowChanges is what apply would write for one device whose changes are rows only: no message, no
// email, no quarantine or release.
type rowChanges struct {
	creates []mdm.PolicyViolation
	updates []mdm.PolicyViolation // compare-and-set on the Done list at the same index of befores
	befores [][]int
	deletes []mdm.ViolationKey
	audits  []audit.Entry
	changes []mdm.ComplianceChange
}

// applyBatch does in tx what apply does for each device of todo (all of one tenant), reading the stored
// violations and compliance fields of all of them at once and writing the new violations, the ended
// ones, the compliance fields and the audit records of all of them in one statement each. A device
// whose change does more than write rows (MESSAGE or QUARANTINE actions, the email that a violation
// ended, a release) goes through apply on its own, in the same transaction. Every write stays
// conditional on what was read, so a race with another evaluation fails the batch with conflict.
func (s *Service) applyBatch(ctx context.Context, tx mdm.Stores, ps []compiled, todo []pending, now time.Time) ([]applied, error) {
	rs := make([]applied, len(todo))
	if len(todo) == 0 {
		return rs, nil
	}
	tenantID := todo[0].d.TenantID
	ids := make([]mdm.DeviceID, len(todo))
	for i, w := range todo {
		ids[i] = w.d.ID
	}
	rows, err := tx.Policies().Violations(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	stored := map[mdm.DeviceID][]mdm.PolicyViolation{}
	for _, r := range rows {
		stored[r.DeviceID] = append(stored[r.DeviceID], r)
	}
	devs, err := tx.Policies().DevicesByID(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	cur := make(map[mdm.DeviceID]*mdm.Device, len(devs))
	for i := range devs {
		cur[devs[i].ID] = &devs[i]
	}
	live := map[mdm.PolicyID]bool{}
	for _, p := range ps {
		live[p.ID] = true
	}
	var all rowChanges
	for i, w := range todo {
		c, ok := cur[w.d.ID]
		if !ok {
			// Gone meanwhile: apply on its own says so as it always did.
			return nil, mdm.Errorf(mdm.Conflict, "a device was deleted meanwhile")
		}
		existing := byPolicy(stored[w.d.ID])
		for id := range existing {
			if !live[id] {
				delete(existing, id)
			}
		}
		rc, st, ok := rowsOnly(w.d, c, ps, w.verdict, existing, now)
		if !ok {
			if rs[i], err = s.apply(ctx, tx, w.d, ps, w.verdict, now); err != nil {
				return nil, err
			}
			continue
		}
		rs[i].standing = st
		all.creates = append(all.creates, rc.creates...)
		all.updates = append(all.updates, rc.updates...)
		all.befores = append(all.befores, rc.befores...)
		all.deletes = append(all.deletes, rc.deletes...)
		all.audits = append(all.audits, rc.audits...)
		all.changes = append(all.changes, rc.changes...)
	}
	return rs, s.writeRows(ctx, tx, tenantID, all, now)
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

// rowsOnly plans, like apply, what verdict changes for d given its stored violations (existing, of live
// policies) and its stored fields (cur). It reports false when the change does more than write rows.
// st is the device's new compliance fields when they change.
func rowsOnly(d, cur *mdm.Device, ps []compiled, verdict map[mdm.PolicyID]bool, existing map[mdm.PolicyID]mdm.PolicyViolation,
	now time.Time) (rc rowChanges, st *mdm.DeviceCompliance, ok bool) {
	created := map[mdm.PolicyID]int{} // index in rc.creates
	entry := func(action string, details map[string]any) {
		rc.audits = append(rc.audits, audit.Entry{TenantID: d.TenantID, Action: action, TargetType: "device",
			TargetID: fmt.Sprint(d.ID), Details: details})
	}
	for _, step := range plan(ps, verdict, existing, now) {
		p := step.policy
		switch step.kind {
		case "violate":
			row := mdm.PolicyViolation{TenantID: d.TenantID, DeviceID: d.ID, PolicyID: p.ID, Since: now, Done: []int{}, CheckedAt: now}
			created[p.ID] = len(rc.creates)
			rc.creates = append(rc.creates, row)
			existing[p.ID] = row
			entry("compliance.violation", map[string]any{"policyId": p.ID, "policy": p.Name})
		case "resolve":
			row := existing[p.ID]
			for _, i := range row.Done {
				if i < len(p.Actions) && p.Actions[i].Kind == mdm.ActionMessage && p.Actions[i].Email {
					return rc, nil, false
				}
			}
			rc.deletes = append(rc.deletes, mdm.ViolationKey{DeviceID: d.ID, PolicyID: p.ID})
			delete(existing, p.ID)
			entry("compliance.resolved", map[string]any{"policyId": p.ID, "policy": p.Name, "since": row.Since.UnixMilli()})
		case "act":
			a := p.Actions[step.action]
			if a.Kind != mdm.ActionMonitor {
				return rc, nil, false
			}
			row := existing[p.ID]
			before := slices.Clone(row.Done)
			row.Done = append(slices.Clone(row.Done), step.action)
			slices.Sort(row.Done)
			row.CheckedAt = now
			existing[p.ID] = row
			if i, ok := created[p.ID]; ok {
				rc.creates[i] = row
			} else {
				rc.updates = append(rc.updates, row)
				rc.befores = append(rc.befores, before)
			}
			entry("compliance.action", map[string]any{"policyId": p.ID, "policy": p.Name,
				"action": a.Kind, "afterMinutes": a.AfterMinutes, "email": a.Email, "push": a.Push})
		}
	}
	c := standing(ps, existing)
	if c.Quarantined != cur.Quarantined {
		return rc, nil, false
	}
	if !sameStanding(cur, c) {
		rc.changes = append(rc.changes, mdm.ComplianceChange{DeviceID: d.ID, Compliance: c, WasQuarantined: cur.Quarantined})
		st = &c
	}
	return rc, st, true
}

// writeRows writes the changes applyBatch collected, one statement per kind (the compare-and-set
// updates of violations, which only grace periods coming due make, one by one).
func (s *Service) writeRows(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, rc rowChanges, now time.Time) error {
	if len(rc.creates) > 0 {
		if err := tx.Policies().CreateViolations(ctx, rc.creates); err != nil {
			return err
		}
	}
	for i, row := range rc.updates {
		if err := tx.Policies().UpdateViolation(ctx, row, rc.befores[i]); err != nil {
			return err
		}
	}
	if len(rc.deletes) > 0 {
		if err := tx.Policies().DeleteViolations(ctx, tenantID, rc.deletes); err != nil {
			return err
		}
	}
	if len(rc.changes) > 0 {
		if err := tx.Policies().SetDevicesCompliance(ctx, tenantID, rc.changes, now); err != nil {
			return err
		}
	}
	return audit.WriteAll(ctx, tx.Audit(), now, rc.audits)
}
