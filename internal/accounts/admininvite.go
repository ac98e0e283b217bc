package accounts

import (
	"context"
	"net/url"
	"strings"
	"time"

	"steward/internal/authz"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// AdminInvitationLifetime is how long the link of an Admin Invitation works.
const AdminInvitationLifetime = 72 * time.Hour

// adminRoles returns the display names of the roles a holds (its own and its groups'); none means a
// is an end user, not an administrator.
func adminRoles(ctx context.Context, tx mdm.Stores, a *mdm.Account) ([]string, error) {
	ids, err := effectiveRolesIn(ctx, tx, a)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	names := map[string]string{}
	for _, r := range authz.Roles() {
		names[r.ID] = r.Name
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if n, ok := names[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, id)
		}
	}
	return out, nil
}

// inviterName is how the Admin Invitation names the administrator who sent it.
func inviterName(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID) string {
	p := mdm.PrincipalFrom(ctx)
	if p == nil {
		return ""
	}
	if p.Kind == mdm.AccountPrincipal && p.TenantID == tenantID {
		if a, err := tx.Accounts().Get(ctx, tenantID, mdm.AccountID(p.ID)); err == nil {
			if name := strings.TrimSpace(a.FirstName + " " + a.LastName); name != "" {
				return name
			}
		}
	}
	return p.Username
}

// inviteAdmin queues the Admin Invitation when a holds any role and may sign in to the console (an API
// user never may). It comes on top of the device registration invitation, since an administrator may
// register devices too. Without a password yet the link is a one-time activation link (the
// /activate page, where they choose one; an earlier invitation's link stops working); with one it is
// the console sign-in page.
func (s *Service) inviteAdmin(ctx context.Context, tx mdm.Stores, a *mdm.Account, tenant *mdm.Tenant) error {
	if a.APIUser {
		return nil
	}
	roles, err := adminRoles(ctx, tx, a)
	if err != nil || len(roles) == 0 {
		return err
	}
	data := mail.AdminInvitationData{TenantName: tenant.Name, FirstName: a.FirstName, InvitedBy: inviterName(ctx, tx, a.TenantID),
		Roles: roles, Link: s.baseURL + "/login"}
	if a.PasswordHash == "" {
		if err := tx.Tokens().Revoke(ctx, mdm.TokenPurposeActivation, a.TenantID, a.ID); err != nil {
			return err
		}
		token, now := secret.Token(), s.now()
		data.ExpiresAt = now.Add(AdminInvitationLifetime)
		if err := tx.Tokens().Create(ctx, &mdm.OneTimeToken{Hash: s.keys.Hash(token), Purpose: mdm.TokenPurposeActivation,
			TenantID: a.TenantID, AccountID: a.ID, ExpiresAt: data.ExpiresAt, CreatedAt: now}); err != nil {
			return err
		}
		data.Link = s.baseURL + "/activate?token=" + url.QueryEscape(token)
	}
	_, err = s.mailer.Enqueue(ctx, tx.Outbox(), a.TenantID, mail.TemplateAdminInvitation, a.Email, data)
	return err
}
