package web

import (
	"strings"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// can reports whether p holds perm. Pages use it only to decide what to show: every handler's
// service call checks again.
func can(p *mdm.Principal, perm string) bool { return authz.Allowed(p, authz.Permission(perm)) }

// roleLabel names the caller's roles for the top bar.
func roleLabel(p *mdm.Principal) string {
	if p.IsSystemAdmin() {
		return "System Admin"
	}
	if len(p.Roles) == 0 {
		return "No role"
	}
	names := make([]string, 0, len(p.Roles))
	for _, r := range p.Roles {
		names = append(names, roleName(r))
	}
	return strings.Join(names, ", ")
}

// roleNames is roleName over a list, for tables.
func roleNames(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = roleName(id)
	}
	return out
}

// roleName is a role's display name, or its id when unknown.
func roleName(id string) string {
	for _, r := range authz.Roles() {
		if r.ID == id {
			return r.Name
		}
	}
	return id
}

// grantable lists the roles p may hand out: those whose every permission p holds itself (the services
// refuse the others).
func grantable(p *mdm.Principal) []authz.Role {
	var out []authz.Role
	for _, r := range authz.Roles() {
		ok := true
		for _, perm := range authz.Permissions(r.ID) {
			ok = ok && authz.Allowed(p, perm)
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}
