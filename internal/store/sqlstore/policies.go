package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"steward/internal/mdm"
)

type policyStore stores

var _ mdm.PolicyStore = policyStore{}

func (s stores) Policies() mdm.PolicyStore { return policyStore(s) }

const policyCols = `id, tenant_id, name, description, type, params, rule, platforms, device_groups, user_groups,
	priority, enabled, actions, created_at, modified_at`

func scanPolicy(row interface{ Scan(...any) error }) (mdm.Policy, error) {
	var p mdm.Policy
	var params, platforms, dgroups, ugroups, actions string
	var created, modified int64
	err := row.Scan(&p.ID, &p.TenantID, &p.Name, &p.Description, &p.Type, &params, &p.Rule, &platforms, &dgroups,
		&ugroups, &p.Priority, &p.Enabled, &actions, &created, &modified)
	if err != nil {
		return p, err
	}
	p.CreatedAt, p.ModifiedAt = fromMS(created), fromMS(modified)
	for _, f := range []struct {
		s string
		v any
	}{{params, &p.Params}, {platforms, &p.Platforms}, {dgroups, &p.DeviceGroups}, {ugroups, &p.UserGroups}, {actions, &p.Actions}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return p, err
		}
	}
	return p, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func policyArgs(p *mdm.Policy) []any {
	params := p.Params
	if params == nil {
		params = map[string]string{}
	}
	return []any{p.Name, strings.ToLower(p.Name), p.Description, p.Type, jsonText(params), p.Rule,
		jsonText(orEmpty(p.Platforms)), jsonText(orEmpty(p.DeviceGroups)), jsonText(orEmpty(p.UserGroups)), p.Priority,
		p.Enabled, jsonText(orEmpty(p.Actions)), ms(p.ModifiedAt)}
}

func (s policyStore) Create(ctx context.Context, p *mdm.Policy) error {
	args := append([]any{p.TenantID, ms(p.CreatedAt)}, policyArgs(p)...)
	err := s.q.QueryRowContext(ctx, `INSERT INTO policies (tenant_id, created_at, name, name_key, description, type, params,
		rule, platforms, device_groups, user_groups, priority, enabled, actions, modified_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) RETURNING id`, args...).Scan(&p.ID)
	if isForeignKeyViolation(err) {
		return mdm.Errorf(mdm.NotFound, "tenant not found")
	}
	return conflictOr(err, "a policy named "+p.Name+" already exists")
}

func (s policyStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.PolicyID) (*mdm.Policy, error) {
	p, err := scanPolicy(s.q.QueryRowContext(ctx, `SELECT `+policyCols+` FROM policies WHERE tenant_id=$1 AND id=$2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "policy")
	}
	return &p, nil
}

var policyColumns = map[string]string{"id": "id", "name": "name_key", "type": "type", "priority": "priority",
	"enabled": "enabled", "createdAt": "created_at"}

func (s policyStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.Policy], error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Page[mdm.Policy]{}, mdm.Errorf(mdm.Internal, "policies are listed per tenant")
	}
	l := &listQuery{columns: policyColumns, search: []string{"name", "description"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	return page(ctx, s.q, l, opts, policyCols, "policies", "id", func(r *sql.Rows) (mdm.Policy, error) { return scanPolicy(r) })
}

func (s policyStore) All(ctx context.Context, tenantID mdm.TenantID) ([]mdm.Policy, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+policyCols+` FROM policies WHERE tenant_id=$1 ORDER BY priority, id`, tenantID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.Policy{}
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, p)
	}
	return out, dbError(rows.Err())
}

func (s policyStore) Update(ctx context.Context, p *mdm.Policy) error {
	args := append(policyArgs(p), p.TenantID, p.ID)
	res, err := s.q.ExecContext(ctx, `UPDATE policies SET name=$1, name_key=$2, description=$3, type=$4, params=$5, rule=$6,
		platforms=$7, device_groups=$8, user_groups=$9, priority=$10, enabled=$11, actions=$12, modified_at=$13
		WHERE tenant_id=$14 AND id=$15`, args...)
	if err != nil {
		return conflictOr(err, "a policy named "+p.Name+" already exists")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mdm.Errorf(mdm.NotFound, "policy not found")
	}
	return nil
}

func (s policyStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.PolicyID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM policy_violations WHERE tenant_id=$1 AND policy_id=$2`, tenantID, id); err != nil {
			return dbError(err)
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM policies WHERE tenant_id=$1 AND id=$2`, tenantID, id)
		if err != nil {
			return dbError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return mdm.Errorf(mdm.NotFound, "policy not found")
		}
		return nil
	})
}

func (s policyStore) TenantsWithPolicies(ctx context.Context) ([]mdm.TenantID, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT tenant_id FROM policies UNION
		SELECT tenant_id FROM devices WHERE NOT compliance_state OR quarantined ORDER BY 1`)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []mdm.TenantID
	for rows.Next() {
		var t mdm.TenantID
		if err := rows.Scan(&t); err != nil {
			return nil, dbError(err)
		}
		out = append(out, t)
	}
	return out, dbError(rows.Err())
}

func (s policyStore) Violations(ctx context.Context, tenantID mdm.TenantID, deviceIDs []mdm.DeviceID) ([]mdm.PolicyViolation, error) {
	list, err := jsonList(deviceIDs)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT device_id, policy_id, since, done, quarantined, checked_at FROM policy_violations
		WHERE tenant_id=$1 AND `+stores(s).inInts("device_id", "$2")+` ORDER BY device_id, policy_id`, tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.PolicyViolation{}
	for rows.Next() {
		v := mdm.PolicyViolation{TenantID: tenantID}
		var since, checked int64
		var done string
		if err := rows.Scan(&v.DeviceID, &v.PolicyID, &since, &done, &v.Quarantined, &checked); err != nil {
			return nil, dbError(err)
		}
		if err := json.Unmarshal([]byte(done), &v.Done); err != nil {
			return nil, dbError(err)
		}
		v.Since, v.CheckedAt = fromMS(since), fromMS(checked)
		out = append(out, v)
	}
	return out, dbError(rows.Err())
}

func (s policyStore) CreateViolation(ctx context.Context, v mdm.PolicyViolation) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO policy_violations (tenant_id, device_id, policy_id, since, done, quarantined, checked_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7)`, v.TenantID, v.DeviceID, v.PolicyID, ms(v.Since), jsonText(orEmpty(v.Done)),
		v.Quarantined, ms(v.CheckedAt))
	return conflictOr(err, "the violation is recorded already")
}

func (s policyStore) UpdateViolation(ctx context.Context, v mdm.PolicyViolation, before []int) error {
	before = slices.Clone(orEmpty(before))
	res, err := s.q.ExecContext(ctx, `UPDATE policy_violations SET done=$1, quarantined=$2, checked_at=$3
		WHERE tenant_id=$4 AND device_id=$5 AND policy_id=$6 AND done=$7`, jsonText(orEmpty(v.Done)), v.Quarantined,
		ms(v.CheckedAt), v.TenantID, v.DeviceID, v.PolicyID, jsonText(before))
	if err != nil {
		return dbError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mdm.Errorf(mdm.Conflict, "the violation changed meanwhile")
	}
	return nil
}

func (s policyStore) DeleteViolation(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, policyID mdm.PolicyID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM policy_violations WHERE tenant_id=$1 AND device_id=$2 AND policy_id=$3`,
		tenantID, deviceID, policyID)
	if err != nil {
		return dbError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mdm.Errorf(mdm.NotFound, "violation not found")
	}
	return nil
}

// ViolationCounts counts the violations of the tenant's devices that still exist, per policy.
func (s policyStore) ViolationCounts(ctx context.Context, tenantID mdm.TenantID) (map[mdm.PolicyID]int, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT v.policy_id, COUNT(*) FROM policy_violations v
		JOIN devices d ON d.tenant_id=v.tenant_id AND d.id=v.device_id
		WHERE v.tenant_id=$1 GROUP BY v.policy_id`, tenantID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := map[mdm.PolicyID]int{}
	for rows.Next() {
		var id mdm.PolicyID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, dbError(err)
		}
		out[id] = n
	}
	return out, dbError(rows.Err())
}

func (s policyStore) SetDeviceCompliance(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, c mdm.DeviceCompliance, wasQuarantined bool, now time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE devices SET compliance_state=$1, quarantined=$2, policy_violation_count=$3,
		violated_policies=$4, modified_at=$5 WHERE tenant_id=$6 AND id=$7 AND quarantined=$8`, c.Compliant, c.Quarantined, len(c.Violated),
		jsonText(orEmpty(c.Violated)), ms(now), tenantID, deviceID, wasQuarantined)
	if err != nil {
		return dbError(err)
	}
	stores(s).devicesChanged(tenantID)
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		err := s.q.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE tenant_id=$1 AND id=$2`, tenantID, deviceID).Scan(&one)
		if err != nil {
			return notFound(err, "device")
		}
		return mdm.Errorf(mdm.Conflict, "the device's quarantine changed meanwhile")
	}
	return nil
}

// DevicesAfter reads the next batch of the tenant's devices by id (keyset paging, no count), for sweeps.
func (s policyStore) DevicesAfter(ctx context.Context, tenantID mdm.TenantID, after mdm.DeviceID, limit int) ([]mdm.Device, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+deviceCols+` FROM `+deviceFrom+`
		WHERE d.tenant_id=$1 AND d.id > $2 ORDER BY d.id LIMIT $3`, tenantID, after, limit)
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
