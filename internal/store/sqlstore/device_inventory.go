package sqlstore

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"steward/internal/mdm"
)

// SetFacts replaces the reported facts (a check-in reports all of them) and their fingerprint.
func (s deviceStore) SetFacts(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, kind string, f mdm.DeviceFacts, hash []byte, now time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE devices SET kind=$1, device_name=$2, model=$3, pretty_model=$4,
		manufacturer=$5, os_version=$6, os_build=$7, serial_number=$8, imei=$9, wifi_mac=$10, form_factor=$11,
		jailbroken=$12, passcode_compliant=$13, encrypted=$14, roaming=$15, total_capacity_mb=$16,
		available_capacity_mb=$17, client_version=$18, facts_hash=$19, modified_at=$20
		WHERE tenant_id=$21 AND id=$22`,
		kind, f.DeviceName, f.Model, f.PrettyModel, f.Manufacturer, f.OSVersion, f.OSBuild, f.SerialNumber, f.IMEI,
		f.WifiMAC, f.FormFactor, f.Jailbroken, f.PasscodeCompliant, f.Encrypted, f.Roaming, f.TotalCapacityMB,
		f.AvailableCapMB, f.ClientVersion, hash, ms(now), tenantID, id)
	if err != nil {
		return dbError(err)
	}
	stores(s).devicesChanged(tenantID)
	return affected(res, "device")
}

// appRowsPerInsert keeps each multi-row INSERT well under both databases' placeholder limits.
const appRowsPerInsert = 500

// SetApps replaces the device's app list: the count and fingerprint on the device, then the rows, in
// one transaction. An app id reported twice keeps its last entry.
func (s deviceStore) SetApps(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, apps []mdm.InstalledApp, hash []byte, now time.Time) error {
	byID := make(map[string]mdm.InstalledApp, len(apps))
	for _, a := range apps {
		byID[a.AppID] = a
	}
	unique := make([]mdm.InstalledApp, 0, len(byID))
	for _, a := range byID {
		unique = append(unique, a)
	}
	sort.Slice(unique, func(i, j int) bool { return unique[i].AppID < unique[j].AppID })
	return stores(s).atomic(ctx, func(tx stores) error {
		res, err := tx.q.ExecContext(ctx, `UPDATE devices SET app_count=$1, apps_hash=$2, modified_at=$3
			WHERE tenant_id=$4 AND id=$5`, len(unique), hash, ms(now), tenantID, id)
		if err != nil {
			return dbError(err)
		}
		if err := affected(res, "device"); err != nil {
			return err
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM device_apps WHERE tenant_id=$1 AND device_id=$2`, tenantID, id); err != nil {
			return dbError(err)
		}
		for start := 0; start < len(unique); start += appRowsPerInsert {
			chunk := unique[start:min(start+appRowsPerInsert, len(unique))]
			var b strings.Builder
			b.WriteString(`INSERT INTO device_apps (tenant_id, device_id, app_id, name, version) VALUES `)
			args := []any{tenantID, id}
			for i, a := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				n := len(args)
				b.WriteString("($1, $2, $" + itoa(n+1) + ", $" + itoa(n+2) + ", $" + itoa(n+3) + ")")
				args = append(args, a.AppID, a.Name, a.Version)
			}
			if _, err := tx.q.ExecContext(ctx, b.String(), args...); err != nil {
				return dbError(err)
			}
		}
		return nil
	})
}

// Apps lists the device's apps by app id.
func (s deviceStore) Apps(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) ([]mdm.InstalledApp, error) {
	if err := s.exists(ctx, tenantID, id); err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT app_id, name, version FROM device_apps
		WHERE tenant_id=$1 AND device_id=$2 ORDER BY app_id`, tenantID, id)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.InstalledApp{}
	for rows.Next() {
		var a mdm.InstalledApp
		if err := rows.Scan(&a.AppID, &a.Name, &a.Version); err != nil {
			return nil, dbError(err)
		}
		out = append(out, a)
	}
	return out, dbError(rows.Err())
}

// TouchCheckins writes the last-seen times of each tenant in one UPDATE that joins a JSON list of
// (id, time) pairs and only ever moves a time forward.
func (s deviceStore) TouchCheckins(ctx context.Context, touches []mdm.CheckinTouch) error {
	latest := map[mdm.TenantID]map[mdm.DeviceID]int64{}
	for _, t := range touches {
		if latest[t.TenantID] == nil {
			latest[t.TenantID] = map[mdm.DeviceID]int64{}
		}
		if at := ms(t.At); at > latest[t.TenantID][t.ID] {
			latest[t.TenantID][t.ID] = at
		}
	}
	tenants := make([]mdm.TenantID, 0, len(latest))
	for tn := range latest {
		tenants = append(tenants, tn)
	}
	sort.Slice(tenants, func(i, j int) bool { return tenants[i] < tenants[j] })
	for _, tn := range tenants {
		pairs := make([][2]int64, 0, len(latest[tn]))
		for id, at := range latest[tn] {
			pairs = append(pairs, [2]int64{int64(id), at})
		}
		// Same order on every replica, so that two batches lock rows in the same order.
		sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
		for start := 0; start < len(pairs); start += maxIDs {
			list, err := json.Marshal(pairs[start:min(start+maxIDs, len(pairs))])
			if err != nil {
				return err
			}
			if _, err := s.q.ExecContext(ctx, s.touchSQL(), tn, string(list)); err != nil {
				return dbError(err)
			}
		}
	}
	return nil
}

func (s deviceStore) touchSQL() string {
	if s.pg {
		return `UPDATE devices d SET last_checkin = t.at
			FROM (SELECT (e->>0)::bigint AS id, (e->>1)::bigint AS at FROM jsonb_array_elements($2::jsonb) e) t
			WHERE d.tenant_id=$1 AND d.id=t.id AND d.last_checkin < t.at`
	}
	return `UPDATE devices SET last_checkin = t.at
		FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS at FROM json_each($2)) AS t
		WHERE +devices.tenant_id=$1 AND devices.id=t.id AND devices.last_checkin < t.at`
}

// SetCustomAttributes replaces the device's custom attributes.
func (s deviceStore) SetCustomAttributes(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, attrs map[string]string, now time.Time) error {
	if attrs == nil {
		attrs = map[string]string{}
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE devices SET custom_attributes=$1, modified_at=$2 WHERE tenant_id=$3 AND id=$4`,
		string(b), ms(now), tenantID, id)
	if err != nil {
		return dbError(err)
	}
	return affected(res, "device")
}

func (s deviceStore) SetPushToken(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, token string, now time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE devices SET push_token=$1, modified_at=$2 WHERE tenant_id=$3 AND id=$4`,
		token, ms(now), tenantID, id)
	if err != nil {
		return dbError(err)
	}
	return affected(res, "device")
}

// ClearPushToken compares and clears in one statement, so that a token the device reports meanwhile
// is never lost.
func (s deviceStore) ClearPushToken(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, token string, now time.Time) (bool, error) {
	if token == "" {
		return false, nil
	}
	res, err := s.q.ExecContext(ctx, `UPDATE devices SET push_token='', modified_at=$1 WHERE tenant_id=$2 AND id=$3 AND push_token=$4`,
		ms(now), tenantID, id, token)
	if err != nil {
		return false, dbError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError(err)
	}
	return n > 0, nil
}
