package devices

import "steward/internal/mdm"

// WithChanged sets how the other replicas serving the same database are told that devices' state or
// credential changed here (wiped, retired, deleted, re-enrolled, push token dropped): f publishes it,
// and each replica that hears it calls DropCached, so that a device refused here is refused there at
// once rather than when its cached authentication expires.
func WithChanged(f func(tenantID mdm.TenantID, ids []mdm.DeviceID)) Option {
	return func(s *Service) { s.changed = f }
}

// forget drops ids from this replica's authentication cache and announces the change to the others.
func (s *Service) forget(tenantID mdm.TenantID, ids ...mdm.DeviceID) {
	s.auth.forget(tenantID, ids...)
	if s.changed != nil && len(ids) > 0 {
		s.changed(tenantID, ids)
	}
}

// DropCached drops ids from this replica's authentication cache: another replica changed them.
func (s *Service) DropCached(tenantID mdm.TenantID, ids []mdm.DeviceID) {
	s.auth.forget(tenantID, ids...)
}

// DropAllCached empties this replica's authentication cache (changes announced by other replicas may
// have been missed).
func (s *Service) DropAllCached() { s.auth.clear() }

// DropTenantCached drops the tenant's cached state (active or suspended): it changed on another replica.
func (s *Service) DropTenantCached(tenantID mdm.TenantID) { s.auth.forgetTenant(tenantID) }
