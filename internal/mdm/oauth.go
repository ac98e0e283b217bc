package mdm

import (
	"context"
	"time"
)

// SigningKey is one of the token server's keys (ES256). Every replica signs and verifies with the keys
// in the database. A key signs new tokens from CreatedAt (which may lie ahead: the next key is made
// before it is needed, and published at once) until SignUntil; it still verifies (and is published in
// the JWKS) until VerifyUntil, when every token it signed has expired.
type SigningKey struct {
	ID            string // the JWT kid
	Generation    int64  // 1, 2, …: at most one key per generation, so replicas rotating at once agree
	Algorithm     string // "ES256"
	PrivateSealed []byte // the PKCS #8 private key, sealed with secret.Keys.Seal
	Public        []byte // the PKIX public key (DER)
	CreatedAt     time.Time
	SignUntil     time.Time
	VerifyUntil   time.Time
}

// RevokedToken is an access token revoked before its expiry (RFC 7009). It is kept until ExpiresAt,
// after which the token is refused anyway.
type RevokedToken struct {
	TenantID  TenantID
	JTI       string
	ClientID  string
	ExpiresAt time.Time
	RevokedAt time.Time
}

// OAuthStore keeps the token server's signing keys and revoked access tokens.
//
// Signing keys are platform-wide. CreateSigningKey reports created=false, and stores nothing, when a key
// of that generation exists already (another replica rotated first). Revoked tokens are tenant-scoped.
// ClientToken is the one read a Bearer request costs: the registration of clientID (not_found once
// deleted), whether the token jti of its tenant is revoked and whether the tenant is active.
type OAuthStore interface {
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	CreateSigningKey(ctx context.Context, k SigningKey) (created bool, err error)
	// PruneSigningKeys deletes keys that stopped verifying before before.
	PruneSigningKeys(ctx context.Context, before time.Time) (int, error)

	RevokeToken(ctx context.Context, t RevokedToken) error
	ClientToken(ctx context.Context, clientID, jti string) (ClientTokenState, error)
	// PruneRevokedTokens deletes revocations of tokens that expired before before.
	PruneRevokedTokens(ctx context.Context, before time.Time) (int, error)
}

// ClientTokenState is what a presented access token's validity depends on besides its signature.
type ClientTokenState struct {
	Registration AppRegistration
	Revoked      bool // the token's jti is revoked
	TenantActive bool // the registration's tenant is not suspended
}
