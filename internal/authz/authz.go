// Package authz decides who may do what: the System Admin / tenant split, and tenant permissions granted
// by roles. It is pure: no I/O.
package authz

import "steward/internal/mdm"

// Permission is one thing a tenant principal may do.
type Permission string

const (
	TenantRead  Permission = "tenant.read"  // read the tenant's metadata
	AuditRead   Permission = "audit.read"   // read the tenant's audit trail
	MailRead    Permission = "mail.read"    // read the tenant's outbox
	SystemAdmin Permission = "system.admin" // operate the platform (System Admin principals only)
)

// rolePermissions grants permissions per role. The identity capability extends this table with the
// administrative and helpdesk roles.
var rolePermissions = map[string][]Permission{
	mdm.RoleTenantAdmin: {TenantRead, AuditRead, MailRead},
}

// RequireSystemAdmin lets only the platform operator through.
func RequireSystemAdmin(p *mdm.Principal) error {
	if p == nil {
		return mdm.Errorf(mdm.Unauthenticated, "authentication required")
	}
	if !p.IsSystemAdmin() {
		return mdm.Errorf(mdm.Forbidden, "only a System Admin may do this")
	}
	return nil
}

// RequireTenant lets through a tenant principal holding perm and returns its tenant. System Admins are
// refused: they act on tenants through the System Admin API, never as one.
func RequireTenant(p *mdm.Principal, perm Permission) (mdm.TenantID, error) {
	if p == nil {
		return "", mdm.Errorf(mdm.Unauthenticated, "authentication required")
	}
	if p.Kind != mdm.AccountPrincipal || p.TenantID == "" {
		return "", mdm.Errorf(mdm.Forbidden, "this call needs a tenant credential")
	}
	if !Allowed(p, perm) {
		return "", mdm.Errorf(mdm.Forbidden, "your roles do not grant %s", perm)
	}
	return p.TenantID, nil
}

// Allowed reports whether p holds perm through any of its roles.
func Allowed(p *mdm.Principal, perm Permission) bool {
	if p == nil {
		return false
	}
	if p.IsSystemAdmin() {
		return perm == SystemAdmin
	}
	for _, r := range p.Roles {
		for _, granted := range rolePermissions[r] {
			if granted == perm {
				return true
			}
		}
	}
	return false
}

// Scope is the tenant a principal's reads are limited to: mdm.AllTenants for a System Admin, the
// principal's tenant when it holds perm, else an error.
func Scope(p *mdm.Principal, perm Permission) (mdm.TenantID, error) {
	if p.IsSystemAdmin() {
		return mdm.AllTenants, nil
	}
	return RequireTenant(p, perm)
}
