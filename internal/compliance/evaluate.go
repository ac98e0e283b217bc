package compliance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/policy"
)

// compiled is a policy with its parsed rule.
type compiled struct {
	mdm.Policy
	rule *policy.Rule
	apps bool // the rule reads installed apps
}

// compile parses the rules of the tenant's policies. A stored rule that no longer parses (a language
// change) makes its policy inert, and is logged.
func (s *Service) compile(ctx context.Context, tenantID mdm.TenantID, ps []mdm.Policy) []compiled {
	out := make([]compiled, 0, len(ps))
	for _, p := range ps {
		r, err := policy.Parse(p.Rule)
		if err != nil {
			s.log.ErrorContext(ctx, "stored policy rule does not parse", "tenant_id", string(tenantID), "policy_id", int64(p.ID), "err", err.Error())
			continue
		}
		c := compiled{Policy: p, rule: r}
		for _, f := range r.Fields() {
			if strings.HasPrefix(f, "app.") {
				c.apps = true
			}
		}
		out = append(out, c)
	}
	return out
}

// inScope reports whether p applies to d (targets: the groups d and its owner are in).
func (c *compiled) inScope(d *mdm.Device, t mdm.Targets) bool {
	if !c.Enabled || d.RegistrationState == mdm.StateRetired || d.RegistrationState == mdm.StateWiped {
		return false
	}
	if len(c.Platforms) > 0 && !slices.Contains(c.Platforms, d.Platform) {
		return false
	}
	if len(c.DeviceGroups) == 0 && len(c.UserGroups) == 0 {
		return true
	}
	for _, g := range t.DeviceGroups {
		if slices.Contains(c.DeviceGroups, g) {
			return true
		}
	}
	for _, g := range t.UserGroups {
		if slices.Contains(c.UserGroups, g) {
			return true
		}
	}
	return false
}

func scoped(ps []compiled) bool {
	for _, p := range ps {
		if len(p.DeviceGroups) > 0 || len(p.UserGroups) > 0 {
			return true
		}
	}
	return false
}

// verdicts evaluates the picked policies on d: policy id → violates.
func (s *Service) verdicts(ctx context.Context, d *mdm.Device, apps []mdm.InstalledApp, t mdm.Targets, ps []compiled, pick func(*compiled) bool, now time.Time) map[mdm.PolicyID]bool {
	out := map[mdm.PolicyID]bool{}
	in := policy.InputFor(d, apps, now)
	for i := range ps {
		p := &ps[i]
		if !pick(p) {
			continue
		}
		if !p.inScope(d, t) {
			out[p.ID] = false
			continue
		}
		v, err := p.rule.Evaluate(in)
		if err != nil {
			s.log.ErrorContext(ctx, "evaluating a policy", "tenant_id", string(d.TenantID), "policy_id", int64(p.ID), "err", err.Error())
			continue
		}
		out[p.ID] = v
	}
	return out
}

// step is one change evaluation makes to a device's violations.
type step struct {
	kind   string // "violate", "resolve", "act"
	policy *compiled
	action int
}

// plan lists what must change given the verdicts and the stored violations of the device.
func plan(ps []compiled, verdict map[mdm.PolicyID]bool, existing map[mdm.PolicyID]mdm.PolicyViolation, now time.Time) []step {
	var steps []step
	for i := range ps {
		p := &ps[i]
		v, evaluated := verdict[p.ID]
		row, has := existing[p.ID]
		switch {
		case evaluated && !v && has:
			steps = append(steps, step{kind: "resolve", policy: p})
			continue
		case evaluated && v && !has:
			steps = append(steps, step{kind: "violate", policy: p})
			row = mdm.PolicyViolation{Since: now}
		case has && (!evaluated || v):
			// still violating (or not evaluated now): run the actions that came due
		default:
			continue
		}
		for a, act := range p.Actions {
			if !slices.Contains(row.Done, a) && !now.Before(row.Since.Add(time.Duration(act.AfterMinutes)*time.Minute)) {
				steps = append(steps, step{kind: "act", policy: p, action: a})
			}
		}
	}
	return steps
}

// standing computes the device's compliance fields from its violations.
func standing(ps []compiled, rows map[mdm.PolicyID]mdm.PolicyViolation) mdm.DeviceCompliance {
	c := mdm.DeviceCompliance{Violated: []string{}}
	for _, p := range ps {
		if r, ok := rows[p.ID]; ok {
			c.Violated = append(c.Violated, p.Name)
			c.Quarantined = c.Quarantined || r.Quarantined
		}
	}
	c.Compliant = len(c.Violated) == 0
	return c
}

func sameStanding(d *mdm.Device, c mdm.DeviceCompliance) bool {
	return d.ComplianceState == c.Compliant && d.Quarantined == c.Quarantined && d.PolicyViolationCount == len(c.Violated) &&
		slices.Equal(orEmpty(d.ViolatedPolicies), c.Violated)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func byPolicy(rows []mdm.PolicyViolation) map[mdm.PolicyID]mdm.PolicyViolation {
	m := make(map[mdm.PolicyID]mdm.PolicyViolation, len(rows))
	for _, r := range rows {
		m[r.PolicyID] = r
	}
	return m
}

// evaluateDevice applies verdicts to d: when the plan is empty and d's fields are accurate it writes
// nothing; otherwise, in one transaction, it records new violations, runs due actions, resolves
// violations that ended and writes d's compliance fields, with an audit record for each. The stored
// violations are re-read in the transaction and every change is conditional on them, so two
// evaluations of one device at once (a check-in and the sweep on another replica) run each action
// once: the later one's transaction fails with conflict and is dropped.
func (s *Service) evaluateDevice(ctx context.Context, d *mdm.Device, ps []compiled, verdict map[mdm.PolicyID]bool, known []mdm.PolicyViolation) (bool, error) {
	now := s.now()
	if !needsWrite(d, ps, verdict, known, now) {
		return false, nil
	}
	var r applied
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		var err error
		r, err = s.apply(ctx, tx, d, ps, verdict, now)
		return err
	})
	if mdm.IsCode(err, mdm.Conflict) {
		// Another evaluation of this device changed its violations first; it ran what was due.
		s.log.DebugContext(ctx, "compliance evaluation raced another", "tenant_id", string(d.TenantID), "device_id", int64(d.ID))
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.after(ctx, d, r)
	return true, nil
}

// needsWrite reports whether applying verdicts to d would change anything: a violation to record or
// resolve, an action due, or compliance fields of d that do not match its violations.
func needsWrite(d *mdm.Device, ps []compiled, verdict map[mdm.PolicyID]bool, known []mdm.PolicyViolation, now time.Time) bool {
	existing := byPolicy(known)
	return len(plan(ps, verdict, existing, now)) > 0 || !sameStanding(d, standing(ps, existing))
}

// applied is what apply did that matters after the commit.
type applied struct {
	mailed, pushed bool
	standing       *mdm.DeviceCompliance // the device's new compliance fields; nil when unchanged
}

// after updates d and wakes the mail worker and the device once the transaction committed.
func (s *Service) after(ctx context.Context, d *mdm.Device, r applied) {
	if c := r.standing; c != nil {
		d.ComplianceState, d.Quarantined, d.PolicyViolationCount, d.ViolatedPolicies = c.Compliant, c.Quarantined, len(c.Violated), c.Violated
	}
	if r.mailed {
		s.mailed()
	}
	if r.pushed && s.wake != nil {
		s.wake(ctx, d.TenantID, []mdm.DeviceID{d.ID})
	}
}

// apply writes, in tx, what verdicts change for d. It re-reads the stored violations and every change is
// conditional on them, so two evaluations of one device at once run each action once: the later one
// fails with conflict.
func (s *Service) apply(ctx context.Context, tx mdm.Stores, d *mdm.Device, ps []compiled, verdict map[mdm.PolicyID]bool, now time.Time) (applied, error) {
	var r applied
	removeApps := false // a quarantine that begins now removes managed apps too
	live := map[mdm.PolicyID]bool{}
	for _, p := range ps {
		live[p.ID] = true
	}
	rows, err := tx.Policies().Violations(ctx, d.TenantID, []mdm.DeviceID{d.ID})
	if err != nil {
		return r, err
	}
	existing := byPolicy(rows)
	for id := range existing {
		if !live[id] { // a policy deleted meanwhile: Delete removed its rows
			delete(existing, id)
		}
	}
	for _, st := range plan(ps, verdict, existing, now) {
		p := st.policy
		switch st.kind {
		case "violate":
			row := mdm.PolicyViolation{TenantID: d.TenantID, DeviceID: d.ID, PolicyID: p.ID, Since: now, Done: []int{}, CheckedAt: now}
			if err := tx.Policies().CreateViolation(ctx, row); err != nil {
				return r, err
			}
			existing[p.ID] = row
			if err := s.audit(ctx, tx, d, "compliance.violation", now, map[string]any{"policyId": p.ID, "policy": p.Name}); err != nil {
				return r, err
			}
		case "resolve":
			row := existing[p.ID]
			if err := tx.Policies().DeleteViolation(ctx, d.TenantID, d.ID, p.ID); mdm.IsCode(err, mdm.NotFound) {
				return r, mdm.Errorf(mdm.Conflict, "the violation ended meanwhile")
			} else if err != nil {
				return r, err
			}
			delete(existing, p.ID)
			// A user who was emailed about the violation hears that it ended.
			for _, i := range row.Done {
				if i < len(p.Actions) && p.Actions[i].Kind == mdm.ActionMessage && p.Actions[i].Email {
					m, err := s.email(ctx, tx, d, p, mdm.PolicyAction{}, true)
					if err != nil {
						return r, err
					}
					r.mailed = r.mailed || m
					break
				}
			}
			if err := s.audit(ctx, tx, d, "compliance.resolved", now, map[string]any{"policyId": p.ID, "policy": p.Name,
				"since": row.Since.UnixMilli()}); err != nil {
				return r, err
			}
		case "act":
			row := existing[p.ID]
			before := slices.Clone(row.Done)
			a := p.Actions[st.action]
			m, pu, err := s.act(ctx, tx, d, p, a, now)
			if err != nil {
				return r, err
			}
			r.mailed, r.pushed = r.mailed || m, r.pushed || pu
			row.Done = append(slices.Clone(row.Done), st.action)
			slices.Sort(row.Done)
			row.Quarantined = row.Quarantined || a.Kind == mdm.ActionQuarantine
			removeApps = removeApps || a.RemoveApps
			row.CheckedAt = now
			if err := tx.Policies().UpdateViolation(ctx, row, before); err != nil {
				return r, err
			}
			existing[p.ID] = row
			if err := s.audit(ctx, tx, d, "compliance.action", now, map[string]any{"policyId": p.ID, "policy": p.Name,
				"action": a.Kind, "afterMinutes": a.AfterMinutes, "email": a.Email, "push": a.Push}); err != nil {
				return r, err
			}
		}
	}
	c := standing(ps, existing)
	// The device's fields as they are now (d may be older: another evaluation may have written them).
	cur, err := tx.Devices().Get(ctx, d.TenantID, d.ID)
	if err != nil {
		return r, err
	}
	if sameStanding(cur, c) {
		return r, nil
	}
	if err := tx.Policies().SetDeviceCompliance(ctx, d.TenantID, d.ID, c, cur.Quarantined, now); err != nil {
		return r, err
	}
	if c.Quarantined != cur.Quarantined {
		action := "device.quarantine"
		if !c.Quarantined {
			action = "device.release"
		}
		for _, q := range s.quarantiner {
			var err error
			if c.Quarantined {
				err = q.Quarantine(ctx, tx, d, removeApps)
			} else {
				err = q.Release(ctx, tx, d)
			}
			if err != nil {
				return r, err
			}
		}
		if err := s.audit(ctx, tx, d, action, now, map[string]any{"violatedPolicies": c.Violated}); err != nil {
			return r, err
		}
	}
	r.standing = &c
	return r, nil
}

func (s *Service) audit(ctx context.Context, tx mdm.Stores, d *mdm.Device, action string, now time.Time, details map[string]any) error {
	return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: d.TenantID, Action: action, TargetType: "device",
		TargetID: fmt.Sprint(d.ID), Details: details})
}

// act runs one action for d in tx. MONITOR only records (its audit record is the action); MESSAGE
// queues the Policy compliance action email to the owner and/or a pushed MESSAGE command (not to iOS
// devices, which show pushed messages only with an agent app); QUARANTINE is applied by the caller.
func (s *Service) act(ctx context.Context, tx mdm.Stores, d *mdm.Device, p *compiled, a mdm.PolicyAction, now time.Time) (mailed, pushed bool, err error) {
	if a.Kind != mdm.ActionMessage {
		return false, false, nil
	}
	if a.Email {
		if mailed, err = s.email(ctx, tx, d, p, a, false); err != nil {
			return false, false, err
		}
	}
	if a.Push && d.Platform != mdm.PlatformIOS {
		text := a.Message
		if a.Title != "" {
			text = a.Title + ": " + text
		}
		got, err := tx.Commands().Enqueue(ctx, d.TenantID, []mdm.DeviceID{d.ID}, []string{mdm.StateActive},
			mdm.NewCommand{Type: mdm.CmdMessage, Payload: map[string]string{"message": text}, CreatedBy: "compliance"}, now)
		if err != nil {
			return false, false, err
		}
		pushed = len(got) > 0
	}
	return mailed, pushed, nil
}

// email queues the Policy compliance action email to d's owner (when email is set up and the owner has
// an address): the violation with a's title and text, or (compliant) that it ended.
func (s *Service) email(ctx context.Context, tx mdm.Stores, d *mdm.Device, p *compiled, a mdm.PolicyAction, compliant bool) (bool, error) {
	if s.mailer == nil || d.OwnerEmail == "" {
		return false, nil
	}
	t, err := tx.Tenants().Get(ctx, d.TenantID)
	if err != nil {
		return false, err
	}
	name := d.Facts.DeviceName
	if name == "" {
		name = d.Facts.PrettyModel
	}
	if _, err := s.mailer.Enqueue(ctx, tx.Outbox(), d.TenantID, mail.TemplatePolicyCompliance, d.OwnerEmail,
		mail.PolicyComplianceData{TenantName: t.Name, FirstName: d.OwnerFirstName, DeviceName: name, PolicyName: p.Name,
			Compliant: compliant, Title: a.Title, Message: a.Message}); err != nil {
		return false, err
	}
	return true, nil
}

// InventoryChanged evaluates, after a check-in stored new facts or apps of d, the policies that read
// an input that changed (before is d as it was). It implements the devices package's watcher; errors
// are logged, never returned to the device.
func (s *Service) InventoryChanged(ctx context.Context, before, after *mdm.Device, appsChanged bool) {
	if err := s.inventoryChanged(ctx, before, after, appsChanged); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "compliance evaluation at check-in", "tenant_id", string(after.TenantID), "device_id", int64(after.ID), "err", err.Error())
	}
}

func (s *Service) inventoryChanged(ctx context.Context, before, after *mdm.Device, appsChanged bool) error {
	all, err := s.store.Policies().All(ctx, after.TenantID)
	if err != nil || len(all) == 0 {
		return err
	}
	now := s.now()
	changed := policy.Changed(policy.InputFor(before, nil, now), policy.InputFor(after, nil, now))
	ps := s.compile(ctx, after.TenantID, all)
	known, err := s.store.Policies().Violations(ctx, after.TenantID, []mdm.DeviceID{after.ID})
	if err != nil {
		return err
	}
	violated := byPolicy(known)
	// A device checking in is in contact: time-based violations it has are decided again too.
	pick := func(p *compiled) bool {
		_, v := violated[p.ID]
		return p.rule.Reads(changed) || appsChanged && p.apps || v && p.rule.UsesTime()
	}
	return s.evaluateOne(ctx, after, ps, pick, true)
}

// evaluateOne evaluates the picked policies of ps on d (read again from the store) and applies the
// result. checkingIn: d is checking in now, so its last check-in is now whatever the store says yet
// (last-seen times are written coalesced).
func (s *Service) evaluateOne(ctx context.Context, d *mdm.Device, ps []compiled, pick func(*compiled) bool, checkingIn bool) error {
	any := false
	needApps := false
	for i := range ps {
		if pick(&ps[i]) {
			any = true
			needApps = needApps || ps[i].apps
		}
	}
	if !any {
		return nil
	}
	fresh, err := s.store.Devices().Get(ctx, d.TenantID, d.ID)
	if err != nil {
		return err
	}
	if now := s.now(); checkingIn && fresh.LastCheckin.Before(now) {
		fresh.LastCheckin = now
	}
	var apps []mdm.InstalledApp
	if needApps {
		if apps, err = s.store.Devices().Apps(ctx, d.TenantID, d.ID); err != nil {
			return err
		}
	}
	var t mdm.Targets
	if scoped(ps) {
		if t, err = assign.NewResolver(s.store).TargetsForDevice(ctx, d.TenantID, fresh); err != nil {
			return err
		}
	}
	known, err := s.store.Policies().Violations(ctx, d.TenantID, []mdm.DeviceID{d.ID})
	if err != nil {
		return err
	}
	_, err = s.evaluateDevice(ctx, fresh, ps, s.verdicts(ctx, fresh, apps, t, ps, pick, s.now()), known)
	return err
}
