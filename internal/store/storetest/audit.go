package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

var auditTests = []test{
	{"AppendList", testAuditAppendList},
	{"Filter", testAuditFilter},
	{"EmptyTenantFailsClosed", testAuditEmptyTenantFailsClosed},
}

// record appends an audit record in tenant (empty for platform) at minute offset min.
func (f *fixture) record(t *testing.T, tenant mdm.TenantID, min int, action, target string) mdm.AuditRecord {
	t.Helper()
	r := mdm.AuditRecord{
		TenantID: tenant, At: f.now.Add(time.Duration(min) * time.Minute), ActorKind: mdm.AccountPrincipal,
		ActorID: 7, ActorName: "actor-" + action, Action: action, TargetType: "thing", TargetID: target,
		Details: map[string]any{"target": target}, RequestID: "req-" + target,
	}
	must(t, "Append", f.s.Audit().Append(f.ctx, &r))
	return r
}

func testAuditAppendList(t *testing.T, f *fixture) {
	// Details survive a round trip as JSON types: strings, float64 numbers, bools, lists, objects, null.
	rich := mdm.AuditRecord{
		TenantID: f.A.ID, At: f.now, ActorKind: mdm.SystemAdminPrincipal, ActorID: 1, ActorName: "root",
		Action: "tenant.update", TargetType: "tenant", TargetID: string(f.A.ID), RequestID: "req-1",
		Details: map[string]any{
			"name":    map[string]any{"from": "Tenant A", "to": "Tenant Ä 🚀"},
			"seats":   float64(25),
			"ratio":   0.5,
			"active":  true,
			"roles":   []any{"TENANT_ADMIN", "API"},
			"nothing": nil,
			"quote":   `he said "hi" \ bye`,
		},
	}
	must(t, "Append rich", f.s.Audit().Append(f.ctx, &rich))
	// A record without details.
	bare := mdm.AuditRecord{TenantID: f.A.ID, At: f.now.Add(time.Minute), ActorKind: mdm.AccountPrincipal, ActorID: 2,
		ActorName: "ann", Action: "account.login"}
	must(t, "Append bare", f.s.Audit().Append(f.ctx, &bare))
	b1 := f.record(t, f.B.ID, 2, "account.create", "b1")
	platform := f.record(t, "", 3, "tenant.create", "p1")
	b2 := f.record(t, f.B.ID, 4, "account.delete", "b2")

	ids := map[int64]bool{}
	for _, r := range []mdm.AuditRecord{rich, bare, b1, platform, b2} {
		if r.ID == 0 || ids[r.ID] {
			t.Errorf("Append gave id %d; want distinct nonzero ids", r.ID)
		}
		ids[r.ID] = true
	}

	byID := []mdm.SortField{{Field: "id"}}
	tests := []struct {
		name   string
		tenant mdm.TenantID
		want   []mdm.AuditRecord
	}{
		{"A", f.A.ID, []mdm.AuditRecord{rich, bare}},
		{"B", f.B.ID, []mdm.AuditRecord{b1, b2}},
		{"all", mdm.AllTenants, []mdm.AuditRecord{rich, bare, b1, platform, b2}},
		{"unknown tenant", newTenantID(t), nil},
	}
	for _, tc := range tests {
		page, err := f.s.Audit().List(f.ctx, tc.tenant, mdm.ListOptions{Rows: 50, Sort: byID})
		must(t, "List "+tc.name, err)
		if d := diff(tc.want, page.Items); d != "" {
			t.Errorf("List(%s) (-want +got):\n%s", tc.name, d)
		}
		if page.TotalCount != len(tc.want) {
			t.Errorf("List(%s).TotalCount = %d, want %d", tc.name, page.TotalCount, len(tc.want))
		}
		for _, r := range page.Items {
			wantUTC(t, "List("+tc.name+")", r.At)
		}
	}
}

func testAuditFilter(t *testing.T, f *fixture) {
	a1 := f.record(t, f.A.ID, 0, "tenant.update", "t1")
	a2 := f.record(t, f.A.ID, 1, "account.create", "acc-1")
	a3 := f.record(t, f.A.ID, 2, "account.create", "acc-2")
	b1 := f.record(t, f.B.ID, 3, "account.create", "acc-3")
	b2 := f.record(t, f.B.ID, 4, "tenant.update", "t2")
	p1 := f.record(t, "", 5, "tenant.create", "t3")
	eq := func(field string, v any) mdm.Compare { return mdm.Compare{Field: field, Op: mdm.Eq, Value: v} }
	atDesc := []mdm.SortField{{Field: "at", Desc: true}}

	tests := []struct {
		name   string
		tenant mdm.TenantID
		opts   mdm.ListOptions
		want   []mdm.AuditRecord
		total  int
	}{
		{"A newest first", f.A.ID, mdm.ListOptions{Sort: atDesc}, []mdm.AuditRecord{a3, a2, a1}, 3},
		{"all newest first, paged", mdm.AllTenants, mdm.ListOptions{Start: 1, Rows: 2, Sort: atDesc}, []mdm.AuditRecord{b2, b1}, 6},
		{"A by action", f.A.ID, mdm.ListOptions{Sort: atDesc, Filter: eq("action", "ACCOUNT.*")}, []mdm.AuditRecord{a3, a2}, 2},
		{"B by action", f.B.ID, mdm.ListOptions{Sort: atDesc, Filter: eq("action", "account.*")}, []mdm.AuditRecord{b1}, 1},
		{"all by action", mdm.AllTenants, mdm.ListOptions{Sort: atDesc, Filter: eq("action", "tenant.*")}, []mdm.AuditRecord{p1, b2, a1}, 3},
		// A tenantId filter cannot widen a tenant's view.
		{"B asking for A's tenantId", f.B.ID, mdm.ListOptions{Filter: eq("tenantId", string(f.A.ID))}, nil, 0},
		{"B or A's tenantId", f.B.ID, mdm.ListOptions{Sort: atDesc, Filter: mdm.Or{eq("tenantId", string(f.A.ID)), eq("targetId", "t2")}},
			[]mdm.AuditRecord{b2}, 1},
		{"all, A's tenantId", mdm.AllTenants, mdm.ListOptions{Sort: atDesc, Filter: eq("tenantId", string(f.A.ID))}, []mdm.AuditRecord{a3, a2, a1}, 3},
		{"platform records", mdm.AllTenants, mdm.ListOptions{Filter: eq("tenantId", "")}, []mdm.AuditRecord{p1}, 1},
		{"B: A's id", f.B.ID, mdm.ListOptions{Filter: eq("id", a2.ID)}, nil, 0},
		{"at window", mdm.AllTenants, mdm.ListOptions{Sort: atDesc, Filter: mdm.And{
			mdm.Compare{Field: "at", Op: mdm.Ge, Value: a2.At.UnixMilli()},
			mdm.Compare{Field: "at", Op: mdm.Lt, Value: b2.At.UnixMilli()},
		}}, []mdm.AuditRecord{b1, a3, a2}, 3},
		{"actor, target type", f.A.ID, mdm.ListOptions{Filter: mdm.And{eq("actorName", "actor-tenant.update"), eq("targetType", "THING")}},
			[]mdm.AuditRecord{a1}, 1},
		{"query", f.A.ID, mdm.ListOptions{Sort: atDesc, Query: "ACC-"}, []mdm.AuditRecord{a3, a2}, 2},
		{"B: query for A's target", f.B.ID, mdm.ListOptions{Query: "acc-1"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Rows == 0 {
				tc.opts.Rows = 50
			}
			page, err := f.s.Audit().List(f.ctx, tc.tenant, tc.opts)
			must(t, "List", err)
			if d := diff(tc.want, page.Items); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
			if page.TotalCount != tc.total {
				t.Errorf("TotalCount = %d, want %d", page.TotalCount, tc.total)
			}
		})
	}
}

// testAuditEmptyTenantFailsClosed: a forgotten tenant id is refused, never read as "every tenant".
func testAuditEmptyTenantFailsClosed(t *testing.T, f *fixture) {
	f.record(t, f.A.ID, 1, "tenant.update", "a")
	if _, err := f.s.Audit().List(f.ctx, "", mdm.ListOptions{Rows: 10}); err == nil {
		t.Error("Audit().List with an empty tenant id succeeded")
	}
	if _, err := f.s.Outbox().List(f.ctx, "", mdm.ListOptions{Rows: 10}); err == nil {
		t.Error("Outbox().List with an empty tenant id succeeded")
	}
	if _, err := f.s.Outbox().Get(f.ctx, "", 1); err == nil {
		t.Error("Outbox().Get with an empty tenant id succeeded")
	}
}
