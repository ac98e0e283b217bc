package accounts

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

func TestPINStatus(t *testing.T) {
	f := setup(t)
	ctx := mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(f.admin.ID),
		Username: f.admin.Username, TenantID: f.tenant.ID, Roles: []string{mdm.RoleTenantAdmin}})
	created, err := f.svc.CreateAccounts(ctx, []NewAccount{{EmailAddress: "pat@acme.example.com"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	id := created[0].ID
	status := func(want string) *PINState {
		t.Helper()
		st, err := f.svc.PINStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != want {
			t.Fatalf("status %q, want %q", st.Status, want)
		}
		return st
	}
	if st := status(PINNone); !st.IssuedAt.IsZero() || !st.Setting.UsesPIN() {
		t.Errorf("no PIN yet: %+v", st)
	}

	issued, err := f.svc.IssueRegistrationPIN(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	st := status(PINActive)
	if !st.IssuedAt.Equal(f.clock.now()) || !st.ExpiresAt.Equal(issued.ExpiresAt) {
		t.Errorf("active PIN: issued %v expires %v, want %v and %v", st.IssuedAt, st.ExpiresAt, f.clock.now(), issued.ExpiresAt)
	}

	f.clock.add(7*24*time.Hour + time.Second)
	status(PINExpired)

	if _, err := f.svc.IssueRegistrationPIN(ctx, id); err != nil {
		t.Fatal(err)
	}
	status(PINActive)
	if err := f.store.Tokens().Use(f.ctx, f.svc.pinHash(f.tenant.ID, id, "unknown"), f.clock.now()); err == nil {
		t.Fatal("a wrong PIN was accepted as used")
	}
	latest, err := f.store.Tokens().Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, f.tenant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Tokens().Use(f.ctx, latest.Hash, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	if st := status(PINUsed); st.UsedAt.IsZero() {
		t.Errorf("used PIN has no use time: %+v", st)
	}

	// Another tenant's principal cannot see it, and a caller without user.read is refused.
	other := mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 999, TenantID: "t-2",
		Roles: []string{mdm.RoleTenantAdmin}})
	if _, err := f.svc.PINStatus(other, id); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("other tenant: %v, want not_found", err)
	}
	none := mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 998, TenantID: f.tenant.ID})
	if _, err := f.svc.PINStatus(none, id); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("no roles: %v, want forbidden", err)
	}
}
