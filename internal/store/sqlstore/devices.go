package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"steward/internal/mdm"
)

type deviceStore stores

var _ mdm.DeviceStore = deviceStore{}

// deviceCols and deviceFrom read a device with its owner's names; a device without an owner reads
// empty owner fields.
const (
	deviceCols = `d.id, d.tenant_id, d.guid, COALESCE(d.account_id, 0), d.platform, d.kind, d.registration_state,
		d.device_name, d.model, d.pretty_model, d.manufacturer, d.os_version, d.os_build, d.serial_number, d.imei,
		d.wifi_mac, d.form_factor, d.jailbroken, d.passcode_compliant, d.encrypted, d.roaming, d.total_capacity_mb,
		d.available_capacity_mb, d.client_version, d.compliance_state, d.quarantined, d.policy_violation_count,
		d.violated_policies, d.custom_attributes, d.app_count, d.push_token, d.last_checkin, d.registered_at,
		d.created_at, d.modified_at, COALESCE(a.username, ''), COALESCE(a.email, ''), COALESCE(a.first_name, ''),
		COALESCE(a.last_name, ''), d.facts_hash, d.apps_hash`
	deviceFrom = `devices d LEFT JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id`
)

// holdsSeat is true for a device that holds a license seat and whose credential works: every one that
// is not RETIRED or WIPED.
const holdsSeat = `registration_state NOT IN ('RETIRED', 'WIPED')`

func scanDevice(row interface{ Scan(...any) error }) (mdm.Device, error) {
	var d mdm.Device
	var violated, attrs string
	var checkin, registered, created, modified int64
	f := &d.Facts
	err := row.Scan(&d.ID, &d.TenantID, &d.GUID, &d.AccountID, &d.Platform, &d.Kind, &d.RegistrationState,
		&f.DeviceName, &f.Model, &f.PrettyModel, &f.Manufacturer, &f.OSVersion, &f.OSBuild, &f.SerialNumber, &f.IMEI,
		&f.WifiMAC, &f.FormFactor, &f.Jailbroken, &f.PasscodeCompliant, &f.Encrypted, &f.Roaming, &f.TotalCapacityMB,
		&f.AvailableCapMB, &f.ClientVersion, &d.ComplianceState, &d.Quarantined, &d.PolicyViolationCount,
		&violated, &attrs, &d.AppCount, &d.PushToken, &checkin, &registered,
		&created, &modified, &d.OwnerUsername, &d.OwnerEmail, &d.OwnerFirstName,
		&d.OwnerLastName, &d.FactsHash, &d.AppsHash)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(violated), &d.ViolatedPolicies); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(attrs), &d.CustomAttributes); err != nil {
		return d, err
	}
	if d.ViolatedPolicies == nil {
		d.ViolatedPolicies = []string{}
	}
	if d.CustomAttributes == nil {
		d.CustomAttributes = map[string]string{}
	}
	if checkin != 0 {
		d.LastCheckin = fromMS(checkin)
	}
	d.RegisteredAt, d.CreatedAt, d.ModifiedAt = fromMS(registered), fromMS(created), fromMS(modified)
	return d, nil
}

// Create registers the device under both limits. The limits are checked and the row inserted in one
// transaction (the caller's, when there is one); on PostgreSQL the tenant row is locked first, so that
// registrations of one tenant on several replicas take turns (SQLite has a single writer anyway). FOR
// NO KEY UPDATE, not FOR UPDATE: inserts that merely reference the tenant take a key-share lock,
// which this one leaves free.
func (s deviceStore) Create(ctx context.Context, nd mdm.NewDevice, now time.Time) (*mdm.Device, error) {
	if nd.GUID == "" || len(nd.CredentialHash) == 0 {
		return nil, mdm.Errorf(mdm.Invalid, "a device needs a GUID and a credential")
	}
	if nd.Platform != mdm.PlatformAndroid && nd.Platform != mdm.PlatformIOS {
		return nil, mdm.Errorf(mdm.Invalid, "unknown platform %q", nd.Platform)
	}
	var out *mdm.Device
	err := stores(s).atomic(ctx, func(tx stores) error {
		lock := `SELECT id FROM tenants WHERE id=$1`
		if tx.pg {
			lock += ` FOR NO KEY UPDATE`
		}
		var tid mdm.TenantID
		if err := tx.q.QueryRowContext(ctx, lock, nd.TenantID).Scan(&tid); err != nil {
			return notFound(err, "tenant")
		}
		var owner any
		if nd.AccountID != 0 {
			owner = nd.AccountID
			var one int
			err := tx.q.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE tenant_id=$1 AND id=$2`, nd.TenantID, nd.AccountID).Scan(&one)
			if err != nil {
				return notFound(err, "account")
			}
		}
		if err := checkLimits(ctx, tx, nd); err != nil {
			return err
		}
		f := nd.Facts
		var id mdm.DeviceID
		err := tx.q.QueryRowContext(ctx, `INSERT INTO devices (tenant_id, account_id, platform, registration_state,
			created_at, guid, kind, credential_hash, device_name, model, pretty_model, manufacturer, os_version, os_build,
			serial_number, imei, wifi_mac, form_factor, jailbroken, passcode_compliant, encrypted, roaming,
			total_capacity_mb, available_capacity_mb, client_version, facts_hash, registered_at, modified_at)
			VALUES ($1,$2,$3,'ACTIVE',$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$4,$4)
			RETURNING id`,
			nd.TenantID, owner, nd.Platform, ms(now), nd.GUID, nd.Kind, nd.CredentialHash, f.DeviceName, f.Model,
			f.PrettyModel, f.Manufacturer, f.OSVersion, f.OSBuild, f.SerialNumber, f.IMEI, f.WifiMAC, f.FormFactor,
			f.Jailbroken, f.PasscodeCompliant, f.Encrypted, f.Roaming, f.TotalCapacityMB, f.AvailableCapMB,
			f.ClientVersion, nd.FactsHash).Scan(&id)
		if err != nil {
			return conflictOr(err, "a device with this GUID or credential is already registered")
		}
		tx.devicesChanged(nd.TenantID)
		d, err := deviceStore(tx).Get(ctx, nd.TenantID, id)
		out = d
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkLimits counts the devices that hold a seat, of the owner and of the tenant, against the limits.
func checkLimits(ctx context.Context, tx stores, nd mdm.NewDevice) error {
	if nd.PerAccount > 0 && nd.AccountID != 0 {
		var n int
		err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE tenant_id=$1 AND account_id=$2
			AND `+holdsSeat, nd.TenantID, nd.AccountID).Scan(&n)
		if err != nil {
			return dbError(err)
		}
		if n >= nd.PerAccount {
			return mdm.Errorf(mdm.Conflict, "device limit reached: at most %d devices per user", nd.PerAccount)
		}
	}
	if nd.Seats > 0 {
		var n int
		err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE tenant_id=$1
			AND `+holdsSeat, nd.TenantID).Scan(&n)
		if err != nil {
			return dbError(err)
		}
		if n >= nd.Seats {
			return mdm.Errorf(mdm.Conflict, "license seats used up: %d of %d", n, nd.Seats)
		}
	}
	return nil
}

func (s deviceStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.Device, error) {
	d, err := scanDevice(s.q.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM `+deviceFrom+`
		WHERE d.tenant_id=$1 AND d.id=$2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "device")
	}
	return &d, nil
}

// ByCredential finds a device by its credential in any tenant; a retired or wiped device's credential
// no longer works.
func (s deviceStore) ByCredential(ctx context.Context, hash []byte) (*mdm.Device, error) {
	if len(hash) == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "device not found")
	}
	d, err := scanDevice(s.q.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM `+deviceFrom+`
		WHERE d.credential_hash=$1 AND d.`+holdsSeat, hash))
	if err != nil {
		return nil, notFound(err, "device")
	}
	return &d, nil
}

func (s deviceStore) ForAccount(ctx context.Context, tenantID mdm.TenantID, accountID mdm.AccountID) ([]mdm.Device, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+deviceCols+` FROM `+deviceFrom+`
		WHERE d.tenant_id=$1 AND d.account_id=$2 ORDER BY d.created_at, d.id`, tenantID, accountID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, d)
	}
	return out, dbError(rows.Err())
}

// CountForAccount counts the account's devices that hold a seat (active) and all it ever registered
// that still exist (ever).
func (s deviceStore) CountForAccount(ctx context.Context, tenantID mdm.TenantID, accountID mdm.AccountID) (int, int, error) {
	var active, ever int
	err := s.q.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN `+holdsSeat+` THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM devices WHERE tenant_id=$1 AND account_id=$2`, tenantID, accountID).Scan(&active, &ever)
	if err != nil {
		return 0, 0, dbError(err)
	}
	return active, ever, nil
}

// CountSeats counts the tenant's devices that hold a license seat, from the registration-state index
// alone (the device list's generic filters compare lower-cased text, which reads every row).
func (s deviceStore) CountSeats(ctx context.Context, tenantID mdm.TenantID) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE tenant_id=$1 AND `+holdsSeat, tenantID).Scan(&n)
	return n, dbError(err)
}

// CountByAccounts counts the devices holding a seat of each of accountIDs, in one query.
func (s deviceStore) CountByAccounts(ctx context.Context, tenantID mdm.TenantID, accountIDs []mdm.AccountID) (map[mdm.AccountID]int, error) {
	out := map[mdm.AccountID]int{}
	if len(accountIDs) == 0 {
		return out, nil
	}
	list, err := jsonList(accountIDs)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT account_id, COUNT(*) FROM devices
		WHERE tenant_id=$1 AND `+stores(s).inInts("account_id", "$2")+` AND `+holdsSeat+`
		GROUP BY account_id`, tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id mdm.AccountID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, dbError(err)
		}
		out[id] = n
	}
	return out, dbError(rows.Err())
}

// exists returns not_found unless the tenant has the device.
func (s deviceStore) exists(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) error {
	var one int
	err := s.q.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE tenant_id=$1 AND id=$2`, tenantID, id).Scan(&one)
	return notFound(err, "device")
}

// affected returns not_found when res changed no row.
func affected(res sql.Result, what string) error {
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		return mdm.Errorf(mdm.NotFound, "%s not found", what)
	}
	return nil
}
