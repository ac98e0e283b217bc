package accounts

import (
	"context"
	"slices"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// SupportRecipients lists who a support request from the caller's tenant reaches now: the enabled
// designated support administrators, or when none is designated or none of them is enabled with an
// email address, the enabled Tenant Admins. The console
// shows it so that an administrator sees the fallback before relying on it.
func (s *Service) SupportRecipients(ctx context.Context) ([]mdm.Account, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return nil, err
	}
	return supportRecipients(ctx, s.store, tenantID)
}

// Bounds on a support request's recipients, which are found inside the request's transaction: at most
// maxSupportRecipients, and at most supportMembersScanned group members read to find Tenant Admins
// through groups.
const (
	maxSupportRecipients  = 50
	supportMembersScanned = 1000
)

// supportRecipients are the tenant's enabled support administrators with an email address, or when
// there are none such (none designated, or all disabled or without an address), its enabled Tenant
// Admins with an email address: those holding the role themselves
// first, then the members of groups holding it (effective roles, as effectiveRolesIn reads them).
func supportRecipients(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID) ([]mdm.Account, error) {
	ids, err := tx.SupportAdmins().List(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []mdm.Account
	for _, id := range ids {
		a, err := tx.Accounts().Get(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		if a.Enabled && a.Email != "" {
			out = append(out, *a)
		}
		if len(out) == maxSupportRecipients {
			break
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	// None designated, or none of them reachable: a request must still reach someone.
	return tenantAdmins(ctx, tx, tenantID)
}

// tenantAdmins collects up to maxSupportRecipients enabled Tenant Admins with an email address.
func tenantAdmins(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID) ([]mdm.Account, error) {
	out, err := tx.Accounts().WithRole(ctx, tenantID, mdm.RoleTenantAdmin, maxSupportRecipients)
	if err != nil {
		return nil, err
	}
	seen := map[mdm.AccountID]bool{}
	for _, a := range out {
		seen[a.ID] = true
	}
	groups, err := adminGroups(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	byID := []mdm.SortField{{Field: "id"}}
	budget := supportMembersScanned
	for _, g := range groups {
		for start := 0; len(out) < maxSupportRecipients && budget > 0; {
			page, err := groupMembersIn(ctx, tx, &g, mdm.ListOptions{Start: start, Rows: min(100, budget), Sort: byID})
			if err != nil {
				return nil, err
			}
			budget -= len(page.Items)
			for _, a := range page.Items {
				if a.Enabled && a.Email != "" && !seen[a.ID] && len(out) < maxSupportRecipients {
					seen[a.ID] = true
					out = append(out, a)
				}
			}
			start += len(page.Items)
			if len(page.Items) == 0 || start >= page.TotalCount {
				break
			}
		}
	}
	return out, nil
}

// adminGroups are the tenant's groups that grant TENANT_ADMIN to their members.
func adminGroups(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID) ([]mdm.UserGroup, error) {
	var out []mdm.UserGroup
	for start := 0; ; {
		page, err := tx.Groups().List(ctx, tenantID, mdm.ListOptions{Start: start, Rows: 500,
			Sort: []mdm.SortField{{Field: "id"}}})
		if err != nil {
			return nil, err
		}
		for _, g := range page.Items {
			if slices.Contains(g.Roles, mdm.RoleTenantAdmin) {
				out = append(out, g)
			}
		}
		start += len(page.Items)
		if len(page.Items) == 0 || start >= page.TotalCount {
			return out, nil
		}
	}
}
