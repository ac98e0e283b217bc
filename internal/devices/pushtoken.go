package devices

import "context"

// DropPushToken clears the push token of t's device when the push service no longer knows it, unless
// the device has reported another token since. The device also leaves the authentication cache, so
// that its next check-in compares a token it reports again with the stored one, not the old one.
func (s *Service) DropPushToken(ctx context.Context, t WakeTarget) error {
	cleared, err := s.store.Devices().ClearPushToken(ctx, t.TenantID, t.DeviceID, t.PushToken, s.now())
	if err != nil {
		return err
	}
	if cleared {
		s.forget(t.TenantID, t.DeviceID)
		s.log.InfoContext(ctx, "push token dropped", "tenant_id", t.TenantID, "device_id", t.DeviceID)
	} else {
		s.auth.forgetPushToken(t.TenantID, t.DeviceID, t.PushToken)
	}
	return nil
}
