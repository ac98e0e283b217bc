package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"steward/internal/mdm"
)

const overrideCols = `o.group_id, g.name, g.kind, g.rule, o.priority, o.auth_type, o.pin_lifetime_days, o.pin_length,
	o.allow_pin_request, o.devices_per_user, o.modified_at`

const overrideFrom = ` FROM group_registration_settings o JOIN user_groups g ON g.tenant_id=o.tenant_id AND g.id=o.group_id`

func scanOverride(row interface{ Scan(...any) error }) (mdm.GroupRegistrationSettings, error) {
	var o mdm.GroupRegistrationSettings
	var modified int64
	err := row.Scan(&o.GroupID, &o.GroupName, &o.GroupKind, &o.GroupRule, &o.Priority, &o.Settings.AuthType,
		&o.Settings.PINLifetimeDays, &o.Settings.PINLength, &o.Settings.AllowPINRequest, &o.Settings.DevicesPerUser, &modified)
	o.Settings.ModifiedAt = fromMS(modified)
	return o, err
}

func (s registrationStore) Override(ctx context.Context, tenantID mdm.TenantID, group mdm.GroupID) (*mdm.GroupRegistrationSettings, error) {
	o, err := scanOverride(s.q.QueryRowContext(ctx, `SELECT `+overrideCols+overrideFrom+` WHERE o.tenant_id=$1 AND o.group_id=$2`,
		tenantID, group))
	if err != nil {
		return nil, notFound(err, "registration setting of this group")
	}
	return &o, nil
}

// PutOverride changes the group's override, or adds it below every other one.
func (s registrationStore) PutOverride(ctx context.Context, tenantID mdm.TenantID, group mdm.GroupID, r mdm.RegistrationSettings,
	now time.Time) (*mdm.GroupRegistrationSettings, error) {
	var out *mdm.GroupRegistrationSettings
	err := stores(s).atomic(ctx, func(tx stores) error {
		// The group is looked up in the tenant first: on SQLite the foreign key alone would accept another
		// tenant's group.
		if _, err := groupStore(tx).Get(ctx, tenantID, group); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, `UPDATE group_registration_settings SET auth_type=$1, pin_lifetime_days=$2, pin_length=$3,
			allow_pin_request=$4, devices_per_user=$5, modified_at=$6 WHERE tenant_id=$7 AND group_id=$8`,
			r.AuthType, r.PINLifetimeDays, r.PINLength, r.AllowPINRequest, r.DevicesPerUser, ms(now), tenantID, group)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = tx.q.ExecContext(ctx, `INSERT INTO group_registration_settings (tenant_id, group_id, priority, auth_type,
				pin_lifetime_days, pin_length, allow_pin_request, devices_per_user, modified_at)
				SELECT $1, $2, COALESCE(MAX(priority), 0) + 1, $3, $4, $5, $6, $7, $8 FROM group_registration_settings WHERE tenant_id=$1`,
				tenantID, group, r.AuthType, r.PINLifetimeDays, r.PINLength, r.AllowPINRequest, r.DevicesPerUser, ms(now))
			if err != nil {
				return conflictOr(err, "another change of the registration settings came first: try again")
			}
		}
		out, err = registrationStore(tx).Override(ctx, tenantID, group)
		return err
	})
	return out, err
}

func (s registrationStore) DeleteOverride(ctx context.Context, tenantID mdm.TenantID, group mdm.GroupID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		res, err := tx.q.ExecContext(ctx, `DELETE FROM group_registration_settings WHERE tenant_id=$1 AND group_id=$2`, tenantID, group)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return mdm.Errorf(mdm.NotFound, "this group has no registration setting of its own")
		}
		rest, err := registrationStore(tx).Overrides(ctx, tenantID)
		if err != nil {
			return err
		}
		order := make([]mdm.GroupID, len(rest))
		for i, o := range rest {
			order[i] = o.GroupID
		}
		return tx.renumber(ctx, tenantID, order)
	})
}

func (s registrationStore) Overrides(ctx context.Context, tenantID mdm.TenantID) ([]mdm.GroupRegistrationSettings, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+overrideCols+overrideFrom+` WHERE o.tenant_id=$1 ORDER BY o.priority`, tenantID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.GroupRegistrationSettings{}
	for rows.Next() {
		o, err := scanOverride(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, o)
	}
	return out, dbError(rows.Err())
}

func (s registrationStore) Reorder(ctx context.Context, tenantID mdm.TenantID, groups []mdm.GroupID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		cur, err := registrationStore(tx).Overrides(ctx, tenantID)
		if err != nil {
			return err
		}
		have := make(map[mdm.GroupID]bool, len(cur))
		for _, o := range cur {
			have[o.GroupID] = true
		}
		seen := make(map[mdm.GroupID]bool, len(groups))
		for _, g := range groups {
			if !have[g] || seen[g] {
				return mdm.Errorf(mdm.Invalid, "group %d has no registration setting of its own, or is named twice", g)
			}
			seen[g] = true
		}
		if len(groups) != len(cur) {
			return mdm.Errorf(mdm.Invalid, "the new order names %d of the %d groups with their own setting", len(groups), len(cur))
		}
		return tx.renumber(ctx, tenantID, groups)
	})
}

// renumber gives the overrides of order the priorities 1..n. Every priority is first made negative, so
// that no intermediate state breaks the unique (tenant_id, priority) index.
func (tx stores) renumber(ctx context.Context, tenantID mdm.TenantID, order []mdm.GroupID) error {
	if _, err := tx.q.ExecContext(ctx, `UPDATE group_registration_settings SET priority=-priority WHERE tenant_id=$1`, tenantID); err != nil {
		return dbError(err)
	}
	for i, g := range order {
		res, err := tx.q.ExecContext(ctx, `UPDATE group_registration_settings SET priority=$1 WHERE tenant_id=$2 AND group_id=$3`,
			i+1, tenantID, g)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return mdm.Errorf(mdm.Internal, "renumbering registration settings: group %d has none", g)
		}
	}
	return nil
}

// Members pages through the accounts that are static members of the group.
func (s groupStore) Members(ctx context.Context, tenantID mdm.TenantID, id mdm.GroupID, opts mdm.ListOptions) (mdm.Page[mdm.Account], error) {
	if _, err := s.Get(ctx, tenantID, id); err != nil {
		return mdm.Page[mdm.Account]{}, err
	}
	l := &listQuery{columns: accountColumns, search: []string{"username", "first_name", "last_name"}}
	t := l.arg(tenantID)
	l.cond("tenant_id=" + t)
	l.cond(fmt.Sprintf("id IN (SELECT account_id FROM user_group_members WHERE tenant_id=%s AND group_id=%s)", t, l.arg(id)))
	return page(ctx, s.q, l, opts, accountCols, "accounts", "id", func(r *sql.Rows) (mdm.Account, error) { return scanAccount(r) })
}
