package accounts

import (
	"context"
	"slices"
	"strings"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/fq"
	"steward/internal/mdm"
)

// GroupInput creates or changes a user group. Kind is STATIC or DYNAMIC and is fixed at creation; a
// dynamic group's rule is an fq filter over account fields, such as emailAddress=*@sales.example.com.
type GroupInput struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Kind        *string   `json:"kind"`
	Rule        *string   `json:"rule"`
	Roles       *[]string `json:"roles"`
}

func checkGroup(v *mdm.Validator, p *mdm.Principal, in GroupInput, kind mdm.GroupKind) {
	if in.Name != nil {
		v.Check(strings.TrimSpace(*in.Name) != "", "name", "Required", "is required")
		checkName(v, "name", *in.Name, false)
	}
	if in.Description != nil {
		v.Check(len(*in.Description) <= 1000, "description", "Size", "must be at most 1000 characters")
	}
	if in.Rule != nil {
		switch kind {
		case mdm.DynamicGroup:
			v.Check(strings.TrimSpace(*in.Rule) != "", "rule", "Required", "a dynamic group needs a rule")
			_, err := fq.Parse(*in.Rule, mdm.AccountFields)
			v.Add("rule", "Syntax", err)
		default:
			v.Check(*in.Rule == "", "rule", "NotAllowed", "only a dynamic group has a rule")
		}
	}
	if in.Roles != nil {
		checkGrant(v, p, "roles", *in.Roles)
	}
}

// CreateGroup adds a static or dynamic group to the caller's tenant.
func (s *Service) CreateGroup(ctx context.Context, in GroupInput) (*mdm.UserGroup, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.UserManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	kind := mdm.StaticGroup
	if in.Kind != nil {
		kind = mdm.GroupKind(strings.ToUpper(*in.Kind))
		v.Check(kind == mdm.StaticGroup || kind == mdm.DynamicGroup, "kind", "Enum", "must be STATIC or DYNAMIC")
	}
	v.Check(in.Name != nil, "name", "Required", "is required")
	v.Check(kind != mdm.DynamicGroup || in.Rule != nil, "rule", "Required", "a dynamic group needs a rule")
	checkGroup(&v, p, in, kind)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	g := &mdm.UserGroup{TenantID: tenantID, Name: *in.Name, Kind: kind, CreatedAt: now, ModifiedAt: now}
	if in.Description != nil {
		g.Description = *in.Description
	}
	if in.Rule != nil {
		g.Rule = *in.Rule
	}
	if in.Roles != nil {
		g.Roles = slices.Compact(slices.Sorted(slices.Values(*in.Roles)))
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Groups().Create(ctx, g); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "group.create", TargetType: "group",
			TargetID: g.Name, Details: map[string]any{"id": g.ID, "kind": g.Kind, "rule": g.Rule, "roles": g.Roles}})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ListGroups pages through the caller's tenant's groups.
func (s *Service) ListGroups(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.UserGroup], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return mdm.Page[mdm.UserGroup]{}, err
	}
	return s.store.Groups().List(ctx, tenantID, opts)
}

// GetGroup returns one group of the caller's tenant.
func (s *Service) GetGroup(ctx context.Context, id mdm.GroupID) (*mdm.UserGroup, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	return s.store.Groups().Get(ctx, tenantID, id)
}

// UpdateGroup renames a group or changes its description, rule or roles. All Users keeps its name.
func (s *Service) UpdateGroup(ctx context.Context, id mdm.GroupID, in GroupInput) (*mdm.UserGroup, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.UserManage)
	if err != nil {
		return nil, err
	}
	var out *mdm.UserGroup
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := tx.Groups().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		var v mdm.Validator
		v.Check(in.Kind == nil || mdm.GroupKind(strings.ToUpper(*in.Kind)) == g.Kind, "kind", "Immutable", "a group's kind cannot change")
		v.Check(g.Kind != mdm.AllUsersGroup || in.Name == nil, "name", "Immutable", "the All Users group keeps its name")
		v.Check(in.Name != nil || in.Description != nil || in.Rule != nil || in.Roles != nil, "body", "Required",
			"give at least one of name, description, rule, roles")
		checkGroup(&v, p, in, g.Kind)
		// A new rule or name moves the group's roles to other people, and new roles take the old ones
		// from its members: only someone who could grant the group's roles may change it at all.
		checkGrant(&v, p, "roles", g.Roles)
		if err := v.Err(); err != nil {
			return err
		}
		patch := mdm.GroupPatch{Name: in.Name, Description: in.Description, Rule: in.Rule}
		if in.Roles != nil {
			roles := slices.Compact(slices.Sorted(slices.Values(*in.Roles)))
			patch.Roles = &roles
		}
		if out, err = tx.Groups().Update(ctx, tenantID, id, patch, s.now()); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		if in.Rule != nil && *in.Rule != g.Rule { // who is in the group, so who gets what is distributed to it
			if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
				return err
			}
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "group.update", TargetType: "group",
			TargetID: out.Name, Details: map[string]any{"id": out.ID, "rule": out.Rule, "roles": out.Roles}})
	})
	return out, err
}

// DeleteGroup removes a group; its members keep their accounts and lose the group's roles.
func (s *Service) DeleteGroup(ctx context.Context, id mdm.GroupID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserManage)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := tx.Groups().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if g.Kind == mdm.AllUsersGroup {
			return mdm.Errorf(mdm.Conflict, "the All Users group always exists")
		}
		// Deleting takes the group's roles from its members: only someone who could grant them may.
		var v mdm.Validator
		checkGrant(&v, mdm.PrincipalFrom(ctx), "id", g.Roles)
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.Groups().Delete(ctx, tenantID, id); err != nil { // also its distributions
			return err
		}
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "group.delete", TargetType: "group",
			TargetID: g.Name, Details: map[string]any{"id": g.ID}})
	})
}

// ChangeMembers adds or removes members of a static group.
func (s *Service) ChangeMembers(ctx context.Context, id mdm.GroupID, accounts []mdm.AccountID, add bool) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserManage)
	if err != nil {
		return err
	}
	var v mdm.Validator
	v.Check(len(accounts) > 0, "accountIds", "Required", "give the members as accountIds=…")
	v.Check(len(accounts) <= MaxAccountsPerRequest, "accountIds", "Size", "at most 100 accounts per request")
	if err := v.Err(); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		g, err := tx.Groups().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if g.Kind != mdm.StaticGroup {
			return mdm.Errorf(mdm.Conflict, "only a static group has members added by hand; %s is %s", g.Name, g.Kind)
		}
		var v mdm.Validator
		checkGrant(&v, mdm.PrincipalFrom(ctx), "accountIds", g.Roles) // membership grants the group's roles
		if err := v.Err(); err != nil {
			return err
		}
		action := "group.remove_members"
		if add {
			action = "group.add_members"
			err = tx.Groups().AddMembers(ctx, tenantID, id, accounts)
		} else {
			err = tx.Groups().RemoveMembers(ctx, tenantID, id, accounts)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: action, TargetType: "group",
			TargetID: g.Name, Details: map[string]any{"id": g.ID, "accounts": accounts}})
	})
}

// accountValue gives an account's value of one of mdm.AccountFields, for dynamic group rules.
func accountValue(a *mdm.Account) func(string) any {
	return func(field string) any {
		switch field {
		case "id":
			return int64(a.ID)
		case "UID":
			return a.Username
		case "emailAddress":
			return a.Email
		case "firstName":
			return a.FirstName
		case "lastName":
			return a.LastName
		case "createdAt":
			return a.CreatedAt.UnixMilli()
		case "apiUser":
			return a.APIUser
		}
		return nil
	}
}

// requireCanManage refuses to act on an account that holds a role the caller could not grant: an
// administrator never changes, deletes, invites or issues a PIN for someone stronger than themselves.
func requireCanManage(ctx context.Context, tx mdm.Stores, p *mdm.Principal, a *mdm.Account) error {
	roles, err := effectiveRolesIn(ctx, tx, a)
	if err != nil {
		return err
	}
	for _, r := range roles {
		for _, perm := range authz.Permissions(r) {
			if !authz.Allowed(p, perm) {
				return mdm.Errorf(mdm.Forbidden, "%s holds %s, which includes %s that you do not hold: "+
					"only an administrator with at least that account's rights can act on it", a.Username, r, perm)
			}
		}
	}
	return nil
}

// effectiveRoles are the account's own roles and those of every group it belongs to.
func (s *Service) effectiveRoles(ctx context.Context, a *mdm.Account) ([]string, error) {
	return effectiveRolesIn(ctx, s.store, a)
}

func effectiveRolesIn(ctx context.Context, store mdm.Stores, a *mdm.Account) ([]string, error) {
	groups, err := store.Groups().GroupsFor(ctx, a.TenantID, a.ID)
	if err != nil {
		return nil, err
	}
	roles := slices.Clone(a.Roles)
	for _, g := range groups {
		if belongsTo(a, g) {
			roles = append(roles, g.Roles...)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(roles))), nil
}

// MemberGroups returns the user groups a belongs to, read through store (a transaction or not): All
// Users, the static groups it was added to, and the dynamic groups whose rule matches it. It checks no
// permission: the assignment resolver calls it for a device's owner.
func MemberGroups(ctx context.Context, store mdm.Stores, a *mdm.Account) ([]mdm.UserGroup, error) {
	groups, err := store.Groups().GroupsFor(ctx, a.TenantID, a.ID)
	if err != nil {
		return nil, err
	}
	out := groups[:0]
	for _, g := range groups {
		if belongsTo(a, g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// UserRule parses a dynamic user group's rule the way membership reads it: nil (and no error) for a
// rule that no longer parses, which matches nobody.
func UserRule(g mdm.UserGroup) mdm.Filter {
	f, err := fq.Parse(g.Rule, mdm.AccountFields)
	if err != nil || f == nil {
		return nil
	}
	return f
}

// belongsTo reports whether a is in g, one of the groups GroupsFor returned for a: All Users and static
// groups hold it already; a dynamic group when its rule matches.
func belongsTo(a *mdm.Account, g mdm.UserGroup) bool {
	if g.Kind != mdm.DynamicGroup {
		return true
	}
	f, err := fq.Parse(g.Rule, mdm.AccountFields)
	return err == nil && fq.Match(f, accountValue(a)) // a rule that no longer parses matches nobody
}
