package sqlstore

import (
	"context"
	"slices"
	"time"

	"steward/internal/mdm"
)

// SetState moves those of ids whose state is one of from to state, in one statement, and returns their
// ids in ascending order.
func (s deviceStore) SetState(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, from []string, state string, now time.Time) ([]mdm.DeviceID, error) {
	switch state {
	case mdm.StateActive, mdm.StateRetirePending, mdm.StateRetired, mdm.StateWipePending, mdm.StateWiped:
	default:
		return nil, mdm.Errorf(mdm.Invalid, "unknown registration state %q", state)
	}
	idList, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	fromList, err := jsonList(from)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `UPDATE devices SET registration_state=$1, modified_at=$2
		WHERE `+stores(s).unindexed("tenant_id")+`=$3 AND `+stores(s).inInts("id", "$4")+` AND `+stores(s).inTexts("registration_state", "$5")+`
		RETURNING id`, state, ms(now), tenantID, idList, fromList)
	if err != nil {
		return nil, dbError(err)
	}
	defer stores(s).devicesChanged(tenantID)
	return scanIDs[mdm.DeviceID](rows)
}

// SetAccount gives ids a new owner, who must be an account of the same tenant.
func (s deviceStore) SetAccount(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, accountID mdm.AccountID, now time.Time) (int, error) {
	idList, err := jsonList(ids)
	if err != nil {
		return 0, err
	}
	var n int64
	err = stores(s).atomic(ctx, func(tx stores) error {
		var one int
		err := tx.q.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE tenant_id=$1 AND id=$2`, tenantID, accountID).Scan(&one)
		if err != nil {
			return notFound(err, "account")
		}
		res, err := tx.q.ExecContext(ctx, `UPDATE devices SET account_id=$1, modified_at=$2
			WHERE `+tx.unindexed("tenant_id")+`=$3 AND `+tx.inInts("id", "$4"), accountID, ms(now), tenantID, idList)
		if err != nil {
			return dbError(err)
		}
		tx.devicesChanged(tenantID)
		n, err = res.RowsAffected()
		return dbError(err)
	})
	return int(n), err
}

// Delete removes the devices with their apps, commands, Apple state, device group memberships and policy
// violations, in one transaction.
func (s deviceStore) Delete(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) (int, error) {
	idList, err := jsonList(ids)
	if err != nil {
		return 0, err
	}
	var n int64
	err = stores(s).atomic(ctx, func(tx stores) error {
		for _, table := range []string{"device_apps", "device_commands", "apple_devices", "device_group_members", "policy_violations"} {
			if _, err := tx.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant_id=$1 AND `+tx.inInts("device_id", "$2"),
				tenantID, idList); err != nil {
				return dbError(err)
			}
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM devices WHERE `+tx.unindexed("tenant_id")+`=$1 AND `+tx.inInts("id", "$2"), tenantID, idList)
		if err != nil {
			return dbError(err)
		}
		tx.devicesChanged(tenantID)
		n, err = res.RowsAffected()
		return dbError(err)
	})
	return int(n), err
}

// ClearAccount leaves the devices of accountIDs without an owner.
func (s deviceStore) ClearAccount(ctx context.Context, tenantID mdm.TenantID, accountIDs []mdm.AccountID) error {
	list, err := jsonList(accountIDs)
	if err != nil {
		return err
	}
	_, err = s.q.ExecContext(ctx, `UPDATE devices SET account_id=NULL WHERE tenant_id=$1 AND `+stores(s).inInts("account_id", "$2"),
		tenantID, list)
	stores(s).devicesChanged(tenantID)
	return dbError(err)
}

// scanIDs reads one id column and returns the ids in ascending order.
func scanIDs[T ~int64](rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var id T
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	slices.Sort(out)
	return out, nil
}
