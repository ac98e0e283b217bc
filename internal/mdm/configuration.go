package mdm

import (
	"context"
	"time"
)

// ConfigurationID identifies a configuration within its tenant.
type ConfigurationID int64

// Configuration is a saved, typed set of attributes delivered to the devices it is distributed to (an
// Apple configuration profile, an Android agent policy). Attributes holds the type's settings that are
// not secret (JSON values by attribute name); Secrets holds the sealed JSON object of the secret ones
// (passwords, keys), which the API never returns. Priority orders the configurations of one type, 1
// first: when two configurations of a single-instance type reach one device, the lower number wins.
// Version grows with every change of the attributes, so that devices install the new version.
type Configuration struct {
	ID          ConfigurationID
	TenantID    TenantID
	Name        string // unique in the tenant, case-insensitively
	Description string
	Type        string // configurations.Type* (e.g. "WIFI")
	Priority    int
	Version     int64
	Attributes  map[string]any
	Secrets     []byte // secret.Keys.Seal of a JSON object; nil when the type has none set
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// ConfigurationFields are the configuration fields that lists filter and sort on.
var ConfigurationFields = FieldSet{"id": IntField, "name": StringField, "type": StringField,
	"priority": IntField, "createdAt": TimeField, "modifiedAt": TimeField}

// Delivery states of one configuration on one device.
const (
	DeliveryPending   = "PENDING"   // the install (or removal) command is queued or sent
	DeliveryInstalled = "INSTALLED" // the device acknowledged the install
	DeliveryError     = "ERROR"     // the device answered with an error
)

// ConfigDelivery is what Steward asked one device to do with one configuration and how the device
// answered. Remove marks a removal in progress (the configuration no longer reaches the device); a
// removal acknowledged deletes the row.
type ConfigDelivery struct {
	TenantID        TenantID
	DeviceID        DeviceID
	ConfigurationID ConfigurationID
	Version         int64
	Identifier      string // Apple: the profile's PayloadIdentifier
	Remove          bool
	Status          string // Delivery*
	Error           string
	UpdatedAt       time.Time
}

// ConfigCounts are a configuration's devices by delivery status (removals not counted).
type ConfigCounts struct {
	Total, Installed, Error, Pending int
}

// ConfigurationStore keeps configurations, their delivery to each device and the assignment
// generation each device last converged at.
//
// Create fills ID, gives the configuration the lowest priority of its type (the highest number) and
// returns conflict for a name taken in the tenant (case-insensitively). Get, Update, Delete and
// SetPriority return not_found for a configuration unknown in the tenant. Update replaces the name,
// description, attributes, secrets, version and modified time. SetPriority moves the configuration to
// priority (clamped to 1…the number of its type), renumbering the others of its type. GetMany returns
// those of ids that exist, by id. Delete keeps its deliveries (the
// reconciler removes the profiles and then the deliveries) and renumbers the priorities of its type.
//
// Deliveries returns one device's deliveries by configuration id; ForConfiguration pages through one
// configuration's deliveries (device order) to devices that are not RETIRED or WIPED. SetDelivery inserts or replaces one delivery;
// DeleteDelivery removes it. Answer records a device's answer for the delivery of configuration id at
// version: for an install (remove false) it sets the status (INSTALLED or ERROR) and message; any
// answer to a removal deletes the row. It does nothing when the delivery moved on meanwhile (another
// version, or an install answered while a removal is under way). Counts returns each of ids' counts over devices that are not RETIRED or WIPED
// (a delivery of an older version than the configuration's counts as pending).
//
// Converged records the generation device converged at; DevicesBehind returns, in id order, at most
// limit ids greater than after of the tenant's ACTIVE devices whose recorded generation is lower than
// generation (or that have none).
type ConfigurationStore interface {
	Create(ctx context.Context, c *Configuration) error
	Get(ctx context.Context, tenantID TenantID, id ConfigurationID) (*Configuration, error)
	GetMany(ctx context.Context, tenantID TenantID, ids []ConfigurationID) (map[ConfigurationID]*Configuration, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[Configuration], error)
	Update(ctx context.Context, c *Configuration) error
	Delete(ctx context.Context, tenantID TenantID, id ConfigurationID) error
	SetPriority(ctx context.Context, tenantID TenantID, id ConfigurationID, priority int, now time.Time) error

	Deliveries(ctx context.Context, tenantID TenantID, device DeviceID) (map[ConfigurationID]ConfigDelivery, error)
	ForConfiguration(ctx context.Context, tenantID TenantID, id ConfigurationID, after DeviceID, limit int) ([]ConfigDelivery, error)
	SetDelivery(ctx context.Context, d ConfigDelivery) error
	DeleteDelivery(ctx context.Context, tenantID TenantID, device DeviceID, id ConfigurationID) error
	Answer(ctx context.Context, tenantID TenantID, device DeviceID, id ConfigurationID, version int64, remove bool, status, message string, now time.Time) error
	Counts(ctx context.Context, tenantID TenantID, ids []ConfigurationID) (map[ConfigurationID]ConfigCounts, error)

	Converged(ctx context.Context, tenantID TenantID, device DeviceID, generation int64, now time.Time) error
	DevicesBehind(ctx context.Context, tenantID TenantID, generation int64, after DeviceID, limit int) ([]DeviceID, error)
}
