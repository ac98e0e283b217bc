package devices

import (
	"sync"
	"time"

	"steward/internal/mdm"
)

// The authentication cache: a device checking in several times within authCacheTTL (a burst of
// check-in, fetch and acknowledge) is looked up once. Every change this process makes to a device's
// state, credential or inventory drops its entry; other replicas see such a change within the TTL.
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
}

func newAuthCache(max int, ttl time.Duration, now func() time.Time) *authCache {
	return &authCache{max: max, ttl: ttl, now: now, byHash: map[string]authEntry{}, hashOf: map[deviceKey]string{},
		tenants: map[mdm.TenantID]tenantEntry{}}
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

func (c *authCache) addDevice(hash []byte, d *mdm.Device) {
	c.mu.Lock()
	defer c.mu.Unlock()
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

// forget drops the entries of ids.
func (c *authCache) forget(tenant mdm.TenantID, ids ...mdm.DeviceID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		k := deviceKey{tenant, id}
		if h, ok := c.hashOf[k]; ok {
			delete(c.byHash, h)
			delete(c.hashOf, k)
		}
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
