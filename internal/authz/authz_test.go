package authz

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

func TestDecisions(t *testing.T) {
	sys := &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: 1, Username: "admin"}
	ta := &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 2, TenantID: "t1", Roles: []string{mdm.RoleTenantAdmin}}
	norole := &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 3, TenantID: "t1"}
	tests := []struct {
		name string
		err  error
		want mdm.Code
	}{
		{"anonymous on system API", RequireSystemAdmin(nil), mdm.Unauthenticated},
		{"tenant admin on system API", RequireSystemAdmin(ta), mdm.Forbidden},
		{"system admin on system API", RequireSystemAdmin(sys), ""},
		{"system admin as tenant", err2(RequireTenant(sys, TenantRead)), mdm.Forbidden},
		{"tenant admin reads tenant", err2(RequireTenant(ta, TenantRead)), ""},
		{"no role reads tenant", err2(RequireTenant(norole, TenantRead)), mdm.Forbidden},
		{"anonymous reads tenant", err2(RequireTenant(nil, TenantRead)), mdm.Unauthenticated},
		{"no role audit scope", err2(Scope(norole, SystemRead)), mdm.Forbidden},
	}
	for _, tt := range tests {
		if got := mdm.ErrorCode(tt.err); got != tt.want {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.want)
		}
	}
	if tid, err := Scope(sys, SystemRead); tid != mdm.AllTenants || err != nil {
		t.Errorf("system admin scope = %q, %v; want every tenant", tid, err)
	}
	if tid, _ := Scope(ta, SystemRead); tid != "t1" {
		t.Errorf("tenant admin scope = %q, want t1", tid)
	}
}

// TestSelfService: every tenant user holds SelfService, with or without roles and signed in to the
// portal or not; the System Admin does not; a portal sign-in holds nothing else, whatever its roles.
func TestSelfService(t *testing.T) {
	sys := &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: 1}
	norole := &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 3, TenantID: "t1"}
	portal := &mdm.Principal{Kind: mdm.PortalPrincipal, ID: 4, TenantID: "t1", Roles: []string{mdm.RoleTenantAdmin}}
	if Allowed(sys, SelfService) || Allowed(nil, SelfService) {
		t.Error("the System Admin or an anonymous caller holds SelfService")
	}
	for _, r := range append(Roles(), Role{}) {
		p := &mdm.Principal{Kind: mdm.AccountPrincipal, TenantID: "t1", Roles: []string{r.ID}}
		if !Allowed(p, SelfService) {
			t.Errorf("role %q lacks SelfService", r.ID)
		}
	}
	if !Allowed(norole, SelfService) || !Allowed(portal, SelfService) {
		t.Error("a user without roles or a portal sign-in lacks SelfService")
	}
	for _, perm := range []Permission{TenantRead, UserRead, UserManage, SystemRead, SystemManage, DeviceRead, SystemAdmin} {
		if Allowed(portal, perm) {
			t.Errorf("a portal sign-in holds %s", perm)
		}
	}
	if _, err := RequireTenant(portal, TenantRead); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("RequireTenant(portal) = %v, want forbidden", err)
	}
	if tid, id, err := RequireSelf(portal); tid != "t1" || id != 4 || err != nil {
		t.Errorf("RequireSelf(portal) = %q, %d, %v", tid, id, err)
	}
	if _, _, err := RequireSelf(sys); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("RequireSelf(system admin) = %v, want forbidden", err)
	}
}

func err2(_ mdm.TenantID, err error) error { return err }

// TestRoleInclusions pins the hierarchy: each role's permissions, inclusions followed.
func TestRoleInclusions(t *testing.T) {
	want := map[string][]Permission{
		RoleUserReadOnly:       {TenantRead, UserRead},
		RoleSystemReadOnly:     {SystemRead, TenantRead, UserRead},
		RoleDeviceReadOnly:     {ConfigRead, DataRead, DeviceRead, PatchRead, TenantRead, UserRead},
		RoleAppContentReadOnly: {AppRead, TenantRead, UserRead},
		RoleUserManagement:     {TenantRead, UserManage, UserRead},
		RoleSystemManagement:   {SystemManage, SystemRead, TenantRead, UserRead},
		RoleDeviceManagement: {ConfigManage, ConfigRead, DataRead, DeviceManage, DeviceRead, PatchAdmin, PatchEdit, PatchRead,
			TenantRead, UserRead},
		RoleAppContentManagement: {AppManage, AppRead, TenantRead, UserRead},
		RoleDeviceActions:        {ConfigRead, DataRead, DeviceAction, DeviceRead, PatchRead, TenantRead, UserRead},
		RoleTenantAdmin: {AppManage, AppRead, ConfigManage, ConfigRead, DataRead, DeviceAction, DeviceManage, DeviceRead,
			PatchAdmin, PatchEdit, PatchRead, SystemManage, SystemRead, TenantRead, UserManage, UserRead},
	}
	if len(Roles()) != len(want) {
		t.Errorf("%d roles, want %d", len(Roles()), len(want))
	}
	for role, perms := range want {
		if diff := cmp.Diff(perms, Permissions(role)); diff != "" {
			t.Errorf("%s permissions (-want +got):\n%s", role, diff)
		}
	}
	if Permissions("NO_SUCH_ROLE") != nil || KnownRole("NO_SUCH_ROLE") || !KnownRole(RoleDeviceActions) {
		t.Error("unknown roles must grant nothing")
	}
	// No tenant role reaches the System Admin's routes.
	for _, r := range Roles() {
		p := &mdm.Principal{Kind: mdm.AccountPrincipal, TenantID: "t", Roles: []string{r.ID}}
		if Allowed(p, SystemAdmin) {
			t.Errorf("%s grants the System Admin permission", r.ID)
		}
	}
}
