package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/mdm"
	"steward/internal/tenants"
)

// tenantFields are the create form's inputs, named as the service names its field errors.
var tenantFields = []string{"name", "adminEmail", "adminFirstName", "adminLastName", "licenseDevices", "adminPassword", "access"}

type tenantsView struct {
	List tenantList
	New  tenantForm
}

type tenantList struct {
	Items []mdm.Tenant
	Pager pager
	// SearchOOB sends the search box along out of band (emptied after a tenant is created).
	SearchOOB bool
}

type tenantForm struct {
	Form          form
	Created       *tenants.Created
	MailDelivered bool
}

// home is /console: the System Admin's tenants, or the Tenant Admin's own tenant.
func (c *console) home(w http.ResponseWriter, r *http.Request) error {
	p := mdm.PrincipalFrom(r.Context())
	if p.IsSystemAdmin() {
		http.Redirect(w, r, "/console/tenants", http.StatusSeeOther)
		return nil
	}
	t, err := c.Tenants.Current(r.Context())
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, "home", page{Title: t.Name, Nav: "home", Data: homeView{Tenant: t, Push: c.pushWarning(r)}})
}

func (c *console) tenantList(r *http.Request, start int, q string) (tenantList, error) {
	opts := mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "createdAt", Desc: true}}}
	pg, err := c.Tenants.List(r.Context(), opts)
	if err != nil {
		return tenantList{}, err
	}
	return tenantList{Items: pg.Items, Pager: pager{Path: "/console/tenants", Query: q, Start: start, Rows: pageRows,
		Total: pg.TotalCount, Shown: len(pg.Items), HXTarget: "tenant-list"}}, nil
}

func (c *console) newTenantForm() tenantForm {
	f := newForm()
	f.Values["licenseDevices"] = strconv.Itoa(tenants.DefaultLicenseDevices)
	f.Values["access"] = "activation"
	return tenantForm{Form: f, MailDelivered: c.MailDelivered}
}

// tenantsPage lists tenants with the search box and the New tenant form. The search box swaps only
// the list (HX-Target tenant-list).
func (c *console) tenantsPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	list, err := c.tenantList(r, start, q)
	if err != nil {
		return err
	}
	w.Header().Set("Vary", "HX-Request, HX-Target")
	if hxTarget(r) == "tenant-list" {
		return fragment(w, http.StatusOK, "tenants", "tenant_list", list)
	}
	v := tenantsView{List: list, New: c.newTenantForm()}
	pg := page{Title: "Tenants", Nav: "tenants", Data: v}
	if id := r.URL.Query().Get("created"); id != "" {
		if t, err := c.Tenants.Get(r.Context(), mdm.TenantID(id)); err == nil {
			pg.Flash = &flash{Kind: "success", Text: "Tenant " + t.Name + " was created."}
		}
	}
	return render(w, r, http.StatusOK, "tenants", pg)
}

// createTenant handles the New tenant form. With htmx it answers the form again (empty after success,
// with the errors otherwise) and, after success, the refreshed list out of band; a plain POST is
// redirected to the list, or answered with the whole page and the errors.
func (c *console) createTenant(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	for _, name := range tenantFields {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	f.Values["adminPassword"] = r.PostForm.Get("adminPassword")
	send := f.Values["access"] != "password"
	in := tenants.CreateInput{Name: f.Values["name"], AdminEmail: f.Values["adminEmail"],
		AdminFirstName: f.Values["adminFirstName"], AdminLastName: f.Values["adminLastName"], SendActivation: &send}
	if !send {
		in.AdminPassword = f.Values["adminPassword"]
	}
	if s := f.Values["licenseDevices"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			f.Errors["licenseDevices"] = "Enter a whole number."
		}
		in.LicenseDevices = &n
	}
	var created *tenants.Created
	var err error
	status := http.StatusBadRequest
	if len(f.Errors) == 0 {
		created, err = c.Tenants.Create(r.Context(), in)
		if err != nil {
			var ok bool
			if status, ok = f.setError(err, tenantFields...); !ok {
				return err
			}
			if f.Errors["adminPassword"] != "" && !send && in.AdminPassword == "" {
				f.Errors["adminPassword"] = "Enter an initial password, or choose the activation email."
			}
		}
	}

	if created == nil { // the form has errors
		tf := tenantForm{Form: f, MailDelivered: c.MailDelivered}
		if isHTMX(r) {
			return fragment(w, status, "tenants", "tenant_form", tf)
		}
		list, err := c.tenantList(r, 0, "")
		if err != nil {
			return err
		}
		return render(w, r, status, "tenants", page{Title: "Tenants", Nav: "tenants", Data: tenantsView{List: list, New: tf}})
	}
	if !isHTMX(r) {
		http.Redirect(w, r, "/console/tenants?created="+string(created.Tenant.ID), http.StatusSeeOther)
		return nil
	}
	list, err := c.tenantList(r, 0, "")
	if err != nil {
		return err
	}
	list.SearchOOB = true
	tf := c.newTenantForm()
	tf.Created = created
	return fragment(w, http.StatusOK, "tenants", "tenant_created", tenantsView{List: list, New: tf})
}

// setTenantState suspends or resumes a tenant; htmx swaps just its row.
func (c *console) setTenantState(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	state := r.PostForm.Get("state")
	t, err := c.Tenants.Update(r.Context(), mdm.TenantID(r.PathValue("id")), tenants.UpdateInput{State: &state})
	if err != nil {
		return err
	}
	if isHTMX(r) {
		return fragment(w, http.StatusOK, "tenants", "tenant_row", t)
	}
	http.Redirect(w, r, "/console/tenants", http.StatusSeeOther)
	return nil
}
