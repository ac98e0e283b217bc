// Package authz decides who may do what: the System Admin / tenant split, the tenant role hierarchy
// with its inclusions, and the permissions each role grants. It is pure: no I/O.
package authz

import (
	"slices"

	"steward/internal/mdm"
)

// Permission is one thing a tenant principal may do. Every API route declares the one it needs.
type Permission string

const (
	TenantRead   Permission = "tenant.read"   // the tenant's own metadata (id, device space)
	UserRead     Permission = "user.read"     // users, groups, roles
	UserManage   Permission = "user.manage"   // add, change, invite and delete users and groups
	SystemRead   Permission = "system.read"   // tenant settings, audit trail, outgoing mail
	SystemManage Permission = "system.manage" // tenant settings, email templates, app registrations
	DeviceRead   Permission = "device.read"   // devices and their inventory
	DeviceManage Permission = "device.manage" // device records, configurations, policies
	DeviceAction Permission = "device.action" // lock, unlock, message, retire, wipe, force check-in
	AppRead      Permission = "app.read"      // apps, content, categories
	AppManage    Permission = "app.manage"    // add, change and distribute apps and content
	ConfigRead   Permission = "config.read"   // configurations
	ConfigManage Permission = "config.manage" // save, change and assign configurations
	PatchRead    Permission = "patch.read"    // the patch catalog, CVEs, patch groups and their audit
	PatchEdit    Permission = "patch.edit"    // edit existing patch groups
	PatchAdmin   Permission = "patch.admin"   // create and deploy patch groups
	DataRead     Permission = "data.read"     // Data Services: devices and people, for a CMDB
	// SystemAdmin marks the platform operator's own routes; no tenant role grants it.
	SystemAdmin Permission = "system.admin"
	// SelfService is a user acting on their own devices and requests (the /go portal and the device app).
	// Every tenant user holds it, with or without roles; no role grants it and no System Admin holds it.
	SelfService Permission = "self.service"
)

// Role names. TENANT_ADMIN is the tenant's API role; the others are assigned to users and groups.
const (
	RoleTenantAdmin          = mdm.RoleTenantAdmin
	RoleSystemManagement     = "SYSTEM_MANAGEMENT"
	RoleUserManagement       = "USER_MANAGEMENT"
	RoleDeviceManagement     = "DEVICE_MANAGEMENT"
	RoleAppContentManagement = "APP_CONTENT_MANAGEMENT"
	RoleSystemReadOnly       = "SYSTEM_READ_ONLY"
	RoleUserReadOnly         = "USER_READ_ONLY"
	RoleDeviceReadOnly       = "DEVICE_READ_ONLY"
	RoleAppContentReadOnly   = "APP_CONTENT_READ_ONLY"
	RoleDeviceActions        = "DEVICE_ACTIONS"
)

// Role is one tenant role: what it grants itself and which roles it includes.
type Role struct {
	ID          string
	Name        string
	Kind        string // "api", "administrative" or "helpdesk"
	Description string
	Includes    []string
	Grants      []Permission // its own, before inclusions
}

// roles is the hierarchy. The inclusions of the administrative and helpdesk roles are the product's
// documented ones; Device Actions (not in that list) includes Device Read Only, since acting on a
// device means finding it first.
var roles = []Role{
	{ID: RoleTenantAdmin, Name: "Tenant Admin", Kind: "api",
		Description: "Calls every tenant API and signs in to the console with full rights in the tenant.",
		Includes:    []string{RoleSystemManagement, RoleUserManagement, RoleDeviceManagement, RoleAppContentManagement, RoleDeviceActions}},
	{ID: RoleSystemManagement, Name: "System Management", Kind: "administrative",
		Description: "Manages tenant settings, email templates and app registrations.",
		Includes:    []string{RoleSystemReadOnly, RoleUserReadOnly}, Grants: []Permission{SystemManage}},
	{ID: RoleUserManagement, Name: "User Management", Kind: "administrative",
		Description: "Adds, changes, invites and deletes users and user groups.",
		Includes:    []string{RoleUserReadOnly}, Grants: []Permission{UserManage}},
	{ID: RoleDeviceManagement, Name: "Device Management", Kind: "administrative",
		Description: "Manages devices, configurations and policies.",
		Includes:    []string{RoleUserReadOnly, RoleDeviceReadOnly}, Grants: []Permission{DeviceManage, ConfigManage, PatchEdit, PatchAdmin}},
	{ID: RoleAppContentManagement, Name: "App & Content Management", Kind: "administrative",
		Description: "Adds, changes and distributes apps and content.",
		Includes:    []string{RoleUserReadOnly, RoleAppContentReadOnly}, Grants: []Permission{AppManage}},
	{ID: RoleSystemReadOnly, Name: "System Read Only", Kind: "helpdesk",
		Description: "Views tenant settings, the audit trail and outgoing mail.",
		Includes:    []string{RoleUserReadOnly}, Grants: []Permission{SystemRead}},
	{ID: RoleUserReadOnly, Name: "User Read Only", Kind: "helpdesk",
		Description: "Views user information.", Grants: []Permission{UserRead, TenantRead}},
	{ID: RoleDeviceReadOnly, Name: "Device Read Only", Kind: "helpdesk",
		Description: "Views devices and their inventory.",
		Includes:    []string{RoleUserReadOnly}, Grants: []Permission{DeviceRead, ConfigRead, PatchRead, DataRead}},
	{ID: RoleAppContentReadOnly, Name: "App & Content Read Only", Kind: "helpdesk",
		Description: "Views apps, content and categories.",
		Includes:    []string{RoleUserReadOnly}, Grants: []Permission{AppRead}},
	{ID: RoleDeviceActions, Name: "Device Actions", Kind: "helpdesk",
		Description: "Locks, unlocks, messages, retires, wipes and forces check-in of devices.",
		Includes:    []string{RoleDeviceReadOnly}, Grants: []Permission{DeviceAction}},
}

// closure maps each role to every permission it grants, inclusions followed transitively.
var closure = func() map[string][]Permission {
	byID := map[string]Role{}
	for _, r := range roles {
		byID[r.ID] = r
	}
	out := map[string][]Permission{}
	var walk func(id string, seen map[string]bool, acc map[Permission]bool)
	walk = func(id string, seen map[string]bool, acc map[Permission]bool) {
		if seen[id] {
			return
		}
		seen[id] = true
		r, ok := byID[id]
		if !ok {
			panic("authz: role " + id + " includes an unknown role")
		}
		for _, p := range r.Grants {
			acc[p] = true
		}
		for _, inc := range r.Includes {
			walk(inc, seen, acc)
		}
	}
	for _, r := range roles {
		acc := map[Permission]bool{}
		walk(r.ID, map[string]bool{}, acc)
		var perms []Permission
		for p := range acc {
			perms = append(perms, p)
		}
		slices.Sort(perms)
		out[r.ID] = perms
	}
	return out
}()

// Roles lists the roles in their documented order.
func Roles() []Role { return slices.Clone(roles) }

// Permissions returns every permission role grants, inclusions included; nil for an unknown role.
func Permissions(role string) []Permission { return closure[role] }

// KnownRole reports whether role exists.
func KnownRole(role string) bool { _, ok := closure[role]; return ok }

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
	if p.Kind != mdm.AccountPrincipal && p.Kind != mdm.ClientPrincipal || p.TenantID == "" {
		return "", mdm.Errorf(mdm.Forbidden, "this call needs a tenant credential")
	}
	if !Allowed(p, perm) {
		if p.Kind == mdm.ClientPrincipal {
			return "", mdm.Errorf(mdm.Forbidden, "the access token's scopes do not grant %s", perm)
		}
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
	if perm == SelfService {
		return p.TenantID != "" && (p.Kind == mdm.AccountPrincipal || p.Kind == mdm.PortalPrincipal)
	}
	if p.Kind == mdm.ClientPrincipal { // an App Registration's token: its scopes, never roles
		return p.TenantID != "" && scopeAllows(p.Scopes, perm)
	}
	if p.Kind != mdm.AccountPrincipal { // a portal sign-in holds nothing else, whatever the account's roles
		return false
	}
	for _, r := range p.Roles {
		if slices.Contains(closure[r], perm) {
			return true
		}
	}
	return false
}

// RequireSelf lets through a tenant user acting for themselves (SelfService) and returns who they are.
func RequireSelf(p *mdm.Principal) (mdm.TenantID, mdm.AccountID, error) {
	if p == nil {
		return "", 0, mdm.Errorf(mdm.Unauthenticated, "authentication required")
	}
	if !Allowed(p, SelfService) {
		return "", 0, mdm.Errorf(mdm.Forbidden, "only a tenant's user may do this, for themselves")
	}
	return p.TenantID, mdm.AccountID(p.ID), nil
}

// Scope is the tenant a principal's reads are limited to: mdm.AllTenants for a System Admin, the
// principal's tenant when it holds perm, else an error.
func Scope(p *mdm.Principal, perm Permission) (mdm.TenantID, error) {
	if p.IsSystemAdmin() {
		return mdm.AllTenants, nil
	}
	return RequireTenant(p, perm)
}
