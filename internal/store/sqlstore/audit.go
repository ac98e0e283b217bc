package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"steward/internal/mdm"
)

type auditStore stores

var _ mdm.AuditStore = auditStore{}

const auditCols = `id, tenant_id, at, actor_kind, actor_id, actor_name, action, target_type, target_id, details, request_id`

func (s auditStore) Append(ctx context.Context, r *mdm.AuditRecord) error {
	details, err := json.Marshal(r.Details)
	if err != nil {
		return err
	}
	err = s.q.QueryRowContext(ctx, `INSERT INTO audit_log (tenant_id, at, actor_kind, actor_id, actor_name, action,
		target_type, target_id, details, request_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id`,
		r.TenantID, ms(r.At), r.ActorKind, r.ActorID, r.ActorName, r.Action, r.TargetType, r.TargetID,
		string(details), r.RequestID).Scan(&r.ID)
	return dbError(err)
}

var auditColumns = map[string]string{
	"id": "id", "tenantId": "tenant_id", "at": "at", "actorName": "actor_name", "action": "action",
	"targetType": "target_type", "targetId": "target_id",
}

func (s auditStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.AuditRecord], error) {
	l := &listQuery{columns: auditColumns, search: []string{"action", "actor_name", "target_id"}}
	if err := scope(l, tenantID); err != nil {
		return mdm.Page[mdm.AuditRecord]{}, err
	}
	return page(ctx, s.q, l, opts, auditCols, "audit_log", "id", func(r *sql.Rows) (mdm.AuditRecord, error) {
		var a mdm.AuditRecord
		var at int64
		var details string
		err := r.Scan(&a.ID, &a.TenantID, &at, &a.ActorKind, &a.ActorID, &a.ActorName, &a.Action, &a.TargetType,
			&a.TargetID, &details, &a.RequestID)
		if err != nil {
			return a, err
		}
		a.At = fromMS(at)
		return a, json.Unmarshal([]byte(details), &a.Details)
	})
}
