package mdm

import (
	"context"
	"time"
)

// AuditRecord says who changed what, when. It is written in the same transaction as the change.
type AuditRecord struct {
	ID         int64
	TenantID   TenantID // empty for platform-level changes
	At         time.Time
	ActorKind  PrincipalKind
	ActorID    int64
	ActorName  string
	Action     string // e.g. "tenant.create"
	TargetType string
	TargetID   string
	Details    map[string]any
	RequestID  string
}

// AuditFields are the audit fields that lists filter and sort on.
var AuditFields = FieldSet{
	"id": IntField, "tenantId": StringField, "at": TimeField, "actorName": StringField,
	"action": StringField, "targetType": StringField, "targetId": StringField,
}

// AuditStore appends and lists audit records. List with a tenant id lists that tenant's records only;
// with AllTenants it lists every record (System Admin view); an empty tenant id is an internal error.
// AppendAll appends several records in their order, in as few statements as it can (ids not set).
type AuditStore interface {
	Append(ctx context.Context, r *AuditRecord) error
	AppendAll(ctx context.Context, rs []*AuditRecord) error
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[AuditRecord], error)
}
