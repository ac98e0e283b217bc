package server

import (
	"slices"
	"strings"

	"testing"

	"steward/internal/authz"
	"steward/internal/httpapi"
)

// routeAccess is who may call each route, the one table the authorization matrix holds every route,
// role, scope and anonymous caller to: "public" (anyone), "device" (the device protocol: the device's
// own credential only), "client" (a token endpoint: the App Registration's client credentials only),
// "system.admin" (the platform operator only), or the tenant permission the route needs, with " +sa"
// when the System Admin may read it too. permissionHolders says which roles and scopes hold each
// permission. A route missing here, or declared otherwise in the route table, fails the matrix.
var routeAccess = map[string]string{
	"POST /api/v1/tenants":                                         "system.admin",
	"GET /api/v1/tenants":                                          "system.admin",
	"GET /api/v1/tenants/{id}":                                     "system.admin",
	"PUT /api/v1/tenants/{id}":                                     "system.admin",
	"GET /api/v1/system/report":                                    "system.admin",
	"GET /api/v1/metadata/tenant":                                  "tenant.read",
	"GET /api/v1/audit":                                            "system.read +sa",
	"GET /api/v1/mail/outbox":                                      "system.read +sa",
	"GET /api/v1/roles":                                            "user.read +sa",
	"POST /api/v1/accounts":                                        "user.manage",
	"GET /api/v1/account":                                          "user.read",
	"GET /api/v1/account/{id}":                                     "user.read",
	"PUT /api/v1/account/{id}":                                     "user.manage",
	"PUT /api/v1/account/invite":                                   "user.manage",
	"DELETE /api/v1/account":                                       "user.manage",
	"POST /api/v1/account/regpin":                                  "user.manage",
	"GET /api/v1/registrationsettings":                             "user.read",
	"PUT /api/v1/registrationsettings":                             "user.manage",
	"DELETE /api/v1/registrationsettings":                          "user.manage",
	"GET /api/v1/registrationsettings/all":                         "user.read",
	"PUT /api/v1/registrationsettings/priority":                    "user.manage",
	"GET /api/v1/account/{id}/registrationsettings":                "user.read",
	"POST /api/v1/usergroups":                                      "user.manage",
	"GET /api/v1/usergroups":                                       "user.read",
	"GET /api/v1/usergroups/{id}":                                  "user.read",
	"PUT /api/v1/usergroups/{id}":                                  "user.manage",
	"DELETE /api/v1/usergroups/{id}":                               "user.manage",
	"GET /api/v1/usergroups/{id}/members":                          "user.read",
	"PUT /api/v1/usergroups/{id}/members":                          "user.manage",
	"DELETE /api/v1/usergroups/{id}/members":                       "user.manage",
	"POST /api/v1/selfservice/pin":                                 "public",
	"POST /api/v1/selfservice/password":                            "public",
	"GET /api/v1/selfservice/devices":                              "self.service",
	"POST /api/v1/selfservice/support":                             "self.service",
	"GET /api/v1/supportadmins":                                    "system.read",
	"PUT /api/v1/supportadmins":                                    "system.manage",
	"GET /api/v1/emailtemplates":                                   "system.read",
	"GET /api/v1/emailtemplates/{name}":                            "system.read",
	"PUT /api/v1/emailtemplates/{name}":                            "system.manage",
	"DELETE /api/v1/emailtemplates/{name}":                         "system.manage",
	"POST /api/v1/emailtemplates/{name}/preview":                   "system.read",
	"GET /api/v1/device":                                           "device.read",
	"GET /api/v1/device/{id}":                                      "device.read",
	"GET /api/v1/device/{id}/apps":                                 "device.read",
	"GET /api/v1/device/{id}/commands":                             "device.read",
	"GET /api/v1/device/{id}/customattributes":                     "device.read",
	"PUT /api/v1/device/{id}/customattributes":                     "device.manage",
	"PUT /api/v1/device/updateAccount":                             "device.manage",
	"DELETE /api/v1/device":                                        "device.manage",
	"PUT /api/v1/device/lock":                                      "device.action",
	"PUT /api/v1/device/unlock":                                    "device.action",
	"PUT /api/v1/device/wipe":                                      "device.action",
	"PUT /api/v1/device/wipeCancel":                                "device.action",
	"PUT /api/v1/device/retire":                                    "device.action",
	"PUT /api/v1/device/forceCheckin":                              "device.action",
	"PUT /api/v1/device/message":                                   "device.action",
	"GET /api/apigatewaydataservices/v1/devices":                   "data.read",
	"GET /api/apigatewaydataservices/v1/devicesMetadata":           "data.read",
	"GET /api/apigatewaydataservices/v1/people":                    "data.read",
	"GET /api/apigatewaydataservices/v1/peopleMetadata":            "data.read",
	"POST /api/agent/v1/register":                                  "public",
	"POST /api/agent/v1/checkin":                                   "device",
	"GET /api/agent/v1/commands":                                   "device",
	"PUT /api/agent/v1/commands/{id}":                              "device",
	"GET /api/v1/apple/pushcertificate":                            "system.read",
	"PUT /api/v1/apple/pushcertificate":                            "system.manage",
	"DELETE /api/v1/apple/pushcertificate":                         "system.manage",
	"GET /api/v1/appregistrations":                                 "system.read",
	"GET /api/v1/appregistrations/types":                           "system.read",
	"POST /api/v1/appregistrations":                                "system.manage",
	"DELETE /api/v1/appregistrations/{id}":                         "system.manage",
	"PUT /api/v1/appregistrations/{id}":                            "system.manage",
	"PATCH /api/v1/appregistrations/{id}":                          "system.manage",
	"GET /api/patch/content/v1/patch":                              "patch.read",
	"GET /api/patch/content/v1/cve":                                "patch.read",
	"GET /api/patch/content/v1/patch-group":                        "patch.read",
	"GET /api/patch/content/v1/patch-group-audit":                  "patch.read",
	"POST /api/patch/content/v1/cves-to-patch-group":               "patch.admin",
	"PUT /api/patch/content/v1/cves-to-patch-group/{patchGroupId}": "patch.edit",
	"GET /api/patch/content/v1/cves-to-patch-group/{patchGroupId}": "patch.read",
	"POST /api/patch/content/v1/patch-group/{patchGroupId}/deploy": "patch.admin",
	"POST /api/v1/patch/catalog":                                   "system.admin",
	"GET /api/patch/content/v1/authentication":                     "client",
	"GET /api/apigatewaydataservices/v1/token":                     "client",
	"POST /api/v1/devicegroups":                                    "device.manage",
	"GET /api/v1/devicegroups":                                     "device.read",
	"GET /api/v1/devicegroups/{id}":                                "device.read",
	"PUT /api/v1/devicegroups/{id}":                                "device.manage",
	"DELETE /api/v1/devicegroups/{id}":                             "device.manage",
	"GET /api/v1/devicegroups/{id}/members":                        "device.read",
	"GET /api/v1/devicegroups/{id}/distributions":                  "device.read",
	"GET /api/v1/usergroups/{id}/distributions":                    "user.read",
	"PUT /api/v1/devicegroups/{id}/members":                        "device.manage",
	"DELETE /api/v1/devicegroups/{id}/members":                     "device.manage",
	"POST /api/v1/categories":                                      "app.manage",
	"GET /api/v1/categories":                                       "app.read",
	"GET /api/v1/categories/{id}":                                  "app.read",
	"PUT /api/v1/categories/{id}":                                  "app.manage",
	"DELETE /api/v1/categories/{id}":                               "app.manage",
	"GET /api/v1/apps":                                             "app.read",
	"POST /api/v1/apps":                                            "app.manage",
	"POST /api/v1/apps/inhouse":                                    "app.manage",
	"GET /api/v1/apps/{id}":                                        "app.read",
	"PUT /api/v1/apps/{id}":                                        "app.manage",
	"DELETE /api/v1/apps/{id}":                                     "app.manage",
	"GET /api/v1/apps/{id}/distribution":                           "app.read",
	"PUT /api/v1/apps/{id}/distribution":                           "app.manage",
	"GET /api/v1/apps/{id}/file":                                   "app.read",
	"GET /api/v1/appcatalog":                                       "app.read",
	"GET /api/v1/appinventory":                                     "app.read",
	"GET /api/v1/appinventory/devices":                             "app.read",
	"GET /api/agent/v1/catalog":                                    "device",
	"GET /api/agent/v1/apps/{id}/file":                             "device",
	"GET /api/v1/content":                                          "app.read",
	"POST /api/v1/content":                                         "app.manage",
	"GET /api/v1/content/{id}":                                     "app.read",
	"PUT /api/v1/content/{id}":                                     "app.manage",
	"PUT /api/v1/content/{id}/file":                                "app.manage",
	"GET /api/v1/content/{id}/distribution":                        "app.read",
	"PUT /api/v1/content/{id}/distribution":                        "app.manage",
	"DELETE /api/v1/content/{id}":                                  "app.manage",
	"GET /api/v1/content/{id}/download":                            "app.read",
	"GET /api/agent/v1/content":                                    "device",
	"GET /api/agent/v1/content/{id}":                               "device",
	"GET /api/v1/policy":                                           "config.read",
	"GET /api/v1/configurations/types":                             "config.read",
	"GET /api/v1/configurations":                                   "config.read",
	"POST /api/v1/configurations":                                  "config.manage",
	"GET /api/v1/configurations/{id}":                              "config.read",
	"PUT /api/v1/configurations/{id}":                              "config.manage",
	"DELETE /api/v1/configurations/{id}":                           "config.manage",
	"PUT /api/v1/configurations/{id}/priority":                     "config.manage",
	"GET /api/v1/configurations/{id}/distribution":                 "config.read",
	"PUT /api/v1/configurations/{id}/distribution":                 "config.manage",
	"GET /api/v1/configurations/{id}/devices":                      "config.read",
	"GET /api/v1/device/{id}/configurations":                       "config.read",
	"POST /api/v1/policies":                                        "device.manage",
	"GET /api/v1/policies":                                         "device.read",
	"GET /api/v1/policies/{id}":                                    "device.read",
	"PUT /api/v1/policies/{id}":                                    "device.manage",
	"DELETE /api/v1/policies/{id}":                                 "device.manage",
	"GET /api/v1/compliance":                                       "device.read",
	"GET /api/openapi.json":                                        "public",
	"GET /api/docs":                                                "public",
	"GET /healthz":                                                 "public",
	"GET /readyz":                                                  "public",
	"GET /metrics":                                                 "public",
	"POST /{tenantId}/connect/token":                               "client",
	"POST /oauth2/token":                                           "client",
	"GET /.well-known/oauth-authorization-server/{tenantId}":       "public",
	"GET /{tenantId}/.well-known/oauth-authorization-server":       "public",
	"GET /oauth2/jwks":                                             "public",
	"POST /oauth2/introspect":                                      "client",
	"POST /oauth2/revoke":                                          "client",
	"GET /mdm/apple/apps/{token}/manifest.plist":                   "public",
	"GET /mdm/apple/apps/{token}/app.ipa":                          "public",
}

// permissionHolders lists, for each tenant permission, the roles that grant it (inclusions followed)
// and the OAuth scopes that do. self.service is every tenant user's (no role or scope).
var permissionHolders = map[authz.Permission]struct{ roles, scopes []string }{
	authz.TenantRead:   {allRoles, []string{authz.ScopeRead}},
	authz.UserRead:     {allRoles, []string{authz.ScopeRead, authz.ScopeUserManage}},
	authz.UserManage:   {[]string{authz.RoleTenantAdmin, authz.RoleUserManagement}, []string{authz.ScopeUserManage}},
	authz.SystemRead:   {[]string{authz.RoleTenantAdmin, authz.RoleSystemManagement, authz.RoleSystemReadOnly}, nil},
	authz.SystemManage: {[]string{authz.RoleTenantAdmin, authz.RoleSystemManagement}, nil},
	authz.DeviceRead:   {deviceReaders, []string{authz.ScopeRead, authz.ScopeDeviceAction, authz.ScopeDeviceManage}},
	authz.DeviceManage: {[]string{authz.RoleTenantAdmin, authz.RoleDeviceManagement}, []string{authz.ScopeDeviceManage}},
	authz.DeviceAction: {[]string{authz.RoleTenantAdmin, authz.RoleDeviceActions}, []string{authz.ScopeDeviceAction}},
	authz.AppRead: {[]string{authz.RoleTenantAdmin, authz.RoleAppContentManagement, authz.RoleAppContentReadOnly},
		[]string{authz.ScopeRead, authz.ScopeAppManage}},
	authz.AppManage:    {[]string{authz.RoleTenantAdmin, authz.RoleAppContentManagement}, []string{authz.ScopeAppManage}},
	authz.ConfigRead:   {deviceReaders, []string{authz.ScopeConfigurationRead, authz.ScopeConfigurationWrite}},
	authz.ConfigManage: {[]string{authz.RoleTenantAdmin, authz.RoleDeviceManagement}, []string{authz.ScopeConfigurationWrite}},
	authz.PatchRead:    {deviceReaders, []string{authz.ScopePatchGroupReader, authz.ScopePatchGroupEditor, authz.ScopePatchGroupAdmin}},
	authz.PatchEdit: {[]string{authz.RoleTenantAdmin, authz.RoleDeviceManagement},
		[]string{authz.ScopePatchGroupEditor, authz.ScopePatchGroupAdmin}},
	authz.PatchAdmin: {[]string{authz.RoleTenantAdmin, authz.RoleDeviceManagement}, []string{authz.ScopePatchGroupAdmin}},
	authz.DataRead:   {deviceReaders, []string{authz.ScopeDataServicesRead}},
}

var (
	allRoles = []string{authz.RoleTenantAdmin, authz.RoleSystemManagement, authz.RoleUserManagement, authz.RoleDeviceManagement,
		authz.RoleAppContentManagement, authz.RoleSystemReadOnly, authz.RoleUserReadOnly, authz.RoleDeviceReadOnly,
		authz.RoleAppContentReadOnly, authz.RoleDeviceActions}
	deviceReaders = []string{authz.RoleTenantAdmin, authz.RoleDeviceManagement, authz.RoleDeviceReadOnly, authz.RoleDeviceActions}
)

// declaredAccess is the route table's declaration in routeAccess's words.
func declaredAccess(rt httpapi.Route) string {
	switch {
	case rt.DeviceAuth:
		return "device"
	case rt.ClientAuth:
		return "client"
	case rt.Needs == "":
		return "public"
	case rt.SystemAdminToo:
		return string(rt.Needs) + " +sa"
	}
	return string(rt.Needs)
}

// matrixCaller is who calls a route in the matrix, as routeAccess sees it.
type matrixCaller struct {
	anonymous, systemAdmin, portal, device bool
	role                                   string   // a tenant user's one role ("" for none) when no other kind is set
	scopes                                 []string // an App Registration token's scopes (non-nil for a token)
}

// accessAllows says whether access (a routeAccess value) lets c through.
func accessAllows(access string, c matrixCaller) bool {
	perm, sa := strings.CutSuffix(access, " +sa")
	switch {
	case access == "public":
		return true
	case c.anonymous:
		return false
	case c.systemAdmin:
		return perm == string(authz.SystemAdmin) || sa
	case perm == string(authz.SystemAdmin):
		return false
	case perm == string(authz.SelfService):
		return !c.device && c.scopes == nil // tenant users and their portal sessions
	case c.portal || c.device:
		return false
	case c.scopes != nil:
		for _, s := range c.scopes {
			if slices.Contains(permissionHolders[authz.Permission(perm)].scopes, s) {
				return true
			}
		}
		return false
	}
	return slices.Contains(permissionHolders[authz.Permission(perm)].roles, c.role)
}

// checkAccessTables holds the route table and authz to routeAccess and permissionHolders: every route
// has an entry and declares what it says, every role and scope grants exactly what permissionHolders
// says, and no read scope reaches a route that writes.
func checkAccessTables(t *testing.T, routes []httpapi.Route) {
	t.Helper()
	seen := map[string]bool{}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		seen[key] = true
		access, ok := routeAccess[key]
		switch {
		case !ok:
			t.Errorf("%s has no entry in routeAccess (the route table declares %q)", key, declaredAccess(rt))
			continue
		case access != declaredAccess(rt):
			t.Errorf("%s: routeAccess says %q, the route table declares %q", key, access, declaredAccess(rt))
		}
		perm, _ := strings.CutSuffix(access, " +sa")
		if rt.Method == "GET" {
			continue
		}
		for _, s := range permissionHolders[authz.Permission(perm)].scopes {
			if sc, _ := authz.LookupScope(s); !sc.Elevated {
				t.Errorf("%s: the read scope %s reaches it (%s)", key, s, perm)
			}
		}
	}
	for key := range routeAccess {
		if !seen[key] {
			t.Errorf("routeAccess names %s, which the route table does not serve", key)
		}
	}
	granted := map[authz.Permission]bool{}
	for _, r := range authz.Roles() {
		for _, p := range authz.Permissions(r.ID) {
			granted[p] = true
		}
		for p, h := range permissionHolders {
			if got, want := slices.Contains(authz.Permissions(r.ID), p), slices.Contains(h.roles, r.ID); got != want {
				t.Errorf("role %s grants %s: %v, permissionHolders says %v", r.ID, p, got, want)
			}
		}
	}
	for _, sc := range authz.Scopes() {
		for _, p := range sc.Grants {
			granted[p] = true
		}
		for p, h := range permissionHolders {
			if got, want := slices.Contains(sc.Grants, p), slices.Contains(h.scopes, sc.Name); got != want {
				t.Errorf("scope %s grants %s: %v, permissionHolders says %v", sc.Name, p, got, want)
			}
		}
	}
	for p := range granted {
		if _, ok := permissionHolders[p]; !ok {
			t.Errorf("permission %s is granted but not in permissionHolders", p)
		}
	}
}
