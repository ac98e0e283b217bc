package sqlstore

import (
	"context"

	"steward/internal/mdm"
)

// States returns the registration state of each of ids that is a device of the tenant, in one query.
func (s deviceStore) States(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) (map[mdm.DeviceID]string, error) {
	list, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT id, registration_state FROM devices
		WHERE `+stores(s).unindexed("tenant_id")+`=$1 AND `+stores(s).inInts("id", "$2"), tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := make(map[mdm.DeviceID]string, len(ids))
	for rows.Next() {
		var id mdm.DeviceID
		var state string
		if err := rows.Scan(&id, &state); err != nil {
			return nil, dbError(err)
		}
		out[id] = state
	}
	return out, dbError(rows.Err())
}
