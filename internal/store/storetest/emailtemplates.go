package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

var emailTemplateTests = []test{
	{"PutGetListDelete", testEmailTemplateLifecycle},
	{"TenantsApart", testEmailTemplateTenantsApart},
}

func testEmailTemplateLifecycle(t *testing.T, f *fixture) {
	s := f.s.EmailTemplates()
	_, err := s.Get(f.ctx, f.A.ID, "invitation_pin")
	wantCode(t, "Get before Put", err, mdm.NotFound)

	first := mdm.EmailTemplate{Name: "invitation_pin", Subject: "Welcome {{.TenantName}}", HTML: "<p>{{.PIN}}</p>",
		Text: "PIN {{.PIN}}", ModifiedAt: f.now, ModifiedBy: "ann@a.example"}
	must(t, "Put", f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.EmailTemplates().Put(f.ctx, f.A.ID, first) }))
	got, err := s.Get(f.ctx, f.A.ID, "invitation_pin")
	must(t, "Get", err)
	if d := diff(first, *got); d != "" {
		t.Errorf("Get after Put (-want +got):\n%s", d)
	}
	wantUTC(t, "Get", got.ModifiedAt)

	// Put again replaces the override.
	second := first
	second.Subject, second.HTML, second.ModifiedAt = "Hello", "<p>PIN: {{.PIN}}</p>", f.now.Add(time.Hour)
	must(t, "Put again", s.Put(f.ctx, f.A.ID, second))
	other := mdm.EmailTemplate{Name: "admin_activation", Subject: "s", HTML: "h", Text: "t", ModifiedAt: f.now, ModifiedBy: "x"}
	must(t, "Put other", s.Put(f.ctx, f.A.ID, other))
	list, err := s.List(f.ctx, f.A.ID)
	must(t, "List", err)
	if d := diff([]mdm.EmailTemplate{other, second}, list); d != "" {
		t.Errorf("List, ordered by name (-want +got):\n%s", d)
	}

	must(t, "Delete", s.Delete(f.ctx, f.A.ID, "invitation_pin"))
	_, err = s.Get(f.ctx, f.A.ID, "invitation_pin")
	wantCode(t, "Get after Delete", err, mdm.NotFound)
	wantCode(t, "Delete twice", s.Delete(f.ctx, f.A.ID, "invitation_pin"), mdm.NotFound)

	wantCode(t, "Put for an unknown tenant", s.Put(f.ctx, newTenantID(t), first), mdm.NotFound)
}

func testEmailTemplateTenantsApart(t *testing.T, f *fixture) {
	s := f.s.EmailTemplates()
	a := mdm.EmailTemplate{Name: "invitation_pin", Subject: "A", HTML: "<p>A {{.PIN}}</p>", Text: "A {{.PIN}}", ModifiedAt: f.now, ModifiedBy: "a"}
	must(t, "Put A", s.Put(f.ctx, f.A.ID, a))

	_, err := s.Get(f.ctx, f.B.ID, "invitation_pin")
	wantCode(t, "B reads A's override", err, mdm.NotFound)
	list, err := s.List(f.ctx, f.B.ID)
	must(t, "List B", err)
	if len(list) != 0 {
		t.Errorf("B lists %d overrides, want none: %+v", len(list), list)
	}
	wantCode(t, "B deletes A's override", s.Delete(f.ctx, f.B.ID, "invitation_pin"), mdm.NotFound)

	b := a
	b.Subject, b.ModifiedBy = "B", "b"
	must(t, "Put B", s.Put(f.ctx, f.B.ID, b))
	gotA, err := s.Get(f.ctx, f.A.ID, "invitation_pin")
	must(t, "Get A", err)
	if d := diff(a, *gotA); d != "" {
		t.Errorf("A's override after B saved its own (-want +got):\n%s", d)
	}
	must(t, "Delete B", s.Delete(f.ctx, f.B.ID, "invitation_pin"))
	if _, err := s.Get(f.ctx, f.A.ID, "invitation_pin"); err != nil {
		t.Errorf("A's override after B reset its own: %v", err)
	}
}
