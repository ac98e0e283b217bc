package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"steward/internal/mdm"
)

// batchRows bounds the rows one batched statement carries. The rows travel as one JSON array
// parameter (see jsonRows): thousands of placeholders would cost SQLite a linear lookup each.
const batchRows = 1000

// jsonRows is a subquery over the JSON array of objects in placeholder ph with one column per field
// (name → SQL type on PostgreSQL), so that one statement can carry many rows of different values.
func (s stores) jsonRows(ph string, fields [][2]string) string {
	cols := make([]string, len(fields))
	for i, f := range fields {
		if s.pg {
			cols[i] = fmt.Sprintf("(e->>'%s')::%s AS %s", f[0], f[1], f[0])
		} else {
			cols[i] = fmt.Sprintf("json_extract(value, '$.%s') AS %s", f[0], f[0])
		}
	}
	if s.pg {
		return "(SELECT " + strings.Join(cols, ", ") + " FROM jsonb_array_elements(" + ph + "::jsonb) e)"
	}
	return "(SELECT " + strings.Join(cols, ", ") + " FROM json_each(" + ph + "))"
}

func (s auditStore) AppendAll(ctx context.Context, rs []*mdm.AuditRecord) error {
	type record struct {
		T  mdm.TenantID `json:"t"`
		At int64        `json:"at"`
		K  string       `json:"k"`
		I  int64        `json:"i"`
		N  string       `json:"n"`
		A  string       `json:"a"`
		TT string       `json:"tt"`
		TI string       `json:"ti"`
		D  string       `json:"d"`
		R  string       `json:"r"`
	}
	for start := 0; start < len(rs); start += batchRows {
		part := rs[start:min(start+batchRows, len(rs))]
		list := make([]record, len(part))
		for i, r := range part {
			details, err := json.Marshal(r.Details)
			if err != nil {
				return err
			}
			list[i] = record{r.TenantID, ms(r.At), string(r.ActorKind), r.ActorID, r.ActorName, r.Action, r.TargetType, r.TargetID,
				string(details), r.RequestID}
		}
		rows := stores(s).jsonRows("$1", [][2]string{{"t", "text"}, {"at", "bigint"}, {"k", "text"}, {"i", "bigint"},
			{"n", "text"}, {"a", "text"}, {"tt", "text"}, {"ti", "text"}, {"d", "text"}, {"r", "text"}})
		if _, err := s.q.ExecContext(ctx, `INSERT INTO audit_log (tenant_id, at, actor_kind, actor_id, actor_name, action,
			target_type, target_id, details, request_id) SELECT t, at, k, i, n, a, tt, ti, d, r FROM `+rows+` x`,
			jsonText(list)); err != nil {
			return dbError(err)
		}
	}
	return nil
}

func (s policyStore) CreateViolations(ctx context.Context, vs []mdm.PolicyViolation) error {
	type violation struct {
		T mdm.TenantID `json:"t"`
		D mdm.DeviceID `json:"d"`
		P mdm.PolicyID `json:"p"`
		S int64        `json:"s"`
		X string       `json:"x"`
		Q bool         `json:"q"`
		C int64        `json:"c"`
	}
	for start := 0; start < len(vs); start += batchRows {
		part := vs[start:min(start+batchRows, len(vs))]
		list := make([]violation, len(part))
		for i, v := range part {
			list[i] = violation{v.TenantID, v.DeviceID, v.PolicyID, ms(v.Since), jsonText(orEmpty(v.Done)), v.Quarantined, ms(v.CheckedAt)}
		}
		rows := stores(s).jsonRows("$1", [][2]string{{"t", "text"}, {"d", "bigint"}, {"p", "bigint"}, {"s", "bigint"},
			{"x", "text"}, {"q", "boolean"}, {"c", "bigint"}})
		_, err := s.q.ExecContext(ctx, `INSERT INTO policy_violations (tenant_id, device_id, policy_id, since, done, quarantined,
			checked_at) SELECT t, d, p, s, x, q, c FROM `+rows+` x`, jsonText(list))
		if err != nil {
			return conflictOr(err, "a violation is recorded already")
		}
	}
	return nil
}

func (s policyStore) DeleteViolations(ctx context.Context, tenantID mdm.TenantID, keys []mdm.ViolationKey) error {
	for start := 0; start < len(keys); start += batchRows {
		part := keys[start:min(start+batchRows, len(keys))]
		type key struct {
			D mdm.DeviceID `json:"d"`
			P mdm.PolicyID `json:"p"`
		}
		list := make([]key, len(part))
		for i, k := range part {
			list[i] = key{k.DeviceID, k.PolicyID}
		}
		rows := stores(s).jsonRows("$2", [][2]string{{"d", "bigint"}, {"p", "bigint"}})
		res, err := s.q.ExecContext(ctx, `DELETE FROM policy_violations WHERE tenant_id=$1 AND (device_id, policy_id) IN
			(SELECT d, p FROM `+rows+` x)`, tenantID, jsonText(list))
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n != int64(len(part)) {
			return mdm.Errorf(mdm.Conflict, "a violation ended meanwhile")
		}
	}
	return nil
}

func (s policyStore) SetDevicesCompliance(ctx context.Context, tenantID mdm.TenantID, cs []mdm.ComplianceChange, now time.Time) error {
	for start := 0; start < len(cs); start += batchRows {
		part := cs[start:min(start+batchRows, len(cs))]
		type change struct {
			I mdm.DeviceID `json:"i"`
			C bool         `json:"c"`
			Q bool         `json:"q"`
			N int          `json:"n"`
			V string       `json:"v"`
			W bool         `json:"w"`
		}
		list := make([]change, len(part))
		for i, c := range part {
			list[i] = change{c.DeviceID, c.Compliance.Compliant, c.Compliance.Quarantined, len(c.Compliance.Violated),
				jsonText(orEmpty(c.Compliance.Violated)), c.WasQuarantined}
		}
		rows := stores(s).jsonRows("$1", [][2]string{{"i", "bigint"}, {"c", "boolean"}, {"q", "boolean"}, {"n", "integer"},
			{"v", "text"}, {"w", "boolean"}})
		res, err := s.q.ExecContext(ctx, `UPDATE devices SET compliance_state=x.c, quarantined=x.q, policy_violation_count=x.n,
			violated_policies=x.v, modified_at=$2 FROM `+rows+` x
			WHERE devices.tenant_id=$3 AND devices.id=x.i AND devices.quarantined=x.w`, jsonText(list), ms(now), tenantID)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n != int64(len(part)) {
			return mdm.Errorf(mdm.Conflict, "a device's quarantine changed meanwhile, or the device is gone")
		}
	}
	return nil
}

func (s policyStore) DevicesByID(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) ([]mdm.Device, error) {
	out := []mdm.Device{}
	for start := 0; start < len(ids); start += maxIDs {
		list, err := jsonList(ids[start:min(start+maxIDs, len(ids))])
		if err != nil {
			return nil, err
		}
		rows, err := s.q.QueryContext(ctx, `SELECT `+deviceCols+` FROM `+deviceFrom+`
			WHERE `+stores(s).unindexed("d.tenant_id")+`=$1 AND `+stores(s).inInts("d.id", "$2")+` ORDER BY d.id`, tenantID, list)
		if err != nil {
			return nil, dbError(err)
		}
		for rows.Next() {
			d, err := scanDevice(rows)
			if err != nil {
				rows.Close()
				return nil, dbError(err)
			}
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbError(err)
		}
	}
	return out, nil
}
