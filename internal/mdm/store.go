package mdm

import "context"

// Stores gives access to every aggregate's store, inside or outside a transaction.
type Stores interface {
	Tenants() TenantStore
	Accounts() AccountStore
	SystemAdmins() SystemAdminStore
	Tokens() TokenStore
	Sessions() SessionStore
	Audit() AuditStore
	Outbox() OutboxStore
	RegistrationSettings() RegistrationSettingsStore
	Groups() GroupStore
	Devices() DeviceStore
	Commands() CommandStore
	Apple() AppleStore
	SupportAdmins() SupportAdminStore
	EmailTemplates() EmailTemplateStore
	AppRegistrations() AppRegistrationStore
	Patches() PatchStore
	OAuth() OAuthStore
	DeviceGroups() DeviceGroupStore
	Distributions() DistributionStore
	Generations() GenerationStore
	Categories() CategoryStore
	Contents() ContentStore
	Apps() AppStore
	Configurations() ConfigurationStore
	Policies() PolicyStore
	Leases() LeaseStore
}

// Store is the database. InTx runs fn in one transaction: committed when fn returns nil, rolled back
// otherwise.
type Store interface {
	Stores
	InTx(ctx context.Context, fn func(tx Stores) error) error
	// Ready reports whether the database answers and every migration is applied.
	Ready(ctx context.Context) error
	Close() error
}
