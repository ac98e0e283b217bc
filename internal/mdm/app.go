package mdm

import (
	"context"
	"time"
)

// AppID identifies an app of a tenant's app list.
type AppID int64

// App sources: a public store app (App Store, Google Play) named by its bundle id or package name, or an
// in-house app whose binary (.ipa, .apk) was uploaded to Steward.
const (
	AppPublic  = "PUBLIC"
	AppInHouse = "IN_HOUSE"
)

// App is one iOS or Android app of a tenant's app list (the apps Steward manages). It is distributed
// (mdm.Distribution with ItemApp) to users and device groups, required (installed automatically) or
// optional (shown in the App Catalog), and carries any number of APP categories.
type App struct {
	ID          AppID
	TenantID    TenantID
	Platform    string // PlatformIOS or PlatformAndroid
	Source      string // AppPublic or AppInHouse
	BundleID    string // bundle id (iOS) or package name (Android); unique per tenant and platform
	Name        string
	Version     string // an in-house app's version as read from its binary; "" for public apps
	BuildNumber string // CFBundleVersion or versionCode of an in-house app; "" otherwise
	IconURL     string
	Description string
	StoreID     string // the App Store's numeric id (itunesStoreId) of a public iOS app; "" when unknown
	// The uploaded binary of an in-house app: its blob key, file name, size and SHA-256 (hex). Empty for
	// public apps.
	FileKey    string
	FileName   string
	FileSize   int64
	FileSHA256 string
	CreatedBy  string
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// AppFields are the app fields that lists filter and sort on.
var AppFields = FieldSet{"id": IntField, "name": StringField, "platformType": StringField, "source": StringField,
	"bundleId": StringField, "version": StringField, "createdAt": TimeField, "modifiedAt": TimeField}

// AppPatch changes some of an app's fields; nil fields stay as they are. Platform, source and bundle id
// never change. The file fields change together, when a new binary of an in-house app is uploaded.
type AppPatch struct {
	Name        *string
	Description *string
	IconURL     *string
	StoreID     *string
	Version     *string
	BuildNumber *string
	FileKey     *string
	FileName    *string
	FileSize    *int64
	FileSHA256  *string
}

// InventoryApp is one app as installed across a tenant's devices: the app id on one platform, the name
// devices report (the most common spelling is not tracked: any one of them), how many devices have it
// and at which versions, and whether it is managed (in the tenant's app list, ManagedID).
type InventoryApp struct {
	Platform    string
	AppID       string
	Name        string
	DeviceCount int
	Versions    []VersionCount // by version, ascending
	ManagedID   AppID          // 0: not in the tenant's app list (unmanaged)
}

// VersionCount is how many devices have one version of an app.
type VersionCount struct {
	Version     string
	DeviceCount int
}

// InventoryQuery selects and pages the App Inventory. Query matches app id or name (case-insensitive
// substring); Platform "" means both; Managed nil means both.
type InventoryQuery struct {
	Query    string
	Platform string
	Managed  *bool
	Start    int
	Rows     int
}

// InventoryDevice is one device that has an app installed, with the version it reported.
type InventoryDevice struct {
	DeviceID      DeviceID
	DeviceName    string
	Model         string
	Platform      string
	State         string
	OwnerUsername string
	Version       string
}

// AppStore keeps a tenant's app list and reads the App Inventory (every app installed on every device,
// from the device inventory that check-ins report).
//
// Create fills ID and returns conflict when the tenant has an app with this platform and bundle id
// (case-sensitively: bundle ids and package names are compared exactly) and not_found for an unknown
// tenant. Get, Update and Delete return not_found for an app unknown in the tenant. ByIDs returns the
// tenant's apps of ids that exist, in id order (unknown ids are left out). ByBundle returns the app with
// this platform and bundle id (not_found when there is none). Delete removes only the app row: its
// service removes distributions and categories in the same transaction (assign.DeleteItem).
//
// The App Inventory is kept as a summary: RefreshInventory recomputes the tenant's installed-app counts
// (by platform, app id and version, over its ACTIVE devices) in the database with one grouped statement
// and remembers key, InventorySource's fingerprint of the devices at that time (it changes when a
// device is added, deleted, changes state or reports apps), which InventoryState returns with the time
// of the refresh ("" and zero before the first). Inventory pages through the summary, grouped by
// platform and app id, ordered by device count (descending), then platform and app id, with each
// app's versions. InventoryDevices pages through the ACTIVE devices
// that have appID installed on platform, by device id. Installed returns those of devices that report
// appID installed.
//
// Delivery: NeedInstall returns, in id order, those of devices that are ACTIVE, not quarantined devices
// of the app's platform, do not report its bundle id installed and have no INSTALL_APPLICATION command for it that is
// open (PENDING, SENT, NOT_NOW) or was answered (ACKNOWLEDGED or ERROR) after answeredSince: a device
// reports a new app only with its next inventory, and a failed install is not retried at once. The managed installs of an app are the devices Steward queued an
// install for (its "managed" installs, removed again when the app no longer reaches them):
// RecordInstalls adds devices to them (ignoring those already there), ManagedInstalls returns them in
// id order, InstallsOn returns the apps one device is a managed install of, in id order, ForgetInstalls removes devices from them (all of them for nil). CancelInstalls cancels the
// INSTALL_APPLICATION commands of bundleID not yet sent (PENDING, NOT_NOW) to those of devices, and
// returns how many. Delete also forgets an app's
// managed installs. ToConverge returns, across tenants, at most limit apps (ordered by tenant id,
// then id, after the given one) that have a required distribution or managed installs: the apps whose
// devices a periodic convergence checks (new devices, devices that changed groups).
type AppStore interface {
	Create(ctx context.Context, a *App) error
	Get(ctx context.Context, tenantID TenantID, id AppID) (*App, error)
	ByIDs(ctx context.Context, tenantID TenantID, ids []AppID) ([]App, error)
	ByBundle(ctx context.Context, tenantID TenantID, platform, bundleID string) (*App, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[App], error)
	Update(ctx context.Context, tenantID TenantID, id AppID, patch AppPatch, now time.Time) (*App, error)
	Delete(ctx context.Context, tenantID TenantID, id AppID) error
	InventorySource(ctx context.Context, tenantID TenantID) (key string, devices int, err error)
	InventoryState(ctx context.Context, tenantID TenantID) (key string, at time.Time, err error)
	RefreshInventory(ctx context.Context, tenantID TenantID, key string, now time.Time) error
	Inventory(ctx context.Context, tenantID TenantID, q InventoryQuery) (Page[InventoryApp], error)
	InventoryDevices(ctx context.Context, tenantID TenantID, platform, appID string, opts ListOptions) (Page[InventoryDevice], error)
	Installed(ctx context.Context, tenantID TenantID, appID string, devices []DeviceID) ([]DeviceID, error)
	NeedInstall(ctx context.Context, tenantID TenantID, a *App, devices []DeviceID, answeredSince time.Time) ([]DeviceID, error)
	RecordInstalls(ctx context.Context, tenantID TenantID, id AppID, devices []DeviceID, now time.Time) error
	ManagedInstalls(ctx context.Context, tenantID TenantID, id AppID) ([]DeviceID, error)
	InstallsOn(ctx context.Context, tenantID TenantID, device DeviceID) ([]AppID, error)
	ForgetInstalls(ctx context.Context, tenantID TenantID, id AppID, devices []DeviceID) error
	CancelInstalls(ctx context.Context, tenantID TenantID, bundleID string, devices []DeviceID, now time.Time) (int, error)
	ToConverge(ctx context.Context, afterTenant TenantID, afterID AppID, limit int) ([]App, error)
}
