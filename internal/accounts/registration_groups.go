package accounts

import (
	"context"
	"fmt"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// RegistrationOverview is the tenant default and the group overrides in priority order (1 first).
type RegistrationOverview struct {
	Default   mdm.RegistrationSettings
	Overrides []mdm.GroupRegistrationSettings
}

// EffectiveRegistration is the setting that applies to one user and where it comes from.
type EffectiveRegistration struct {
	AccountID mdm.AccountID
	Settings  mdm.RegistrationSettings
	// Group is the override that applies, nil when the tenant default does.
	Group *mdm.GroupRegistrationSettings
}

// overridableGroup is the group of the tenant that may have an override: every group but All Users,
// which the tenant default already covers.
func overridableGroup(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, id mdm.GroupID) (*mdm.UserGroup, error) {
	g, err := tx.Groups().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if g.Kind == mdm.AllUsersGroup {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "NotAllowed", Field: "groupId",
			Message: "the All Users group follows the tenant default: omit groupId to read or change it"})
	}
	return g, nil
}

// RegistrationSettingsList returns the tenant default and every group override in priority order.
func (s *Service) RegistrationSettingsList(ctx context.Context) (*RegistrationOverview, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	d, err := s.store.RegistrationSettings().Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	overrides, err := s.store.RegistrationSettings().Overrides(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return &RegistrationOverview{Default: *d, Overrides: overrides}, nil
}

// GroupRegistrationSettings returns a group's override; not_found when the group has none.
func (s *Service) GroupRegistrationSettings(ctx context.Context, groupID mdm.GroupID) (*mdm.GroupRegistrationSettings, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	g, err := overridableGroup(ctx, s.store, tenantID, groupID)
	if err != nil {
		return nil, err
	}
	o, err := s.store.RegistrationSettings().Override(ctx, tenantID, groupID)
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, mdm.Errorf(mdm.NotFound, "group %s has no registration setting of its own: its members follow the "+
			"tenant default or another group's setting (PUT with groupId to create one)", g.Name)
	}
	return o, err
}

// DeleteGroupRegistrationSettings removes a group's override; the ones below it move up.
func (s *Service) DeleteGroupRegistrationSettings(ctx context.Context, groupID mdm.GroupID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserManage)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := overridableGroup(ctx, tx, tenantID, groupID)
		if err != nil {
			return err
		}
		if err := tx.RegistrationSettings().DeleteOverride(ctx, tenantID, groupID); mdm.IsCode(err, mdm.NotFound) {
			return mdm.Errorf(mdm.NotFound, "group %s has no registration setting of its own", g.Name)
		} else if err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "registration_settings.delete",
			TargetType: "registration_settings", TargetID: fmt.Sprint(g.ID), Details: map[string]any{"groupId": g.ID, "groupName": g.Name}})
	})
}

// SetRegistrationPriority gives the overrides a new order: groups names every group with an override
// exactly once, the first getting priority 1. Anything else changes nothing.
func (s *Service) SetRegistrationPriority(ctx context.Context, groups []mdm.GroupID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserManage)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "groupIds",
			Message: "give every group with its own registration setting, highest priority first, as groupIds=…"})
	}
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		cur, err := tx.RegistrationSettings().Overrides(ctx, tenantID)
		if err != nil {
			return err
		}
		have := map[mdm.GroupID]bool{}
		for _, o := range cur {
			have[o.GroupID] = true
		}
		var v mdm.Validator
		seen := map[mdm.GroupID]bool{}
		for _, g := range groups {
			v.Check(have[g], "groupIds", "Unknown", fmt.Sprintf("group %d has no registration setting of its own", g))
			v.Check(!seen[g], "groupIds", "Duplicate", fmt.Sprintf("group %d is named twice", g))
			seen[g] = true
		}
		v.Check(len(seen) == len(cur) || len(seen) != len(groups), "groupIds", "Incomplete",
			fmt.Sprintf("name all %d groups with their own registration setting, not %d", len(cur), len(seen)))
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.RegistrationSettings().Reorder(ctx, tenantID, groups); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "registration_settings.priority",
			TargetType: "registration_settings", TargetID: string(tenantID), Details: map[string]any{"groupIds": groups}})
	})
}

// EffectiveRegistrationSettings returns the setting that applies to one account and its source.
func (s *Service) EffectiveRegistrationSettings(ctx context.Context, accountID mdm.AccountID) (*EffectiveRegistration, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Accounts().Get(ctx, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	return effectiveRegistration(ctx, s.store, a)
}

// effectiveRegistration walks the overrides from priority 1 down and takes the first whose group a
// belongs to (a static member, or matched by a dynamic group's rule); without one, the tenant default.
func effectiveRegistration(ctx context.Context, tx mdm.Stores, a *mdm.Account) (*EffectiveRegistration, error) {
	overrides, err := tx.RegistrationSettings().Overrides(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	if len(overrides) > 0 {
		groups, err := tx.Groups().GroupsFor(ctx, a.TenantID, a.ID)
		if err != nil {
			return nil, err
		}
		in := map[mdm.GroupID]bool{}
		for _, g := range groups {
			in[g.ID] = belongsTo(a, g)
		}
		for _, o := range overrides {
			if in[o.GroupID] {
				return &EffectiveRegistration{AccountID: a.ID, Settings: o.Settings, Group: &o}, nil
			}
		}
	}
	d, err := tx.RegistrationSettings().Get(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	return &EffectiveRegistration{AccountID: a.ID, Settings: *d}, nil
}
