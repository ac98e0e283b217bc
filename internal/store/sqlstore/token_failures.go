package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"steward/internal/mdm"
)

// CountFailure increments in one UPDATE … RETURNING (SQLite ≥ 3.35 and PostgreSQL), so that concurrent
// wrong guesses on any replica each count exactly once. Reaching the limit deletes the token, as Revoke
// does; the DELETE is guarded by the count, so a token replaced in between is left alone.
func (s tokenStore) CountFailure(ctx context.Context, purpose string, tenantID mdm.TenantID, accountID mdm.AccountID, limit int) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `UPDATE one_time_tokens SET failed_attempts = failed_attempts + 1
		WHERE hash = (SELECT hash FROM one_time_tokens WHERE tenant_id=$1 AND account_id=$2 AND purpose=$3
			AND used_at IS NULL ORDER BY created_at DESC, hash LIMIT 1)
		RETURNING failed_attempts`, tenantID, accountID, purpose).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, dbError(err)
	}
	if n >= limit {
		if _, err := s.q.ExecContext(ctx, `DELETE FROM one_time_tokens WHERE tenant_id=$1 AND account_id=$2
			AND purpose=$3 AND used_at IS NULL AND failed_attempts >= $4`, tenantID, accountID, purpose, limit); err != nil {
			return 0, dbError(err)
		}
	}
	return n, nil
}
