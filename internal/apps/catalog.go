package apps

import (
	"context"
	"slices"
	"sync"
	"time"

	"steward/internal/assign"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// CatalogEntry is one app of a catalog: required apps are installed automatically, optional ones may
// be installed by the user.
type CatalogEntry struct {
	App        mdm.App
	Required   bool
	Categories []mdm.Category
}

// Catalog is the apps available to one user or device, in name order, with the categories they carry
// (for browsing; each category once, by name).
type Catalog struct {
	Apps       []CatalogEntry
	Categories []mdm.Category
}

// CatalogFilter narrows a catalog: Platform "" means both platforms (a user's catalog without a
// device); Category 0 means every category.
type CatalogFilter struct {
	Platform string
	Category mdm.CategoryID
}

// CatalogFor returns the catalog of account id of the caller's tenant as that user would see it (the
// admin preview "catalog as user X"): the apps distributed to All Users or to a user group the user is
// in. It needs App Read.
func (s *Service) CatalogFor(ctx context.Context, id mdm.AccountID, f CatalogFilter) (*Catalog, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return nil, err
	}
	return s.userCatalog(ctx, tenantID, id, f)
}

// MyCatalog returns the signed-in user's own catalog (the self-service portal).
func (s *Service) MyCatalog(ctx context.Context, f CatalogFilter) (*Catalog, error) {
	tenantID, id, err := authz.RequireSelf(mdm.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return s.userCatalog(ctx, tenantID, id, f)
}

func (s *Service) userCatalog(ctx context.Context, tenantID mdm.TenantID, id mdm.AccountID, f CatalogFilter) (*Catalog, error) {
	a, err := s.store.Accounts().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	r := assign.NewResolver(s.store)
	t, err := r.TargetsForUser(ctx, tenantID, a)
	if err != nil {
		return nil, err
	}
	return s.catalog(ctx, tenantID, t, f)
}

// DeviceCatalog returns the catalog of a device the caller has authenticated (the agent protocol): the
// apps of its platform distributed to its owner's user groups or to its device groups. It checks no
// permission: the device's credential is its authority. A quarantined device is refused (forbidden)
// until the compliance capability releases it.
func (s *Service) DeviceCatalog(ctx context.Context, d *mdm.Device, category mdm.CategoryID) (*Catalog, error) {
	if err := notQuarantined(d); err != nil {
		return nil, err
	}
	r := assign.NewResolver(s.store)
	t, err := r.TargetsForDevice(ctx, d.TenantID, d)
	if err != nil {
		return nil, err
	}
	return s.catalog(ctx, d.TenantID, t, CatalogFilter{Platform: d.Platform, Category: category})
}

// DeviceFile opens an in-house app's binary for a device whose catalog holds the app (not_found
// otherwise, as for an unknown app); a quarantined device is refused (forbidden).
func (s *Service) DeviceFile(ctx context.Context, d *mdm.Device, id mdm.AppID) (*mdm.App, Blob, int64, error) {
	c, err := s.DeviceCatalog(ctx, d, 0)
	if err != nil {
		return nil, nil, 0, err
	}
	if !slices.ContainsFunc(c.Apps, func(e CatalogEntry) bool { return e.App.ID == id }) {
		return nil, nil, 0, mdm.Errorf(mdm.NotFound, "app not found")
	}
	return s.open(ctx, d.TenantID, id)
}

func (s *Service) catalog(ctx context.Context, tenantID mdm.TenantID, t mdm.Targets, f CatalogFilter) (*Catalog, error) {
	ds, err := assign.NewResolver(s.store).Effective(ctx, tenantID, mdm.ItemApp, t)
	if err != nil {
		return nil, err
	}
	out := &Catalog{Apps: []CatalogEntry{}, Categories: []mdm.Category{}}
	if len(ds) == 0 {
		return out, nil
	}
	required := map[mdm.AppID]bool{}
	ids := make([]mdm.AppID, 0, len(ds))
	itemIDs := make([]int64, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, mdm.AppID(d.ItemID))
		itemIDs = append(itemIDs, d.ItemID)
		required[mdm.AppID(d.ItemID)] = d.Required
	}
	apps, err := s.store.Apps().ByIDs(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	cats, err := s.store.Categories().ForItems(ctx, tenantID, mdm.ItemApp, itemIDs)
	if err != nil {
		return nil, err
	}
	seen := map[mdm.CategoryID]bool{}
	for _, a := range apps {
		if f.Platform != "" && a.Platform != f.Platform {
			continue
		}
		cs := nonNilCats(cats[int64(a.ID)])
		for _, c := range cs {
			if !seen[c.ID] {
				seen[c.ID] = true
				out.Categories = append(out.Categories, c)
			}
		}
		if f.Category != 0 && !slices.ContainsFunc(cs, func(c mdm.Category) bool { return c.ID == f.Category }) {
			continue
		}
		out.Apps = append(out.Apps, CatalogEntry{App: a, Required: required[a.ID], Categories: cs})
	}
	slices.SortFunc(out.Apps, func(x, y CatalogEntry) int {
		if c := compareFold(x.App.Name, y.App.Name); c != 0 {
			return c
		}
		return int(x.App.ID - y.App.ID)
	})
	slices.SortFunc(out.Categories, func(x, y mdm.Category) int { return compareFold(x.Name, y.Name) })
	return out, nil
}

func compareFold(a, b string) int {
	la, lb := []rune(a), []rune(b)
	for i := 0; i < len(la) && i < len(lb); i++ {
		x, y := lower(la[i]), lower(lb[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(la) - len(lb)
}

func lower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// Inventory pages through the App Inventory of the caller's tenant: every app installed on its active
// devices, by device count. It needs App Read.
func (s *Service) Inventory(ctx context.Context, q mdm.InventoryQuery) (mdm.Page[mdm.InventoryApp], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return mdm.Page[mdm.InventoryApp]{}, err
	}
	if err := s.freshInventory(ctx, tenantID); err != nil {
		return mdm.Page[mdm.InventoryApp]{}, err
	}
	return s.store.Apps().Inventory(ctx, tenantID, q)
}

// SmallFleet is the number of active devices up to which the App Inventory is recomputed, before
// answering, whenever the devices changed since it was last computed; a larger tenant's is recomputed in
// the background at most every InventoryMaxAge (its refresh groups millions of rows: 100,000 devices
// with 30 apps each are 3,000,000, which take seconds).
const SmallFleet = 2_000

// DefaultInventoryMaxAge is how stale a large tenant's App Inventory may be by default.
const DefaultInventoryMaxAge = time.Minute

// WithSmallFleet sets the SmallFleet threshold (for tests).
func WithSmallFleet(n int) Option { return func(s *Service) { s.smallFleet = n } }

// WithInventoryMaxAge sets how stale a large tenant's App Inventory may get.
func WithInventoryMaxAge(d time.Duration) Option { return func(s *Service) { s.inventoryMaxAge = d } }

// freshInventory recomputes the tenant's inventory summary when its devices changed since the last
// refresh. A small tenant's is recomputed before answering; a large tenant's answer uses the summary
// there is and, when that is older than the maximum age, starts a refresh in the background (it groups
// millions of rows) — only the very first read waits for one. Refreshes of one tenant are serialised in
// this process; replicas may refresh at the same time, harmlessly.
func (s *Service) freshInventory(ctx context.Context, tenantID mdm.TenantID) error {
	st := s.store.Apps()
	key, devices, err := st.InventorySource(ctx, tenantID)
	if err != nil {
		return err
	}
	have, at, err := st.InventoryState(ctx, tenantID)
	if err != nil || have == key {
		return err
	}
	v, _ := s.refreshing.LoadOrStore(tenantID, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	if have != "" && devices > s.smallFleet {
		if s.now().Sub(at) < s.inventoryMaxAge || !mu.TryLock() {
			return nil
		}
		go func() {
			defer mu.Unlock()
			bg := context.WithoutCancel(ctx)
			if err := st.RefreshInventory(bg, tenantID, key, s.now()); err != nil {
				s.log.Error("app inventory refresh failed", "tenant_id", tenantID, "err", err)
			}
		}()
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	if have, _, err = st.InventoryState(ctx, tenantID); err != nil || have == key { // another request just did it
		return err
	}
	return st.RefreshInventory(ctx, tenantID, key, s.now())
}

// InventoryDevices pages through the active devices that have appID installed (on platform, "" for
// both). It needs App Read.
func (s *Service) InventoryDevices(ctx context.Context, platform, appID string, opts mdm.ListOptions) (mdm.Page[mdm.InventoryDevice], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.AppRead)
	if err != nil {
		return mdm.Page[mdm.InventoryDevice]{}, err
	}
	return s.store.Apps().InventoryDevices(ctx, tenantID, platform, appID, opts)
}

// InventoryDeviceFields are the fields the drill-down filters and sorts on.
var InventoryDeviceFields = mdm.FieldSet{"id": mdm.IntField, "deviceName": mdm.StringField, "deviceModel": mdm.StringField,
	"version": mdm.StringField, "uid": mdm.StringField, "platformType": mdm.StringField}
