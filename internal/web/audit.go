package web

import (
	"net/http"

	"steward/internal/mdm"
)

type auditView struct {
	Items      []mdm.AuditRecord
	Pager      pager
	AllTenants bool // a System Admin: show which tenant each record belongs to
}

// auditPage lists the audit trail the caller may see, newest first.
func (c *console) auditPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	pg, err := c.Audit.List(r.Context(), mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "id", Desc: true}}})
	if err != nil {
		return err
	}
	v := auditView{Items: pg.Items, AllTenants: mdm.PrincipalFrom(r.Context()).IsSystemAdmin(),
		Pager: pager{Path: "/console/audit", Query: q, Start: start, Rows: pageRows, Total: pg.TotalCount, Shown: len(pg.Items)}}
	return render(w, r, http.StatusOK, "audit", page{Title: "Audit trail", Nav: "audit", Data: v})
}
