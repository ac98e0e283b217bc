// Package audit writes and lists the audit trail: who changed what, in which tenant, when.
package audit

import (
	"context"
	"time"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// Entry describes one change; Write adds the actor and request from ctx.
type Entry struct {
	TenantID   mdm.TenantID
	Action     string
	TargetType string
	TargetID   string
	Details    map[string]any
}

// Write appends e through store, which should be the transaction that makes the change.
func Write(ctx context.Context, store mdm.AuditStore, now time.Time, e Entry) error {
	return store.Append(ctx, record(ctx, now, e))
}

// WriteAll appends es in their order, as Write would one by one, in as few statements as the store can.
func WriteAll(ctx context.Context, store mdm.AuditStore, now time.Time, es []Entry) error {
	if len(es) == 0 {
		return nil
	}
	rs := make([]*mdm.AuditRecord, len(es))
	for i, e := range es {
		rs[i] = record(ctx, now, e)
	}
	return store.AppendAll(ctx, rs)
}

func record(ctx context.Context, now time.Time, e Entry) *mdm.AuditRecord {
	r := &mdm.AuditRecord{
		TenantID: e.TenantID, At: now, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Details: e.Details, RequestID: mdm.RequestIDFrom(ctx), ActorKind: "system", ActorName: "steward",
	}
	if r.Details == nil {
		r.Details = map[string]any{}
	}
	if p := mdm.PrincipalFrom(ctx); p != nil {
		r.ActorKind, r.ActorID, r.ActorName = p.Kind, p.ID, p.Username
	}
	return r
}

// Service lists the trail: a System Admin sees every tenant's, a tenant principal its own.
type Service struct{ store mdm.Stores }

// New returns the audit service.
func New(store mdm.Stores) *Service { return &Service{store: store} }

// List returns a page of the trail visible to the caller.
func (s *Service) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.AuditRecord], error) {
	tenantID, err := authz.Scope(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return mdm.Page[mdm.AuditRecord]{}, err
	}
	return s.store.Audit().List(ctx, tenantID, opts)
}
