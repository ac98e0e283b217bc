package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"steward/internal/mdm"
)

type groupStore stores

var _ mdm.GroupStore = groupStore{}

const groupCols = `id, tenant_id, name, description, kind, rule, roles, created_at, modified_at`

func scanGroup(row interface{ Scan(...any) error }) (mdm.UserGroup, error) {
	var g mdm.UserGroup
	var roles string
	var created, modified int64
	if err := row.Scan(&g.ID, &g.TenantID, &g.Name, &g.Description, &g.Kind, &g.Rule, &roles, &created, &modified); err != nil {
		return g, err
	}
	g.CreatedAt, g.ModifiedAt = fromMS(created), fromMS(modified)
	return g, json.Unmarshal([]byte(roles), &g.Roles)
}

func (s groupStore) Create(ctx context.Context, g *mdm.UserGroup) error {
	roles, err := json.Marshal(nonNil(g.Roles))
	if err != nil {
		return err
	}
	err = s.q.QueryRowContext(ctx, `INSERT INTO user_groups (tenant_id, name, name_key, description, kind, rule, roles,
		created_at, modified_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`, g.TenantID, g.Name, strings.ToLower(g.Name),
		g.Description, g.Kind, g.Rule, string(roles), ms(g.CreatedAt), ms(g.ModifiedAt)).Scan(&g.ID)
	if isForeignKeyViolation(err) {
		return mdm.Errorf(mdm.NotFound, "tenant not found")
	}
	return conflictOr(err, "a group named "+g.Name+" already exists")
}

func (s groupStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.GroupID) (*mdm.UserGroup, error) {
	g, err := scanGroup(s.q.QueryRowContext(ctx, `SELECT `+groupCols+` FROM user_groups WHERE tenant_id=$1 AND id=$2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "group")
	}
	return &g, nil
}

var groupColumns = map[string]string{"id": "id", "name": "name", "kind": "kind", "createdAt": "created_at"}

func (s groupStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.UserGroup], error) {
	l := &listQuery{columns: groupColumns, search: []string{"name", "description"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	return page(ctx, s.q, l, opts, groupCols, "user_groups", "id", func(r *sql.Rows) (mdm.UserGroup, error) { return scanGroup(r) })
}

func (s groupStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.GroupID, p mdm.GroupPatch, now time.Time) (*mdm.UserGroup, error) {
	u := &update{}
	u.set("modified_at", ms(now))
	if p.Name != nil {
		u.set("name", *p.Name)
		u.set("name_key", strings.ToLower(*p.Name))
	}
	if p.Description != nil {
		u.set("description", *p.Description)
	}
	if p.Rule != nil {
		u.set("rule", *p.Rule)
	}
	if p.Roles != nil {
		roles, err := json.Marshal(nonNil(*p.Roles))
		if err != nil {
			return nil, err
		}
		u.set("roles", string(roles))
	}
	res, err := s.q.ExecContext(ctx, `UPDATE user_groups SET `+u.sql()+` WHERE tenant_id=`+u.arg(tenantID)+` AND id=`+u.arg(id), u.args...)
	if err != nil {
		return nil, conflictOr(err, "a group with this name already exists")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "group not found")
	}
	return s.Get(ctx, tenantID, id)
}

// Delete removes the group with its memberships, its registration override (renumbering the rest) and
// the distributions naming it.
func (s groupStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.GroupID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		if err := registrationStore(tx).DeleteOverride(ctx, tenantID, id); err != nil && !mdm.IsCode(err, mdm.NotFound) {
			return err
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM user_group_members WHERE tenant_id=$1 AND group_id=$2`, tenantID, id); err != nil {
			return dbError(err)
		}
		if _, err := distributionStore(tx).DeleteForTarget(ctx, tenantID, mdm.TargetUserGroup, int64(id)); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM user_groups WHERE tenant_id=$1 AND id=$2`, tenantID, id)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return mdm.Errorf(mdm.NotFound, "group not found")
		}
		return nil
	})
}

// AddMembers checks the group and every account in the tenant first, so that nothing is added when one
// of them is unknown; memberships that exist already are kept.
func (s groupStore) AddMembers(ctx context.Context, tenantID mdm.TenantID, id mdm.GroupID, accounts []mdm.AccountID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		if _, err := groupStore(tx).Get(ctx, tenantID, id); err != nil {
			return err
		}
		for _, a := range accounts {
			if _, err := accountStore(tx).Get(ctx, tenantID, a); err != nil {
				return err
			}
			_, err := tx.q.ExecContext(ctx, `INSERT INTO user_group_members (tenant_id, group_id, account_id) VALUES ($1,$2,$3)
				ON CONFLICT DO NOTHING`, tenantID, id, a)
			if err != nil {
				return dbError(err)
			}
		}
		return nil
	})
}

func (s groupStore) RemoveMembers(ctx context.Context, tenantID mdm.TenantID, id mdm.GroupID, accounts []mdm.AccountID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		if _, err := groupStore(tx).Get(ctx, tenantID, id); err != nil {
			return err
		}
		for _, a := range accounts {
			if _, err := tx.q.ExecContext(ctx, `DELETE FROM user_group_members WHERE tenant_id=$1 AND group_id=$2 AND account_id=$3`,
				tenantID, id, a); err != nil {
				return dbError(err)
			}
		}
		return nil
	})
}

func (s groupStore) GroupsFor(ctx context.Context, tenantID mdm.TenantID, account mdm.AccountID) ([]mdm.UserGroup, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+groupCols+` FROM user_groups g WHERE g.tenant_id=$1 AND (g.kind IN ('ALL_USERS', 'DYNAMIC')
		OR EXISTS (SELECT 1 FROM user_group_members m WHERE m.tenant_id=$1 AND m.group_id=g.id AND m.account_id=$2))
		ORDER BY g.id`, tenantID, account)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []mdm.UserGroup
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, g)
	}
	return out, dbError(rows.Err())
}
