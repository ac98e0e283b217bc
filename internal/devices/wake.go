package devices

import (
	"context"

	"steward/internal/mdm"
)

// Wake asks the tenant's devices ids to check in now (those with a push token), for capabilities that
// queue commands themselves (app delivery). It sends in the background and never fails the caller.
func (s *Service) Wake(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) {
	s.wake(ctx, tenantID, ids)
}
