// Package web is Steward's server-rendered console: sign-in, account activation, the System Admin's
// tenants, site report, outbox and audit pages, and the tenant administrators' pages (overview, users,
// groups, roles, registration settings, devices, device groups, categories). Pages are
// html/template (escaped by default) enhanced with htmx; templates and assets are embedded. CSRF is
// handled by the cross-origin protection the server wraps around every request.
package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"steward/internal/accounts"
	"steward/internal/applemdm"
	"steward/internal/appreg"
	"steward/internal/apps"
	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/compliance"
	"steward/internal/configurations"
	"steward/internal/content"
	"steward/internal/devices"
	"steward/internal/httpx"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/tenants"
)

// Deps are the services the console calls.
type Deps struct {
	Log      *slog.Logger
	Accounts *accounts.Service
	Tenants  *tenants.Service
	Audit    *audit.Service
	Outbox   *mail.Outbox
	Devices  *devices.Service
	// Apple keeps the tenant's Apple push certificate (nil: no Apple pages).
	Apple *applemdm.Service
	// AppRegistrations keeps the tenant's App Registrations (nil: no App Registrations pages).
	AppRegistrations *appreg.Service
	// EmailTemplates edits the tenant's system emails.
	EmailTemplates *mail.Editor
	// Assign keeps device groups and categories (nil: no Device groups or Categories pages).
	Assign *assign.Service
	// Compliance keeps policies (nil: no Policies page).
	Compliance *compliance.Service
	// Content keeps the tenant's documents (nil: no Content page and no content in /go).
	Content *content.Service
	// Apps serves the Apps, App Catalog and App Inventory pages and the portal's app catalog (nil: not
	// served; needs Assign).
	Apps *apps.Service
	// Configurations serves the configuration pages (nil: none).
	Configurations *configurations.Service
	// SecureCookies sets the Secure flag on cookies (the base URL is https).
	SecureCookies bool
	// MailDelivered says an SMTP server is configured. When false, mail stays in the outbox and a
	// System Admin may read bodies in the console.
	MailDelivered bool
}

type console struct {
	Deps
	mux *http.ServeMux
}

// maxFormBytes bounds every form body the console reads.
const maxFormBytes = 64 << 10

// New returns the console's handler for every path outside /api/.
func New(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	c := &console{Deps: d, mux: http.NewServeMux()}

	c.handle("GET /{$}", c.root)
	c.handle("GET /static/{name}", serveStatic)
	c.handle("GET /login", c.loginPage)
	c.handle("POST /login", c.login)
	c.handle("POST /logout", c.logout)
	c.handle("GET /activate", c.activatePage)
	c.handle("POST /activate", c.activate)
	c.portalRoutes()

	c.signedIn("GET /console", c.home)
	c.signedIn("GET /console/{$}", c.home)
	c.signedIn("GET /console/tenants", c.tenantsPage)
	c.signedIn("POST /console/tenants", c.createTenant)
	c.signedIn("POST /console/tenants/{id}/state", c.setTenantState)
	c.signedIn("GET /console/report", c.reportPage)
	c.signedIn("GET /console/mail", c.mailPage)
	c.signedIn("GET /console/mail/{id}", c.mailMessage)
	c.signedIn("GET /console/audit", c.auditPage)
	c.signedIn("GET /console/users", c.usersPage)
	c.signedIn("POST /console/users", c.addUser)
	c.signedIn("POST /console/users/bulk", c.addUsers)
	c.signedIn("POST /console/users/invite", c.inviteUsers)
	c.signedIn("GET /console/users/{id}", c.userPage)
	c.signedIn("POST /console/users/{id}", c.updateUser)
	c.signedIn("POST /console/users/{id}/pin", c.generatePIN)
	c.signedIn("GET /console/users/{id}/delete", c.deleteUserPage)
	c.signedIn("POST /console/users/{id}/delete", c.deleteUser)
	c.signedIn("GET /console/groups", c.groupsPage)
	c.signedIn("POST /console/groups", c.createGroup)
	c.signedIn("GET /console/groups/{id}", c.groupPage)
	c.signedIn("POST /console/groups/{id}", c.updateGroup)
	c.signedIn("POST /console/groups/{id}/members", c.changeMembers)
	c.signedIn("GET /console/groups/{id}/delete", c.deleteGroupPage)
	c.signedIn("POST /console/groups/{id}/delete", c.deleteGroup)
	c.signedIn("GET /console/roles", c.rolesPage)
	c.signedIn("GET /console/registration", c.registrationPage)
	c.signedIn("POST /console/registration", c.saveRegistration)
	c.signedIn("GET /console/emailtemplates", c.emailTemplatesPage)
	c.signedIn("GET /console/emailtemplates/{name}", c.emailTemplatePage)
	c.signedIn("POST /console/emailtemplates/{name}", c.emailTemplateAction)
	c.signedIn("POST /console/emailtemplates/{name}/reset", c.resetEmailTemplate)
	c.signedIn("GET /console/support", c.supportPage)
	c.signedIn("POST /console/support", c.saveSupport)
	c.deviceRoutes()
	c.applePushRoutes()
	c.appRegRoutes()
	c.contentRoutes()
	c.signedIn("GET /console/registration/new", c.newOverridePage)
	c.signedIn("POST /console/registration/new", c.createOverride)
	c.signedIn("GET /console/registration/groups/{id}", c.overridePage)
	c.signedIn("POST /console/registration/groups/{id}", c.saveOverride)
	c.signedIn("POST /console/registration/groups/{id}/move", c.moveOverride)
	c.signedIn("GET /console/registration/groups/{id}/delete", c.deleteOverridePage)
	c.signedIn("POST /console/registration/groups/{id}/delete", c.deleteOverride)

	if d.Assign != nil {
		c.signedIn("GET /console/devicegroups", c.deviceGroupsPage)
		c.signedIn("POST /console/devicegroups", c.createDeviceGroup)
		c.signedIn("GET /console/devicegroups/{id}", c.deviceGroupPage)
		c.signedIn("POST /console/devicegroups/{id}", c.updateDeviceGroup)
		c.signedIn("POST /console/devicegroups/{id}/members", c.changeDeviceMembers)
		c.signedIn("GET /console/devicegroups/{id}/delete", c.deleteDeviceGroupPage)
		c.signedIn("POST /console/devicegroups/{id}/delete", c.deleteDeviceGroup)
		c.signedIn("GET /console/categories", c.categoriesPage)
		c.signedIn("POST /console/categories", c.createCategory)
		c.signedIn("GET /console/categories/{id}", c.categoryPage)
		c.signedIn("POST /console/categories/{id}", c.updateCategory)
		c.signedIn("GET /console/categories/{id}/delete", c.deleteCategoryPage)
		c.signedIn("POST /console/categories/{id}/delete", c.deleteCategory)
		if d.Apps != nil {
			c.appRoutes()
		}
	}

	if d.Configurations != nil {
		c.configurationRoutes()
	}

	if d.Compliance != nil {
		c.signedIn("GET /console/policies", c.policiesPage)
		c.signedIn("POST /console/policies", c.createPolicy)
		c.signedIn("GET /console/policies/{id}/delete", c.deletePolicyPage)
		c.signedIn("POST /console/policies/{id}/delete", c.deletePolicy)
	}

	c.handle("/", func(w http.ResponseWriter, r *http.Request) error {
		return mdm.Errorf(mdm.NotFound, "there is no page at %s", r.URL.Path)
	})
	return c.mux
}

// handle serves pattern with h, recording the route for metrics and rendering errors as pages.
func (c *console) handle(pattern string, h httpx.HandlerFunc) {
	inner := httpx.Adapt(c.Log, WriteError, h)
	c.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.SetRoute(r)
		inner.ServeHTTP(w, r)
	}))
}

// signedIn is handle for console pages: an anonymous visitor is sent to the sign-in page.
func (c *console) signedIn(pattern string, h httpx.HandlerFunc) {
	c.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		if consoleUser(r) == nil {
			toLogin(w, r)
			return nil
		}
		return h(w, r)
	})
}

// toLogin sends an anonymous visitor to /login, remembering a GET page to come back to. htmx requests
// get HX-Redirect, so that the whole page moves rather than a fragment.
func toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/console" && r.URL.Path != "/console/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps a post-login destination only when it is a console page on this site.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console") && !strings.ContainsAny(next, "\\\r\n") {
		if u, err := url.Parse(next); err == nil && u.Host == "" && u.Scheme == "" {
			return next
		}
	}
	return "/console"
}

func (c *console) root(w http.ResponseWriter, r *http.Request) error {
	if consoleUser(r) != nil {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
	} else {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
	return nil
}

// consoleUser is the request's console sign-in. Only a console session counts: HTTP Basic is for the
// API (an API user's credentials must never open a page), and a portal sign-in (mdm.PortalPrincipal)
// opens no console page, so both count as anonymous here.
func consoleUser(r *http.Request) *mdm.Principal {
	if p := mdm.PrincipalFrom(r.Context()); p != nil && p.Session && p.Kind != mdm.PortalPrincipal {
		return p
	}
	return nil
}

func isHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// hxTarget is the id of the element an htmx request will swap, "" for a full page request.
func hxTarget(r *http.Request) string {
	if !isHTMX(r) {
		return ""
	}
	return r.Header.Get("HX-Target")
}

// parseForm reads a bounded url-encoded form body.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return mdm.Wrap(mdm.Invalid, err, "the form could not be read")
	}
	return nil
}

// page is what every template receives.
type page struct {
	Title string
	Nav   string // the active navigation entry
	User  *mdm.Principal
	Flash *flash
	Data  any
}

type flash struct {
	Kind string // success, error, info
	Text string
}

// Content-Security-Policy of every page: nothing but this origin's own scripts, styles and images.
const (
	cspPage = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// cspMail also lets the sandboxed email preview (which inherits this policy) use its inline styles.
	cspMail = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	if h.Get("Referrer-Policy") == "" {
		h.Set("Referrer-Policy", "same-origin")
	}
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", cspPage)
	}
}

// render writes a whole page: tmpl's "content" inside the layout.
func render(w http.ResponseWriter, r *http.Request, status int, tmpl string, p page) error {
	p.User = consoleUser(r)
	return execute(w, status, tmpl, "layout", p)
}

// fragment writes one named block of tmpl (an htmx swap).
func fragment(w http.ResponseWriter, status int, tmpl, block string, data any) error {
	return execute(w, status, tmpl, block, data)
}

func execute(w http.ResponseWriter, status int, tmpl, block string, data any) error {
	t, ok := pages[tmpl]
	if !ok {
		return mdm.Errorf(mdm.Internal, "no template %s", tmpl)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, block, data); err != nil {
		return mdm.Wrap(mdm.Internal, err, "cannot render the page")
	}
	pageHeaders(w.Header())
	w.WriteHeader(status)
	w.Write(b.Bytes()) // a failed write is a gone client: nothing left to tell it
	return nil
}
