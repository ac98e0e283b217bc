package server

import (
	"context"
	"fmt"

	"steward/internal/accounts"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/tenants"
)

// Demo tenant and its admin, created by `serve --demo`.
const (
	DemoTenant = "Demo"
	DemoAdmin  = "admin@demo.example.com"
)

// demo creates, once, a System Admin (unless one exists) and the Demo tenant with its Tenant Admin, each
// with a fresh random password that is printed once: there is never a default password.
func (s *Server) demo(ctx context.Context) ([]string, error) {
	var notes []string
	base := s.cfg.BaseURL
	hasAdmin, err := s.accounts.HasSystemAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if !hasAdmin {
		pw := secret.Token()[:20]
		if _, err := s.accounts.CreateSystemAdmin(ctx, accounts.SystemAdminUsername, pw); err != nil {
			return nil, err
		}
		notes = append(notes, fmt.Sprintf("System Admin: sign in at %s/login as admin / %s", base, pw))
	}
	if _, err := s.store.Accounts().ByUsername(ctx, DemoAdmin); err == nil {
		notes = append(notes, fmt.Sprintf("demo tenant exists: sign in at %s/login as %s with the password printed at its creation", base, DemoAdmin))
		return notes, nil
	} else if !mdm.IsCode(err, mdm.NotFound) {
		return nil, err
	}
	pw := secret.Token()[:20]
	sys := &mdm.Principal{Kind: mdm.SystemAdminPrincipal, Username: "steward-demo"}
	send := false
	_, err = s.tenants.Create(mdm.WithPrincipal(ctx, sys), tenants.CreateInput{Name: DemoTenant, AdminEmail: DemoAdmin,
		AdminFirstName: "Demo", AdminLastName: "Admin", AdminPassword: pw, SendActivation: &send})
	if err != nil {
		return nil, fmt.Errorf("create demo tenant: %w", err)
	}
	notes = append(notes, fmt.Sprintf("Tenant Admin of %q: sign in at %s/login as %s / %s", DemoTenant, base, DemoAdmin, pw))
	return notes, nil
}
