package accounts

import (
	"context"

	"steward/internal/authz"
	"steward/internal/fq"
	"steward/internal/mdm"
)

// ListGroupMembers pages through a group's members: a static group's added members, the accounts a
// dynamic group's rule matches (the same rule belongsTo applies, evaluated by the database), or every
// account for All Users. opts filters and sorts within the members.
func (s *Service) ListGroupMembers(ctx context.Context, id mdm.GroupID, opts mdm.ListOptions) (mdm.Page[mdm.Account], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return mdm.Page[mdm.Account]{}, err
	}
	g, err := s.store.Groups().Get(ctx, tenantID, id)
	if err != nil {
		return mdm.Page[mdm.Account]{}, err
	}
	return groupMembersIn(ctx, s.store, g, opts)
}

// groupMembersIn is ListGroupMembers for a group already read, in store (a transaction or not).
func groupMembersIn(ctx context.Context, store mdm.Stores, g *mdm.UserGroup, opts mdm.ListOptions) (mdm.Page[mdm.Account], error) {
	switch g.Kind {
	case mdm.StaticGroup:
		return store.Groups().Members(ctx, g.TenantID, g.ID, opts)
	case mdm.DynamicGroup:
		rule, err := fq.Parse(g.Rule, mdm.AccountFields)
		if err != nil || rule == nil { // a rule that no longer parses matches nobody
			return mdm.Page[mdm.Account]{Items: []mdm.Account{}, Start: opts.Start, Rows: opts.Rows}, nil
		}
		if opts.Filter != nil {
			rule = mdm.And{rule, opts.Filter}
		}
		opts.Filter = rule
	}
	return store.Accounts().List(ctx, g.TenantID, opts)
}
