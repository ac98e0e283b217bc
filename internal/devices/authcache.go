package devices

import (
	"sync"
	"time"

	"steward/internal/mdm"
)

// The authentication cache: a device checking in several times within authCacheTTL (a burst of
// check-in, fetch and acknowledge) is looked up once. Every change this process makes to a device's
// state, credential or inventory drops its entry. Changes of state and credential are also announced
// to the other replicas (WithChanged), which drop theirs at once (DropCached); what a check-in reported
// (facts, push token) they see within the TTL.
//
// A lookup that read a device before a change committed must not put that old record back after the
// change dropped it: forget counts an epoch and notes, per device, the epoch it was last forgotten at;
// a lookup notes the epoch it began at (begin) and addDevice stores its result only when the device
// was not forgotten since.
const (
	authCacheSize = 20000
	authCacheTTL  = 5 * time.Second
)

type authEntry struct {
	device mdm.Device
	at     time.Time
}

type tenantEntry struct {
	active bool
	name   string
	at     time.Time
}

type authCache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	now     func() time.Time
	byHash  map[string]authEntry // keyed by the credential's keyed hash
	hashOf  map[deviceKey]string
	tenants map[mdm.TenantID]tenantEntry

	epoch     uint64               // how many times forget ran
	forgotten map[deviceKey]uint64 // the epoch each device was last forgotten at
	floor     uint64               // forgotten was cleared at this epoch: older lookups are not stored
}

func newAuthCache(max int, ttl time.Duration, now func() time.Time) *authCache {
	return &authCache{max: max, ttl: ttl, now: now, byHash: map[string]authEntry{}, hashOf: map[deviceKey]string{},
		tenants: map[mdm.TenantID]tenantEntry{}, forgotten: map[deviceKey]uint64{}}
}

// begin returns the epoch a lookup starts at, for addDevice.
func (c *authCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *authCache) device(hash []byte) (*mdm.Device, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byHash[string(hash)]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		return nil, false
	}
	d := e.device
	return &d, true
}

// addDevice caches d, read by a lookup that began at epoch since, unless d was forgotten after that.
func (c *authCache) addDevice(hash []byte, d *mdm.Device, since uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if since < c.floor || c.forgotten[deviceKey{d.TenantID, d.ID}] > since {
		return
	}
	now := c.now()
	if len(c.byHash) >= c.max {
		for h, e := range c.byHash {
			if now.Sub(e.at) >= c.ttl {
				delete(c.byHash, h)
				delete(c.hashOf, deviceKey{e.device.TenantID, e.device.ID})
			}
		}
		if len(c.byHash) >= c.max {
			clear(c.byHash)
			clear(c.hashOf)
		}
	}
	c.byHash[string(hash)] = authEntry{device: *d, at: now}
	c.hashOf[deviceKey{d.TenantID, d.ID}] = string(hash)
}

// forget drops the entries of ids and keeps lookups already under way from storing them again.
func (c *authCache) forget(tenant mdm.TenantID, ids ...mdm.DeviceID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if len(c.forgotten)+len(ids) > c.max {
		clear(c.forgotten)
		c.floor = c.epoch
	}
	for _, id := range ids {
		k := deviceKey{tenant, id}
		c.forgotten[k] = c.epoch
		if h, ok := c.hashOf[k]; ok {
			delete(c.byHash, h)
			delete(c.hashOf, k)
		}
	}
}

// forgetTenant drops the tenant's cached state.
func (c *authCache) forgetTenant(id mdm.TenantID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tenants, id)
}

// clear drops every entry and keeps lookups already under way from storing theirs.
func (c *authCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.floor = c.epoch
	clear(c.forgotten)
	clear(c.byHash)
	clear(c.hashOf)
	clear(c.tenants)
}

// forgetPushToken drops the device's entry when it carries token (cleared by another replica).
func (c *authCache) forgetPushToken(tenant mdm.TenantID, id mdm.DeviceID, token string) {
	c.mu.Lock()
	h, ok := c.hashOf[deviceKey{tenant, id}]
	carries := ok && c.byHash[h].device.PushToken == token
	c.mu.Unlock()
	if carries {
		c.forget(tenant, id)
	}
}

func (c *authCache) tenant(id mdm.TenantID) (tenantEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tenants[id]
	return e, ok && c.now().Sub(e.at) < c.ttl
}

func (c *authCache) addTenant(t *mdm.Tenant) tenantEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tenants) >= c.max {
		clear(c.tenants)
	}
	e := tenantEntry{active: t.State == mdm.TenantActive, name: t.Name, at: c.now()}
	c.tenants[t.ID] = e
	return e
}
