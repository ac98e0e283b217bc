package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"steward/internal/mdm"
)

type deviceGroupStore stores
type distributionStore stores
type generationStore stores
type categoryStore stores

var (
	_ mdm.DeviceGroupStore  = deviceGroupStore{}
	_ mdm.DistributionStore = distributionStore{}
	_ mdm.GenerationStore   = generationStore{}
	_ mdm.CategoryStore     = categoryStore{}
)

func (s stores) DeviceGroups() mdm.DeviceGroupStore   { return deviceGroupStore(s) }
func (s stores) Distributions() mdm.DistributionStore { return distributionStore(s) }
func (s stores) Generations() mdm.GenerationStore     { return generationStore(s) }
func (s stores) Categories() mdm.CategoryStore        { return categoryStore(s) }

// ---- Device groups ---------------------------------------------------------------------------------

const deviceGroupCols = `id, tenant_id, name, description, kind, rule, built_in, created_at, modified_at`

func scanDeviceGroup(row interface{ Scan(...any) error }) (mdm.DeviceGroup, error) {
	var g mdm.DeviceGroup
	var created, modified int64
	err := row.Scan(&g.ID, &g.TenantID, &g.Name, &g.Description, &g.Kind, &g.Rule, &g.BuiltIn, &created, &modified)
	g.CreatedAt, g.ModifiedAt = fromMS(created), fromMS(modified)
	return g, err
}

func (s deviceGroupStore) Create(ctx context.Context, g *mdm.DeviceGroup) error {
	err := s.q.QueryRowContext(ctx, `INSERT INTO device_groups (tenant_id, name, name_key, description, kind, rule, built_in,
		created_at, modified_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`, g.TenantID, g.Name, strings.ToLower(g.Name),
		g.Description, g.Kind, g.Rule, g.BuiltIn, ms(g.CreatedAt), ms(g.ModifiedAt)).Scan(&g.ID)
	if isForeignKeyViolation(err) {
		return mdm.Errorf(mdm.NotFound, "tenant not found")
	}
	return conflictOr(err, "a device group named "+g.Name+" already exists")
}

func (s deviceGroupStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID) (*mdm.DeviceGroup, error) {
	g, err := scanDeviceGroup(s.q.QueryRowContext(ctx, `SELECT `+deviceGroupCols+` FROM device_groups WHERE tenant_id=$1 AND id=$2`,
		tenantID, id))
	if err != nil {
		return nil, notFound(err, "device group")
	}
	return &g, nil
}

// name sorts case-insensitively (name_key is the lower-cased name).
var deviceGroupColumns = map[string]string{"id": "id", "name": "name_key", "kind": "kind", "builtIn": "built_in", "createdAt": "created_at"}

func (s deviceGroupStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.DeviceGroup], error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Page[mdm.DeviceGroup]{}, mdm.Errorf(mdm.Internal, "device groups are listed per tenant")
	}
	l := &listQuery{columns: deviceGroupColumns, search: []string{"name", "description"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	return page(ctx, s.q, l, opts, deviceGroupCols, "device_groups", "id",
		func(r *sql.Rows) (mdm.DeviceGroup, error) { return scanDeviceGroup(r) })
}

func (s deviceGroupStore) All(ctx context.Context, tenantID mdm.TenantID) ([]mdm.DeviceGroup, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+deviceGroupCols+` FROM device_groups WHERE tenant_id=$1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.DeviceGroup{}
	for rows.Next() {
		g, err := scanDeviceGroup(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, g)
	}
	return out, dbError(rows.Err())
}

func (s deviceGroupStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, p mdm.DeviceGroupPatch, now time.Time) (*mdm.DeviceGroup, error) {
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
	res, err := s.q.ExecContext(ctx, `UPDATE device_groups SET `+u.sql()+` WHERE tenant_id=`+u.arg(tenantID)+` AND id=`+u.arg(id), u.args...)
	if err != nil {
		return nil, conflictOr(err, "a device group with this name already exists")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "device group not found")
	}
	return s.Get(ctx, tenantID, id)
}

// Delete removes the group with its memberships and the distributions naming it.
func (s deviceGroupStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM device_group_members WHERE tenant_id=$1 AND group_id=$2`, tenantID, id); err != nil {
			return dbError(err)
		}
		if _, err := distributionStore(tx).DeleteForTarget(ctx, tenantID, mdm.TargetDeviceGroup, int64(id)); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM device_groups WHERE tenant_id=$1 AND id=$2`, tenantID, id)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return mdm.Errorf(mdm.NotFound, "device group not found")
		}
		return nil
	})
}

// staticGroup reads the group and refuses one that has no members added by hand.
func (s deviceGroupStore) staticGroup(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID) error {
	g, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if g.Kind != mdm.StaticDeviceGroup {
		return mdm.Errorf(mdm.Conflict, "only a static group has members added by hand; %s is %s", g.Name, g.Kind)
	}
	return nil
}

// AddMembers checks the group and every device in the tenant first, so that nothing is added when one
// of them is unknown; memberships that exist already are kept.
func (s deviceGroupStore) AddMembers(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, devices []mdm.DeviceID) error {
	list, err := jsonList(devices)
	if err != nil {
		return err
	}
	return stores(s).atomic(ctx, func(tx stores) error {
		if err := deviceGroupStore(tx).staticGroup(ctx, tenantID, id); err != nil {
			return err
		}
		var known int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE tenant_id=$1 AND `+tx.inInts("id", "$2"),
			tenantID, list).Scan(&known); err != nil {
			return dbError(err)
		}
		if known != len(slices.Compact(slices.Sorted(slices.Values(devices)))) {
			return mdm.Errorf(mdm.NotFound, "device not found")
		}
		_, err := tx.q.ExecContext(ctx, `INSERT INTO device_group_members (tenant_id, group_id, device_id)
			SELECT tenant_id, $2, id FROM devices WHERE tenant_id=$1 AND `+tx.inInts("id", "$3")+` ON CONFLICT DO NOTHING`,
			tenantID, id, list)
		return dbError(err)
	})
}

func (s deviceGroupStore) RemoveMembers(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, devices []mdm.DeviceID) error {
	list, err := jsonList(devices)
	if err != nil {
		return err
	}
	return stores(s).atomic(ctx, func(tx stores) error {
		if err := deviceGroupStore(tx).staticGroup(ctx, tenantID, id); err != nil {
			return err
		}
		_, err := tx.q.ExecContext(ctx, `DELETE FROM device_group_members WHERE tenant_id=$1 AND group_id=$2 AND `+
			tx.inInts("device_id", "$3"), tenantID, id, list)
		return dbError(err)
	})
}

func (s deviceGroupStore) Members(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceGroupID, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	if _, err := s.Get(ctx, tenantID, id); err != nil {
		return mdm.Page[mdm.Device]{}, err
	}
	l := &listQuery{columns: deviceColumns, search: deviceSearch}
	l.cond("d.tenant_id=" + l.arg(tenantID))
	l.cond(`EXISTS (SELECT 1 FROM device_group_members m WHERE m.tenant_id=d.tenant_id AND m.group_id=` + l.arg(id) +
		` AND m.device_id=d.id)`)
	return page(ctx, s.q, l, opts, deviceCols, deviceFrom, "d.id", func(r *sql.Rows) (mdm.Device, error) { return scanDevice(r) })
}

func (s deviceGroupStore) StaticGroupsOf(ctx context.Context, tenantID mdm.TenantID, device mdm.DeviceID) ([]mdm.DeviceGroupID, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT group_id FROM device_group_members WHERE tenant_id=$1 AND device_id=$2`, tenantID, device)
	if err != nil {
		return nil, dbError(err)
	}
	return scanIDs[mdm.DeviceGroupID](rows)
}

func (s deviceGroupStore) StaticGroupsOfMany(ctx context.Context, tenantID mdm.TenantID, devices []mdm.DeviceID) (map[mdm.DeviceID][]mdm.DeviceGroupID, error) {
	out := map[mdm.DeviceID][]mdm.DeviceGroupID{}
	if len(devices) == 0 {
		return out, nil
	}
	list, err := jsonList(devices)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT device_id, group_id FROM device_group_members WHERE tenant_id=$1 AND `+
		stores(s).inInts("device_id", "$2")+` ORDER BY device_id, group_id`, tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d mdm.DeviceID
		var g mdm.DeviceGroupID
		if err := rows.Scan(&d, &g); err != nil {
			return nil, dbError(err)
		}
		out[d] = append(out[d], g)
	}
	return out, dbError(rows.Err())
}

func (s deviceGroupStore) EnsureBuiltIns(ctx context.Context, tenantID mdm.TenantID, now time.Time) error {
	for _, b := range mdm.BuiltInDeviceGroups {
		_, err := s.q.ExecContext(ctx, `INSERT INTO device_groups (tenant_id, name, name_key, description, kind, rule, built_in,
			created_at, modified_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8) ON CONFLICT DO NOTHING`,
			tenantID, b.Name, strings.ToLower(b.Name), b.Description, b.Kind, b.Rule, true, ms(now))
		if isForeignKeyViolation(err) {
			return mdm.Errorf(mdm.NotFound, "tenant not found")
		}
		if err != nil {
			return dbError(err)
		}
	}
	return nil
}

// ---- Distributions ---------------------------------------------------------------------------------

const distributionCols = `tenant_id, item_kind, item_id, target_kind, target_id, required`

func scanDistributions(rows *sql.Rows, err error) ([]mdm.Distribution, error) {
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.Distribution{}
	for rows.Next() {
		var d mdm.Distribution
		if err := rows.Scan(&d.TenantID, &d.ItemKind, &d.ItemID, &d.Target, &d.TargetID, &d.Required); err != nil {
			return nil, dbError(err)
		}
		out = append(out, d)
	}
	return out, dbError(rows.Err())
}

// Replace checks every target first, then deletes the item's rows and inserts the new ones.
func (s distributionStore) Replace(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64, ds []mdm.Distribution) error {
	byTarget := map[[2]any]mdm.Distribution{}
	var order [][2]any
	for _, d := range ds {
		if !d.Target.Valid() {
			return mdm.Errorf(mdm.Invalid, "unknown target kind %q", d.Target)
		}
		if d.Target == mdm.TargetAllUsers && d.TargetID != 0 {
			return mdm.Errorf(mdm.Invalid, "an ALL_USERS target takes no id")
		}
		k := [2]any{d.Target, d.TargetID}
		if _, ok := byTarget[k]; !ok {
			order = append(order, k)
		}
		byTarget[k] = d
	}
	return stores(s).atomic(ctx, func(tx stores) error {
		for _, k := range order {
			d := byTarget[k]
			var err error
			switch d.Target {
			case mdm.TargetUserGroup:
				_, err = groupStore(tx).Get(ctx, tenantID, mdm.GroupID(d.TargetID))
			case mdm.TargetDeviceGroup:
				_, err = deviceGroupStore(tx).Get(ctx, tenantID, mdm.DeviceGroupID(d.TargetID))
			}
			if err != nil {
				return err
			}
		}
		if err := distributionStore(tx).DeleteForItem(ctx, tenantID, kind, itemID); err != nil {
			return err
		}
		for _, k := range order {
			d := byTarget[k]
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO distributions (`+distributionCols+`) VALUES ($1,$2,$3,$4,$5,$6)`,
				tenantID, kind, itemID, d.Target, d.TargetID, d.Required); err != nil {
				return conflictOr(err, "the item's distribution changed meanwhile; try again")
			}
		}
		return nil
	})
}

func (s distributionStore) ForItem(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64) ([]mdm.Distribution, error) {
	return scanDistributions(s.q.QueryContext(ctx, `SELECT `+distributionCols+` FROM distributions
		WHERE tenant_id=$1 AND item_kind=$2 AND item_id=$3 ORDER BY target_kind, target_id`, tenantID, kind, itemID))
}

func (s distributionStore) ForItems(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemIDs []int64) (map[int64][]mdm.Distribution, error) {
	out := map[int64][]mdm.Distribution{}
	if len(itemIDs) == 0 {
		return out, nil
	}
	list, err := jsonList(itemIDs)
	if err != nil {
		return nil, err
	}
	ds, err := scanDistributions(s.q.QueryContext(ctx, `SELECT `+distributionCols+` FROM distributions
		WHERE tenant_id=$1 AND item_kind=$2 AND `+stores(s).inInts("item_id", "$3")+` ORDER BY item_id, target_kind, target_id`,
		tenantID, kind, list))
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		out[d.ItemID] = append(out[d.ItemID], d)
	}
	return out, nil
}

func (s distributionStore) Reaching(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, t mdm.Targets) ([]mdm.Distribution, error) {
	users, err := jsonList(t.UserGroups)
	if err != nil {
		return nil, err
	}
	devices, err := jsonList(t.DeviceGroups)
	if err != nil {
		return nil, err
	}
	return scanDistributions(s.q.QueryContext(ctx, `SELECT `+distributionCols+` FROM distributions
		WHERE tenant_id=$1 AND item_kind=$2 AND (
			(target_kind='ALL_USERS' AND $3)
			OR (target_kind='USER_GROUP' AND `+stores(s).inInts("target_id", "$4")+`)
			OR (target_kind='DEVICE_GROUP' AND `+stores(s).inInts("target_id", "$5")+`))
		ORDER BY item_id, target_kind, target_id`, tenantID, kind, t.AllUsers, users, devices))
}

func (s distributionStore) ForTarget(ctx context.Context, tenantID mdm.TenantID, target mdm.TargetKind, targetID int64) ([]mdm.Distribution, error) {
	return scanDistributions(s.q.QueryContext(ctx, `SELECT `+distributionCols+` FROM distributions
		WHERE tenant_id=$1 AND target_kind=$2 AND target_id=$3 ORDER BY item_kind, item_id`, tenantID, target, targetID))
}

func (s distributionStore) DeleteForItem(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM distributions WHERE tenant_id=$1 AND item_kind=$2 AND item_id=$3`, tenantID, kind, itemID)
	return dbError(err)
}

func (s distributionStore) DeleteForTarget(ctx context.Context, tenantID mdm.TenantID, target mdm.TargetKind, targetID int64) (int, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM distributions WHERE tenant_id=$1 AND target_kind=$2 AND target_id=$3`,
		tenantID, target, targetID)
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}

// reachAccountColumns are mdm.AccountFields on the account joined to a device (deviceFrom's "a").
var reachAccountColumns = map[string]string{
	"id": "a.id", "UID": "a.username", "emailAddress": "a.email", "firstName": "a.first_name", "lastName": "a.last_name",
	"createdAt": "a.created_at", "apiUser": "a.api_user",
}

// DevicesReached evaluates r as one condition over the tenant's devices joined to their owners. A
// device without an owner matches no user condition (the joined columns are NULL).
func (s distributionStore) DevicesReached(ctx context.Context, tenantID mdm.TenantID, r mdm.Reach, after mdm.DeviceID, limit int) ([]mdm.DeviceID, error) {
	if r.Empty() {
		return []mdm.DeviceID{}, nil
	}
	if limit <= 0 || limit > maxIDs {
		limit = maxIDs
	}
	l := &listQuery{}
	var ors []string
	if r.AllDevices {
		ors = append(ors, "1=1")
	}
	if r.AllUsers {
		ors = append(ors, "a.id IS NOT NULL")
	}
	if len(r.StaticUserGroups) > 0 {
		list, err := jsonList(r.StaticUserGroups)
		if err != nil {
			return nil, err
		}
		ors = append(ors, `EXISTS (SELECT 1 FROM user_group_members m WHERE m.tenant_id=d.tenant_id AND m.account_id=d.account_id AND `+
			stores(s).inInts("m.group_id", l.arg(list))+`)`)
	}
	if len(r.StaticDeviceGroups) > 0 {
		list, err := jsonList(r.StaticDeviceGroups)
		if err != nil {
			return nil, err
		}
		ors = append(ors, `EXISTS (SELECT 1 FROM device_group_members g WHERE g.tenant_id=d.tenant_id AND g.device_id=d.id AND `+
			stores(s).inInts("g.group_id", l.arg(list))+`)`)
	}
	l.columns = reachAccountColumns
	for _, f := range r.UserRules {
		c, err := l.filter(f)
		if err != nil {
			return nil, err
		}
		ors = append(ors, "(a.id IS NOT NULL AND "+c+")")
	}
	l.columns = deviceColumns
	for _, f := range r.DeviceRules {
		c, err := l.filter(f)
		if err != nil {
			return nil, err
		}
		ors = append(ors, c)
	}
	query := fmt.Sprintf(`SELECT d.id FROM %s WHERE d.tenant_id=%s AND d.registration_state=%s AND d.id > %s AND (%s)
		ORDER BY d.id LIMIT %d`, deviceFrom, l.arg(tenantID), l.arg(mdm.StateActive), l.arg(after), strings.Join(ors, " OR "), limit)
	rows, err := s.q.QueryContext(ctx, query, l.args...)
	if err != nil {
		return nil, dbError(err)
	}
	return scanIDs[mdm.DeviceID](rows)
}

// ---- Assignment generation -------------------------------------------------------------------------

func (s generationStore) Bump(ctx context.Context, tenantID mdm.TenantID) (int64, error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return 0, mdm.Errorf(mdm.Internal, "a generation belongs to one tenant")
	}
	var g int64
	err := s.q.QueryRowContext(ctx, `INSERT INTO assignment_generations (tenant_id, generation) VALUES ($1, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET generation = assignment_generations.generation + 1 RETURNING generation`,
		tenantID).Scan(&g)
	if err != nil {
		return 0, dbError(err)
	}
	if s.pg {
		// Tell every replica's configuration reconciler, when (and only if) the transaction commits.
		// Channel and payload are internal/events' (events.Channel, events.Encode(GenerationEvent, tenant)).
		_, err = s.q.ExecContext(ctx, `SELECT pg_notify('steward_events', $1)`, GenerationEvent+" "+string(tenantID))
	}
	return g, dbError(err)
}

// GenerationEvent is the event topic a bumped assignment generation is announced under (PostgreSQL).
const GenerationEvent = "generation"

func (s generationStore) Get(ctx context.Context, tenantID mdm.TenantID) (int64, error) {
	var g int64
	err := s.q.QueryRowContext(ctx, `SELECT generation FROM assignment_generations WHERE tenant_id=$1`, tenantID).Scan(&g)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return g, dbError(err)
}

// ---- Categories ------------------------------------------------------------------------------------

const categoryCols = `id, tenant_id, kind, name, description, created_at, modified_at`

func scanCategory(row interface{ Scan(...any) error }) (mdm.Category, error) {
	var c mdm.Category
	var created, modified int64
	err := row.Scan(&c.ID, &c.TenantID, &c.Kind, &c.Name, &c.Description, &created, &modified)
	c.CreatedAt, c.ModifiedAt = fromMS(created), fromMS(modified)
	return c, err
}

func (s categoryStore) Create(ctx context.Context, c *mdm.Category) error {
	err := s.q.QueryRowContext(ctx, `INSERT INTO categories (tenant_id, kind, name, name_key, description, created_at, modified_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id`, c.TenantID, c.Kind, c.Name, strings.ToLower(c.Name), c.Description,
		ms(c.CreatedAt), ms(c.ModifiedAt)).Scan(&c.ID)
	if isForeignKeyViolation(err) {
		return mdm.Errorf(mdm.NotFound, "tenant not found")
	}
	return conflictOr(err, "a category named "+c.Name+" already exists")
}

func (s categoryStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID) (*mdm.Category, error) {
	c, err := scanCategory(s.q.QueryRowContext(ctx, `SELECT `+categoryCols+` FROM categories WHERE tenant_id=$1 AND id=$2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "category")
	}
	return &c, nil
}

// name sorts case-insensitively (name_key is the lower-cased name).
var categoryColumns = map[string]string{"id": "id", "name": "name_key", "kind": "kind", "createdAt": "created_at"}

func (s categoryStore) List(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, opts mdm.ListOptions) (mdm.Page[mdm.Category], error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Page[mdm.Category]{}, mdm.Errorf(mdm.Internal, "categories are listed per tenant")
	}
	l := &listQuery{columns: categoryColumns, search: []string{"name", "description"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	l.cond("kind=" + l.arg(kind))
	return page(ctx, s.q, l, opts, categoryCols, "categories", "id", func(r *sql.Rows) (mdm.Category, error) { return scanCategory(r) })
}

func (s categoryStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID, p mdm.CategoryPatch, now time.Time) (*mdm.Category, error) {
	u := &update{}
	u.set("modified_at", ms(now))
	if p.Name != nil {
		u.set("name", *p.Name)
		u.set("name_key", strings.ToLower(*p.Name))
	}
	if p.Description != nil {
		u.set("description", *p.Description)
	}
	res, err := s.q.ExecContext(ctx, `UPDATE categories SET `+u.sql()+` WHERE tenant_id=`+u.arg(tenantID)+` AND id=`+u.arg(id), u.args...)
	if err != nil {
		return nil, conflictOr(err, "a category with this name already exists")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "category not found")
	}
	return s.Get(ctx, tenantID, id)
}

func (s categoryStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM item_categories WHERE tenant_id=$1 AND category_id=$2`, tenantID, id); err != nil {
			return dbError(err)
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM categories WHERE tenant_id=$1 AND id=$2`, tenantID, id)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return mdm.Errorf(mdm.NotFound, "category not found")
		}
		return nil
	})
}

func (s categoryStore) SetItemCategories(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64, ids []mdm.CategoryID) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	list, err := jsonList(ids)
	if err != nil {
		return err
	}
	return stores(s).atomic(ctx, func(tx stores) error {
		var known int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM categories WHERE tenant_id=$1 AND kind=$2 AND `+
			tx.inInts("id", "$3"), tenantID, kind, list).Scan(&known); err != nil {
			return dbError(err)
		}
		if known != len(ids) {
			return mdm.Errorf(mdm.NotFound, "category not found")
		}
		if err := categoryStore(tx).DeleteForItem(ctx, tenantID, kind, itemID); err != nil {
			return err
		}
		_, err := tx.q.ExecContext(ctx, `INSERT INTO item_categories (tenant_id, item_kind, item_id, category_id)
			SELECT tenant_id, kind, $3, id FROM categories WHERE tenant_id=$1 AND kind=$2 AND `+tx.inInts("id", "$4")+
			` ON CONFLICT DO NOTHING`, tenantID, kind, itemID, list)
		return dbError(err)
	})
}

func (s categoryStore) ForItems(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemIDs []int64) (map[int64][]mdm.Category, error) {
	out := map[int64][]mdm.Category{}
	if len(itemIDs) == 0 {
		return out, nil
	}
	list, err := jsonList(itemIDs)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT i.item_id, c.id, c.tenant_id, c.kind, c.name, c.description, c.created_at, c.modified_at
		FROM item_categories i JOIN categories c ON c.tenant_id=i.tenant_id AND c.id=i.category_id
		WHERE i.tenant_id=$1 AND i.item_kind=$2 AND `+stores(s).inInts("i.item_id", "$3")+` ORDER BY i.item_id, c.name_key, c.id`,
		tenantID, kind, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var item, created, modified int64
		var c mdm.Category
		if err := rows.Scan(&item, &c.ID, &c.TenantID, &c.Kind, &c.Name, &c.Description, &created, &modified); err != nil {
			return nil, dbError(err)
		}
		c.CreatedAt, c.ModifiedAt = fromMS(created), fromMS(modified)
		out[item] = append(out[item], c)
	}
	return out, dbError(rows.Err())
}

func (s categoryStore) Items(ctx context.Context, tenantID mdm.TenantID, id mdm.CategoryID) ([]int64, error) {
	if _, err := s.Get(ctx, tenantID, id); err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT item_id FROM item_categories WHERE tenant_id=$1 AND category_id=$2 ORDER BY item_id`,
		tenantID, id)
	if err != nil {
		return nil, dbError(err)
	}
	return scanIDs[int64](rows)
}

func (s categoryStore) DeleteForItem(ctx context.Context, tenantID mdm.TenantID, kind mdm.ItemKind, itemID int64) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM item_categories WHERE tenant_id=$1 AND item_kind=$2 AND item_id=$3`, tenantID, kind, itemID)
	return dbError(err)
}
