package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

var contentTests = []test{
	{"CRUD", testContent},
	{"ListAndGetMany", testContentList},
}

func (f *fixture) content(t *testing.T, tenant mdm.TenantID, name string, typ mdm.ContentType, key string) mdm.Content {
	t.Helper()
	c := mdm.Content{TenantID: tenant, Name: name, Description: "about " + name, FileName: name + ".pdf", Type: typ,
		MIMEType: "application/pdf", Size: 1234, SHA256: "ab12", BlobKey: key, CreatedBy: "admin", CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "Create content "+name, f.s.Contents().Create(f.ctx, &c))
	return c
}

func testContent(t *testing.T, f *fixture) {
	cs := f.s.Contents()
	a := f.content(t, f.A.ID, "Price list", mdm.ContentPDF, "k1")
	if a.ID == 0 || a.Version != 1 {
		t.Fatalf("created %+v: want an id and version 1", a)
	}
	got, err := cs.Get(f.ctx, f.A.ID, a.ID)
	must(t, "Get", err)
	if d := diff(a, *got); d != "" {
		t.Errorf("Get (-created +got):\n%s", d)
	}
	_, err = cs.Get(f.ctx, f.B.ID, a.ID)
	wantCode(t, "Get through B", err, mdm.NotFound)
	wantCode(t, "unknown tenant", cs.Create(f.ctx, &mdm.Content{TenantID: newTenantID(t), Name: "x", BlobKey: "k",
		CreatedAt: f.now, ModifiedAt: f.now}), mdm.NotFound)
	wantCode(t, "NUL in name", cs.Create(f.ctx, &mdm.Content{TenantID: f.A.ID, Name: "a\x00b", BlobKey: "k",
		CreatedAt: f.now, ModifiedAt: f.now}), mdm.Invalid)

	later := f.now.Add(time.Hour)
	name, desc := "Prices 2026", ""
	_, err = cs.Update(f.ctx, f.B.ID, a.ID, mdm.ContentPatch{Name: &name}, later)
	wantCode(t, "Update through B", err, mdm.NotFound)
	up, err := cs.Update(f.ctx, f.A.ID, a.ID, mdm.ContentPatch{Name: &name, Description: &desc}, later)
	must(t, "Update metadata", err)
	if up.Name != name || up.Description != "" || up.Version != 1 || !up.ModifiedAt.Equal(later) || up.BlobKey != "k1" {
		t.Errorf("after metadata update: %+v", up)
	}
	file := mdm.ContentFile{FileName: "prices.png", Type: mdm.ContentPNG, MIMEType: "image/png", Size: 99, SHA256: "cd34", BlobKey: "k2"}
	up, err = cs.Update(f.ctx, f.A.ID, a.ID, mdm.ContentPatch{File: &file}, later)
	must(t, "Update file", err)
	if up.Version != 2 || up.BlobKey != "k2" || up.Type != mdm.ContentPNG || up.Size != 99 || up.FileName != "prices.png" ||
		up.Name != name || !up.CreatedAt.Equal(f.now) {
		t.Errorf("after file replacement: %+v", up)
	}

	wantCode(t, "Delete through B", cs.Delete(f.ctx, f.B.ID, a.ID), mdm.NotFound)
	must(t, "Delete", cs.Delete(f.ctx, f.A.ID, a.ID))
	_, err = cs.Get(f.ctx, f.A.ID, a.ID)
	wantCode(t, "Get after Delete", err, mdm.NotFound)
	wantCode(t, "Delete again", cs.Delete(f.ctx, f.A.ID, a.ID), mdm.NotFound)
	_, err = cs.Update(f.ctx, f.A.ID, a.ID, mdm.ContentPatch{Name: &name}, later)
	wantCode(t, "Update after Delete", err, mdm.NotFound)
}

func testContentList(t *testing.T, f *fixture) {
	cs := f.s.Contents()
	a1 := f.content(t, f.A.ID, "Alpha", mdm.ContentPDF, "a1")
	a2 := f.content(t, f.A.ID, "Beta", mdm.ContentTXT, "a2")
	b1 := f.content(t, f.B.ID, "Alpha", mdm.ContentPDF, "b1")

	p, err := cs.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10})
	must(t, "List A", err)
	if p.TotalCount != 2 || len(p.Items) != 2 || p.Items[0].ID != a1.ID || p.Items[1].ID != a2.ID {
		t.Errorf("List A = %+v", p)
	}
	p, err = cs.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Filter: mdm.Compare{Field: "contentType", Op: mdm.Eq, Value: "TXT"}})
	must(t, "List A TXT", err)
	if p.TotalCount != 1 || p.Items[0].ID != a2.ID {
		t.Errorf("List A TXT = %+v", p)
	}
	p, err = cs.List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10, Query: "beta"})
	must(t, "List A q", err)
	if p.TotalCount != 1 || p.Items[0].ID != a2.ID {
		t.Errorf("List A q=beta = %+v", p)
	}
	p, err = cs.List(f.ctx, f.B.ID, mdm.ListOptions{Rows: 10})
	must(t, "List B", err)
	if p.TotalCount != 1 || p.Items[0].ID != b1.ID {
		t.Errorf("List B = %+v", p)
	}

	got, err := cs.GetMany(f.ctx, f.A.ID, []mdm.ContentID{a2.ID, b1.ID, a1.ID, 999999})
	must(t, "GetMany", err)
	if len(got) != 2 || got[0].ID != a1.ID || got[1].ID != a2.ID {
		t.Errorf("GetMany in A = %+v, want a1 and a2 only", got)
	}
	got, err = cs.GetMany(f.ctx, f.B.ID, nil)
	must(t, "GetMany none", err)
	if len(got) != 0 {
		t.Errorf("GetMany(nil) = %+v", got)
	}
}
