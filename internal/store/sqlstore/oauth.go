package sqlstore

import (
	"context"
	"time"

	"steward/internal/mdm"
)

// oauthStore implements mdm.OAuthStore.
type oauthStore stores

var _ mdm.OAuthStore = oauthStore{}

func (s stores) OAuth() mdm.OAuthStore { return oauthStore(s) }

func (s oauthStore) SigningKeys(ctx context.Context) ([]mdm.SigningKey, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT kid, generation, algorithm, private_sealed, public_der, created_at,
			sign_until, verify_until FROM oauth_signing_keys ORDER BY generation`)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []mdm.SigningKey
	for rows.Next() {
		var (
			k                        mdm.SigningKey
			created, sign, verifyEnd int64
		)
		if err := rows.Scan(&k.ID, &k.Generation, &k.Algorithm, &k.PrivateSealed, &k.Public, &created, &sign, &verifyEnd); err != nil {
			return nil, dbError(err)
		}
		k.CreatedAt, k.SignUntil, k.VerifyUntil = fromMS(created), fromMS(sign), fromMS(verifyEnd)
		out = append(out, k)
	}
	return out, dbError(rows.Err())
}

// CreateSigningKey inserts unless the generation is taken: ON CONFLICT DO NOTHING on both databases, so
// that replicas rotating at the same moment do not fail, and exactly one key per generation remains.
func (s oauthStore) CreateSigningKey(ctx context.Context, k mdm.SigningKey) (bool, error) {
	switch {
	case k.ID == "" || k.Generation < 1 || k.Algorithm == "" || len(k.PrivateSealed) == 0 || len(k.Public) == 0:
		return false, mdm.Errorf(mdm.Invalid, "signing key id, generation, algorithm and keys are required")
	case !k.SignUntil.After(k.CreatedAt) || k.VerifyUntil.Before(k.SignUntil):
		return false, mdm.Errorf(mdm.Invalid, "signing key must sign for a while and verify at least as long")
	}
	if err := validText("signing key", k.ID, k.Algorithm); err != nil {
		return false, err
	}
	res, err := s.q.ExecContext(ctx, `INSERT INTO oauth_signing_keys (kid, generation, algorithm, private_sealed, public_der,
			created_at, sign_until, verify_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		k.ID, k.Generation, k.Algorithm, k.PrivateSealed, k.Public, ms(k.CreatedAt), ms(k.SignUntil), ms(k.VerifyUntil))
	if err != nil {
		return false, dbError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError(err)
	}
	return n == 1, nil
}

func (s oauthStore) PruneSigningKeys(ctx context.Context, before time.Time) (int, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM oauth_signing_keys WHERE verify_until < $1`, ms(before))
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}

// RevokeToken records the revocation; revoking a token again keeps the first record.
func (s oauthStore) RevokeToken(ctx context.Context, t mdm.RevokedToken) error {
	switch {
	case t.TenantID == "" || t.TenantID == mdm.AllTenants:
		return mdm.Errorf(mdm.Invalid, "revoked token tenant is required")
	case t.JTI == "" || t.ClientID == "":
		return mdm.Errorf(mdm.Invalid, "revoked token jti and client id are required")
	}
	if err := validText("revoked token", t.JTI, t.ClientID); err != nil {
		return err
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO oauth_revoked_tokens (tenant_id, jti, client_id, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, jti) DO NOTHING`,
		t.TenantID, t.JTI, t.ClientID, ms(t.ExpiresAt), ms(t.RevokedAt))
	if isForeignKeyViolation(err) {
		return mdm.Wrap(mdm.NotFound, err, "tenant not found")
	}
	return dbError(err)
}

// ClientToken reads the registration, the revocation and the tenant's state in one round trip: it runs
// on every Bearer request.
func (s oauthStore) ClientToken(ctx context.Context, clientID, jti string) (mdm.ClientTokenState, error) {
	var (
		st      mdm.ClientTokenState
		revoked int
		state   string
	)
	r, err := scanAppRegPlus(s.q.QueryRowContext(ctx, `SELECT `+appRegCols+`,
			(SELECT COUNT(*) FROM oauth_revoked_tokens v WHERE v.tenant_id = app_registrations.tenant_id AND v.jti = $2),
			(SELECT t.state FROM tenants t WHERE t.id = app_registrations.tenant_id)
		FROM app_registrations WHERE client_id = $1`, clientID, jti), &revoked, &state)
	if err != nil {
		return st, notFound(err, "app registration")
	}
	st.Registration, st.Revoked, st.TenantActive = r, revoked > 0, mdm.TenantState(state) == mdm.TenantActive
	return st, nil
}

func (s oauthStore) PruneRevokedTokens(ctx context.Context, before time.Time) (int, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM oauth_revoked_tokens WHERE expires_at < $1`, ms(before))
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}
