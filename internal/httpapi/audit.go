package httpapi

import (
	"steward/internal/authz"
	"steward/internal/mdm"
)

type auditJSON struct {
	ID         int64          `json:"id"`
	TenantID   mdm.TenantID   `json:"tenantId"`
	At         int64          `json:"at"`
	ActorKind  string         `json:"actorKind"`
	ActorName  string         `json:"actorName"`
	Action     string         `json:"action"`
	TargetType string         `json:"targetType"`
	TargetID   string         `json:"targetId"`
	Details    map[string]any `json:"details"`
	RequestID  string         `json:"requestId"`
}

func auditOut(r mdm.AuditRecord) auditJSON {
	return auditJSON{ID: r.ID, TenantID: r.TenantID, At: millis(r.At), ActorKind: string(r.ActorKind),
		ActorName: r.ActorName, Action: r.Action, TargetType: r.TargetType, TargetID: r.TargetID, Details: r.Details,
		RequestID: r.RequestID}
}

func (a *API) auditRoutes() {
	a.add(Route{Method: "GET", Path: "/api/v1/audit", Tag: "Audit", Needs: authz.SystemRead, SystemAdminToo: true, Summary: "List the audit trail",
		Description: "Every change made through the API. A System Admin sees every tenant's records (fq=tenantId=… narrows), " +
			"a Tenant Admin only their tenant's. Filter fields: " + fieldList(mdm.AuditFields) + ".",
		Query: listParams, Result: auditJSON{}, List: true},
		listHandler(mdm.AuditFields, newestFirst, a.audit.List, auditOut))
}
