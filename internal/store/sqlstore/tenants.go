package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"steward/internal/mdm"
)

type tenantStore stores

var _ mdm.TenantStore = tenantStore{}

const tenantCols = `id, name, state, license_devices, default_dm_partition_id, default_cm_partition_id, created_at, modified_at`

func scanTenant(row interface{ Scan(...any) error }) (mdm.Tenant, error) {
	var t mdm.Tenant
	var created, modified int64
	var dm, cm int64
	err := row.Scan(&t.ID, &t.Name, &t.State, &t.LicenseDevices, &dm, &cm, &created, &modified)
	t.DefaultDmPartitionID, t.DefaultCmPartitionID = mdm.SpaceID(dm), mdm.SpaceID(cm)
	t.CreatedAt, t.ModifiedAt = fromMS(created), fromMS(modified)
	return t, err
}

// Create inserts the tenant with its default device space and content space, all or nothing.
func (s tenantStore) Create(ctx context.Context, t *mdm.Tenant) error {
	return stores(s).atomic(ctx, func(tx stores) error { return tenantStore(tx).create(ctx, t) })
}

func (s tenantStore) create(ctx context.Context, t *mdm.Tenant) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO tenants (`+tenantCols+`, name_key) VALUES ($1,$2,$3,$4,0,0,$5,$6,$7)`,
		t.ID, t.Name, t.State, t.LicenseDevices, ms(t.CreatedAt), ms(t.ModifiedAt), strings.ToLower(t.Name))
	if err != nil {
		return conflictOr(err, "a tenant with this name already exists")
	}
	var dm, cm int64
	insertSpace := `INSERT INTO spaces (tenant_id, kind, name, is_default, created_at) VALUES ($1,$2,$3,$4,$5) RETURNING id`
	if err := s.q.QueryRowContext(ctx, insertSpace, t.ID, "device", "Default Space", true, ms(t.CreatedAt)).Scan(&dm); err != nil {
		return dbError(err)
	}
	if err := s.q.QueryRowContext(ctx, insertSpace, t.ID, "content", "Default Space", true, ms(t.CreatedAt)).Scan(&cm); err != nil {
		return dbError(err)
	}
	if _, err := s.q.ExecContext(ctx, `UPDATE tenants SET default_dm_partition_id=$1, default_cm_partition_id=$2 WHERE id=$3`,
		dm, cm, t.ID); err != nil {
		return dbError(err)
	}
	t.DefaultDmPartitionID, t.DefaultCmPartitionID = mdm.SpaceID(dm), mdm.SpaceID(cm)
	all := &mdm.UserGroup{TenantID: t.ID, Name: "All Users", Description: "Every user of the tenant.", Kind: mdm.AllUsersGroup,
		CreatedAt: t.CreatedAt, ModifiedAt: t.CreatedAt}
	if err := groupStore(s).Create(ctx, all); err != nil {
		return err
	}
	return deviceGroupStore(s).EnsureBuiltIns(ctx, t.ID, t.CreatedAt)
}

func (s tenantStore) Get(ctx context.Context, id mdm.TenantID) (*mdm.Tenant, error) {
	t, err := scanTenant(s.q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id=$1`, id))
	if err != nil {
		return nil, notFound(err, "tenant")
	}
	return &t, nil
}

func (s tenantStore) Update(ctx context.Context, id mdm.TenantID, p mdm.TenantPatch, now time.Time) (*mdm.Tenant, error) {
	u := &update{}
	u.set("modified_at", ms(now))
	if p.Name != nil {
		u.set("name", *p.Name)
		u.set("name_key", strings.ToLower(*p.Name))
	}
	if p.State != nil {
		u.set("state", string(*p.State))
	}
	if p.LicenseDevices != nil {
		u.set("license_devices", *p.LicenseDevices)
	}
	res, err := s.q.ExecContext(ctx, `UPDATE tenants SET `+u.sql()+` WHERE id=`+u.arg(id), u.args...)
	if err != nil {
		return nil, conflictOr(err, "a tenant with this name already exists")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "tenant not found")
	}
	return s.Get(ctx, id)
}

var tenantColumns = map[string]string{
	"id": "id", "name": "name", "state": "state", "licenseDevices": "license_devices",
	"createdAt": "created_at", "modifiedAt": "modified_at",
}

func (s tenantStore) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Tenant], error) {
	l := &listQuery{columns: tenantColumns, search: []string{"name"}}
	return page(ctx, s.q, l, opts, tenantCols, "tenants", "id", func(r *sql.Rows) (mdm.Tenant, error) { return scanTenant(r) })
}

// Usage counts, per tenant, accounts and devices by platform; retired and wiped devices hold no seat.
func (s tenantStore) Usage(ctx context.Context) ([]mdm.TenantUsage, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT t.id, t.name, t.state, t.license_devices,
		(SELECT COUNT(*) FROM accounts a WHERE a.tenant_id = t.id)
		FROM tenants t ORDER BY t.name_key`)
	if err != nil {
		return nil, dbError(err)
	}
	var out []mdm.TenantUsage
	index := map[mdm.TenantID]int{}
	for rows.Next() {
		var u mdm.TenantUsage
		if err := rows.Scan(&u.TenantID, &u.Name, &u.State, &u.LicensedSeats, &u.Users); err != nil {
			rows.Close()
			return nil, dbError(err)
		}
		u.DevicesByPlatform = map[string]int{}
		index[u.TenantID] = len(out)
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	drows, err := s.q.QueryContext(ctx, `SELECT tenant_id, platform, registration_state, COUNT(*) FROM devices
		GROUP BY tenant_id, platform, registration_state`)
	if err != nil {
		return nil, dbError(err)
	}
	defer drows.Close()
	for drows.Next() {
		var tid mdm.TenantID
		var platform, state string
		var n int
		if err := drows.Scan(&tid, &platform, &state, &n); err != nil {
			return nil, dbError(err)
		}
		i, ok := index[tid]
		if !ok {
			continue
		}
		if state == "RETIRED" || state == "WIPED" {
			continue
		}
		out[i].DevicesByPlatform[platform] += n
		out[i].UsedSeats += n
	}
	return out, dbError(drows.Err())
}
