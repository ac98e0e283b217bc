package storetest

import (
	"slices"
	"testing"

	"steward/internal/mdm"
)

// testAccountWithRole: only the tenant's enabled accounts with an email address holding the role
// themselves, by id, at most limit; the role is matched whole.
func testAccountWithRole(t *testing.T, f *fixture) {
	as := f.s.Accounts()
	patch := func(a mdm.Account, p mdm.AccountPatch) {
		t.Helper()
		if _, err := as.Update(f.ctx, a.TenantID, a.ID, p, f.now); err != nil {
			t.Fatalf("update %s: %v", a.Username, err)
		}
	}
	roles := func(r ...string) *[]string { return &r }
	admin1 := f.account(t, f.A.ID, "admin1@a.example.com") // TENANT_ADMIN
	disabled := f.account(t, f.A.ID, "off@a.example.com")
	off := false
	patch(disabled, mdm.AccountPatch{Enabled: &off})
	lookalike := f.account(t, f.A.ID, "lookalike@a.example.com")
	patch(lookalike, mdm.AccountPatch{Roles: roles("TENANTXADMIN", "TENANT_ADMINS")})
	plain := f.account(t, f.A.ID, "plain@a.example.com")
	patch(plain, mdm.AccountPatch{Roles: roles()})
	noMail := mdm.Account{TenantID: f.A.ID, Username: "nomail@a.example.com", Roles: []string{mdm.RoleTenantAdmin},
		Enabled: true, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "create account without email", f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &noMail) }))
	admin2 := f.account(t, f.A.ID, "admin2@a.example.com")
	patch(admin2, mdm.AccountPatch{Roles: roles("USER_ADMIN", mdm.RoleTenantAdmin)})
	admin3 := f.account(t, f.A.ID, "admin3@a.example.com")
	adminB := f.account(t, f.B.ID, "admin@b.example.com")

	ids := func(as []mdm.Account) []string {
		var out []string
		for _, a := range as {
			out = append(out, string(a.TenantID)+"/"+a.Username)
		}
		return out
	}
	key := func(a mdm.Account) string { return string(a.TenantID) + "/" + a.Username }
	got, err := as.WithRole(f.ctx, f.A.ID, mdm.RoleTenantAdmin, 10)
	if want := []string{key(admin1), key(admin2), key(admin3)}; err != nil || !slices.Equal(ids(got), want) {
		t.Errorf("WithRole(A) = %v, %v; want %v", ids(got), err, want)
	}
	got, err = as.WithRole(f.ctx, f.A.ID, mdm.RoleTenantAdmin, 2)
	if want := []string{key(admin1), key(admin2)}; err != nil || !slices.Equal(ids(got), want) {
		t.Errorf("WithRole(A, limit 2) = %v, %v; want %v", ids(got), err, want)
	}
	got, err = as.WithRole(f.ctx, f.B.ID, mdm.RoleTenantAdmin, 10)
	if want := []string{key(adminB)}; err != nil || !slices.Equal(ids(got), want) {
		t.Errorf("WithRole(B) = %v, %v; want %v", ids(got), err, want)
	}
	got, err = as.WithRole(f.ctx, f.A.ID, "NO_SUCH_ROLE", 10)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("WithRole(unknown role) = %v, %v; want an empty list", ids(got), err)
	}
}
