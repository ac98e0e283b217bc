package mdm

import (
	"context"
	"time"
)

// PolicyID identifies a policy within its tenant.
type PolicyID int64

// Compliance action kinds.
const (
	ActionMonitor    = "MONITOR"    // record the violation only
	ActionMessage    = "MESSAGE"    // email the owner (Policy compliance action email) and/or push a message
	ActionQuarantine = "QUARANTINE" // quarantine the device until it is compliant again
)

// PolicyAction is one compliance action of a policy. It runs once per violation, AfterMinutes after the
// violation began (0: at once); actions with a grace period escalate.
type PolicyAction struct {
	Kind         string
	AfterMinutes int
	Email        bool   // MESSAGE: email the device's owner
	Push         bool   // MESSAGE: push a message to the device (not iOS)
	Title        string // MESSAGE: the email's subject line ("" for the default)
	Message      string // MESSAGE: the text, plain
	RemoveApps   bool   // QUARANTINE: also remove managed apps and their content (restored on release)
}

// Policy is a compliance policy: what a device must not be (a built-in Type of the policy language
// with Params — "duration" such as 7d or 12h, "platform", "version", "appIds" comma-separated — or
// CUSTOM with its own rule), which devices it applies to, and what happens to one that violates it.
// Rule is the canonical text of the rule the type builds (or the custom rule): true for a violating
// device.
//
// Scope: a device is in scope when its platform is in Platforms (empty: all) and, when DeviceGroups or
// UserGroups are given, it is in one of those device groups or its owner is in one of those user
// groups. Lower Priority numbers are listed and reported first.
type Policy struct {
	ID           PolicyID
	TenantID     TenantID
	Name         string // unique in the tenant, case-insensitively
	Description  string
	Type         string
	Params       map[string]string
	Rule         string
	Platforms    []string
	DeviceGroups []DeviceGroupID
	UserGroups   []GroupID
	Priority     int
	Enabled      bool
	Actions      []PolicyAction
	CreatedAt    time.Time
	ModifiedAt   time.Time
}

// PolicyFields are the policy fields that lists filter and sort on.
var PolicyFields = FieldSet{"id": IntField, "name": StringField, "type": StringField, "priority": IntField,
	"enabled": BoolField, "createdAt": TimeField}

// PolicyViolation is the state of one device's violation of one policy: when it began and which of
// the policy's actions (by index) have run. It exists while the device violates the policy.
type PolicyViolation struct {
	TenantID    TenantID
	DeviceID    DeviceID
	PolicyID    PolicyID
	Since       time.Time
	Done        []int // indexes into the policy's Actions, ascending
	Quarantined bool  // a QUARANTINE action of this violation has run
	CheckedAt   time.Time
}

// DeviceCompliance is what the compliance capability keeps on a device.
type DeviceCompliance struct {
	Compliant   bool
	Quarantined bool
	Violated    []string // names of the violated policies, by priority
}

// PolicyStore keeps policies, their per-device violation state and the sweep's lease.
//
// Create returns conflict for a name taken in the tenant (case-insensitively). Get, Update and Delete
// return not_found for a policy unknown in the tenant; Delete also removes its violations. All returns
// the tenant's policies ordered by priority then id. TenantsWithPolicies lists the tenants that have a
// policy or a device that is not compliant or quarantined (whose state a sweep must check).
//
// CreateViolation returns conflict when the (device, policy) violation exists already (another
// evaluation recorded it first). UpdateViolation is a compare-and-set: it stores v only if the stored
// Done list still equals before, and returns conflict otherwise, so that an action runs once even when
// two evaluations race. DeleteViolation returns not_found when there was none.
//
// SetDeviceCompliance writes the device's compliance fields if its quarantined flag is still
// wasQuarantined, and returns conflict otherwise (so that one evaluation quarantines or releases it). DevicesAfter reads up to limit of the
// tenant's devices with ids above after, in id order (as DeviceStore.Get reads them), for sweeps.
type PolicyStore interface {
	Create(ctx context.Context, p *Policy) error
	Get(ctx context.Context, tenantID TenantID, id PolicyID) (*Policy, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[Policy], error)
	All(ctx context.Context, tenantID TenantID) ([]Policy, error)
	Update(ctx context.Context, p *Policy) error
	Delete(ctx context.Context, tenantID TenantID, id PolicyID) error
	TenantsWithPolicies(ctx context.Context) ([]TenantID, error)

	Violations(ctx context.Context, tenantID TenantID, deviceIDs []DeviceID) ([]PolicyViolation, error)
	CreateViolation(ctx context.Context, v PolicyViolation) error
	UpdateViolation(ctx context.Context, v PolicyViolation, before []int) error
	DeleteViolation(ctx context.Context, tenantID TenantID, deviceID DeviceID, policyID PolicyID) error
	ViolationCounts(ctx context.Context, tenantID TenantID) (map[PolicyID]int, error)
	SetDeviceCompliance(ctx context.Context, tenantID TenantID, deviceID DeviceID, c DeviceCompliance, wasQuarantined bool, now time.Time) error
	DevicesAfter(ctx context.Context, tenantID TenantID, after DeviceID, limit int) ([]Device, error)

	// Batched forms for sweeps, each one statement per call (lists of up to a few thousand).
	// CreateViolations is CreateViolation for several rows (conflict when any exists). DeleteViolations
	// deletes the (device, policy) violations of one tenant and returns conflict unless each existed.
	// SetDevicesCompliance is SetDeviceCompliance for several devices of one tenant: conflict unless
	// every device's quarantined flag was still WasQuarantined (none is written then, the caller's
	// transaction being dropped). DevicesByID reads the tenant's devices with these ids (as
	// DeviceStore.Get reads them), in id order; unknown ids are left out.
	CreateViolations(ctx context.Context, vs []PolicyViolation) error
	DeleteViolations(ctx context.Context, tenantID TenantID, keys []ViolationKey) error
	SetDevicesCompliance(ctx context.Context, tenantID TenantID, cs []ComplianceChange, now time.Time) error
	DevicesByID(ctx context.Context, tenantID TenantID, ids []DeviceID) ([]Device, error)
}

// ViolationKey names one device's violation of one policy.
type ViolationKey struct {
	DeviceID DeviceID
	PolicyID PolicyID
}

// ComplianceChange is the new compliance fields of one device, written if its quarantined flag is
// still WasQuarantined.
type ComplianceChange struct {
	DeviceID       DeviceID
	Compliance     DeviceCompliance
	WasQuarantined bool
}
