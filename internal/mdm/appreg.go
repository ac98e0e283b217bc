package mdm

import (
	"context"
	"time"
)

// AppRegistration is a tenant's OAuth 2.0 client (client credentials grant) for one supported
// application type. The secret is shown once, at creation, and stored only as a keyed hash. A
// registration is never updated: to change it or rotate its secret it is deleted and created anew.
type AppRegistration struct {
	ID          int64
	TenantID    TenantID
	ClientID    string // unique across tenants: the token endpoint finds the tenant by it
	SecretHash  []byte // secret.Keys.Hash of the client secret
	AppType     string // authz.AppType* (e.g. "PATCH_GROUP_ADMIN")
	Scopes      []string
	Description string
	CreatedBy   string // username of the administrator who created it
	CreatedAt   time.Time
	// LastAuthenticatedAt is when the client last got a token with its secret; zero: never.
	LastAuthenticatedAt time.Time
}

// AppRegistrationStore keeps App Registrations. Get and Delete of another tenant's registration are
// not_found; GetByClientID is global (the client id names no tenant) and the caller checks the tenant
// where one is known. Create fills ID; a duplicate client id is a conflict.
type AppRegistrationStore interface {
	Create(ctx context.Context, r *AppRegistration) error
	List(ctx context.Context, tenantID TenantID) ([]AppRegistration, error)
	Get(ctx context.Context, tenantID TenantID, id int64) (AppRegistration, error)
	GetByClientID(ctx context.Context, clientID string) (AppRegistration, error)
	Delete(ctx context.Context, tenantID TenantID, id int64) error
	// TouchAuthenticated sets each client's last authentication time, never moving it backwards; clients
	// that no longer exist are skipped. One call carries many clients (the writes are coalesced).
	TouchAuthenticated(ctx context.Context, at map[string]time.Time) error
}
