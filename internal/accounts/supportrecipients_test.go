package accounts

import (
	"testing"

	"steward/internal/mdm"
)

// TestSupportRecipientsFallback: designated support administrators none of whom can be written to
// (disabled, or without an email address) count as none designated: the Tenant Admins get the request.
func TestSupportRecipientsFallback(t *testing.T) {
	f := setup(t)
	noMail := mdm.Account{TenantID: f.tenant.ID, Username: "nomail@acme.example.com", Enabled: true,
		CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	off := mdm.Account{TenantID: f.tenant.ID, Username: "off@acme.example.com", Email: "off@acme.example.com",
		CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	for _, a := range []*mdm.Account{&noMail, &off} {
		if err := f.store.Accounts().Create(f.ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.SupportAdmins().Set(f.ctx, f.tenant.ID, []mdm.AccountID{noMail.ID, off.ID}); err != nil {
		t.Fatal(err)
	}
	got, err := supportRecipients(f.ctx, f.store, f.tenant.ID)
	if err != nil || len(got) != 1 || got[0].ID != f.admin.ID {
		t.Errorf("recipients with unreachable support admins: %v, %v; want the Tenant Admin %d", got, err, f.admin.ID)
	}
}
