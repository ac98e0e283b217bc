package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"steward/internal/mdm"
)

// leaseStore is the job_leases table: one row per job that one replica at a time runs.
type leaseStore stores

var _ mdm.LeaseStore = leaseStore{}

func (s stores) Leases() mdm.LeaseStore { return leaseStore(s) }

func (s leaseStore) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	res, err := s.q.ExecContext(ctx, `INSERT INTO job_leases (name, holder, expires_at, last_run) VALUES ($1,$2,$3,0)
		ON CONFLICT (name) DO UPDATE SET holder=excluded.holder, expires_at=excluded.expires_at
		WHERE job_leases.expires_at < $4 OR job_leases.holder = excluded.holder`, name, holder, ms(until), ms(now))
	if err != nil {
		return false, dbError(err)
	}
	n, err := res.RowsAffected()
	return n > 0, dbError(err)
}

func (s leaseStore) LeaseRan(ctx context.Context, name string, at time.Time) error {
	_, err := s.q.ExecContext(ctx, `UPDATE job_leases SET last_run=$1 WHERE name=$2`, ms(at), name)
	return dbError(err)
}

func (s leaseStore) LastRun(ctx context.Context, name string) (time.Time, error) {
	var v int64
	err := s.q.QueryRowContext(ctx, `SELECT last_run FROM job_leases WHERE name=$1`, name).Scan(&v)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	if err != nil || v == 0 {
		return time.Time{}, dbError(err)
	}
	return fromMS(v), nil
}
