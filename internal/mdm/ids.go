package mdm

// TenantID identifies a tenant. It is a UUID string, the form the Neurons platform uses in token URLs.
type TenantID string

// AllTenants asks a platform-wide read (System Admin views) for every tenant's records. An empty tenant
// id is never read as "all": stores refuse it, so a forgotten tenant id fails closed.
const AllTenants TenantID = "*"

// AccountID identifies a user account within the whole system.
type AccountID int64

// SpaceID identifies a device space (dmPartitionId).
type SpaceID int64
