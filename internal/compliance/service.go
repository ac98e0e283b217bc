// Package compliance keeps compliance policies and enforces them: it evaluates a device's policies when
// an input they read changes (at check-in) and on a schedule (rules that measure time), records each
// (device, policy) violation once with when it began and which actions ran, runs the actions (monitor,
// message, quarantine) once each, escalating after their grace periods, and lifts them when the device
// is compliant again.
package compliance

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/lease"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/policy"
)

// Quarantiner is what quarantine does beyond the device's quarantined flag, which this package sets
// and clears itself. The configuration, app and content capabilities implement it:
//
//   - Quarantine: remove every configuration from the device except the MDM profile (Apple) or the
//     agent's management (Android); block the app and content catalogs and new app downloads; when
//     the policy asks (removeApps), remove managed apps and (Android) the distributed content.
//   - Release: restore what Quarantine removed — redeliver the device's configurations and managed
//     apps as their distributions say, and unblock the catalogs — so the device converges back.
//
// Both run in the transaction that changes the quarantined flag (tx), once per transition: Quarantine
// when the device's first quarantining violation begins (removeApps: a QUARANTINE action that began it
// asked for the removal of managed apps), Release when its last one ends or its policy is deleted or
// disabled. They must be idempotent, and Release must also work after a Quarantine that did nothing
// (an implementation added while devices are quarantined). Until the configuration and app capabilities
// register theirs with WithQuarantiner, quarantine is the flag, the audit records and the content
// catalog's refusal of a quarantined device.
type Quarantiner interface {
	Quarantine(ctx context.Context, tx mdm.Stores, d *mdm.Device, removeApps bool) error
	Release(ctx context.Context, tx mdm.Stores, d *mdm.Device) error
}

// Service is the compliance capability.
type Service struct {
	store       mdm.Store
	log         *slog.Logger
	now         func() time.Time
	mailer      *mail.Mailer
	mailed      func()
	wake        func(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID)
	quarantiner []Quarantiner
	holder      string
	interval    time.Duration
	sweepJob    *lease.Job
	portalURL   func(tenantID mdm.TenantID) string
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithMail lets MESSAGE actions email device owners; mailed wakes the mail worker.
func WithMail(m *mail.Mailer, mailed func()) Option {
	return func(s *Service) { s.mailer, s.mailed = m, mailed }
}

// WithWake wakes devices that were sent a pushed message.
func WithWake(f func(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID)) Option {
	return func(s *Service) { s.wake = f }
}

// WithQuarantiner adds what quarantine and release do to configurations and apps.
func WithQuarantiner(q Quarantiner) Option {
	return func(s *Service) { s.quarantiner = append(s.quarantiner, q) }
}

// WithSweep sets how often the sweep runs (default 5 minutes) and this replica's name in the sweep's
// lease.
func WithSweep(every time.Duration, holder string) Option {
	return func(s *Service) {
		if every > 0 {
			s.interval = every
		}
		if holder != "" {
			s.holder = holder
		}
	}
}

// New returns the service.
func New(store mdm.Store, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, log: log, now: time.Now, mailed: func() {}, interval: 5 * time.Minute,
		holder: fmt.Sprintf("replica-%d", time.Now().UnixNano())}
	for _, o := range opts {
		o(s)
	}
	s.sweepJob = lease.New(store.Leases(), sweepLease, s.holder, s.interval, s.now)
	return s
}

// Bounds.
const (
	maxName    = 200
	maxDesc    = 2000
	maxActions = 10
	maxText    = 4000
	maxGroups  = 100
)

// Input is a policy as a client gives it.
type Input struct {
	Name         string              `json:"name"`
	Description  string              `json:"description"`
	Type         string              `json:"type"`
	Params       map[string]string   `json:"params"`
	Rule         string              `json:"rule"` // CUSTOM
	Platforms    []string            `json:"platforms"`
	DeviceGroups []mdm.DeviceGroupID `json:"deviceGroups"`
	UserGroups   []mdm.GroupID       `json:"userGroups"`
	Priority     int                 `json:"priority"`
	Enabled      bool                `json:"enabled"`
	Actions      []ActionInput       `json:"actions"`
}

// ActionInput is a compliance action as a client gives it (see mdm.PolicyAction).
type ActionInput struct {
	Kind         string `json:"kind"`
	AfterMinutes int    `json:"afterMinutes"`
	Email        bool   `json:"email"`
	Push         bool   `json:"push"`
	Title        string `json:"title"`
	Message      string `json:"message"`
	RemoveApps   bool   `json:"removeApps"` // QUARANTINE
}

// build validates in and returns the policy it describes (without ids and times).
func build(in Input) (*mdm.Policy, error) {
	var v mdm.Validator
	name := strings.TrimSpace(in.Name)
	v.Check(name != "", "name", "Required", "give the policy a name")
	v.Check(mdm.CleanText(name) && len([]rune(name)) <= maxName, "name", "Size", fmt.Sprintf("must be at most %d characters", maxName))
	v.Check(mdm.CleanText(in.Description) && len([]rune(in.Description)) <= maxDesc, "description", "Size",
		fmt.Sprintf("must be at most %d characters", maxDesc))
	t := policy.Type(strings.ToUpper(strings.TrimSpace(in.Type)))
	v.Check(slices.Contains(policy.Types, t), "type", "Invalid", "must be one of "+typeList())
	for _, p := range in.Platforms {
		v.Check(p == mdm.PlatformIOS || p == mdm.PlatformAndroid, "platforms", "Invalid", "must be IOS or ANDROID")
	}
	v.Check(len(in.DeviceGroups) <= maxGroups && len(in.UserGroups) <= maxGroups, "deviceGroups", "Size",
		fmt.Sprintf("at most %d groups", maxGroups))
	v.Check(in.Priority >= 0 && in.Priority <= 1_000_000, "priority", "Range", "must be from 0 to 1000000")
	v.Check(len(in.Actions) >= 1, "actions", "Required", "choose at least one action (MONITOR records the violation only)")
	v.Check(len(in.Actions) <= maxActions, "actions", "Size", fmt.Sprintf("at most %d actions", maxActions))
	actions := make([]mdm.PolicyAction, 0, len(in.Actions))
	for i, ai := range in.Actions {
		f := fmt.Sprintf("actions[%d]", i)
		a := mdm.PolicyAction(ai)
		a.Kind = strings.ToUpper(strings.TrimSpace(a.Kind))
		a.Title, a.Message = strings.TrimSpace(a.Title), strings.TrimSpace(a.Message)
		v.Check(a.Kind == mdm.ActionMonitor || a.Kind == mdm.ActionMessage || a.Kind == mdm.ActionQuarantine, f+".kind", "Invalid",
			"must be MONITOR, MESSAGE or QUARANTINE")
		v.Check(a.AfterMinutes >= 0 && a.AfterMinutes <= 60*24*365, f+".afterMinutes", "Range", "must be from 0 to 525600")
		if a.Kind == mdm.ActionMessage {
			v.Check(a.Email || a.Push, f+".email", "Required", "choose email, push or both")
			v.Check(!a.Push || a.Message != "", f+".message", "Required", "give the message to push")
		} else {
			a.Email, a.Push, a.Title, a.Message = false, false, "", ""
		}
		a.RemoveApps = a.RemoveApps && a.Kind == mdm.ActionQuarantine
		v.Check(mdm.CleanText(a.Title) && len([]rune(a.Title)) <= maxName, f+".title", "Size", fmt.Sprintf("must be at most %d characters", maxName))
		v.Check(mdm.CleanText(a.Message) && len([]rune(a.Message)) <= maxText, f+".message", "Size", fmt.Sprintf("must be at most %d characters", maxText))
		actions = append(actions, a)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	params, pp, err := cleanParams(t, in.Params, in.Rule)
	if err != nil {
		return nil, err
	}
	rule, err := policy.Build(t, pp)
	if err != nil {
		field := "params"
		if t == policy.Custom {
			field = "rule"
		}
		return nil, ruleError(field, err)
	}
	platforms := slices.Compact(slices.Sorted(slices.Values(in.Platforms)))
	return &mdm.Policy{Name: name, Description: strings.TrimSpace(in.Description), Type: string(t), Params: params,
		Rule: rule.String(), Platforms: platforms, DeviceGroups: slices.Compact(slices.Sorted(slices.Values(in.DeviceGroups))),
		UserGroups: slices.Compact(slices.Sorted(slices.Values(in.UserGroups))), Priority: in.Priority, Enabled: in.Enabled,
		Actions: actions}, nil
}

func typeList() string {
	s := make([]string, len(policy.Types))
	for i, t := range policy.Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ruleError turns a policy language error into an invalid field error that keeps its position.
func ruleError(field string, err error) error {
	return &mdm.Error{Code: mdm.Invalid, Message: field + " " + err.Error(), Err: err,
		Fields: []mdm.FieldError{{Code: "Invalid", Message: err.Error(), Field: field}}}
}

// cleanParams keeps the parameters type t reads and converts them for policy.Build.
func cleanParams(t policy.Type, in map[string]string, rule string) (map[string]string, policy.Params, error) {
	out := map[string]string{}
	var p policy.Params
	get := func(k string) string { return strings.TrimSpace(in[k]) }
	switch t {
	case policy.OutOfContact:
		d, err := parseDuration(get("duration"))
		if err != nil {
			return nil, p, ruleError("params.duration", err)
		}
		p.Duration, out["duration"] = d, get("duration")
	case policy.OSVersionBelow, policy.OSVersionAbove:
		p.Platform, p.Version = strings.ToUpper(get("platform")), get("version")
		if p.Platform != "" && p.Platform != mdm.PlatformIOS && p.Platform != mdm.PlatformAndroid {
			return nil, p, ruleError("params.platform", fmt.Errorf("must be IOS, ANDROID or empty"))
		}
		out["platform"], out["version"] = p.Platform, p.Version
	case policy.DisallowedApps, policy.RequiredApps:
		for _, id := range strings.Split(get("appIds"), ",") {
			if id = strings.TrimSpace(id); id != "" {
				p.AppIDs = append(p.AppIDs, id)
			}
		}
		out["appIds"] = strings.Join(p.AppIDs, ",")
	case policy.Custom:
		p.Rule = rule
	}
	return out, p, nil
}

// parseDuration reads 7d, 12h, 1d12h, 30m or a Go duration.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("give a duration such as 7d or 12h")
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var total time.Duration
	n := 0
	digits := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= '0' && r <= '9':
			n, digits = n*10+int(r-'0'), true
			if n > 100000 {
				return 0, fmt.Errorf("%q is too long", s)
			}
		case digits && (r == 'w' || r == 'd' || r == 'h' || r == 'm'):
			unit := map[rune]time.Duration{'w': 7 * 24 * time.Hour, 'd': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute}[r]
			total += time.Duration(n) * unit
			n, digits = 0, false
		default:
			return 0, fmt.Errorf("%q is not a duration such as 7d or 12h", s)
		}
	}
	if digits {
		return 0, fmt.Errorf("%q is not a duration such as 7d or 12h", s)
	}
	return total, nil
}

// Create adds a policy. It is evaluated on the tenant's devices at the next sweep, and on each device
// when an input it reads changes.
func (s *Service) Create(ctx context.Context, in Input) (*mdm.Policy, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return nil, err
	}
	p, err := build(in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	p.TenantID, p.CreatedAt, p.ModifiedAt = tenantID, now, now
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := checkGroups(ctx, tx, tenantID, p); err != nil {
			return err
		}
		if err := tx.Policies().Create(ctx, p); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "policy.create", TargetType: "policy",
			TargetID: fmt.Sprint(p.ID), Details: map[string]any{"name": p.Name, "type": p.Type, "rule": p.Rule}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkGroups refuses a policy scoped to a device or user group that is not the tenant's (another
// tenant's group reads as unknown).
func checkGroups(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, p *mdm.Policy) error {
	for _, id := range p.DeviceGroups {
		if _, err := tx.DeviceGroups().Get(ctx, tenantID, id); mdm.IsCode(err, mdm.NotFound) {
			return mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "deviceGroups", Message: fmt.Sprintf("no device group %d", id)})
		} else if err != nil {
			return err
		}
	}
	for _, id := range p.UserGroups {
		if _, err := tx.Groups().Get(ctx, tenantID, id); mdm.IsCode(err, mdm.NotFound) {
			return mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "userGroups", Message: fmt.Sprintf("no user group %d", id)})
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Update replaces a policy's definition. Violations of the old definition stay until the next
// evaluation of each device decides them again; actions that already ran do not run again.
func (s *Service) Update(ctx context.Context, id mdm.PolicyID, in Input) (*mdm.Policy, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return nil, err
	}
	p, err := build(in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		old, err := tx.Policies().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		p.ID, p.TenantID, p.CreatedAt, p.ModifiedAt = id, tenantID, old.CreatedAt, now
		if err := checkGroups(ctx, tx, tenantID, p); err != nil {
			return err
		}
		if err := tx.Policies().Update(ctx, p); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "policy.update", TargetType: "policy",
			TargetID: fmt.Sprint(p.ID), Details: map[string]any{"name": p.Name, "type": p.Type, "rule": p.Rule, "enabled": p.Enabled}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Get returns a policy.
func (s *Service) Get(ctx context.Context, id mdm.PolicyID) (*mdm.Policy, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return nil, err
	}
	return s.store.Policies().Get(ctx, tenantID, id)
}

// List pages through the tenant's policies.
func (s *Service) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Policy], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return mdm.Page[mdm.Policy]{}, err
	}
	return s.store.Policies().List(ctx, tenantID, opts)
}

// Delete removes a policy and its violations. The devices it quarantined are released at their next
// evaluation (the sweep evaluates every device).
func (s *Service) Delete(ctx context.Context, id mdm.PolicyID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		p, err := tx.Policies().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if err := tx.Policies().Delete(ctx, tenantID, id); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "policy.delete", TargetType: "policy",
			TargetID: fmt.Sprint(id), Details: map[string]any{"name": p.Name}})
	})
}

// Overview is the tenant's compliance at a glance.
type Overview struct {
	Policies     []PolicyCount
	Quarantined  []mdm.Device
	NonCompliant int
}

// PolicyCount is a policy and how many devices violate it.
type PolicyCount struct {
	Policy     mdm.Policy
	Violations int
}

// Overview counts violations by policy and lists quarantined devices (the first 100).
func (s *Service) Overview(ctx context.Context) (*Overview, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Policies().All(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.Policies().ViolationCounts(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	o := &Overview{}
	for _, p := range all {
		o.Policies = append(o.Policies, PolicyCount{Policy: p, Violations: counts[p.ID]})
	}
	q, err := s.store.Devices().List(ctx, tenantID, mdm.ListOptions{Rows: 100,
		Filter: mdm.Compare{Field: "quarantined", Op: mdm.Eq, Value: true}})
	if err != nil {
		return nil, err
	}
	o.Quarantined = q.Items
	nc, err := s.store.Devices().List(ctx, tenantID, mdm.ListOptions{Rows: 1,
		Filter: mdm.Compare{Field: "complianceState", Op: mdm.Eq, Value: false}})
	if err != nil {
		return nil, err
	}
	o.NonCompliant = nc.TotalCount
	return o, nil
}
