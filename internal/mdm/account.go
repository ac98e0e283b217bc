package mdm

import (
	"context"
	"time"
)

// Roles known to the foundation. The identity capability adds the rest of the role hierarchy.
const (
	RoleTenantAdmin = "TENANT_ADMIN"
)

// AccountFields are the account fields that lists filter and sort on.
var AccountFields = FieldSet{
	"id": IntField, "UID": StringField, "emailAddress": StringField, "firstName": StringField,
	"lastName": StringField, "createdAt": TimeField, "apiUser": BoolField,
}

// Account is a tenant's user. Its username is an email address, unique across the whole system.
type Account struct {
	ID           AccountID
	TenantID     TenantID
	Username     string // the UID; an email address
	Email        string
	FirstName    string
	LastName     string
	PasswordHash string // argon2id PHC string; "" for a PIN-only (half) account
	Roles        []string
	Enabled      bool
	// APIUser accounts call the API with HTTP Basic but never sign in to the console.
	APIUser    bool
	CreatedAt  time.Time
	ModifiedAt time.Time
	CreatedBy  string
}

// AccountPatch changes some of an account's fields; nil fields stay as they are.
type AccountPatch struct {
	FirstName *string
	LastName  *string
	Roles     *[]string
	Enabled   *bool
	APIUser   *bool
}

// AccountStore keeps user accounts.
//
// Create returns conflict when the username is taken anywhere in the system (case-insensitively).
// Get, Update and SetPassword return not_found for an unknown account in that tenant. ByUsername
// searches every tenant, since a login names no tenant; it returns not_found when nobody has that
// username. Delete removes those of ids that exist in the tenant, frees their usernames, and returns
// how many it removed.
type AccountStore interface {
	Create(ctx context.Context, a *Account) error
	Get(ctx context.Context, tenantID TenantID, id AccountID) (*Account, error)
	ByUsername(ctx context.Context, username string) (*Account, error)
	Update(ctx context.Context, tenantID TenantID, id AccountID, patch AccountPatch, now time.Time) (*Account, error)
	SetPassword(ctx context.Context, tenantID TenantID, id AccountID, hash string, now time.Time) error
	Delete(ctx context.Context, tenantID TenantID, ids []AccountID) (int, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[Account], error)
	// WithRole returns up to limit of the tenant's enabled accounts with an email address that hold role
	// themselves (not through a group), by id.
	WithRole(ctx context.Context, tenantID TenantID, role string, limit int) ([]Account, error)
}

// SystemAdmin is the platform operator. It belongs to no tenant and no tenant credential reaches it.
type SystemAdmin struct {
	ID           int64
	Username     string
	PasswordHash string
	CreatedAt    time.Time
}

// SystemAdminStore keeps System Admins. Create returns conflict for a taken username; ByUsername
// returns not_found for an unknown one.
type SystemAdminStore interface {
	Create(ctx context.Context, a *SystemAdmin) error
	ByUsername(ctx context.Context, username string) (*SystemAdmin, error)
	Get(ctx context.Context, id int64) (*SystemAdmin, error)
	Count(ctx context.Context) (int, error)
}

// OneTimeToken is a single-use, expiring secret sent by email (an activation link, later PINs).
// Only the keyed hash of the secret is stored.
type OneTimeToken struct {
	Hash      []byte
	Purpose   string // e.g. "activation"
	TenantID  TenantID
	AccountID AccountID
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
	// FailedAttempts counts wrong guesses (registration PINs); LastFailedAt is when the last was made.
	// Create stores both, so that a new PIN can carry its predecessor's count on.
	FailedAttempts int
	LastFailedAt   *time.Time
}

// TokenPurposeActivation is the purpose of an Admin Activation link.
const TokenPurposeActivation = "activation"

// TokenStore keeps one-time tokens. Get returns not_found for an unknown hash. Use marks the token used
// and returns conflict if it already was, so that two concurrent uses cannot both succeed.
type TokenStore interface {
	Create(ctx context.Context, t *OneTimeToken) error
	// Revoke deletes the account's unused tokens of purpose (a new PIN replaces the old one).
	Revoke(ctx context.Context, purpose string, tenantID TenantID, accountID AccountID) error
	// RevokeOlder deletes the account's unused tokens of purpose created before cutoff, and leaves newer
	// ones: a request that replaces a stale link must not delete a concurrent request's fresh one.
	RevokeOlder(ctx context.Context, purpose string, tenantID TenantID, accountID AccountID, cutoff time.Time) error
	Get(ctx context.Context, hash []byte) (*OneTimeToken, error)
	// Latest returns the account's most recently created token of purpose, used or not (a PIN's status,
	// a reset link's age), or not_found when it has none.
	Latest(ctx context.Context, purpose string, tenantID TenantID, accountID AccountID) (*OneTimeToken, error)
	Use(ctx context.Context, hash []byte, now time.Time) error
	// CountFailure adds one wrong guess at now to the account's current (newest) unused token of
	// purpose, in one atomic step, and when its count reaches limit revokes it in place: its expiry
	// becomes now (if sooner) and the row stays, count and all, so that Latest still shows the lock. It
	// returns the new count, or 0 when the account has no unused token of purpose.
	CountFailure(ctx context.Context, purpose string, tenantID TenantID, accountID AccountID, limit int, now time.Time) (int, error)
}

// Session is a signed-in console user. Only the keyed hash of the cookie value is stored.
type Session struct {
	Hash      []byte
	Kind      PrincipalKind
	SubjectID int64 // system admin id or account id
	TenantID  TenantID
	ExpiresAt time.Time
	CreatedAt time.Time
}

// SessionStore keeps console sessions. Get returns not_found for an unknown or expired session.
type SessionStore interface {
	Create(ctx context.Context, s *Session) error
	Get(ctx context.Context, hash []byte, now time.Time) (*Session, error)
	Delete(ctx context.Context, hash []byte) error
	// DeleteForAccount ends every session (console and portal) of a tenant's account, so that a new
	// password shuts out whoever knew the old one.
	DeleteForAccount(ctx context.Context, tenantID TenantID, accountID AccountID) error
}
