package sqlstore

import (
	"context"

	"steward/internal/mdm"
)

type supportAdminStore stores

var _ mdm.SupportAdminStore = supportAdminStore{}

func (s supportAdminStore) List(ctx context.Context, tenantID mdm.TenantID) ([]mdm.AccountID, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT account_id FROM support_admins WHERE tenant_id=$1 ORDER BY account_id`, tenantID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.AccountID{}
	for rows.Next() {
		var id mdm.AccountID
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(err)
		}
		out = append(out, id)
	}
	return out, dbError(rows.Err())
}

// Set checks every account in the tenant before it writes, so that an unknown id changes nothing.
func (s supportAdminStore) Set(ctx context.Context, tenantID mdm.TenantID, ids []mdm.AccountID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		for _, id := range ids {
			if _, err := accountStore(tx).Get(ctx, tenantID, id); err != nil {
				return err
			}
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM support_admins WHERE tenant_id=$1`, tenantID); err != nil {
			return dbError(err)
		}
		for _, id := range ids {
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO support_admins (tenant_id, account_id) VALUES ($1,$2)
				ON CONFLICT DO NOTHING`, tenantID, id); err != nil {
				return dbError(err)
			}
		}
		return nil
	})
}
