package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"steward/internal/accounts"
	"steward/internal/android"
	"steward/internal/applemdm"
	"steward/internal/appreg"
	"steward/internal/apps"
	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/compliance"
	"steward/internal/configurations"
	"steward/internal/content"
	"steward/internal/devices"
	"steward/internal/form"
	"steward/internal/httpx"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/patch"
	"steward/internal/tenants"
)

// API serves /api/… . Every route goes through add, which also describes it in the OpenAPI document.
type API struct {
	log      *slog.Logger
	tenants  *tenants.Service
	audit    *audit.Service
	outbox   *mail.Outbox
	accounts *accounts.Service
	devices  *devices.Service
	agent    *android.Handler
	apple    *applemdm.Service
	appReg   *appreg.Service
	patch    *patch.Service
	configs  *configurations.Service
	assign   *assign.Service
	content  *content.Service
	apps     *apps.Service
	mux      *http.ServeMux
	routes   []Route

	compliance *compliance.Service

	emailTemplates *mail.Editor
	baseURL        string
	clientTokens   ClientTokens
	deviceSpace    func(ctx context.Context, tenantID mdm.TenantID) (mdm.SpaceID, error)
}

// Deps are the services the API calls.
type Deps struct {
	Log      *slog.Logger
	Tenants  *tenants.Service
	Audit    *audit.Service
	Outbox   *mail.Outbox
	Accounts *accounts.Service

	EmailTemplates *mail.Editor
	// Devices serves /api/v1/device…; Agent the Android agent protocol under /api/agent/v1 (nil: not served).
	Devices *devices.Service
	Agent   *android.Handler
	// DeviceSpace returns a tenant's default device space (dmPartitionId), whatever the caller's roles.
	DeviceSpace func(ctx context.Context, tenantID mdm.TenantID) (mdm.SpaceID, error)
	// Apple serves the tenant's Apple push certificate under /api/v1/apple (nil: not served).
	Apple *applemdm.Service
	// AppRegistrations serves /api/v1/appregistrations (nil: not served).
	AppRegistrations *appreg.Service
	// Patch serves the Patch Management API under /api/patch/content/v1 (nil: not served).
	Patch *patch.Service
	// BaseURL is the absolute URL clients reach Steward at (Data Services next links); "" uses the request's host.
	BaseURL string
	// ClientTokens serves the Neurons header token endpoints (nil: not served).
	ClientTokens ClientTokens
	// Assign serves device groups and categories (nil: not served); item routes use it to check targets.
	Assign *assign.Service
	// Content serves /api/v1/content and the agent's content catalog (nil: not served).
	Content *content.Service
	// Apps serves apps, the App Catalog and the App Inventory (nil: not served; needs Assign).
	Apps *apps.Service
	// Configurations serves /api/v1/configurations and /api/v1/policy (nil: not served).
	Configurations *configurations.Service
	// Compliance serves /api/v1/policies and /api/v1/compliance (nil: not served).
	Compliance *compliance.Service
}

// Route is one API operation: how it is served and how it is documented.
type Route struct {
	Method      string
	Path        string // ServeMux pattern path, e.g. /api/v1/tenants/{id}
	Summary     string
	Description string
	Tag         string
	// Needs is the permission the route checks ("" for a public route). authz.SystemAdmin marks the
	// System Admin's own routes; SystemAdminToo lets a System Admin through a tenant permission as well
	// (platform-wide reads such as the audit trail).
	Needs          authz.Permission
	SystemAdminToo bool
	Query          []Param
	Body           any  // request body type (zero value), nil for none
	Result         any  // result type (zero value)
	List           bool // the result is a searchResult page of Result
	// DeviceAuth marks a device protocol route: the device authenticates itself with its credential
	// (Bearer) in the handler; no user, API user or session principal is ever let through.
	DeviceAuth bool
	// ClientAuth marks an App Registration's token endpoint: the handler authenticates the client by its
	// own credentials (client id and secret); whatever principal the request carries is not used.
	ClientAuth bool
	JSONOnly   bool // the body is JSON only (no form encoding)
	Multipart  bool // the body is multipart/form-data (a file upload) only
	File       bool // the success response is a file download, not the JSON envelope
	Status     int  // the success status when not 200 (for the document)
	handler    httpx.HandlerFunc
}

// Param is a documented query parameter.
type Param struct {
	Name, Type, Description string
}

// Allows reports whether the route's declaration lets p through (the matrix test holds each handler to it).
func (rt Route) Allows(p *mdm.Principal) bool {
	switch {
	case rt.DeviceAuth:
		return p == nil
	case rt.ClientAuth:
		return true // the handler itself authenticates, and answers 401 to anyone without client credentials
	case rt.Needs == "":
		return true
	case p == nil:
		return false
	case p.IsSystemAdmin():
		return rt.Needs == authz.SystemAdmin || rt.SystemAdminToo
	}
	return authz.Allowed(p, rt.Needs)
}

var listParams = []Param{
	{"start", "integer", "0-based offset of the first row"},
	{"rows", "integer", "page size, 1 to 500 (default 50)"},
	{"sortFields[0].name", "string", "field to sort on"},
	{"sortFields[0].order", "string", "ASC or DESC"},
	{"q", "string", "free-text search"},
	{"fq", "string", "filter, e.g. name=acme* and state=ACTIVE (fields: see the description)"},
}

// New builds the API and its routes.
func New(d Deps) *API {
	a := &API{log: d.Log, tenants: d.Tenants, audit: d.Audit, outbox: d.Outbox, accounts: d.Accounts,
		mux: http.NewServeMux()}
	a.emailTemplates, a.baseURL = d.EmailTemplates, d.BaseURL
	a.clientTokens = d.ClientTokens
	a.devices, a.agent, a.deviceSpace = d.Devices, d.Agent, d.DeviceSpace
	a.tenantRoutes()
	a.auditRoutes()
	a.mailRoutes()
	a.roleRoutes()
	a.accountRoutes()
	a.registrationRoutes()
	a.groupRoutes()
	a.selfServiceRoutes()
	a.emailTemplateRoutes()
	if a.devices != nil {
		a.deviceRoutes()
	}
	a.dataServiceRoutes()
	a.agentRoutes()
	if d.Apple != nil {
		a.apple = d.Apple
		a.applePushRoutes()
	}
	if d.AppRegistrations != nil {
		a.appReg = d.AppRegistrations
		a.appRegRoutes()
	}
	if d.Patch != nil {
		a.patch = d.Patch
		a.patchRoutes()
	}
	a.clientTokenRoutes()
	if d.Assign != nil {
		a.assign = d.Assign
		a.deviceGroupRoutes()
		a.categoryRoutes()
		if d.Apps != nil {
			a.apps = d.Apps
			a.appRoutes()
		}
	}
	if d.Content != nil {
		a.content = d.Content
		a.contentRoutes()
	}
	if d.Configurations != nil {
		a.configs = d.Configurations
		a.configurationRoutes()
	}
	if d.Compliance != nil {
		a.compliance = d.Compliance
		a.policyRoutes()
	}
	a.docRoutes()
	a.mux.Handle("/api/", a.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return mdm.Errorf(mdm.NotFound, "no API operation at %s %s", r.Method, r.URL.Path)
	}))
	return a
}

// add serves rt with h behind the check of rt's declared permission (the services check again: this
// edge check keeps anonymous and unauthorised callers from learning even whether an object exists).
func (a *API) add(rt Route, h httpx.HandlerFunc) {
	rt.handler = h
	a.routes = append(a.routes, rt)
	a.mux.Handle(rt.Method+" "+rt.Path, a.adapt(func(w http.ResponseWriter, r *http.Request) error {
		if !rt.Multipart {
			// Every body but an upload (which has its own cap) is at most form.MaxBody, whether or not
			// the handler reads it; one declared larger is refused before anything runs.
			if r.ContentLength > form.MaxBody {
				return form.TooLarge()
			}
			r.Body = http.MaxBytesReader(w, r.Body, form.MaxBody)
		}
		if p := mdm.PrincipalFrom(r.Context()); !rt.Allows(p) {
			if p == nil {
				return mdm.Errorf(mdm.Unauthenticated, "authentication required")
			}
			return mdm.Errorf(mdm.Forbidden, "this call needs %s", accessText(rt))
		}
		return h(w, r)
	}))
}

func (a *API) adapt(h httpx.HandlerFunc) http.Handler {
	inner := httpx.Adapt(a.log, WriteError, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.SetRoute(r)
		inner.ServeHTTP(w, r)
	})
}

// ServeHTTP serves /api/….
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Routes lists every operation, for the OpenAPI document and its test.
func (a *API) Routes() []Route { return a.routes }

// AddOperational documents routes served outside /api (health, readiness, metrics) so that the OpenAPI
// document covers every route.
func (a *API) AddOperational(rts ...Route) { a.routes = append(a.routes, rts...) }
