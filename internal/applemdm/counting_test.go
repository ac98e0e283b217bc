package applemdm_test

import (
	"context"
	"maps"
	"sync"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// counts records the store calls the hot paths make, by method name.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[name]++
}

// take returns the counts so far and starts over.
func (c *counts) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := maps.Clone(c.n)
	clear(c.n)
	return out
}

// countingStore is the real store, counting the reads and writes a connect could make.
type countingStore struct {
	*sqlstore.Store
	c *counts
}

func (s countingStore) Devices() mdm.DeviceStore   { return countingDevices{s.Store.Devices(), s.c} }
func (s countingStore) Commands() mdm.CommandStore { return countingCommands{s.Store.Commands(), s.c} }
func (s countingStore) Apple() mdm.AppleStore      { return countingApple{s.Store.Apple(), s.c} }
func (s countingStore) InTx(ctx context.Context, fn func(tx mdm.Stores) error) error {
	s.c.add("InTx")
	return s.Store.InTx(ctx, fn)
}

type countingDevices struct {
	mdm.DeviceStore
	c *counts
}

func (d countingDevices) ByCredential(ctx context.Context, hash []byte) (*mdm.Device, error) {
	d.c.add("ByCredential")
	return d.DeviceStore.ByCredential(ctx, hash)
}

func (d countingDevices) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.Device, error) {
	d.c.add("Devices.Get")
	return d.DeviceStore.Get(ctx, tenantID, id)
}

type countingCommands struct {
	mdm.CommandStore
	c *counts
}

func (q countingCommands) Due(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, resendBefore time.Time, limit int) ([]mdm.Command, error) {
	q.c.add("Due")
	return q.CommandStore.Due(ctx, tenantID, deviceID, resendBefore, limit)
}

func (q countingCommands) Enqueue(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, states []string, c mdm.NewCommand, now time.Time) ([]mdm.DeviceID, error) {
	q.c.add("Enqueue")
	return q.CommandStore.Enqueue(ctx, tenantID, ids, states, c, now)
}

func (q countingCommands) MarkSent(ctx context.Context, tenantID mdm.TenantID, ids []mdm.CommandID, now time.Time) ([]mdm.CommandID, error) {
	q.c.add("MarkSent")
	return q.CommandStore.MarkSent(ctx, tenantID, ids, now)
}

func (q countingCommands) History(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, opts mdm.ListOptions) (mdm.Page[mdm.Command], error) {
	q.c.add("History")
	return q.CommandStore.History(ctx, tenantID, deviceID, opts)
}

type countingApple struct {
	mdm.AppleStore
	c *counts
}

func (a countingApple) SetInventoryAt(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, at time.Time) error {
	a.c.add("SetInventoryAt")
	return a.AppleStore.SetInventoryAt(ctx, tenantID, id, at)
}

func (a countingApple) Device(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.AppleDevice, error) {
	a.c.add("Apple.Device")
	return a.AppleStore.Device(ctx, tenantID, id)
}
