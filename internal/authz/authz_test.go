package authz

import (
	"testing"

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
		{"no role audit scope", err2(Scope(norole, AuditRead)), mdm.Forbidden},
	}
	for _, tt := range tests {
		if got := mdm.ErrorCode(tt.err); got != tt.want {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.want)
		}
	}
	if tid, err := Scope(sys, AuditRead); tid != mdm.AllTenants || err != nil {
		t.Errorf("system admin scope = %q, %v; want every tenant", tid, err)
	}
	if tid, _ := Scope(ta, AuditRead); tid != "t1" {
		t.Errorf("tenant admin scope = %q, want t1", tid)
	}
}

func err2(_ mdm.TenantID, err error) error { return err }
