package accounts

import (
	"context"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// SupportRecipients lists who a support request from the caller's tenant reaches now: the enabled
// designated support administrators, or with none designated the enabled Tenant Admins. The console
// shows it so that an administrator sees the fallback before relying on it.
func (s *Service) SupportRecipients(ctx context.Context) ([]mdm.Account, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return nil, err
	}
	return supportRecipients(ctx, s.store, tenantID)
}
