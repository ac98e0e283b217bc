package mdm

import (
	"context"
	"time"
)

// ---- Device groups -------------------------------------------------------------------------------

// DeviceGroupID identifies a device group within its tenant.
type DeviceGroupID int64

// DeviceGroupKind says how a device group gets its members.
type DeviceGroupKind string

const (
	// AllDevicesGroup holds every device of the tenant; it exists once per tenant (built in).
	AllDevicesGroup DeviceGroupKind = "ALL_DEVICES"
	// StaticDeviceGroup holds the devices added to it by hand.
	StaticDeviceGroup DeviceGroupKind = "STATIC"
	// DynamicDeviceGroup holds the devices matching its Rule, an fq filter over DeviceFields (for example
	// platformType=IOS or deviceKind=APPLE_TV and platformVersion>=17). A rule that no longer parses
	// matches no device.
	DynamicDeviceGroup DeviceGroupKind = "DYNAMIC"
)

// DeviceGroup is a set of a tenant's devices that apps, content and configurations are distributed to.
//
// BuiltIn groups (All Devices and the per-platform dynamic groups of BuiltInDeviceGroups) exist in
// every tenant, are created with it, and can be neither changed nor deleted.
type DeviceGroup struct {
	ID          DeviceGroupID
	TenantID    TenantID
	Name        string // unique in the tenant, case-insensitively
	Description string
	Kind        DeviceGroupKind
	Rule        string // DYNAMIC only: an fq filter over DeviceFields; "" otherwise
	BuiltIn     bool
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// BuiltInDeviceGroups are the groups every tenant has. The migration that introduced device groups
// created them for the tenants of the day; TenantStore.Create creates them for every new tenant (with
// DeviceGroupStore.EnsureBuiltIns, in the same transaction). iOS Devices includes Apple TVs
// (tvOS is a subset of iOS, as in Neurons for MDM).
var BuiltInDeviceGroups = []DeviceGroup{
	{Name: "All Devices", Description: "Every device of the tenant.", Kind: AllDevicesGroup, BuiltIn: true},
	{Name: "iOS Devices", Description: "Every Apple iOS, iPadOS and tvOS device.", Kind: DynamicDeviceGroup,
		Rule: "platformType=" + PlatformIOS, BuiltIn: true},
	{Name: "Android Devices", Description: "Every Android device.", Kind: DynamicDeviceGroup,
		Rule: "platformType=" + PlatformAndroid, BuiltIn: true},
	{Name: "tvOS Devices", Description: "Every Apple TV.", Kind: DynamicDeviceGroup,
		Rule: "deviceKind=" + KindAppleTV, BuiltIn: true},
}

// DeviceGroupPatch changes some of a device group's fields; nil fields stay as they are. Kind never
// changes.
type DeviceGroupPatch struct {
	Name        *string
	Description *string
	Rule        *string
}

// DeviceGroupFields are the device group fields that lists filter and sort on.
var DeviceGroupFields = FieldSet{"id": IntField, "name": StringField, "kind": StringField, "builtIn": BoolField,
	"createdAt": TimeField}

// DeviceGroupStore keeps device groups and their static memberships.
//
// Create returns conflict for a name taken in the tenant (case-insensitively) and not_found for an
// unknown tenant. Get, Update, Delete, AddMembers, RemoveMembers and Members return not_found for a
// group unknown in the tenant; AddMembers also for a device unknown in the tenant (adding nothing).
// Store methods do not enforce BuiltIn or Kind rules (services do), except that AddMembers and
// RemoveMembers refuse a group that is not STATIC with conflict.
//
// Delete removes the group, its memberships and, in the same transaction, every distribution naming it
// (DistributionStore.DeleteForTarget). Members pages through a static group's added devices (opts
// filter and sort over DeviceFields); for a dynamic group the service lists devices with the rule
// instead. StaticGroupsOf returns the ids of the static groups device belongs to (ascending);
// StaticGroupsOfMany those of many devices in one query, by device (devices in none are absent). All
// returns every group of the tenant (for evaluating dynamic rules in memory), by id. EnsureBuiltIns
// creates those of BuiltInDeviceGroups the tenant lacks (matched by name); it is idempotent. Deleting
// a device removes its memberships.
type DeviceGroupStore interface {
	Create(ctx context.Context, g *DeviceGroup) error
	Get(ctx context.Context, tenantID TenantID, id DeviceGroupID) (*DeviceGroup, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[DeviceGroup], error)
	All(ctx context.Context, tenantID TenantID) ([]DeviceGroup, error)
	Update(ctx context.Context, tenantID TenantID, id DeviceGroupID, patch DeviceGroupPatch, now time.Time) (*DeviceGroup, error)
	Delete(ctx context.Context, tenantID TenantID, id DeviceGroupID) error
	AddMembers(ctx context.Context, tenantID TenantID, id DeviceGroupID, devices []DeviceID) error
	RemoveMembers(ctx context.Context, tenantID TenantID, id DeviceGroupID, devices []DeviceID) error
	Members(ctx context.Context, tenantID TenantID, id DeviceGroupID, opts ListOptions) (Page[Device], error)
	StaticGroupsOf(ctx context.Context, tenantID TenantID, device DeviceID) ([]DeviceGroupID, error)
	StaticGroupsOfMany(ctx context.Context, tenantID TenantID, devices []DeviceID) (map[DeviceID][]DeviceGroupID, error)
	EnsureBuiltIns(ctx context.Context, tenantID TenantID, now time.Time) error
}

// ---- Distribution ----------------------------------------------------------------------------------

// ItemKind names what is distributed: apps, content or configurations. Categories use APP and CONTENT.
type ItemKind string

const (
	ItemApp           ItemKind = "APP"
	ItemContent       ItemKind = "CONTENT"
	ItemConfiguration ItemKind = "CONFIGURATION"
)

// Valid reports whether k is one of the three item kinds.
func (k ItemKind) Valid() bool { return k == ItemApp || k == ItemContent || k == ItemConfiguration }

// TargetKind names who an item is distributed to.
type TargetKind string

const (
	TargetAllUsers    TargetKind = "ALL_USERS"    // every user of the tenant (and so every device with an owner); TargetID 0
	TargetUserGroup   TargetKind = "USER_GROUP"   // a user group (GroupID): its members and their devices
	TargetDeviceGroup TargetKind = "DEVICE_GROUP" // a device group (DeviceGroupID): its devices
)

// Valid reports whether k is one of the three target kinds.
func (k TargetKind) Valid() bool {
	return k == TargetAllUsers || k == TargetUserGroup || k == TargetDeviceGroup
}

// Distribution says that one item reaches one target. Required (apps) means installed automatically;
// otherwise the item is optional (shown in the catalog). An item with no distribution reaches nobody.
type Distribution struct {
	TenantID TenantID
	ItemKind ItemKind
	ItemID   int64 // the app's, content's or configuration's id
	Target   TargetKind
	TargetID int64 // GroupID or DeviceGroupID; 0 for ALL_USERS
	Required bool
}

// Targets are the targets one user or device is in: what a distribution must name to reach it.
// AllUsers holds for a user, and for a device that has an owner.
type Targets struct {
	AllUsers     bool
	UserGroups   []GroupID
	DeviceGroups []DeviceGroupID
}

// Reach describes, in a form a database can evaluate, the devices a set of distributions reaches:
// devices with an owner (AllUsers), devices whose owner is a member of a static user group or matches
// a dynamic user group's rule (UserRules, fq filters over AccountFields), every device (AllDevices),
// devices in a static device group or matching a dynamic device group's rule (DeviceRules, fq filters
// over DeviceFields).
type Reach struct {
	AllUsers           bool
	StaticUserGroups   []GroupID
	UserRules          []Filter
	AllDevices         bool
	StaticDeviceGroups []DeviceGroupID
	DeviceRules        []Filter
}

// Empty reports whether r reaches no device at all.
func (r Reach) Empty() bool {
	return !r.AllUsers && !r.AllDevices && len(r.StaticUserGroups) == 0 && len(r.UserRules) == 0 &&
		len(r.StaticDeviceGroups) == 0 && len(r.DeviceRules) == 0
}

// DistributionStore keeps who each app, content item and configuration is distributed to. It does not
// know the items themselves: each item kind's store deletes its item's distributions (DeleteForItem) in
// the transaction that deletes the item.
//
// Replace sets an item's targets to exactly ds (their TenantID, ItemKind and ItemID are ignored: the
// arguments name the item; at most one per target, later duplicates win) in one transaction; it returns not_found, changing nothing, when a USER_GROUP or
// DEVICE_GROUP target names a group unknown in the tenant, and invalid for an unknown target kind or an
// ALL_USERS target with a TargetID other than 0. ForItem returns an item's distributions (ordered by
// target kind, then target id); ForItems those of many items in one query, by item id. Reaching returns
// the distributions of items of kind that name any of t (ALL_USERS when t.AllUsers), ordered by item id
// (an item may appear once per matching target; callers merge). ForTarget returns the distributions
// naming one target, of every item kind. DeleteForItem removes an item's distributions; DeleteForTarget
// those naming one group (the group stores call it when deleting a group) and returns how many.
// DevicesReached returns, in id order, at most limit ids greater than after of the tenant's ACTIVE
// devices that r reaches, evaluated in one query (page with after = the last id returned).
//
// Callers bump the tenant's assignment generation (GenerationStore.Bump) in the same transaction as
// Replace, DeleteForItem and DeleteForTarget.
type DistributionStore interface {
	Replace(ctx context.Context, tenantID TenantID, kind ItemKind, itemID int64, ds []Distribution) error
	ForItem(ctx context.Context, tenantID TenantID, kind ItemKind, itemID int64) ([]Distribution, error)
	ForItems(ctx context.Context, tenantID TenantID, kind ItemKind, itemIDs []int64) (map[int64][]Distribution, error)
	Reaching(ctx context.Context, tenantID TenantID, kind ItemKind, t Targets) ([]Distribution, error)
	ForTarget(ctx context.Context, tenantID TenantID, target TargetKind, targetID int64) ([]Distribution, error)
	DeleteForItem(ctx context.Context, tenantID TenantID, kind ItemKind, itemID int64) error
	DeleteForTarget(ctx context.Context, tenantID TenantID, target TargetKind, targetID int64) (int, error)
	DevicesReached(ctx context.Context, tenantID TenantID, r Reach, after DeviceID, limit int) ([]DeviceID, error)
}

// ---- Assignment generation -------------------------------------------------------------------------

// GenerationStore keeps each tenant's assignment generation: a counter that grows whenever who gets
// what may have changed. A device (or the configurations capability on its behalf) remembers the
// generation it last converged at; when the tenant's is higher, its effective items must be computed
// again.
//
// Bumped, in the same transaction as the change, by: a distribution change (Replace, DeleteForItem,
// DeleteForTarget), creating, changing (rule) or deleting a device group, adding or removing static
// device group members, a user group's rule change or deletion, adding or removing static user group
// members, deleting accounts (their devices lose their owner) and giving devices another owner. Not
// (yet) bumped by: a device reporting facts that a dynamic device rule reads, an account's fields
// changing (dynamic user rules), a device registering or being deleted (a new device has converged at
// no generation; a deleted one needs nothing).
//
// Bump increments the tenant's generation and returns the new value; Get returns the current value,
// 0 for a tenant whose generation was never bumped.
type GenerationStore interface {
	Bump(ctx context.Context, tenantID TenantID) (int64, error)
	Get(ctx context.Context, tenantID TenantID) (int64, error)
}

// ---- Categories ------------------------------------------------------------------------------------

// CategoryID identifies a category within its tenant.
type CategoryID int64

// Category organises apps (Kind APP) or content (Kind CONTENT) for browsing the catalogs. The two
// kinds are separate sets: an app category never applies to content. An item carries any number of
// categories of its kind.
type Category struct {
	ID          CategoryID
	TenantID    TenantID
	Kind        ItemKind // ItemApp or ItemContent
	Name        string   // unique per tenant and kind, case-insensitively ("MINE" is "Mine")
	Description string
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// CategoryPatch changes some of a category's fields; nil fields stay as they are. Kind never changes.
type CategoryPatch struct {
	Name        *string
	Description *string
}

// CategoryFields are the category fields that lists filter and sort on.
var CategoryFields = FieldSet{"id": IntField, "name": StringField, "kind": StringField, "createdAt": TimeField}

// CategoryStore keeps the app and content categories and which items carry them.
//
// Create returns conflict for a name taken in the tenant and kind (case-insensitively); Update too.
// Get, Update and Delete return not_found for a category unknown in the tenant. List pages through the
// tenant's categories of one kind. Delete also removes the category from every item.
// SetItemCategories sets the item's categories to exactly ids (duplicates ignored) and returns
// not_found, changing nothing, when one is unknown in the tenant or of another kind. ForItems returns
// the categories of many items of kind in one query, by item id (items without one are absent), each
// list ordered by name. Items returns the ids of the items that carry category id, ascending
// (not_found for an unknown category). DeleteForItem removes an item's categories (the item's store
// calls it when deleting the item).
type CategoryStore interface {
	Create(ctx context.Context, c *Category) error
	Get(ctx context.Context, tenantID TenantID, id CategoryID) (*Category, error)
	List(ctx context.Context, tenantID TenantID, kind ItemKind, opts ListOptions) (Page[Category], error)
	Update(ctx context.Context, tenantID TenantID, id CategoryID, patch CategoryPatch, now time.Time) (*Category, error)
	Delete(ctx context.Context, tenantID TenantID, id CategoryID) error
	SetItemCategories(ctx context.Context, tenantID TenantID, kind ItemKind, itemID int64, ids []CategoryID) error
	ForItems(ctx context.Context, tenantID TenantID, kind ItemKind, itemIDs []int64) (map[int64][]Category, error)
	Items(ctx context.Context, tenantID TenantID, id CategoryID) ([]int64, error)
	DeleteForItem(ctx context.Context, tenantID TenantID, kind ItemKind, itemID int64) error
}
