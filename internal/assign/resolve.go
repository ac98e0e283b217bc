// Package assign decides who gets what: device groups, the distribution of apps, content and
// configurations to users and groups, the app and content categories, and the resolver that computes
// which items reach a device or a user and which devices an assignment reaches.
//
// Item capabilities (apps, content, configurations) keep their items themselves and use this package
// for everything about targets: SetDistribution in the transaction that changes an item's targets,
// DeleteItem in the one that deletes it, and the Resolver to compute catalogs, effective
// configurations and the devices to converge after a change.
//
// How an item capability uses it (apps shown; content and configurations alike, with their ItemKind):
//
//   - API: in its route table, a.distributionRoutes(itemDistribution{Base: "/api/v1/apps", Kind:
//     mdm.ItemApp, Read: authz.AppRead, Manage: authz.AppManage, Get: …, Set: …}) serves GET and PUT
//     /api/v1/apps/{id}/distribution with the shared body {targets:[{type, id, required}]}, checked by
//     httpapi's decodeDistribution (known types, groups of the caller's tenant, no duplicates).
//   - Set, in the app service: read the app (not_found), then in one transaction
//     old, err := assign.SetDistribution(ctx, tx, tenantID, mdm.ItemApp, appID, ds) and the audit row;
//     after commit, NewResolver(store).DevicesReached(ctx, tenantID, append(old, ds...)) are the
//     devices to converge (install or remove), or leave it to a job comparing generations.
//   - Delete an app: assign.DeleteItem(ctx, tx, tenantID, mdm.ItemApp, appID) in the delete's
//     transaction (distributions and categories go; the generation is bumped).
//   - Categories of an app: tx.Categories().SetItemCategories(ctx, tenantID, mdm.ItemApp, appID, ids)
//     (not_found for a category of another kind or tenant), ForItems for a page of apps in one query,
//     Items for browsing a category.
//   - A user's catalog: t, _ := r.TargetsForUser(ctx, tenantID, account) (or TargetsForDevice for a
//     device, which adds its device groups), then r.Effective(ctx, tenantID, mdm.ItemApp, t): one
//     distribution per app, Required when any target requires it. Filter by platform yourself.
//   - Convergence: tx.Generations().Get(ctx, tenantID) is the tenant's assignment generation; a device
//     whose applied generation is lower must be evaluated again (see mdm.GenerationStore for what
//     bumps it). For a batch of devices, TargetsForDevices then EffectiveMany read the tenant's groups
//     once and query once per distinct set of targets.
package assign

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"steward/internal/accounts"
	"steward/internal/fq"
	"steward/internal/mdm"
)

// Resolver computes targets and effective distributions. It reads through the stores it was made
// with (the pool, or a transaction) and checks no permission: its callers are check-in paths,
// catalogs and convergence jobs that act for the system or have checked the caller already.
type Resolver struct{ store mdm.Stores }

// NewResolver returns a resolver reading through store; pass a transaction to read inside it.
func NewResolver(store mdm.Stores) *Resolver { return &Resolver{store: store} }

// TargetsForDevice returns the targets device is in: the user groups of its owner (All Users, the
// static groups the owner was added to, the dynamic user groups whose rule matches the owner — the
// accounts package's own membership rules) and the device groups it is in (All Devices, the static
// groups it was added to, the dynamic and built-in platform groups whose rule matches its facts). A
// device without an owner is in no user group and AllUsers is false for it.
func (r *Resolver) TargetsForDevice(ctx context.Context, tenantID mdm.TenantID, d *mdm.Device) (mdm.Targets, error) {
	groups, err := r.deviceGroups(ctx, tenantID)
	if err != nil {
		return mdm.Targets{}, err
	}
	static, err := r.store.DeviceGroups().StaticGroupsOf(ctx, tenantID, d.ID)
	if err != nil {
		return mdm.Targets{}, err
	}
	t, err := r.ownerTargets(ctx, tenantID, d.AccountID)
	if err != nil {
		return t, err
	}
	t.DeviceGroups = groups.of(d, static)
	return t, nil
}

// TargetsForDevices is TargetsForDevice for many devices of one tenant (a convergence batch): the
// tenant's device groups are read and their rules parsed once, the devices' static memberships in one
// query, and each owner's user groups once. Devices of another tenant are left out.
func (r *Resolver) TargetsForDevices(ctx context.Context, tenantID mdm.TenantID, devices []mdm.Device) (map[mdm.DeviceID]mdm.Targets, error) {
	out := make(map[mdm.DeviceID]mdm.Targets, len(devices))
	if len(devices) == 0 {
		return out, nil
	}
	groups, err := r.deviceGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ids := make([]mdm.DeviceID, 0, len(devices))
	for _, d := range devices {
		if d.TenantID == tenantID {
			ids = append(ids, d.ID)
		}
	}
	static, err := r.store.DeviceGroups().StaticGroupsOfMany(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	owners := map[mdm.AccountID]mdm.Targets{}
	for i := range devices {
		d := &devices[i]
		if d.TenantID != tenantID {
			continue
		}
		t, ok := owners[d.AccountID]
		if !ok {
			if t, err = r.ownerTargets(ctx, tenantID, d.AccountID); err != nil {
				return nil, err
			}
			owners[d.AccountID] = t
		}
		t.UserGroups = slices.Clone(t.UserGroups)
		t.DeviceGroups = groups.of(d, static[d.ID])
		out[d.ID] = t
	}
	return out, nil
}

// ownerTargets are the user targets of a device's owner; none for a device without one (or whose
// owner was deleted meanwhile).
func (r *Resolver) ownerTargets(ctx context.Context, tenantID mdm.TenantID, owner mdm.AccountID) (mdm.Targets, error) {
	if owner == 0 {
		return mdm.Targets{}, nil
	}
	a, err := r.store.Accounts().Get(ctx, tenantID, owner)
	if mdm.IsCode(err, mdm.NotFound) {
		return mdm.Targets{}, nil
	}
	if err != nil {
		return mdm.Targets{}, err
	}
	return r.TargetsForUser(ctx, tenantID, a)
}

// compiledGroups are a tenant's device groups with their rules parsed.
type compiledGroups []compiledGroup

type compiledGroup struct {
	g    mdm.DeviceGroup
	rule mdm.Filter // DYNAMIC only; nil for a rule that does not parse
}

func (r *Resolver) deviceGroups(ctx context.Context, tenantID mdm.TenantID) (compiledGroups, error) {
	all, err := r.store.DeviceGroups().All(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make(compiledGroups, len(all))
	for i, g := range all {
		out[i] = compiledGroup{g: g, rule: DeviceRule(g)}
	}
	return out, nil
}

// of returns the ids of the groups d is in, given the static groups it was added to.
func (gs compiledGroups) of(d *mdm.Device, static []mdm.DeviceGroupID) []mdm.DeviceGroupID {
	value := DeviceValue(d)
	var out []mdm.DeviceGroupID
	for _, c := range gs {
		switch c.g.Kind {
		case mdm.AllDevicesGroup:
			out = append(out, c.g.ID)
		case mdm.StaticDeviceGroup:
			if slices.Contains(static, c.g.ID) {
				out = append(out, c.g.ID)
			}
		case mdm.DynamicDeviceGroup:
			if c.rule != nil && MatchDevice(c.rule, value) {
				out = append(out, c.g.ID)
			}
		}
	}
	return out
}

// TargetsForUser returns the targets a user is in without a particular device (a user's catalog):
// All Users and the user groups a belongs to. DeviceGroups is empty.
func (r *Resolver) TargetsForUser(ctx context.Context, tenantID mdm.TenantID, a *mdm.Account) (mdm.Targets, error) {
	if a.TenantID != tenantID {
		return mdm.Targets{}, mdm.Errorf(mdm.NotFound, "account not found")
	}
	groups, err := accounts.MemberGroups(ctx, r.store, a)
	if err != nil {
		return mdm.Targets{}, err
	}
	t := mdm.Targets{AllUsers: true}
	for _, g := range groups {
		t.UserGroups = append(t.UserGroups, g.ID)
	}
	return t, nil
}

// Effective returns the distributions of items of kind that reach t: one per item, in item id order,
// Required when any distribution reaching t requires it. The Target and TargetID of each are those of
// one distribution that reached t (a required one when there is one).
func (r *Resolver) Effective(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, t mdm.Targets) ([]mdm.Distribution, error) {
	ds, err := r.store.Distributions().Reaching(ctx, tenantID, kind, t)
	if err != nil {
		return nil, err
	}
	return Merge(ds), nil
}

// EffectiveMany is Effective for many devices at once (the result of TargetsForDevices): devices with
// the same targets — most of a tenant's, typically — share one query.
func (r *Resolver) EffectiveMany(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, targets map[mdm.DeviceID]mdm.Targets) (map[mdm.DeviceID][]mdm.Distribution, error) {
	out := make(map[mdm.DeviceID][]mdm.Distribution, len(targets))
	byKey := map[string][]mdm.Distribution{}
	for id, t := range targets {
		key := targetsKey(t)
		ds, ok := byKey[key]
		if !ok {
			var err error
			if ds, err = r.Effective(ctx, tenantID, kind, t); err != nil {
				return nil, err
			}
			byKey[key] = ds
		}
		out[id] = slices.Clone(ds)
	}
	return out, nil
}

// targetsKey identifies a set of targets whatever the order of its groups.
func targetsKey(t mdm.Targets) string {
	var b strings.Builder
	if t.AllUsers {
		b.WriteString("A")
	}
	b.WriteString("|")
	for _, id := range slices.Sorted(slices.Values(t.UserGroups)) {
		b.WriteString(strconv.FormatInt(int64(id), 10) + ",")
	}
	b.WriteString("|")
	for _, id := range slices.Sorted(slices.Values(t.DeviceGroups)) {
		b.WriteString(strconv.FormatInt(int64(id), 10) + ",")
	}
	return b.String()
}

// Merge folds distributions to one per item (in item id order), required when any is.
func Merge(ds []mdm.Distribution) []mdm.Distribution {
	byItem := map[int64]int{}
	out := []mdm.Distribution{}
	for _, d := range ds {
		i, ok := byItem[d.ItemID]
		if !ok {
			byItem[d.ItemID] = len(out)
			out = append(out, d)
			continue
		}
		if d.Required && !out[i].Required {
			out[i] = d
		}
	}
	slices.SortFunc(out, func(a, b mdm.Distribution) int {
		switch {
		case a.ItemID < b.ItemID:
			return -1
		case a.ItemID > b.ItemID:
			return 1
		}
		return 0
	})
	return out
}

// reachPage is how many device ids one DevicesReached query returns.
const reachPage = 5000

// DevicesReached returns the ids (ascending) of the tenant's ACTIVE devices that any of ds reaches,
// for converging devices after an assignment changes (pass the old and the new distributions together
// so that devices losing an item are found too). Dynamic user and device group rules are evaluated by
// the database; the ids are read in pages of 5,000, so tens of thousands of devices take a few queries.
func (r *Resolver) DevicesReached(ctx context.Context, tenantID mdm.TenantID, ds []mdm.Distribution) ([]mdm.DeviceID, error) {
	reach, err := r.Reach(ctx, tenantID, ds)
	if err != nil || reach.Empty() {
		return nil, err
	}
	var out []mdm.DeviceID
	var after mdm.DeviceID
	for {
		ids, err := r.store.Distributions().DevicesReached(ctx, tenantID, reach, after, reachPage)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
		if len(ids) < reachPage {
			return out, nil
		}
		after = ids[len(ids)-1]
	}
}

// Reach turns distributions into the query the store evaluates: it reads the groups they name (of the
// tenant; a group deleted meanwhile reaches nobody) and sorts them into static groups and rules.
func (r *Resolver) Reach(ctx context.Context, tenantID mdm.TenantID, ds []mdm.Distribution) (mdm.Reach, error) {
	var reach mdm.Reach
	var userGroups map[mdm.GroupID]mdm.UserGroup
	var deviceGroups map[mdm.DeviceGroupID]mdm.DeviceGroup
	for _, d := range ds {
		switch d.Target {
		case mdm.TargetAllUsers:
			reach.AllUsers = true
		case mdm.TargetUserGroup:
			if userGroups == nil {
				userGroups = map[mdm.GroupID]mdm.UserGroup{}
			}
			id := mdm.GroupID(d.TargetID)
			if _, seen := userGroups[id]; seen {
				continue
			}
			g, err := r.store.Groups().Get(ctx, tenantID, id)
			if mdm.IsCode(err, mdm.NotFound) {
				continue
			}
			if err != nil {
				return reach, err
			}
			userGroups[id] = *g
			switch g.Kind {
			case mdm.AllUsersGroup:
				reach.AllUsers = true
			case mdm.StaticGroup:
				reach.StaticUserGroups = append(reach.StaticUserGroups, g.ID)
			case mdm.DynamicGroup:
				if f := accounts.UserRule(*g); f != nil {
					reach.UserRules = append(reach.UserRules, f)
				}
			}
		case mdm.TargetDeviceGroup:
			if deviceGroups == nil {
				all, err := r.store.DeviceGroups().All(ctx, tenantID)
				if err != nil {
					return reach, err
				}
				deviceGroups = map[mdm.DeviceGroupID]mdm.DeviceGroup{}
				for _, g := range all {
					deviceGroups[g.ID] = g
				}
			}
			g, ok := deviceGroups[mdm.DeviceGroupID(d.TargetID)]
			if !ok {
				continue
			}
			delete(deviceGroups, g.ID) // once is enough
			switch g.Kind {
			case mdm.AllDevicesGroup:
				reach.AllDevices = true
			case mdm.StaticDeviceGroup:
				reach.StaticDeviceGroups = append(reach.StaticDeviceGroups, g.ID)
			case mdm.DynamicDeviceGroup:
				if f := DeviceRule(g); f != nil {
					reach.DeviceRules = append(reach.DeviceRules, f)
				}
			}
		}
	}
	return reach, nil
}

// DeviceRule parses a dynamic device group's rule: nil for any other group and for a rule that does
// not parse (it matches no device).
func DeviceRule(g mdm.DeviceGroup) mdm.Filter {
	if g.Kind != mdm.DynamicDeviceGroup {
		return nil
	}
	f, err := fq.Parse(g.Rule, mdm.DeviceFields)
	if err != nil || f == nil {
		return nil
	}
	return f
}

// DeviceValue gives d's value of each of mdm.DeviceFields, with the meaning the device list gives it
// in SQL (times in epoch milliseconds, 0 when unset; owner fields absent, so that no comparison holds,
// for a device without owner), for evaluating device group rules in memory.
func DeviceValue(d *mdm.Device) func(string) any {
	millis := func(t interface{ UnixMilli() int64 }, zero bool) int64 {
		if zero {
			return 0
		}
		return t.UnixMilli()
	}
	return func(field string) any {
		switch field {
		case "id":
			return int64(d.ID)
		case "guid":
			return d.GUID
		case "platformType":
			return d.Platform
		case "deviceKind":
			return d.Kind
		case "registrationState":
			return d.RegistrationState
		case "deviceName":
			return d.Facts.DeviceName
		case "deviceModel":
			return d.Facts.Model
		case "prettyModel":
			return d.Facts.PrettyModel
		case "manufacturer":
			return d.Facts.Manufacturer
		case "platformVersion":
			return d.Facts.OSVersion
		case "serialNumber":
			return d.Facts.SerialNumber
		case "imei":
			return d.Facts.IMEI
		case "wifiMacAddress":
			return d.Facts.WifiMAC
		case "jailbroken":
			return d.Facts.Jailbroken
		case "passcodeCompliant":
			return d.Facts.PasscodeCompliant
		case "encrypted":
			return d.Facts.Encrypted
		case "roaming":
			return d.Facts.Roaming
		case "complianceState":
			return d.ComplianceState
		case "quarantined":
			return d.Quarantined
		case "policyViolationCount":
			return int64(d.PolicyViolationCount)
		case "lastCheckin":
			return millis(d.LastCheckin, d.LastCheckin.IsZero())
		case "lastRegistrationTime":
			return millis(d.RegisteredAt, d.RegisteredAt.IsZero())
		case "createdAt":
			return millis(d.CreatedAt, d.CreatedAt.IsZero())
		case "ownerId", "uid", "emailAddress":
			return ownerValue(d, field)
		case "clientVersion":
			return d.Facts.ClientVersion
		}
		return nil
	}
}

// ownerValue is an owner field of d, nil when d has no owner (SQL reads NULL there).
func ownerValue(d *mdm.Device, field string) any {
	if d.AccountID == 0 {
		return nil
	}
	switch field {
	case "ownerId":
		return int64(d.AccountID)
	case "uid":
		return d.OwnerUsername
	}
	return d.OwnerEmail
}

// MatchDevice evaluates a device rule against one device's values (DeviceValue) with the database's
// meaning: a comparison on a field the device lacks (an owner field of a device without owner) is
// unknown rather than false, so that "not uid=x" does not hold for it either, as in SQL.
func MatchDevice(f mdm.Filter, value func(string) any) bool {
	v, known := match3(f, value)
	return v && known
}

// match3 is SQL's three-valued logic: it returns the value and whether it is known.
func match3(f mdm.Filter, value func(string) any) (bool, bool) {
	switch f := f.(type) {
	case nil:
		return true, true
	case mdm.Compare:
		if value(f.Field) == nil {
			return false, false
		}
		return fq.Match(f, value), true
	case mdm.Not:
		v, known := match3(f.Term, value)
		return !v, known
	case mdm.And:
		out, known := true, true
		for _, t := range f {
			v, k := match3(t, value)
			if k && !v {
				return false, true
			}
			known = known && k
		}
		return out, known
	case mdm.Or:
		out, known := false, true
		for _, t := range f {
			v, k := match3(t, value)
			if k && v {
				return true, true
			}
			known = known && k
		}
		return out, known
	}
	return false, false
}
