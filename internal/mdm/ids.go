package mdm

// TenantID identifies a tenant. It is a UUID string, the form the Neurons platform uses in token URLs.
type TenantID string

// AccountID identifies a user account within the whole system.
type AccountID int64

// SpaceID identifies a device space (dmPartitionId).
type SpaceID int64
