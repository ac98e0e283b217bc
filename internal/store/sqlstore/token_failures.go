package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"steward/internal/mdm"
)

// CountFailure increments in one UPDATE … RETURNING (SQLite ≥ 3.35 and PostgreSQL), so that concurrent
// wrong guesses on any replica each count exactly once. The same statement revokes the token at the
// limit by moving its expiry to now: the row and its count stay, so the lock outlives the token (a
// deleted token would let the next request issue a fresh one with a fresh count).
func (s tokenStore) CountFailure(ctx context.Context, purpose string, tenantID mdm.TenantID, accountID mdm.AccountID, limit int, now time.Time) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `UPDATE one_time_tokens SET failed_attempts = failed_attempts + 1, last_failed_at = $4,
			expires_at = CASE WHEN failed_attempts + 1 >= $5 AND expires_at > $4 THEN $4 ELSE expires_at END
		WHERE hash = (SELECT hash FROM one_time_tokens WHERE tenant_id=$1 AND account_id=$2 AND purpose=$3
			AND used_at IS NULL ORDER BY created_at DESC, hash LIMIT 1)
		RETURNING failed_attempts`, tenantID, accountID, purpose, ms(now), limit).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, dbError(err)
	}
	return n, nil
}
