package web

import (
	"net/http"
	"slices"
	"strconv"

	"steward/internal/appreg"
	"steward/internal/authz"
	"steward/internal/mdm"
)

func init() {
	doneMessages["appregdeleted"] = "The app registration was deleted: the application can no longer authenticate."
}

// appRegRow is one registration in the table.
type appRegRow struct {
	mdm.AppRegistration
	Application string
}

// appRegsView is the App Registrations page.
type appRegsView struct {
	Rows   []appRegRow
	Manage bool
}

// appRegNewView is the form for a new registration.
type appRegNewView struct {
	Types  []authz.AppType
	Form   form
	Chosen []string // the elevated scopes ticked
}

// Checked reports whether scope was ticked on the submitted form.
func (v appRegNewView) Checked(scope string) bool { return slices.Contains(v.Chosen, scope) }

// ScopeText describes a scope for the checkboxes.
func (appRegNewView) ScopeText(name string) string {
	if s, ok := authz.LookupScope(name); ok {
		return s.Description
	}
	return ""
}

// appRegCreatedView is the one page that shows a new registration's client secret.
type appRegCreatedView struct {
	Application string
	Description string
	ClientID    string
	Secret      string
	TokenURL    string
	Scopes      []string
}

func (c *console) appRegRoutes() {
	if c.AppRegistrations == nil {
		return
	}
	c.signedIn("GET /console/appregistrations", c.appRegsPage)
	c.signedIn("GET /console/appregistrations/new", c.newAppRegPage)
	c.signedIn("POST /console/appregistrations/new", c.createAppReg)
	c.signedIn("GET /console/appregistrations/{id}/delete", c.deleteAppRegPage)
	c.signedIn("POST /console/appregistrations/{id}/delete", c.deleteAppReg)
}

func applicationName(appType string) string {
	if t, ok := authz.LookupAppType(appType); ok {
		return t.Name
	}
	return appType
}

// appRegsPage lists the tenant's registrations; managers get the New and Delete actions.
func (c *console) appRegsPage(w http.ResponseWriter, r *http.Request) error {
	regs, err := c.AppRegistrations.List(r.Context())
	if err != nil {
		return err
	}
	v := appRegsView{Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.SystemManage))}
	for _, reg := range regs {
		v.Rows = append(v.Rows, appRegRow{AppRegistration: reg, Application: applicationName(reg.AppType)})
	}
	return render(w, r, http.StatusOK, "appregs", page{Title: "App Registrations", Nav: "appregs",
		Flash: doneFlash(r.URL.Query()), Data: v})
}

func (c *console) renderNewAppReg(w http.ResponseWriter, r *http.Request, status int, v appRegNewView) error {
	v.Types = authz.AppTypes()
	return render(w, r, status, "appreg_new", page{Title: "New app registration", Nav: "appregs", Data: v})
}

func (c *console) newAppRegPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.SystemManage); err != nil {
		return err
	}
	return c.renderNewAppReg(w, r, http.StatusOK, appRegNewView{Form: newForm()})
}

// createAppReg creates a registration and answers with its credentials, in this response only: the
// secret never goes into a URL, a redirect or a page that can be fetched again.
func (c *console) createAppReg(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	appType := r.PostForm.Get("appType")
	f.Values["appType"] = appType
	f.Values["description"] = r.PostForm.Get("description")
	var scopes []string
	// The elevated scopes are offered under the Custom App only; a type without optional scopes
	// ignores any left ticked from choosing the Custom App first.
	if t, ok := authz.LookupAppType(appType); ok && len(t.Optional) > 0 {
		scopes = r.PostForm["scopes"]
	}
	created, err := c.AppRegistrations.Create(r.Context(), appreg.NewRegistration{AppType: appType,
		Description: f.Values["description"], Scopes: scopes})
	if err != nil {
		status, ok := f.setError(err, "appType", "description", "scopes")
		if !ok {
			return err
		}
		return c.renderNewAppReg(w, r, status, appRegNewView{Form: f, Chosen: scopes})
	}
	reg := created.Registration
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	return render(w, r, http.StatusOK, "appreg_created", page{Title: "App registration created", Nav: "appregs",
		Data: appRegCreatedView{Application: applicationName(reg.AppType), Description: reg.Description,
			ClientID: reg.ClientID, Secret: created.Secret, TokenURL: created.TokenURL, Scopes: reg.Scopes}})
}

// appReg finds one of the caller's tenant's registrations by the path's id.
func (c *console) appReg(r *http.Request) (mdm.AppRegistration, error) {
	id, err := pathID(r.PathValue("id"))
	if err != nil {
		return mdm.AppRegistration{}, err
	}
	regs, err := c.AppRegistrations.List(r.Context())
	if err != nil {
		return mdm.AppRegistration{}, err
	}
	for _, reg := range regs {
		if reg.ID == id {
			return reg, nil
		}
	}
	return mdm.AppRegistration{}, mdm.Errorf(mdm.NotFound, "app registration not found")
}

func (c *console) deleteAppRegPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.SystemManage); err != nil {
		return err
	}
	reg, err := c.appReg(r)
	if err != nil {
		return err
	}
	name := applicationName(reg.AppType)
	if reg.Description != "" {
		name += " (" + reg.Description + ")"
	}
	id := strconv.FormatInt(reg.ID, 10)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete the app registration", Nav: "appregs", Data: confirmView{
		Heading: "Delete the app registration " + name + "?",
		Text: "Deleting an app registration cannot be undone. The application will no longer be able to authenticate " +
			"unless another app registration is created and its new credentials are entered in the application.",
		Action: "/console/appregistrations/" + id + "/delete", Button: "Delete registration", Back: "/console/appregistrations"}})
}

func (c *console) deleteAppReg(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := c.AppRegistrations.Delete(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/appregistrations?done=appregdeleted", http.StatusSeeOther)
	return nil
}
