package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"steward/internal/mdm"
)

// appStore implements mdm.AppStore.
type appStore stores

var _ mdm.AppStore = appStore{}

func (s stores) Apps() mdm.AppStore { return appStore(s) }

const appCols = `p.id, p.tenant_id, p.platform, p.source, p.bundle_id, p.name, p.version, p.build_number, p.icon_url,
	p.description, p.store_id, p.file_key, p.file_name, p.file_size, p.file_sha256, p.created_by, p.created_at, p.modified_at`

var appColumns = map[string]string{
	"id": "p.id", "name": "p.name", "platformType": "p.platform", "source": "p.source", "bundleId": "p.bundle_id",
	"version": "p.version", "createdAt": "p.created_at", "modifiedAt": "p.modified_at",
}

func scanApp(row interface{ Scan(...any) error }) (mdm.App, error) {
	var (
		a                 mdm.App
		created, modified int64
	)
	err := row.Scan(&a.ID, &a.TenantID, &a.Platform, &a.Source, &a.BundleID, &a.Name, &a.Version, &a.BuildNumber,
		&a.IconURL, &a.Description, &a.StoreID, &a.FileKey, &a.FileName, &a.FileSize, &a.FileSHA256, &a.CreatedBy,
		&created, &modified)
	a.CreatedAt, a.ModifiedAt = fromMS(created), fromMS(modified)
	return a, err
}

func tenantOnly(tenantID mdm.TenantID, what string) error {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Errorf(mdm.Internal, "%s are read per tenant", what)
	}
	return nil
}

func (s appStore) Create(ctx context.Context, a *mdm.App) error {
	if err := tenantOnly(a.TenantID, "apps"); err != nil {
		return err
	}
	if a.Platform == "" || a.Source == "" || a.BundleID == "" || a.Name == "" {
		return mdm.Errorf(mdm.Invalid, "app platform, source, bundle id and name are required")
	}
	if err := validText("app", a.Platform, a.Source, a.BundleID, a.Name, a.Version, a.BuildNumber, a.IconURL,
		a.Description, a.StoreID, a.FileKey, a.FileName, a.FileSHA256, a.CreatedBy); err != nil {
		return err
	}
	if a.ModifiedAt.IsZero() {
		a.ModifiedAt = a.CreatedAt
	}
	err := s.q.QueryRowContext(ctx, `INSERT INTO apps (tenant_id, platform, source, bundle_id, name, version, build_number,
			icon_url, description, store_id, file_key, file_name, file_size, file_sha256, created_by, created_at, modified_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
		a.TenantID, a.Platform, a.Source, a.BundleID, a.Name, a.Version, a.BuildNumber, a.IconURL, a.Description,
		a.StoreID, a.FileKey, a.FileName, a.FileSize, a.FileSHA256, a.CreatedBy, ms(a.CreatedAt), ms(a.ModifiedAt)).Scan(&a.ID)
	if err != nil {
		if isForeignKeyViolation(err) {
			return mdm.Wrap(mdm.NotFound, err, "tenant not found")
		}
		return conflictOr(err, "an app with this bundle id or package name exists on this platform")
	}
	return nil
}

func (s appStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.AppID) (*mdm.App, error) {
	if err := tenantOnly(tenantID, "apps"); err != nil {
		return nil, err
	}
	a, err := scanApp(s.q.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps p WHERE p.tenant_id=$1 AND p.id=$2`, tenantID, id))
	if err != nil {
		return nil, notFoundOr(err, "app not found")
	}
	return &a, nil
}

func (s appStore) ByBundle(ctx context.Context, tenantID mdm.TenantID, platform, bundleID string) (*mdm.App, error) {
	if err := tenantOnly(tenantID, "apps"); err != nil {
		return nil, err
	}
	a, err := scanApp(s.q.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps p
		WHERE p.tenant_id=$1 AND p.platform=$2 AND p.bundle_id=$3`, tenantID, platform, bundleID))
	if err != nil {
		return nil, notFoundOr(err, "app not found")
	}
	return &a, nil
}

func (s appStore) ByIDs(ctx context.Context, tenantID mdm.TenantID, ids []mdm.AppID) ([]mdm.App, error) {
	if err := tenantOnly(tenantID, "apps"); err != nil {
		return nil, err
	}
	out := []mdm.App{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+appCols+` FROM apps p
		WHERE p.tenant_id=$1 AND `+stores(s).inInts("p.id", "$2")+` ORDER BY p.id`, tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, a)
	}
	return out, dbError(rows.Err())
}

func (s appStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.App], error) {
	if err := tenantOnly(tenantID, "apps"); err != nil {
		return mdm.Page[mdm.App]{}, err
	}
	l := &listQuery{columns: appColumns, search: []string{"p.name", "p.bundle_id", "p.description"}}
	l.cond("p.tenant_id=" + l.arg(tenantID))
	return page(ctx, s.q, l, opts, appCols, "apps p", "p.id", func(r *sql.Rows) (mdm.App, error) { return scanApp(r) })
}

func (s appStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.AppID, patch mdm.AppPatch, now time.Time) (*mdm.App, error) {
	if err := tenantOnly(tenantID, "apps"); err != nil {
		return nil, err
	}
	var u update
	for _, f := range []struct {
		col string
		v   *string
	}{{"name", patch.Name}, {"description", patch.Description}, {"icon_url", patch.IconURL}, {"store_id", patch.StoreID},
		{"version", patch.Version}, {"build_number", patch.BuildNumber}, {"file_key", patch.FileKey},
		{"file_name", patch.FileName}, {"file_sha256", patch.FileSHA256}} {
		if f.v != nil {
			if err := validText("app", *f.v); err != nil {
				return nil, err
			}
			u.set(f.col, *f.v)
		}
	}
	if patch.FileSize != nil {
		u.set("file_size", *patch.FileSize)
	}
	u.set("modified_at", ms(now))
	res, err := s.q.ExecContext(ctx, `UPDATE apps SET `+u.sql()+` WHERE tenant_id=`+u.arg(tenantID)+` AND id=`+u.arg(id), u.args...)
	if err != nil {
		return nil, dbError(err)
	}
	if err := affected(res, "app"); err != nil {
		return nil, err
	}
	return s.Get(ctx, tenantID, id)
}

func (s appStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.AppID) error {
	if err := tenantOnly(tenantID, "apps"); err != nil {
		return err
	}
	return stores(s).atomic(ctx, func(tx stores) error {
		res, err := tx.q.ExecContext(ctx, `DELETE FROM apps WHERE tenant_id=$1 AND id=$2`, tenantID, id)
		if err != nil {
			return dbError(err)
		}
		if err := affected(res, "app"); err != nil {
			return err
		}
		_, err = tx.q.ExecContext(ctx, `DELETE FROM app_installs WHERE tenant_id=$1 AND app_id=$2`, tenantID, id)
		return dbError(err)
	})
}

func (s appStore) InventorySource(ctx context.Context, tenantID mdm.TenantID) (string, int, error) {
	if err := tenantOnly(tenantID, "the app inventory"); err != nil {
		return "", 0, err
	}
	var n, active, modified, apps int64
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN registration_state=$2 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(modified_at), 0), COALESCE(SUM(app_count), 0) FROM devices WHERE tenant_id=$1`,
		tenantID, mdm.StateActive).Scan(&n, &active, &modified, &apps)
	if err != nil {
		return "", 0, dbError(err)
	}
	return fmt.Sprintf("%d:%d:%d:%d", n, active, modified, apps), int(active), nil
}

func (s appStore) InventoryState(ctx context.Context, tenantID mdm.TenantID) (string, time.Time, error) {
	if err := tenantOnly(tenantID, "the app inventory"); err != nil {
		return "", time.Time{}, err
	}
	var key string
	var at int64
	err := s.q.QueryRowContext(ctx, `SELECT source_key, refreshed_at FROM app_inventory_state WHERE tenant_id=$1`, tenantID).Scan(&key, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, dbError(err)
	}
	return key, fromMS(at), nil
}

// RefreshInventory groups the tenant's installed apps per platform, reading them outside any write
// transaction (on SQLite a long one would hold the database's write lock and stall every check-in), then
// replaces the summary in one short transaction. Each platform's pass reads device_apps_app, which
// covers the query, in its order (no sort), and keeps the rows of the platform's ACTIVE devices.
func (s appStore) RefreshInventory(ctx context.Context, tenantID mdm.TenantID, key string, now time.Time) error {
	if err := tenantOnly(tenantID, "the app inventory"); err != nil {
		return err
	}
	type row struct {
		platform, appID, version, name string
		count                          int64
	}
	var rows []row
	for _, platform := range []string{mdm.PlatformAndroid, mdm.PlatformIOS} {
		rs, err := s.q.QueryContext(ctx, `SELECT da.app_id, da.version, MAX(da.name), COUNT(*) FROM device_apps da
			WHERE da.tenant_id=$1 AND da.device_id IN (SELECT d.id FROM devices d
				WHERE d.tenant_id=$1 AND d.platform=$2 AND d.registration_state=$3)
			GROUP BY da.app_id, da.version`, tenantID, platform, mdm.StateActive)
		if err != nil {
			return dbError(err)
		}
		for rs.Next() {
			r := row{platform: platform}
			if err := rs.Scan(&r.appID, &r.version, &r.name, &r.count); err != nil {
				rs.Close()
				return dbError(err)
			}
			rows = append(rows, r)
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return dbError(err)
		}
	}
	return stores(s).atomic(ctx, func(tx stores) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM app_inventory WHERE tenant_id=$1`, tenantID); err != nil {
			return dbError(err)
		}
		const perInsert = 200
		for start := 0; start < len(rows); start += perInsert {
			chunk := rows[start:min(start+perInsert, len(rows))]
			var b strings.Builder
			b.WriteString(`INSERT INTO app_inventory (tenant_id, platform, app_id, version, name, device_count) VALUES `)
			args := []any{tenantID}
			for i, r := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&b, "($1, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
				args = append(args, r.platform, r.appID, r.version, r.name, r.count)
			}
			if _, err := tx.q.ExecContext(ctx, b.String(), args...); err != nil {
				return dbError(err)
			}
		}
		_, err := tx.q.ExecContext(ctx, `INSERT INTO app_inventory_state (tenant_id, source_key, refreshed_at) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id) DO UPDATE SET source_key=excluded.source_key, refreshed_at=excluded.refreshed_at`,
			tenantID, key, ms(now))
		if isForeignKeyViolation(err) {
			return mdm.Wrap(mdm.NotFound, err, "tenant not found")
		}
		return dbError(err)
	})
}

// inventoryFrom joins the summary to the tenant's app of the same platform and bundle id (managed or not).
const inventoryFrom = ` FROM app_inventory i
	LEFT JOIN apps p ON p.tenant_id = i.tenant_id AND p.platform = i.platform AND p.bundle_id = i.app_id`

func (s appStore) Inventory(ctx context.Context, tenantID mdm.TenantID, q mdm.InventoryQuery) (mdm.Page[mdm.InventoryApp], error) {
	out := mdm.Page[mdm.InventoryApp]{Start: q.Start, Rows: q.Rows, Items: []mdm.InventoryApp{}}
	if err := tenantOnly(tenantID, "the app inventory"); err != nil {
		return out, err
	}
	l := &listQuery{search: []string{"i.app_id", "i.name"}}
	l.cond("i.tenant_id=" + l.arg(tenantID))
	if q.Platform != "" {
		l.cond("i.platform=" + l.arg(q.Platform))
	}
	if q.Managed != nil {
		if *q.Managed {
			l.cond("p.id IS NOT NULL")
		} else {
			l.cond("p.id IS NULL")
		}
	}
	if err := l.apply(mdm.ListOptions{Query: q.Query}); err != nil {
		return out, err
	}
	where := l.whereSQL()
	if err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1`+inventoryFrom+where+
		` GROUP BY i.platform, i.app_id) t`, l.args...).Scan(&out.TotalCount); err != nil {
		return out, dbError(err)
	}
	rows := q.Rows
	if rows <= 0 {
		rows = 50
	}
	rs, err := s.q.QueryContext(ctx, `SELECT i.platform, i.app_id, MAX(i.name), SUM(i.device_count), COALESCE(MAX(p.id), 0)`+
		inventoryFrom+where+` GROUP BY i.platform, i.app_id ORDER BY SUM(i.device_count) DESC, i.platform, i.app_id`+
		fmt.Sprintf(" LIMIT %d OFFSET %d", rows, q.Start), l.args...)
	if err != nil {
		return out, dbError(err)
	}
	defer rs.Close()
	for rs.Next() {
		var a mdm.InventoryApp
		if err := rs.Scan(&a.Platform, &a.AppID, &a.Name, &a.DeviceCount, &a.ManagedID); err != nil {
			return out, dbError(err)
		}
		a.Versions = []mdm.VersionCount{}
		out.Items = append(out.Items, a)
	}
	if err := rs.Err(); err != nil {
		return out, dbError(err)
	}
	rs.Close()
	return out, s.versions(ctx, tenantID, out.Items)
}

// versions fills the version counts of one page of inventory apps from the summary.
func (s appStore) versions(ctx context.Context, tenantID mdm.TenantID, items []mdm.InventoryApp) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]string, 0, len(items))
	at := map[[2]string]int{}
	for i, a := range items {
		ids = append(ids, a.AppID)
		at[[2]string{a.Platform, a.AppID}] = i
	}
	list, err := jsonList(ids)
	if err != nil {
		return err
	}
	rs, err := s.q.QueryContext(ctx, `SELECT platform, app_id, version, device_count FROM app_inventory
		WHERE tenant_id=$1 AND `+stores(s).inTexts("app_id", "$2")+` ORDER BY platform, app_id, version`, tenantID, list)
	if err != nil {
		return dbError(err)
	}
	defer rs.Close()
	for rs.Next() {
		var platform, appID string
		var v mdm.VersionCount
		if err := rs.Scan(&platform, &appID, &v.Version, &v.DeviceCount); err != nil {
			return dbError(err)
		}
		if i, ok := at[[2]string{platform, appID}]; ok {
			items[i].Versions = append(items[i].Versions, v)
		}
	}
	return dbError(rs.Err())
}

var inventoryDeviceColumns = map[string]string{
	"id": "d.id", "deviceName": "d.device_name", "deviceModel": "d.model", "version": "da.version",
	"uid": "a.username", "platformType": "d.platform",
}

func (s appStore) InventoryDevices(ctx context.Context, tenantID mdm.TenantID, platform, appID string, opts mdm.ListOptions) (mdm.Page[mdm.InventoryDevice], error) {
	if err := tenantOnly(tenantID, "the app inventory"); err != nil {
		return mdm.Page[mdm.InventoryDevice]{}, err
	}
	l := &listQuery{columns: inventoryDeviceColumns, search: []string{"d.device_name", "d.model", "a.username"}}
	l.cond("da.tenant_id=" + l.arg(tenantID))
	l.cond("da.app_id=" + l.arg(appID))
	l.cond("d.registration_state=" + l.arg(mdm.StateActive))
	if platform != "" {
		l.cond("d.platform=" + l.arg(platform))
	}
	from := `device_apps da JOIN devices d ON d.tenant_id = da.tenant_id AND d.id = da.device_id
		LEFT JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id`
	return page(ctx, s.q, l, opts, `d.id, d.device_name, d.model, d.platform, d.registration_state, COALESCE(a.username, ''), da.version`,
		from, "d.id", func(r *sql.Rows) (mdm.InventoryDevice, error) {
			var d mdm.InventoryDevice
			err := r.Scan(&d.DeviceID, &d.DeviceName, &d.Model, &d.Platform, &d.State, &d.OwnerUsername, &d.Version)
			return d, err
		})
}

func (s appStore) Installed(ctx context.Context, tenantID mdm.TenantID, appID string, devices []mdm.DeviceID) ([]mdm.DeviceID, error) {
	if err := tenantOnly(tenantID, "installed apps"); err != nil {
		return nil, err
	}
	out := []mdm.DeviceID{}
	for start := 0; start < len(devices); start += maxIDs {
		list, err := jsonList(devices[start:min(start+maxIDs, len(devices))])
		if err != nil {
			return nil, err
		}
		rs, err := s.q.QueryContext(ctx, `SELECT device_id FROM device_apps
			WHERE tenant_id=$1 AND app_id=$2 AND `+stores(s).inInts("device_id", "$3")+` ORDER BY device_id`,
			tenantID, appID, list)
		if err != nil {
			return nil, dbError(err)
		}
		for rs.Next() {
			var id mdm.DeviceID
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return nil, dbError(err)
			}
			out = append(out, id)
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return nil, dbError(err)
		}
	}
	return out, nil
}

// notFoundOr turns "no rows" into not_found with message, and any other error into a store error.
func notFoundOr(err error, message string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return mdm.Wrap(mdm.NotFound, err, message)
	}
	return dbError(err)
}

// installPattern matches an INSTALL_APPLICATION payload naming bundleID (payloads are JSON objects
// with sorted keys; bundle ids need no JSON escaping, the service checks their characters).
func installPattern(bundleID string) string {
	return `%"identifier":"` + likeEscape(bundleID) + `"%`
}

func (s appStore) NeedInstall(ctx context.Context, tenantID mdm.TenantID, a *mdm.App, devices []mdm.DeviceID, answeredSince time.Time) ([]mdm.DeviceID, error) {
	if err := tenantOnly(tenantID, "installs"); err != nil {
		return nil, err
	}
	out := []mdm.DeviceID{}
	for start := 0; start < len(devices); start += maxIDs {
		list, err := jsonList(devices[start:min(start+maxIDs, len(devices))])
		if err != nil {
			return nil, err
		}
		rs, err := s.q.QueryContext(ctx, `SELECT d.id FROM devices d
			WHERE `+stores(s).unindexed("d.tenant_id")+`=$1 AND `+stores(s).inInts("d.id", "$2")+`
			AND d.platform=$3 AND d.registration_state=$4 AND d.quarantined=$9
			AND NOT EXISTS (SELECT 1 FROM device_apps da WHERE da.tenant_id=d.tenant_id AND da.device_id=d.id AND da.app_id=$5)
			AND NOT EXISTS (SELECT 1 FROM device_commands c WHERE c.tenant_id=d.tenant_id AND c.device_id=d.id
				AND (c.status IN ('PENDING', 'SENT', 'NOT_NOW') OR (c.status IN ('ACKNOWLEDGED', 'ERROR') AND c.completed_at > $8))
				AND c.type=$6 AND c.payload LIKE $7 ESCAPE '\')
			ORDER BY d.id`, tenantID, list, a.Platform, mdm.StateActive, a.BundleID, mdm.CmdInstallApp, installPattern(a.BundleID),
			ms(answeredSince), false)
		if err != nil {
			return nil, dbError(err)
		}
		ids, err := scanIDs[mdm.DeviceID](rs)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	return out, nil
}

func (s appStore) RecordInstalls(ctx context.Context, tenantID mdm.TenantID, id mdm.AppID, devices []mdm.DeviceID, now time.Time) error {
	if err := tenantOnly(tenantID, "installs"); err != nil {
		return err
	}
	for start := 0; start < len(devices); start += maxIDs {
		list, err := jsonList(devices[start:min(start+maxIDs, len(devices))])
		if err != nil {
			return err
		}
		var src string
		if s.pg {
			src = `SELECT $1, $2, v::bigint, $4 FROM jsonb_array_elements_text($3::jsonb) v`
		} else {
			src = `SELECT $1, $2, value, $4 FROM json_each($3) WHERE true`
		}
		if _, err := s.q.ExecContext(ctx, `INSERT INTO app_installs (tenant_id, app_id, device_id, created_at) `+src+`
			ON CONFLICT (tenant_id, app_id, device_id) DO NOTHING`, tenantID, id, list, ms(now)); err != nil {
			return dbError(err)
		}
	}
	return nil
}

func (s appStore) ManagedInstalls(ctx context.Context, tenantID mdm.TenantID, id mdm.AppID) ([]mdm.DeviceID, error) {
	if err := tenantOnly(tenantID, "installs"); err != nil {
		return nil, err
	}
	rs, err := s.q.QueryContext(ctx, `SELECT device_id FROM app_installs WHERE tenant_id=$1 AND app_id=$2 ORDER BY device_id`, tenantID, id)
	if err != nil {
		return nil, dbError(err)
	}
	return scanIDs[mdm.DeviceID](rs)
}

func (s appStore) InstallsOn(ctx context.Context, tenantID mdm.TenantID, device mdm.DeviceID) ([]mdm.AppID, error) {
	if err := tenantOnly(tenantID, "installs"); err != nil {
		return nil, err
	}
	rs, err := s.q.QueryContext(ctx, `SELECT app_id FROM app_installs WHERE tenant_id=$1 AND device_id=$2 ORDER BY app_id`, tenantID, device)
	if err != nil {
		return nil, dbError(err)
	}
	return scanIDs[mdm.AppID](rs)
}

func (s appStore) ForgetInstalls(ctx context.Context, tenantID mdm.TenantID, id mdm.AppID, devices []mdm.DeviceID) error {
	if err := tenantOnly(tenantID, "installs"); err != nil {
		return err
	}
	if devices == nil {
		_, err := s.q.ExecContext(ctx, `DELETE FROM app_installs WHERE tenant_id=$1 AND app_id=$2`, tenantID, id)
		return dbError(err)
	}
	for start := 0; start < len(devices); start += maxIDs {
		list, err := jsonList(devices[start:min(start+maxIDs, len(devices))])
		if err != nil {
			return err
		}
		if _, err := s.q.ExecContext(ctx, `DELETE FROM app_installs WHERE tenant_id=$1 AND app_id=$2 AND `+
			stores(s).inInts("device_id", "$3"), tenantID, id, list); err != nil {
			return dbError(err)
		}
	}
	return nil
}

func (s appStore) ToConverge(ctx context.Context, afterTenant mdm.TenantID, afterID mdm.AppID, limit int) ([]mdm.App, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+appCols+` FROM apps p
		WHERE (p.tenant_id > $1 OR (p.tenant_id = $1 AND p.id > $2))
		AND (EXISTS (SELECT 1 FROM distributions d WHERE d.tenant_id = p.tenant_id AND d.item_kind = $3
				AND d.item_id = p.id AND d.required = $4)
			OR EXISTS (SELECT 1 FROM app_installs i WHERE i.tenant_id = p.tenant_id AND i.app_id = p.id))
		ORDER BY p.tenant_id, p.id LIMIT $5`, afterTenant, afterID, mdm.ItemApp, true, limit)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.App{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, a)
	}
	return out, dbError(rows.Err())
}

func (s appStore) CancelInstalls(ctx context.Context, tenantID mdm.TenantID, bundleID string, devices []mdm.DeviceID, now time.Time) (int, error) {
	if err := tenantOnly(tenantID, "installs"); err != nil {
		return 0, err
	}
	total := 0
	for start := 0; start < len(devices); start += maxIDs {
		list, err := jsonList(devices[start:min(start+maxIDs, len(devices))])
		if err != nil {
			return total, err
		}
		res, err := s.q.ExecContext(ctx, `UPDATE device_commands SET status='CANCELLED', completed_at=$1
			WHERE tenant_id=$2 AND `+stores(s).inInts("device_id", "$3")+` AND status IN ('PENDING', 'NOT_NOW')
			AND type=$4 AND payload LIKE $5 ESCAPE '\'`, ms(now), tenantID, list, mdm.CmdInstallApp, installPattern(bundleID))
		if err != nil {
			return total, dbError(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, dbError(err)
		}
		total += int(n)
	}
	return total, nil
}
