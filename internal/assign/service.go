package assign

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/fq"
	"steward/internal/mdm"
)

// MaxDevicesPerRequest bounds the devices one membership change names.
const MaxDevicesPerRequest = 500

// MaxTargets bounds the targets of one item.
const MaxTargets = 200

// Service manages device groups and categories for the caller's tenant: Device Read lists and reads
// device groups, Device Manage changes them; App Read lists and reads categories, App Manage changes
// them. Every change writes its audit row in its own transaction, and every change to who gets what
// bumps the tenant's assignment generation there too.
type Service struct {
	store mdm.Store
	now   func() time.Time
}

// New returns the service. now is the clock (time.Now when nil).
func New(store mdm.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Resolver returns a resolver reading through the service's store (outside any transaction).
func (s *Service) Resolver() *Resolver { return NewResolver(s.store) }

// ---- Device groups ---------------------------------------------------------------------------------

// DeviceGroupInput creates or changes a device group. Kind is STATIC (the default) or DYNAMIC and is
// fixed at creation; a dynamic group's rule is an fq filter over device fields, such as
// platformType=ANDROID and platformVersion>=14.
type DeviceGroupInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Kind        *string `json:"kind"`
	Rule        *string `json:"rule"`
}

func checkDeviceGroup(v *mdm.Validator, in DeviceGroupInput, kind mdm.DeviceGroupKind) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		v.Check(name != "", "name", "Required", "is required")
		v.Check(len(name) <= 100, "name", "Size", "must be at most 100 characters")
		v.Check(!strings.ContainsFunc(name, isControl), "name", "Pattern", "must not contain control characters")
	}
	if in.Description != nil {
		v.Check(len(*in.Description) <= 1000, "description", "Size", "must be at most 1000 characters")
	}
	if in.Rule != nil {
		switch kind {
		case mdm.DynamicDeviceGroup:
			v.Check(strings.TrimSpace(*in.Rule) != "", "rule", "Required", "a dynamic group needs a rule")
			v.Check(len(*in.Rule) <= 2000, "rule", "Size", "must be at most 2000 characters")
			_, err := fq.Parse(*in.Rule, mdm.DeviceFields)
			v.Add("rule", "Syntax", err)
		default:
			v.Check(*in.Rule == "", "rule", "NotAllowed", "only a dynamic group has a rule")
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// CreateDeviceGroup adds a static or dynamic device group to the caller's tenant.
func (s *Service) CreateDeviceGroup(ctx context.Context, in DeviceGroupInput) (*mdm.DeviceGroup, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	kind := mdm.StaticDeviceGroup
	if in.Kind != nil {
		kind = mdm.DeviceGroupKind(strings.ToUpper(strings.TrimSpace(*in.Kind)))
		v.Check(kind == mdm.StaticDeviceGroup || kind == mdm.DynamicDeviceGroup, "kind", "Enum", "must be STATIC or DYNAMIC")
	}
	v.Check(in.Name != nil, "name", "Required", "is required")
	v.Check(kind != mdm.DynamicDeviceGroup || in.Rule != nil, "rule", "Required", "a dynamic group needs a rule")
	checkDeviceGroup(&v, in, kind)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	g := &mdm.DeviceGroup{TenantID: tenantID, Name: strings.TrimSpace(*in.Name), Kind: kind, CreatedAt: now, ModifiedAt: now}
	if in.Description != nil {
		g.Description = *in.Description
	}
	if in.Rule != nil {
		g.Rule = strings.TrimSpace(*in.Rule)
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.DeviceGroups().Create(ctx, g); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "devicegroup.create",
			TargetType: "devicegroup", TargetID: g.Name, Details: map[string]any{"id": g.ID, "kind": g.Kind, "rule": g.Rule}})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ListDeviceGroups pages through the caller's tenant's device groups, built-in ones included.
func (s *Service) ListDeviceGroups(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.DeviceGroup], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return mdm.Page[mdm.DeviceGroup]{}, err
	}
	return s.store.DeviceGroups().List(ctx, tenantID, opts)
}

// GetDeviceGroup returns one device group of the caller's tenant.
func (s *Service) GetDeviceGroup(ctx context.Context, id mdm.DeviceGroupID) (*mdm.DeviceGroup, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return nil, err
	}
	return s.store.DeviceGroups().Get(ctx, tenantID, id)
}

// UpdateDeviceGroup renames a group or changes its description or (dynamic groups) rule. Built-in
// groups cannot be changed (conflict).
func (s *Service) UpdateDeviceGroup(ctx context.Context, id mdm.DeviceGroupID, in DeviceGroupInput) (*mdm.DeviceGroup, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return nil, err
	}
	var out *mdm.DeviceGroup
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := tx.DeviceGroups().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return mdm.Errorf(mdm.Conflict, "%s is a built-in group and cannot be changed", g.Name)
		}
		var v mdm.Validator
		v.Check(in.Kind == nil || mdm.DeviceGroupKind(strings.ToUpper(strings.TrimSpace(*in.Kind))) == g.Kind, "kind",
			"Immutable", "a group's kind cannot change")
		v.Check(in.Name != nil || in.Description != nil || in.Rule != nil, "body", "Required",
			"give at least one of name, description, rule")
		checkDeviceGroup(&v, in, g.Kind)
		if err := v.Err(); err != nil {
			return err
		}
		patch := mdm.DeviceGroupPatch{Description: in.Description}
		if in.Name != nil {
			name := strings.TrimSpace(*in.Name)
			patch.Name = &name
		}
		if in.Rule != nil {
			rule := strings.TrimSpace(*in.Rule)
			patch.Rule = &rule
		}
		if out, err = tx.DeviceGroups().Update(ctx, tenantID, id, patch, s.now()); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		if patch.Rule != nil && *patch.Rule != g.Rule {
			if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
				return err
			}
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "devicegroup.update",
			TargetType: "devicegroup", TargetID: out.Name, Details: map[string]any{"id": out.ID, "rule": out.Rule}})
	})
	return out, err
}

// DeleteDeviceGroup removes a device group with its memberships and every distribution naming it.
// Built-in groups cannot be deleted (conflict).
func (s *Service) DeleteDeviceGroup(ctx context.Context, id mdm.DeviceGroupID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := tx.DeviceGroups().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if g.BuiltIn {
			return mdm.Errorf(mdm.Conflict, "%s is a built-in group and cannot be deleted", g.Name)
		}
		if err := tx.DeviceGroups().Delete(ctx, tenantID, id); err != nil {
			return err
		}
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "devicegroup.delete",
			TargetType: "devicegroup", TargetID: g.Name, Details: map[string]any{"id": g.ID}})
	})
}

// ChangeDeviceGroupMembers adds devices to, or removes them from, a static device group.
func (s *Service) ChangeDeviceGroupMembers(ctx context.Context, id mdm.DeviceGroupID, devices []mdm.DeviceID, add bool) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return err
	}
	var v mdm.Validator
	v.Check(len(devices) > 0, "deviceIds", "Required", "give the members as deviceIds")
	v.Check(len(devices) <= MaxDevicesPerRequest, "deviceIds", "Size", "at most 500 devices per request")
	if err := v.Err(); err != nil {
		return err
	}
	devices = slices.Compact(slices.Sorted(slices.Values(devices)))
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := tx.DeviceGroups().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if g.Kind != mdm.StaticDeviceGroup {
			return mdm.Errorf(mdm.Conflict, "only a static group has members added by hand; %s is %s", g.Name, g.Kind)
		}
		action := "devicegroup.remove_members"
		if add {
			action = "devicegroup.add_members"
			err = tx.DeviceGroups().AddMembers(ctx, tenantID, id, devices)
		} else {
			err = tx.DeviceGroups().RemoveMembers(ctx, tenantID, id, devices)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: action,
			TargetType: "devicegroup", TargetID: g.Name, Details: map[string]any{"id": g.ID, "devices": devices}})
	})
}

// DeviceGroupMembers pages through a group's devices: a static group's added members, the devices a
// dynamic group's rule matches now (evaluated by the database, as the device list does), or every
// device for All Devices. opts filters and sorts within the members.
func (s *Service) DeviceGroupMembers(ctx context.Context, id mdm.DeviceGroupID, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return mdm.Page[mdm.Device]{}, err
	}
	g, err := s.store.DeviceGroups().Get(ctx, tenantID, id)
	if err != nil {
		return mdm.Page[mdm.Device]{}, err
	}
	switch g.Kind {
	case mdm.StaticDeviceGroup:
		return s.store.DeviceGroups().Members(ctx, tenantID, id, opts)
	case mdm.DynamicDeviceGroup:
		rule := DeviceRule(*g)
		if rule == nil {
			return mdm.Page[mdm.Device]{Items: []mdm.Device{}, Start: opts.Start, Rows: opts.Rows}, nil
		}
		if opts.Filter != nil {
			rule = mdm.And{rule, opts.Filter}
		}
		opts.Filter = rule
	}
	return s.store.Devices().List(ctx, tenantID, opts)
}

// DeviceGroupDistributions lists what is distributed to a device group (every item kind). It needs
// Device Read.
func (s *Service) DeviceGroupDistributions(ctx context.Context, id mdm.DeviceGroupID) ([]mdm.Distribution, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.DeviceGroups().Get(ctx, tenantID, id); err != nil {
		return nil, err
	}
	return s.store.Distributions().ForTarget(ctx, tenantID, mdm.TargetDeviceGroup, int64(id))
}

// UserGroupDistributions lists what is distributed to a user group (every item kind). It needs User
// Read.
func (s *Service) UserGroupDistributions(ctx context.Context, id mdm.GroupID) ([]mdm.Distribution, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Groups().Get(ctx, tenantID, id); err != nil {
		return nil, err
	}
	return s.store.Distributions().ForTarget(ctx, tenantID, mdm.TargetUserGroup, int64(id))
}

// ---- Distribution helpers for the item capabilities -------------------------------------------------

// CheckTargets validates an item's targets for tenantID, reading the groups they name through store:
// known target kinds, ALL_USERS with id 0, groups that exist in the tenant, at most MaxTargets, no
// target twice. Field errors name targets[i].type and targets[i].id. It fills in each distribution's
// TenantID, ItemKind and ItemID.
func CheckTargets(ctx context.Context, store mdm.Stores, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64, ds []mdm.Distribution) error {
	var v mdm.Validator
	v.Check(len(ds) <= MaxTargets, "targets", "Size", "at most 200 targets")
	seen := map[mdm.Distribution]bool{}
	for i := range ds {
		d := &ds[i]
		d.TenantID, d.ItemKind, d.ItemID = tenantID, kind, itemID
		f := func(name string) string { return "targets[" + strconv.Itoa(i) + "]." + name }
		key := mdm.Distribution{Target: d.Target, TargetID: d.TargetID}
		v.Check(!seen[key], f("id"), "Duplicate", "names a target already given")
		seen[key] = true
		switch d.Target {
		case mdm.TargetAllUsers:
			v.Check(d.TargetID == 0, f("id"), "NotAllowed", "ALL_USERS takes no id")
		case mdm.TargetUserGroup:
			_, err := store.Groups().Get(ctx, tenantID, mdm.GroupID(d.TargetID))
			if err != nil && !mdm.IsCode(err, mdm.NotFound) {
				return err
			}
			v.Check(err == nil, f("id"), "NotFound", "no such user group")
		case mdm.TargetDeviceGroup:
			_, err := store.DeviceGroups().Get(ctx, tenantID, mdm.DeviceGroupID(d.TargetID))
			if err != nil && !mdm.IsCode(err, mdm.NotFound) {
				return err
			}
			v.Check(err == nil, f("id"), "NotFound", "no such device group")
		default:
			v.Check(false, f("type"), "Enum", "must be ALL_USERS, USER_GROUP or DEVICE_GROUP")
		}
	}
	return v.Err()
}

// SetDistribution replaces an item's targets inside tx (the item capability's transaction, which also
// writes its audit row): it validates them with CheckTargets, stores them and bumps the tenant's
// assignment generation. It returns the distributions the item had before, so that the caller can
// converge the devices of both the old and the new targets (Resolver.DevicesReached).
func SetDistribution(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64, ds []mdm.Distribution) ([]mdm.Distribution, error) {
	if !kind.Valid() {
		return nil, mdm.Errorf(mdm.Internal, "unknown item kind %q", kind)
	}
	if err := CheckTargets(ctx, tx, tenantID, kind, itemID, ds); err != nil {
		return nil, err
	}
	// Bumping first takes the tenant's generation row, so that concurrent changes of a tenant's
	// assignments run one after the other (the later one wins) on PostgreSQL too.
	if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
		return nil, err
	}
	old, err := tx.Distributions().ForItem(ctx, tenantID, kind, itemID)
	if err != nil {
		return nil, err
	}
	if err := tx.Distributions().Replace(ctx, tenantID, kind, itemID, ds); err != nil {
		return nil, err
	}
	return old, nil
}

// DeleteItem removes an item's distributions and (apps and content) categories inside tx, the
// transaction that deletes the item, and bumps the generation when it had distributions. It returns
// the distributions the item had, for converging the devices they reached.
func DeleteItem(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64) ([]mdm.Distribution, error) {
	old, err := tx.Distributions().ForItem(ctx, tenantID, kind, itemID)
	if err != nil {
		return nil, err
	}
	if err := tx.Distributions().DeleteForItem(ctx, tenantID, kind, itemID); err != nil {
		return nil, err
	}
	if kind == mdm.ItemApp || kind == mdm.ItemContent {
		if err := tx.Categories().DeleteForItem(ctx, tenantID, kind, itemID); err != nil {
			return nil, err
		}
	}
	if len(old) > 0 {
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	return old, nil
}

// managePermission is what changing the distribution of an item of kind needs.
func managePermission(kind mdm.ItemKind) authz.Permission {
	if kind == mdm.ItemConfiguration {
		return authz.ConfigManage
	}
	return authz.AppManage
}

// ValidateTargets checks targets for the caller's tenant before an item capability stores them (see
// CheckTargets): the caller needs the permission that changing an item of kind takes (App Manage for
// apps and content, Config Manage for configurations). SetDistribution checks again in its transaction.
func (s *Service) ValidateTargets(ctx context.Context, kind mdm.ItemKind, ds []mdm.Distribution) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), managePermission(kind))
	if err != nil {
		return err
	}
	return CheckTargets(ctx, s.store, tenantID, kind, 0, ds)
}
