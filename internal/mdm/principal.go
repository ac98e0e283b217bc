package mdm

import "context"

// PrincipalKind tells apart the callers that can never stand in for each other.
type PrincipalKind string

const (
	// SystemAdminPrincipal operates the whole platform and belongs to no tenant.
	SystemAdminPrincipal PrincipalKind = "system_admin"
	// AccountPrincipal is a tenant's user (Tenant Admin, API user, administrator).
	AccountPrincipal PrincipalKind = "account"
	// PortalPrincipal is a tenant's user signed in to the /go self-service portal. It acts only on the
	// user's own devices and requests: authz grants it no API permission but SelfService and no console page.
	PortalPrincipal PrincipalKind = "portal"
	// ClientPrincipal is an App Registration calling with an OAuth 2.0 access token (Bearer). It holds
	// the token's scopes, never roles: authz maps each scope to the permissions it grants.
	ClientPrincipal PrincipalKind = "client"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Kind     PrincipalKind
	ID       int64 // system admin id or account id
	Username string
	TenantID TenantID // empty for a System Admin
	Roles    []string
	// APIUser is set for an account that may call the API but never open a console session.
	APIUser bool
	// Session is set when the caller came in with a console session (not an API credential).
	Session bool
	// ClientID and Scopes describe a ClientPrincipal (ID is the registration's id, Username its client id).
	ClientID string
	Scopes   []string
}

// IsSystemAdmin reports whether p is the platform operator.
func (p *Principal) IsSystemAdmin() bool { return p != nil && p.Kind == SystemAdminPrincipal }

// HasRole reports whether p holds role.
func (p *Principal) HasRole(role string) bool {
	if p == nil {
		return false
	}
	for _, r := range p.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller in ctx, or nil for an anonymous request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type clientAddrKey struct{}

// WithClientAddr returns ctx carrying the caller's network address (for sign-in limits and logs).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFrom returns the caller's address in ctx, or "".
func ClientAddrFrom(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}
