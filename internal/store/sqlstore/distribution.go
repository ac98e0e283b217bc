package sqlstore

import (
	"context"
	"time"

	"steward/internal/mdm"
)

// notYet is the answer of the methods still being written.
func notYet() error { return mdm.Errorf(mdm.Unavailable, "not implemented yet") }

type deviceGroupStore stores
type distributionStore stores
type generationStore stores
type categoryStore stores

var (
	_ mdm.DeviceGroupStore  = deviceGroupStore{}
	_ mdm.DistributionStore = distributionStore{}
	_ mdm.GenerationStore   = generationStore{}
	_ mdm.CategoryStore     = categoryStore{}
)

func (s stores) DeviceGroups() mdm.DeviceGroupStore   { return deviceGroupStore(s) }
func (s stores) Distributions() mdm.DistributionStore { return distributionStore(s) }
func (s stores) Generations() mdm.GenerationStore     { return generationStore(s) }
func (s stores) Categories() mdm.CategoryStore        { return categoryStore(s) }

func (s deviceGroupStore) Create(ctx context.Context, g *mdm.DeviceGroup) error { return notYet() }
func (s deviceGroupStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID) (*mdm.DeviceGroup, error) {
	return nil, notYet()
}
func (s deviceGroupStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.DeviceGroup], error) {
	return mdm.Page[mdm.DeviceGroup]{}, notYet()
}
func (s deviceGroupStore) All(ctx context.Context, tenantID mdm.TenantID) ([]mdm.DeviceGroup, error) {
	return nil, notYet()
}
func (s deviceGroupStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, patch mdm.DeviceGroupPatch, now time.Time) (*mdm.DeviceGroup, error) {
	return nil, notYet()
}
func (s deviceGroupStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID) error {
	return notYet()
}
func (s deviceGroupStore) AddMembers(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, devices []mdm.DeviceID) error {
	return notYet()
}
func (s deviceGroupStore) RemoveMembers(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, devices []mdm.DeviceID) error {
	return notYet()
}
func (s deviceGroupStore) Members(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	return mdm.Page[mdm.Device]{}, notYet()
}
func (s deviceGroupStore) StaticGroupsOf(ctx context.Context, tenantID mdm.TenantID, device mdm.DeviceID) ([]mdm.DeviceGroupID, error) {
	return nil, notYet()
}
func (s deviceGroupStore) EnsureBuiltIns(ctx context.Context, tenantID mdm.TenantID, now time.Time) error {
	return nil
}

func (s distributionStore) Replace(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64, ds []mdm.Distribution) error {
	return notYet()
}
func (s distributionStore) ForItem(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64) ([]mdm.Distribution, error) {
	return nil, notYet()
}
func (s distributionStore) ForItems(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemIDs []int64) (map[int64][]mdm.Distribution, error) {
	return nil, notYet()
}
func (s distributionStore) Reaching(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, t mdm.Targets) ([]mdm.Distribution, error) {
	return nil, notYet()
}
func (s distributionStore) ForTarget(ctx context.Context, tenantID mdm.TenantID, target mdm.TargetKind, targetID int64) ([]mdm.Distribution, error) {
	return nil, notYet()
}
func (s distributionStore) DeleteForItem(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64) error {
	return notYet()
}
func (s distributionStore) DeleteForTarget(ctx context.Context, tenantID mdm.TenantID, target mdm.TargetKind, targetID int64) (int, error) {
	return 0, nil
}
func (s distributionStore) DevicesReached(ctx context.Context, tenantID mdm.TenantID, r mdm.Reach, after mdm.DeviceID, limit int) ([]mdm.DeviceID, error) {
	return nil, notYet()
}

func (s generationStore) Bump(ctx context.Context, tenantID mdm.TenantID) (int64, error) {
	return 0, notYet()
}
func (s generationStore) Get(ctx context.Context, tenantID mdm.TenantID) (int64, error) {
	return 0, notYet()
}

func (s categoryStore) Create(ctx context.Context, c *mdm.Category) error { return notYet() }
func (s categoryStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID) (*mdm.Category, error) {
	return nil, notYet()
}
func (s categoryStore) List(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, opts mdm.ListOptions) (mdm.Page[mdm.Category], error) {
	return mdm.Page[mdm.Category]{}, notYet()
}
func (s categoryStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID, patch mdm.CategoryPatch, now time.Time) (*mdm.Category, error) {
	return nil, notYet()
}
func (s categoryStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID) error {
	return notYet()
}
func (s categoryStore) SetItemCategories(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64, ids []mdm.CategoryID) error {
	return notYet()
}
func (s categoryStore) ForItems(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemIDs []int64) (map[int64][]mdm.Category, error) {
	return nil, notYet()
}
func (s categoryStore) Items(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID) ([]int64, error) {
	return nil, notYet()
}
func (s categoryStore) DeleteForItem(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64) error {
	return notYet()
}
