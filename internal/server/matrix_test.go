package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// TestRouteRoleMatrix calls every route as anonymous, as the System Admin, as a user holding each role
// (and none), as a portal session and as a registered device, and checks that the handler lets through
// exactly whom the route's declaration (Route.Needs) allows: 401 for anonymous and 403 for the rest
// when refused, never 401/403 when allowed. Device protocol routes (Route.DeviceAuth) let through the
// device only and answer everyone else 401 with the Bearer challenge; a device credential is no
// principal anywhere else (401). App Registration tokens reach what their scopes allow; the token
// endpoints (Route.ClientAuth) refuse every caller without client credentials (401). Every OAuth scope
// is a caller of its own (a token holding that scope alone). What each caller may do comes from one
// declarative table, routeAccess with permissionHolders, which the route table and authz must agree with.
func TestRouteRoleMatrix(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	tenant, _ := e.createTenant("Matrix")
	const pw = "Matrix-user-pw-1"
	hash := secret.HashPassword(pw)
	type caller struct {
		name      string
		auth      string
		principal *mdm.Principal
		portal    string // a /go portal session cookie instead of Basic credentials
		device    string // a device credential (Bearer) instead
		bearer    string // an App Registration's access token (Bearer) instead
		who       matrixCaller
	}
	callers := []caller{
		{name: "anonymous", who: matrixCaller{anonymous: true}},
		{name: "System Admin", auth: e.admin(), principal: &mdm.Principal{Kind: mdm.SystemAdminPrincipal}, who: matrixCaller{systemAdmin: true}},
	}
	roleSets := [][]string{nil}
	for _, r := range authz.Roles() {
		roleSets = append(roleSets, []string{r.ID})
	}
	for i, roles := range roleSets {
		email := fmt.Sprintf("role%d@matrix.example.com", i)
		now := time.Now()
		a := mdm.Account{TenantID: mdm.TenantID(tenant.ID), Username: email, Email: email, FirstName: "R", LastName: "R",
			PasswordHash: hash, Roles: roles, Enabled: true, CreatedAt: now, ModifiedAt: now}
		if err := e.srv.Store().InTx(context.Background(), func(tx mdm.Stores) error { return tx.Accounts().Create(context.Background(), &a) }); err != nil {
			t.Fatal(err)
		}
		name, role := "no role", ""
		if roles != nil {
			name, role = roles[0], roles[0]
		}
		callers = append(callers, caller{name: name, auth: email + ":" + pw, who: matrixCaller{role: role},
			principal: &mdm.Principal{Kind: mdm.AccountPrincipal, TenantID: mdm.TenantID(tenant.ID), Roles: roles}})
	}

	// A Tenant Admin signed in to the /go portal: the portal session holds SelfService and nothing else.
	b := e.browser()
	if st, _ := b.signIn("ta@matrix.example.com", "password", "Tenant-admin-pw-1"); st != 200 {
		t.Fatalf("portal sign-in: %d", st)
	}
	callers = append(callers, caller{name: "portal session", principal: &mdm.Principal{Kind: mdm.PortalPrincipal,
		TenantID: mdm.TenantID(tenant.ID), Roles: []string{mdm.RoleTenantAdmin}}, portal: b.cookie("steward_portal"),
		who: matrixCaller{portal: true}})
	device := e.enrolled("ta@matrix.example.com:Tenant-admin-pw-1", "dev@matrix.example.com", "MATRIX1")
	callers = append(callers, caller{name: "device", device: device.Credential, who: matrixCaller{device: true}})
	// App Registrations' access tokens: a Custom App's read scopes, and every scope it can be given.
	for _, elevated := range []bool{false, true} {
		var extra []string
		name := "app token (read scopes)"
		if elevated {
			custom, _ := authz.LookupAppType(authz.AppTypeCustom)
			extra, name = custom.Optional, "app token (every scope)"
		}
		app := e.registerApp(mdm.TenantID(tenant.ID), authz.AppTypeCustom, extra...)
		scope := ""
		if elevated {
			scope = strings.Join(app.Registration.Scopes, " ")
		}
		tok := e.clientToken(tenant.ID, app.Registration.ClientID, app.Secret, scope)
		callers = append(callers, caller{name: name, bearer: tok.AccessToken, principal: &mdm.Principal{Kind: mdm.ClientPrincipal,
			TenantID: mdm.TenantID(tenant.ID), ClientID: app.Registration.ClientID, Scopes: strings.Fields(tok.Scope)},
			who: matrixCaller{scopes: strings.Fields(tok.Scope)}})
	}
	// A token holding one scope alone, for every scope: a Custom App may hold each.
	custom, _ := authz.LookupAppType(authz.AppTypeCustom)
	app := e.registerApp(mdm.TenantID(tenant.ID), authz.AppTypeCustom, custom.Optional...)
	for _, sc := range authz.Scopes() {
		tok := e.clientToken(tenant.ID, app.Registration.ClientID, app.Secret, sc.Name)
		if tok.Scope != sc.Name {
			t.Fatalf("a token asked for %s holds %q", sc.Name, tok.Scope)
		}
		callers = append(callers, caller{name: "app token (" + sc.Name + ")", bearer: tok.AccessToken,
			principal: &mdm.Principal{Kind: mdm.ClientPrincipal, TenantID: mdm.TenantID(tenant.ID),
				ClientID: app.Registration.ClientID, Scopes: []string{sc.Name}},
			who: matrixCaller{scopes: []string{sc.Name}}})
	}
	checkAccessTables(t, e.srv.api.Routes())

	cells := 0
	covered := map[string]bool{}
	for _, rt := range e.srv.api.Routes() {
		covered[rt.Method+" "+rt.Path] = true
		access, ok := routeAccess[rt.Method+" "+rt.Path]
		if !ok {
			continue // checkAccessTables reported it
		}
		path := strings.ReplaceAll(rt.Path, "{id}", tenant.ID)
		path = strings.ReplaceAll(path, "{tenantId}", tenant.ID)
		path = strings.ReplaceAll(path, "{name}", "invitation_pin")  // email templates: a real one
		path = strings.ReplaceAll(path, "{patchGroupId}", tenant.ID) // a GUID that names no patch group
		body := ""
		if rt.Method == "POST" || rt.Method == "PUT" {
			body = "{}" // allowed callers get a 400 and nothing changes
		}
		for _, c := range callers {
			cells++
			var r *response
			switch {
			case c.portal != "":
				r = e.callPortal(rt.Method, path, c.portal, body)
			case c.device != "" || c.bearer != "":
				req := newRequest(t, rt.Method, e.url+path, body)
				req.Header.Set("Authorization", "Bearer "+c.device+c.bearer)
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				r = e.send(req)
			default:
				r = e.call(rt.Method, path, c.auth, body)
			}
			denied := r.Status == 401 || r.Status == 403
			if c.device != "" || rt.DeviceAuth {
				// The device protocol: only the device gets through; a device is nobody elsewhere, except
				// on the protocol's public registration.
				allowed := c.device != "" && (rt.DeviceAuth || strings.HasPrefix(rt.Path, "/api/agent/"))
				switch {
				case allowed && denied:
					t.Errorf("%s %s as %s: %d, want it allowed: %s", rt.Method, rt.Path, c.name, r.Status, r.Body)
				case !allowed && r.Status != 401:
					t.Errorf("%s %s as %s: %d, want 401", rt.Method, rt.Path, c.name, r.Status)
				case rt.DeviceAuth && !allowed && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer"):
					t.Errorf("%s %s as %s: WWW-Authenticate %q, want Bearer", rt.Method, rt.Path, c.name, r.Header.Get("WWW-Authenticate"))
				}
				continue
			}
			if rt.ClientAuth {
				// Token endpoints: no caller here presents client credentials, so every one is refused,
				// whatever other credential it carries.
				if r.Status != 401 {
					t.Errorf("%s %s as %s: %d, want 401 (no client credentials): %s", rt.Method, rt.Path, c.name, r.Status, r.Body)
				}
				continue
			}
			allowed := accessAllows(access, c.who)
			if declared := c.principal != nil && rt.Allows(c.principal) || c.principal == nil && rt.Needs == ""; declared != allowed {
				t.Errorf("%s %s as %s: the route table lets it through: %v, routeAccess (%s): %v", rt.Method, rt.Path, c.name,
					declared, access, allowed)
			}
			switch {
			case allowed && denied:
				t.Errorf("%s %s as %s: %d, want it allowed: %s", rt.Method, rt.Path, c.name, r.Status, r.Body)
			case !allowed && c.principal == nil && r.Status != 401:
				t.Errorf("%s %s anonymous: %d, want 401", rt.Method, rt.Path, r.Status)
			case !allowed && c.principal != nil && r.Status != 403:
				t.Errorf("%s %s as %s: %d, want 403", rt.Method, rt.Path, c.name, r.Status)
			}
		}
	}
	for _, want := range []string{"GET /api/v1/apple/pushcertificate", "PUT /api/v1/apple/pushcertificate", "DELETE /api/v1/apple/pushcertificate",
		"GET /api/v1/appregistrations", "GET /api/v1/appregistrations/types", "POST /api/v1/appregistrations",
		"DELETE /api/v1/appregistrations/{id}", "PUT /api/v1/appregistrations/{id}", "PATCH /api/v1/appregistrations/{id}",

		"POST /api/patch/content/v1/cves-to-patch-group", "PUT /api/patch/content/v1/cves-to-patch-group/{patchGroupId}",
		"POST /api/patch/content/v1/patch-group/{patchGroupId}/deploy", "POST /api/v1/patch/catalog"} {
		if !covered[want] {
			t.Errorf("the matrix does not cover %s", want)
		}
	}
	if cells < 150 {
		t.Errorf("only %d route x caller cells checked", cells)
	}
	t.Logf("%d routes x %d callers = %d cells", len(e.srv.api.Routes()), len(callers), cells)
	if n := tenantCount(t, e); n != 1 {
		t.Errorf("the matrix changed the tenant count to %d", n)
	}
}
