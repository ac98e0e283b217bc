package devices

import (
	"context"
	"sync"
	"time"

	"steward/internal/mdm"
)

// deviceKey names a device across tenants.
type deviceKey struct {
	tenant mdm.TenantID
	id     mdm.DeviceID
}

// lastSeen holds the check-in times not yet written, so that a check-in costs no write of its own:
// Flush writes them all with one TouchCheckins call. Reads overlay them (see seenAt).
type lastSeen struct {
	mu      sync.Mutex
	pending map[deviceKey]time.Time
}

func newLastSeen() *lastSeen { return &lastSeen{pending: map[deviceKey]time.Time{}} }

func (l *lastSeen) touch(tenant mdm.TenantID, id mdm.DeviceID, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := deviceKey{tenant, id}
	if at.After(l.pending[k]) {
		l.pending[k] = at
	}
}

// at returns the unwritten check-in time of a device, if there is one.
func (l *lastSeen) at(tenant mdm.TenantID, id mdm.DeviceID) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.pending[deviceKey{tenant, id}]
	return t, ok
}

// take empties the set and returns what it held.
func (l *lastSeen) take() []mdm.CheckinTouch {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return nil
	}
	out := make([]mdm.CheckinTouch, 0, len(l.pending))
	for k, t := range l.pending {
		out = append(out, mdm.CheckinTouch{TenantID: k.tenant, ID: k.id, At: t})
	}
	l.pending = make(map[deviceKey]time.Time, len(out))
	return out
}

// putBack returns touches that could not be written, unless a newer time has come in meanwhile.
func (l *lastSeen) putBack(touches []mdm.CheckinTouch) {
	for _, t := range touches {
		l.touch(t.TenantID, t.ID, t.At)
	}
}

func (l *lastSeen) forget(tenant mdm.TenantID, ids []mdm.DeviceID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		delete(l.pending, deviceKey{tenant, id})
	}
}

// Flush writes the coalesced check-in times now. Run calls it every second and before it returns.
func (s *Service) Flush(ctx context.Context) error {
	touches := s.seen.take()
	if len(touches) == 0 {
		return nil
	}
	if err := s.store.Devices().TouchCheckins(ctx, touches); err != nil {
		s.seen.putBack(touches)
		return err
	}
	return nil
}

// seenAt overlays the check-in time not yet written on d.
func (s *Service) seenAt(d *mdm.Device) {
	if t, ok := s.seen.at(d.TenantID, d.ID); ok && t.After(d.LastCheckin) {
		d.LastCheckin = t
	}
}
