package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"steward/internal/mdm"
)

// Bulk writes generated rows (a test fleet) as fast as each database takes them: COPY on PostgreSQL,
// prepared multi-row INSERTs on SQLite. Each call is one transaction on one dedicated connection.
// It assigns the ids of the accounts and devices it writes, so that their apps and group memberships
// can follow without reading them back.
type Bulk struct {
	conn *sql.Conn
	pg   bool
}

// NewBulk takes a connection for bulk writes; Close gives it back. On SQLite the connection trades
// durability for speed while it loads (synchronous=OFF: a crash may lose the last load, never corrupt
// the file) and gets a large page cache; Close restores the defaults.
func (s *Store) NewBulk(ctx context.Context) (*Bulk, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, dbError(err)
	}
	if !s.pg {
		for _, p := range []string{"PRAGMA synchronous=OFF", "PRAGMA cache_size=-1048576", "PRAGMA temp_store=MEMORY"} {
			if _, err := conn.ExecContext(ctx, p); err != nil {
				conn.Close()
				return nil, dbError(err)
			}
		}
	}
	return &Bulk{conn: conn, pg: s.pg}, nil
}

// Close restores the connection's settings and returns it to the pool.
func (b *Bulk) Close() error {
	if !b.pg {
		ctx := context.Background()
		for _, p := range []string{"PRAGMA synchronous=NORMAL", "PRAGMA cache_size=-2000", "PRAGMA temp_store=DEFAULT"} {
			b.conn.ExecContext(ctx, p) //nolint:errcheck // best effort: the connection is closed on failure below
		}
	}
	return b.conn.Close()
}

// BulkDevice is a device to write with its credential fingerprint.
type BulkDevice struct {
	mdm.Device
	CredentialHash []byte
}

// BulkApp is one installed app of one device.
type BulkApp struct {
	DeviceID mdm.DeviceID
	mdm.InstalledApp
}

var (
	bulkAccountCols = []string{"id", "tenant_id", "username", "email", "first_name", "last_name", "password_hash", "roles",
		"enabled", "api_user", "created_by", "created_at", "modified_at"}
	bulkDeviceCols = []string{"id", "tenant_id", "account_id", "platform", "registration_state", "created_at", "guid", "kind",
		"credential_hash", "device_name", "model", "pretty_model", "manufacturer", "os_version", "os_build", "serial_number",
		"imei", "wifi_mac", "form_factor", "jailbroken", "passcode_compliant", "encrypted", "roaming", "total_capacity_mb",
		"available_capacity_mb", "client_version", "compliance_state", "quarantined", "app_count", "last_checkin",
		"registered_at", "modified_at"}
)

// Accounts writes the accounts (users without a password, who sign in once invited) with their
// system-wide usernames, and sets their ids. A taken username fails the whole call.
func (b *Bulk) Accounts(ctx context.Context, accounts []mdm.Account) error {
	return b.tx(ctx, func(tx bulkTx) error {
		ids, err := tx.reserveIDs(ctx, "accounts", len(accounts))
		if err != nil {
			return err
		}
		for i := range accounts {
			accounts[i].ID = mdm.AccountID(ids[i])
		}
		err = tx.insert(ctx, "accounts", bulkAccountCols, len(accounts), func(i int) []any {
			a := accounts[i]
			roles := `[]`
			if len(a.Roles) > 0 {
				roles = `["` + strings.Join(a.Roles, `","`) + `"]`
			}
			return []any{int64(a.ID), string(a.TenantID), a.Username, a.Email, a.FirstName, a.LastName, a.PasswordHash, roles,
				a.Enabled, a.APIUser, a.CreatedBy, ms(a.CreatedAt), ms(a.ModifiedAt)}
		})
		if err != nil {
			return dbError(err)
		}
		err = tx.insert(ctx, "usernames", []string{"username_key", "tenant_id", "account_id"}, len(accounts), func(i int) []any {
			a := accounts[i]
			return []any{strings.ToLower(a.Username), string(a.TenantID), int64(a.ID)}
		})
		return conflictOr(err, "a username is already taken")
	})
}

// Devices writes the devices and sets their ids. Devices without an owner have AccountID 0. The active
// ones are recorded as converged on configuration generation at their last modification, in the same
// transaction, so that the reconciler never sees them behind.
func (b *Bulk) Devices(ctx context.Context, devices []BulkDevice, generation int64) error {
	return b.tx(ctx, func(tx bulkTx) error {
		ids, err := tx.reserveIDs(ctx, "devices", len(devices))
		if err != nil {
			return err
		}
		for i := range devices {
			devices[i].ID = mdm.DeviceID(ids[i])
		}
		err = tx.insert(ctx, "devices", bulkDeviceCols, len(devices), func(i int) []any {
			d := &devices[i]
			f := &d.Facts
			var owner any
			if d.AccountID != 0 {
				owner = int64(d.AccountID)
			}
			var checkin int64
			if !d.LastCheckin.IsZero() {
				checkin = ms(d.LastCheckin)
			}
			return []any{int64(d.ID), string(d.TenantID), owner, d.Platform, d.RegistrationState, ms(d.CreatedAt), d.GUID,
				d.Kind, d.CredentialHash, f.DeviceName, f.Model, f.PrettyModel, f.Manufacturer, f.OSVersion, f.OSBuild,
				f.SerialNumber, f.IMEI, f.WifiMAC, f.FormFactor, f.Jailbroken, f.PasscodeCompliant, f.Encrypted, f.Roaming,
				f.TotalCapacityMB, f.AvailableCapMB, f.ClientVersion, d.ComplianceState, d.Quarantined, int64(d.AppCount),
				checkin, ms(d.RegisteredAt), ms(d.ModifiedAt)}
		})
		if err != nil {
			return conflictOr(err, "a device with this GUID or credential is already registered")
		}
		var active []*BulkDevice
		for i := range devices {
			if devices[i].RegistrationState == mdm.StateActive {
				active = append(active, &devices[i])
			}
		}
		return dbError(tx.insert(ctx, "config_device_state", []string{"tenant_id", "device_id", "generation", "converged_at"},
			len(active), func(i int) []any {
				return []any{string(active[i].TenantID), int64(active[i].ID), generation, ms(active[i].ModifiedAt)}
			}))
	})
}

// DeviceApps writes the devices' app inventory; the devices' app counts are the caller's to set.
func (b *Bulk) DeviceApps(ctx context.Context, tenantID mdm.TenantID, apps []BulkApp) error {
	return b.tx(ctx, func(tx bulkTx) error {
		return conflictOr(tx.insert(ctx, "device_apps", []string{"tenant_id", "device_id", "app_id", "name", "version"}, len(apps),
			func(i int) []any {
				a := apps[i]
				return []any{string(tenantID), int64(a.DeviceID), a.AppID, a.Name, a.Version}
			}), "an app is listed twice for a device")
	})
}

// UserGroupMembers adds accounts to static user groups: members[g] lists group g's new members.
func (b *Bulk) UserGroupMembers(ctx context.Context, tenantID mdm.TenantID, members map[mdm.GroupID][]mdm.AccountID) error {
	type row struct{ g, a int64 }
	var rows []row
	for g, as := range members {
		for _, a := range as {
			rows = append(rows, row{int64(g), int64(a)})
		}
	}
	return b.tx(ctx, func(tx bulkTx) error {
		return conflictOr(tx.insert(ctx, "user_group_members", []string{"tenant_id", "group_id", "account_id"}, len(rows),
			func(i int) []any { return []any{string(tenantID), rows[i].g, rows[i].a} }), "an account is already in the group")
	})
}

// DeviceGroupMembers adds devices to static device groups: members[g] lists group g's new members.
func (b *Bulk) DeviceGroupMembers(ctx context.Context, tenantID mdm.TenantID, members map[mdm.DeviceGroupID][]mdm.DeviceID) error {
	type row struct{ g, d int64 }
	var rows []row
	for g, ds := range members {
		for _, d := range ds {
			rows = append(rows, row{int64(g), int64(d)})
		}
	}
	return b.tx(ctx, func(tx bulkTx) error {
		return conflictOr(tx.insert(ctx, "device_group_members", []string{"tenant_id", "group_id", "device_id"}, len(rows),
			func(i int) []any { return []any{string(tenantID), rows[i].g, rows[i].d} }), "a device is already in the group")
	})
}

// Analyze refreshes the planner's statistics after a load, as autovacuum (PostgreSQL) or an operator's
// ANALYZE (SQLite) would; without them the first queries over a freshly loaded table plan blind. On
// PostgreSQL it also vacuums the loaded tables, which marks their pages all-visible, so that counts
// can read indexes alone, as they can once autovacuum has seen the inserts.
func (b *Bulk) Analyze(ctx context.Context) error {
	q := "ANALYZE"
	if b.pg {
		q = "VACUUM (ANALYZE) accounts, usernames, user_group_members, devices, device_apps, device_group_members, config_device_state"
	}
	_, err := b.conn.ExecContext(ctx, q)
	return dbError(err)
}

// bulkTx is one bulk transaction: a database/sql one on SQLite, a pgx one (for COPY) on PostgreSQL.
type bulkTx struct {
	sqlTx *sql.Tx
	pgTx  pgx.Tx
}

func (b *Bulk) tx(ctx context.Context, fn func(tx bulkTx) error) error {
	if !b.pg {
		tx, err := b.conn.BeginTx(ctx, nil)
		if err != nil {
			return dbError(err)
		}
		defer tx.Rollback()
		if err := fn(bulkTx{sqlTx: tx}); err != nil {
			return err
		}
		return dbError(tx.Commit())
	}
	return b.conn.Raw(func(dc any) error {
		tx, err := dc.(*stdlib.Conn).Conn().Begin(ctx)
		if err != nil {
			return dbError(err)
		}
		defer tx.Rollback(ctx)
		if err := fn(bulkTx{pgTx: tx}); err != nil {
			return err
		}
		return dbError(tx.Commit(ctx))
	})
}

// reserveIDs hands out n ids of table. PostgreSQL draws them from the identity sequence, so they never
// meet the ids of rows inserted at the same time; SQLite has one writer, which this transaction is, so
// the ids after the largest ever used are free (AUTOINCREMENT tables remember it in sqlite_sequence).
func (tx bulkTx) reserveIDs(ctx context.Context, table string, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if tx.pgTx != nil {
		rows, err := tx.pgTx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, table, n)
		if err != nil {
			return nil, dbError(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, dbError(err)
			}
			ids = append(ids, id)
		}
		return ids, dbError(rows.Err())
	}
	var last int64
	q := `SELECT MAX(v) FROM (SELECT COALESCE(MAX(id), 0) AS v FROM ` + table + `
		UNION ALL SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name=$1)`
	if table == "accounts" { // a plain rowid table: no sqlite_sequence row
		q = `SELECT COALESCE(MAX(id), 0) FROM accounts WHERE $1 <> ''`
	}
	if err := tx.sqlTx.QueryRowContext(ctx, q, table).Scan(&last); err != nil {
		return nil, dbError(err)
	}
	for i := range n {
		ids = append(ids, last+1+int64(i))
	}
	return ids, nil
}

// sqliteRowsPerInsert keeps a statement's placeholders (rows × columns) under SQLite's 32,766.
const sqliteRowsPerInsert = 500

// insert writes n rows of cols into table; row(i) gives row i's values in cols order.
func (tx bulkTx) insert(ctx context.Context, table string, cols []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if tx.pgTx != nil {
		_, err := tx.pgTx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return row(i), nil
		}))
		return err
	}
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	args := make([]any, 0, sqliteRowsPerInsert*len(cols))
	for start := 0; start < n; start += sqliteRowsPerInsert {
		count := min(sqliteRowsPerInsert, n-start)
		st := stmts[count]
		if st == nil {
			var err error
			st, err = tx.sqlTx.PrepareContext(ctx, multiRowInsert(table, cols, count))
			if err != nil {
				return err
			}
			stmts[count] = st
		}
		args = args[:0]
		for i := start; i < start+count; i++ {
			args = append(args, row(i)...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// multiRowInsert is INSERT INTO table (cols) VALUES (?,…), … with rows tuples.
func multiRowInsert(table string, cols []string, rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tuple)
	}
	return b.String()
}
