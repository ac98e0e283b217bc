package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"steward/internal/mdm"
)

type tokenStore stores

var _ mdm.TokenStore = tokenStore{}

func (s tokenStore) Create(ctx context.Context, t *mdm.OneTimeToken) error {
	var lastFailed sql.NullInt64
	if t.LastFailedAt != nil {
		lastFailed = sql.NullInt64{Int64: ms(*t.LastFailedAt), Valid: true}
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO one_time_tokens (hash, purpose, tenant_id, account_id, expires_at, created_at,
		failed_attempts, last_failed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, t.Hash, t.Purpose, t.TenantID, t.AccountID,
		ms(t.ExpiresAt), ms(t.CreatedAt), t.FailedAttempts, lastFailed)
	return conflictOr(err, "token already exists")
}

func (s tokenStore) Revoke(ctx context.Context, purpose string, tenantID mdm.TenantID, accountID mdm.AccountID) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE purpose=$1 AND tenant_id=$2 AND account_id=$3
		AND used_at IS NULL`, purpose, tenantID, accountID)
	return dbError(err)
}

func (s tokenStore) RevokeOlder(ctx context.Context, purpose string, tenantID mdm.TenantID, accountID mdm.AccountID, cutoff time.Time) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE purpose=$1 AND tenant_id=$2 AND account_id=$3
		AND used_at IS NULL AND created_at < $4`, purpose, tenantID, accountID, ms(cutoff))
	return dbError(err)
}

const tokenColumns = `hash, purpose, tenant_id, account_id, expires_at, used_at, created_at, failed_attempts, last_failed_at`

func (s tokenStore) Get(ctx context.Context, hash []byte) (*mdm.OneTimeToken, error) {
	return scanToken(s.q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM one_time_tokens WHERE hash=$1`, hash))
}

func (s tokenStore) Latest(ctx context.Context, purpose string, tenantID mdm.TenantID, accountID mdm.AccountID) (*mdm.OneTimeToken, error) {
	return scanToken(s.q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM one_time_tokens
		WHERE tenant_id=$1 AND account_id=$2 AND purpose=$3 ORDER BY created_at DESC, hash LIMIT 1`, tenantID, accountID, purpose))
}

func scanToken(row *sql.Row) (*mdm.OneTimeToken, error) {
	var t mdm.OneTimeToken
	var expires, created int64
	var used, lastFailed sql.NullInt64
	if err := row.Scan(&t.Hash, &t.Purpose, &t.TenantID, &t.AccountID, &expires, &used, &created, &t.FailedAttempts,
		&lastFailed); err != nil {
		return nil, notFound(err, "token")
	}
	t.ExpiresAt, t.CreatedAt, t.UsedAt = fromMS(expires), fromMS(created), fromNullMS(used)
	t.LastFailedAt = fromNullMS(lastFailed)
	return &t, nil
}

// Use is one conditional UPDATE, so of two concurrent uses exactly one succeeds.
func (s tokenStore) Use(ctx context.Context, hash []byte, now time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE one_time_tokens SET used_at=$1 WHERE hash=$2 AND used_at IS NULL`, ms(now), hash)
	if err != nil {
		return dbError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, hash); err != nil {
			return err
		}
		return mdm.Errorf(mdm.Conflict, "this link was already used")
	}
	return nil
}

type sessionStore stores

var _ mdm.SessionStore = sessionStore{}

func (s sessionStore) Create(ctx context.Context, se *mdm.Session) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO sessions (hash, kind, subject_id, tenant_id, expires_at, created_at)
		VALUES ($1,$2,$3,$4,$5,$6)`, se.Hash, se.Kind, se.SubjectID, se.TenantID, ms(se.ExpiresAt), ms(se.CreatedAt))
	return conflictOr(err, "session already exists")
}

func (s sessionStore) Get(ctx context.Context, hash []byte, now time.Time) (*mdm.Session, error) {
	var se mdm.Session
	var expires, created int64
	err := s.q.QueryRowContext(ctx, `SELECT hash, kind, subject_id, tenant_id, expires_at, created_at FROM sessions
		WHERE hash=$1 AND expires_at > $2`, hash, ms(now)).Scan(&se.Hash, &se.Kind, &se.SubjectID, &se.TenantID, &expires, &created)
	if err != nil {
		return nil, notFound(err, "session")
	}
	se.ExpiresAt, se.CreatedAt = fromMS(expires), fromMS(created)
	return &se, nil
}

func (s sessionStore) Delete(ctx context.Context, hash []byte) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM sessions WHERE hash=$1`, hash)
	return dbError(err)
}

func (s sessionStore) DeleteForAccount(ctx context.Context, tenantID mdm.TenantID, accountID mdm.AccountID) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM sessions WHERE tenant_id=$1 AND subject_id=$2 AND kind<>$3`,
		tenantID, accountID, mdm.SystemAdminPrincipal)
	return dbError(err)
}
