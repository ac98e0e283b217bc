package devices

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

// A lookup's result is cached only when its device was not forgotten after the lookup began, also once
// the record of forgotten devices has been cleared to stay within its bound.
func TestDeviceAuthCacheStoresOnlyLookupsNotOvertakenByForget(t *testing.T) {
	now := time.Unix(1e9, 0)
	dev := func(id mdm.DeviceID) *mdm.Device { return &mdm.Device{TenantID: "t-1", ID: id} }
	cached := func(c *authCache, hash string) bool { _, ok := c.device([]byte(hash)); return ok }

	c := newAuthCache(3, time.Minute, func() time.Time { return now })
	since := c.begin()
	c.forget("t-1", 1)
	c.addDevice([]byte("h1"), dev(1), since)
	c.addDevice([]byte("h2"), dev(2), since)
	if cached(c, "h1") {
		t.Error("device 1, forgotten after its lookup began, was cached")
	}
	if !cached(c, "h2") {
		t.Error("device 2, not forgotten, was not cached")
	}
	c.addDevice([]byte("h1"), dev(1), c.begin())
	if !cached(c, "h1") {
		t.Error("device 1, looked up after it was forgotten, was not cached")
	}

	// Forgetting more devices than the bound clears the record: lookups begun before are not stored.
	since = c.begin()
	c.forget("t-1", 4, 5, 6)
	c.addDevice([]byte("h7"), dev(7), since)
	if cached(c, "h7") {
		t.Error("a lookup begun before the record was cleared was cached")
	}
	c.addDevice([]byte("h7"), dev(7), c.begin())
	if !cached(c, "h7") {
		t.Error("a lookup begun after the record was cleared was not cached")
	}
}
