package mdm

import (
	"context"
	"time"
)

// TenantState says whether a tenant's credentials work.
type TenantState string

const (
	TenantActive    TenantState = "ACTIVE"
	TenantSuspended TenantState = "SUSPENDED"
)

// Tenant is one customer organisation. Everything else in Steward belongs to exactly one tenant.
type Tenant struct {
	ID                   TenantID
	Name                 string
	State                TenantState
	LicenseDevices       int
	DefaultDmPartitionID SpaceID
	DefaultCmPartitionID SpaceID
	CreatedAt            time.Time
	ModifiedAt           time.Time
}

// TenantPatch changes some of a tenant's settings; nil fields stay as they are.
type TenantPatch struct {
	Name           *string
	State          *TenantState
	LicenseDevices *int
}

// TenantFields are the tenant fields that lists filter and sort on.
var TenantFields = FieldSet{
	"id": StringField, "name": StringField, "state": StringField,
	"licenseDevices": IntField, "createdAt": TimeField, "modifiedAt": TimeField,
}

// TenantUsage is one tenant's line in the site report.
type TenantUsage struct {
	TenantID          TenantID
	Name              string
	State             TenantState
	Users             int
	DevicesByPlatform map[string]int
	LicensedSeats     int
	UsedSeats         int
}

// TenantStore keeps tenants and their default device and content spaces.
//
// Create returns conflict when the name is taken (case-insensitively). Get and Update return not_found
// for an unknown id.
type TenantStore interface {
	Create(ctx context.Context, t *Tenant) error
	Get(ctx context.Context, id TenantID) (*Tenant, error)
	Update(ctx context.Context, id TenantID, patch TenantPatch, now time.Time) (*Tenant, error)
	List(ctx context.Context, opts ListOptions) (Page[Tenant], error)
	Usage(ctx context.Context) ([]TenantUsage, error)
}
