package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"steward/internal/apps/appstest"
	"steward/internal/authz"
	"steward/internal/httpapi"
)

// TestTenantIsolation builds two tenants with a full data set each and calls every route of the route
// table (the OpenAPI document) as tenant B, on tenant A's object ids: as B's Tenant Admin (Basic), as
// B's console session, as B's App Registration token holding every scope, as B's portal session, with
// B's device credential, and (token endpoints) with B's client credentials. Every answer that names one
// of A's objects is a refusal (401/403/404; 400 only when A's id is in the query or body, where it is a
// field error); a read or removal naming A's object in a filter or a member list may instead answer
// exactly what it answers for an id that exists nowhere; the few routes whose protocol answers otherwise
// are listed (isoAnswers, isoUnchangeable, isoSkipsForeign). No answer ever carries one of A's marker
// values, and A's data reads the same before and after.
//
// How each route's parameters are filled comes from the tables below (isoPathIDs, isoQueryIDs,
// isoBodies); a route with a parameter the tables do not know fails the test, naming the route.
func TestTenantIsolation(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			a := buildIsoTenant(t, e, "Isoalpha", 1)
			b := buildIsoTenant(t, e, "Isobravo", 2)
			before := isoSnapshot(e, a)
			for _, k := range []string{"/api/v1/account?rows=500", "/api/v1/apps", "/api/v1/device/{device}", "/api/v1/policies"} {
				if !strings.Contains(before[k], "isoalpha") {
					t.Fatalf("tenant A's own %s does not show its marker: %s", k, before[k])
				}
			}

			routes, cells := 0, 0
			statuses := map[int]int{}
			through := map[string]int{} // answers other than 401 on non-public routes, by caller: each identity is a real one
			for _, rt := range e.srv.api.Routes() {
				probes, err := isoProbes(rt)
				if err != nil {
					t.Errorf("%s %s: %v", rt.Method, rt.Path, err)
					continue
				}
				routes++
				for _, p := range probes {
					for _, m := range isoPlaceholder.FindAllStringSubmatch(p.path+p.query+p.body, -1) {
						if _, ok := a.ids[m[1]]; !ok {
							t.Errorf("%s %s: the tables name {%s}, which is no kind of object the data set has", rt.Method, rt.Path, m[1])
						}
					}
				}
				for _, c := range b.callers(rt) {
					for _, p := range probes {
						cells++
						st := isoCheck(t, e, rt, c, p, a, b)
						statuses[st]++
						if st != 401 && (rt.Needs != "" || rt.DeviceAuth || rt.ClientAuth) {
							through[c.name]++
						}
					}
				}
			}

			// The bodies are valid but for the ids: with B's own ids alone, B's Tenant Admin's write succeeds.
			for _, rt := range e.srv.api.Routes() {
				body := isoBodies[rt.Method+" "+rt.Path]
				if rt.DeviceAuth || rt.ClientAuth || !isoPlaceholder.MatchString(body) {
					continue
				}
				probes, _ := isoProbes(rt)
				own := isoProbe{path: probes[0].path, query: probes[0].query, body: body}
				req, _ := isoRequest(t, e, rt, isoCaller{basic: b.admin}, own, a, b, false)
				if r := e.send(req); r.Status >= 300 {
					t.Errorf("%s %s with B's own ids as B's Tenant Admin: %d %.300s", rt.Method, req.URL, r.Status, r.Body)
				}
			}
			for _, c := range b.callers(httpapi.Route{ClientAuth: true}) {
				if through[c.name] == 0 {
					t.Errorf("%s was refused as unauthenticated everywhere: the test did not call as it", c.name)
				}
			}
			after := isoSnapshot(e, a)
			for _, k := range mapKeys(before) {
				if before[k] != after[k] {
					t.Errorf("tenant A's %s changed while tenant B called every route:\nbefore %s\nafter  %s", k, before[k], after[k])
				}
			}
			// A's access token survived B's client revoking and introspecting it.
			if r := e.bearer("GET", "/api/v1/metadata/tenant", a.ids["token"], ""); r.Status != 200 {
				t.Errorf("tenant A's access token after B's calls: %d %s", r.Status, r.Body)
			}
			if routes < 150 {
				t.Errorf("only %d routes checked", routes)
			}
			t.Logf("%d routes, %d (route x caller x probe) cells as tenant B on tenant A's ids; answers by status %v", routes, cells, statuses)
		})
	}
}

// isoTenant is one tenant's data set: the ids of its objects by kind (the tables' id sources), its
// credentials, and the marker values none of its objects' reads may show another tenant.
type isoTenant struct {
	name    string
	admin   string // Basic "user:pw" of the Tenant Admin
	ids     map[string]string
	markers []string
	portal  string // a /go session cookie of the Tenant Admin
	console string // a console session cookie of the Tenant Admin
}

// buildIsoTenant makes a tenant named name with one object of every kind, each named after the tenant
// (the marker), through the API and the device protocols. n keeps device serials and UDIDs apart.
func buildIsoTenant(t *testing.T, e *apiEnv, name string, n int) *isoTenant {
	t.Helper()
	marker := strings.ToLower(name)
	tenant, ta := e.createTenant(name)
	x := &isoTenant{name: name, admin: ta, ids: map[string]string{"tenant": tenant.ID,
		"space": fmt.Sprint(tenant.DefaultDmPartitionID)}}
	set := func(kind string, id any) { x.ids[kind] = fmt.Sprint(id) }
	var obj struct {
		ID int64 `json:"id"`
	}
	create := func(kind, method, path, body string, status int) {
		t.Helper()
		obj.ID = 0
		e.call(method, path, ta, body).must(t, status, &obj)
		set(kind, obj.ID)
	}

	// Users, a user group, the registration settings of that group, email template, support admins.
	account, pin := e.deviceUser(ta, "user@"+marker+".example.com")
	set("account", account)
	create("usergroup", "POST", "/api/v1/usergroups", `{"name":"`+marker+` sales","kind":"STATIC","description":"`+marker+` group"}`, 200)
	e.call("PUT", "/api/v1/usergroups/"+x.ids["usergroup"]+"/members", ta, fmt.Sprintf(`{"accountIds":[%d]}`, account)).must(t, 200, nil)
	e.call("PUT", "/api/v1/registrationsettings?groupId="+x.ids["usergroup"], ta, `{"pinLength":9}`).must(t, 200, nil)
	e.call("PUT", "/api/v1/emailtemplates/invitation_pin", ta, `{"subject":"`+marker+` invitation","html":"<p>`+marker+
		` {{.PIN}}</p>","text":"`+marker+` {{.PIN}}"}`).must(t, 200, nil)
	e.call("PUT", "/api/v1/supportadmins", ta, fmt.Sprintf(`{"accountIds":[%d]}`, account)).must(t, 200, nil)

	// Devices: an Android phone through the agent protocol and an iPhone through Apple MDM.
	serial := strings.ToUpper(marker) + "-SN1"
	reg := e.registerDevice("user@"+marker+".example.com", pin, sampleFacts(serial), nil)
	set("device", reg.DeviceID)
	x.ids["devicecred"], x.ids["deviceguid"] = reg.Credential, reg.GUID
	e.uploadPushCertificate(ta)
	iosUser := "ios@" + marker + ".example.com"
	_, iosPIN := e.deviceUser(ta, iosUser)
	phone := e.newAppleDevice(iosUser, iosPIN, "", hexUDID(100+n))
	if phone.authenticate() != 200 || phone.tokenUpdate() != 200 {
		t.Fatalf("%s: the iPhone did not enroll", name)
	}
	iosSerial := "SN" + phone.udid[:8]
	set("iosdevice", e.appleDeviceID(ta, iosSerial))
	e.call("PUT", "/api/v1/device/"+x.ids["device"]+"/customattributes", ta, `{"attrs":{"owner_tag":"`+marker+` tag"}}`).must(t, 200, nil)
	e.call("PUT", "/api/v1/device/lock?ids="+x.ids["device"], ta, "").must(t, 200, nil)
	cmds := e.agentCommands(reg.Credential, nil)
	if len(cmds) == 0 {
		t.Fatalf("%s: the lock reached no device", name)
	}
	set("command", cmds[0].ID)
	create("devicegroup", "POST", "/api/v1/devicegroups", `{"name":"`+marker+` kiosks","kind":"STATIC","description":"`+marker+` devices"}`, 200)
	e.call("PUT", "/api/v1/devicegroups/"+x.ids["devicegroup"]+"/members", ta, `{"deviceIds":[`+x.ids["device"]+`]}`).must(t, 200, nil)
	targets := `{"targets":[{"type":"USER_GROUP","id":` + x.ids["usergroup"] + `},{"type":"DEVICE_GROUP","id":` + x.ids["devicegroup"] + `}]}`

	// Apps, categories, content.
	create("appcategory", "POST", "/api/v1/categories", `{"name":"`+marker+` tools","kind":"APP","description":"`+marker+` apps"}`, 200)
	create("contentcategory", "POST", "/api/v1/categories", `{"name":"`+marker+` docs","kind":"CONTENT"}`, 200)
	create("app", "POST", "/api/v1/apps", `{"platformType":"ANDROID","bundleId":"com.`+marker+`.chat","name":"`+marker+` chat",`+
		`"description":"`+marker+` app","categories":[`+x.ids["appcategory"]+`]}`, 200)
	e.call("PUT", "/api/v1/apps/"+x.ids["app"]+"/distribution", ta, targets).must(t, 200, nil)
	obj.ID = 0
	e.uploadApp(ta, marker+".apk", appstest.APK("com."+marker+".field", "1.0", 1), map[string]string{"name": marker + " field"}).must(t, 200, &obj)
	set("inhouseapp", obj.ID)
	obj.ID = 0
	e.upload("POST", "/api/v1/content", ta, marker+" prices.pdf", bytes.NewReader(testPDF), map[string]string{
		"description": marker + " prices", "categories[0]": x.ids["contentcategory"]}).must(t, 201, &obj)
	set("content", obj.ID)
	e.call("PUT", "/api/v1/content/"+x.ids["content"]+"/distribution", ta, targets).must(t, 200, nil)

	// Configurations, policies, App Registrations, patch groups.
	create("configuration", "POST", "/api/v1/configurations", `{"name":"`+marker+` wifi","description":"`+marker+` network","type":"WIFI",`+
		`"attributes":{"ssid":"`+marker+`","securityType":"WPA2","password":"`+marker+`-pw-123"}}`, 200)
	e.call("PUT", "/api/v1/configurations/"+x.ids["configuration"]+"/distribution", ta, targets).must(t, 200, nil)
	create("policy", "POST", "/api/v1/policies", `{"name":"`+marker+` rooted","description":"`+marker+` policy","type":"COMPROMISED",`+
		`"priority":1,"enabled":true,"platforms":["ANDROID"],"deviceGroups":[`+x.ids["devicegroup"]+`],"actions":[{"kind":"MONITOR"}]}`, 200)
	custom, _ := authz.LookupAppType(authz.AppTypeCustom)
	scopes := jsonBody(t, custom.Optional)
	var app appRegView
	e.call("POST", "/api/v1/appregistrations", ta, `{"appType":"CUSTOM","description":"`+marker+` integration","scopes":`+scopes+`}`).must(t, 201, &app)
	set("appreg", app.ID)
	x.ids["clientid"], x.ids["secret"] = app.ClientID, app.ClientSecret
	tok := e.clientToken(tenant.ID, app.ClientID, app.ClientSecret, strings.Join(app.Scopes, " "))
	x.ids["token"] = tok.AccessToken
	var pg struct {
		PatchGroupID string `json:"patchGroupId"`
	}
	if err := json.Unmarshal([]byte(e.patchCall("POST", "/api/patch/content/v1/cves-to-patch-group", ta, marker+"-soc",
		`{"cveIds":["CVE-2024-23225"],"patchGroupName":"`+marker+` patches"}`).must(t, 200, nil).Body), &pg); err != nil || pg.PatchGroupID == "" {
		t.Fatalf("%s: patch group: %v %+v", name, err, pg)
	}
	set("patchgroup", pg.PatchGroupID)

	// The Tenant Admin's portal session.
	br := e.browser()
	if st, _ := br.signIn("ta@"+marker+".example.com", "password", "Tenant-admin-pw-1"); st != 200 {
		t.Fatalf("%s: portal sign-in: %d", name, st)
	}
	x.portal = br.cookie("steward_portal")
	console := e.browser()
	if st, _ := console.post("/login", url.Values{"username": {"ta@" + marker + ".example.com"}, "password": {"Tenant-admin-pw-1"}}); st != 200 {
		t.Fatalf("%s: console sign-in: %d", name, st)
	}
	x.console = console.cookie("steward_session")

	x.markers = []string{marker, serial, iosSerial, phone.udid, tenant.ID, pg.PatchGroupID, reg.GUID, reg.Credential,
		app.ClientID, app.ClientSecret, tok.AccessToken}
	return x
}

// isoCaller is one of tenant B's identities.
type isoCaller struct {
	name    string
	basic   string // "user:pw"
	bearer  string // an access token or a device credential
	portal  string // a /go session cookie
	console string // a console session cookie
	client  bool   // the App Registration's own client credentials (token endpoints only)
}

// callers are B's identities for rt: its Tenant Admin (Basic and console session), its all-scopes App
// Registration token, its portal session and its Android device on every route; its client credentials
// on the token endpoints.
func (x *isoTenant) callers(rt httpapi.Route) []isoCaller {
	cs := []isoCaller{{name: "B's Tenant Admin", basic: x.admin}, {name: "B's console session", console: x.console},
		{name: "B's app token", bearer: x.ids["token"]},
		{name: "B's portal session", portal: x.portal}, {name: "B's device", bearer: x.ids["devicecred"]}}
	if rt.ClientAuth {
		cs = append(cs, isoCaller{name: "B's client credentials", client: true})
	}
	return cs
}

// isoPathIDs says what a path's {id} names, by the path up to it. "|" lists several kinds: a probe each.
var isoPathIDs = map[string]string{
	"/api/v1/tenants/{id}":          "tenant",
	"/api/v1/account/{id}":          "account",
	"/api/v1/usergroups/{id}":       "usergroup",
	"/api/v1/devicegroups/{id}":     "devicegroup",
	"/api/v1/device/{id}":           "device|iosdevice",
	"/api/v1/appregistrations/{id}": "appreg",
	"/api/v1/categories/{id}":       "appcategory|contentcategory",
	"/api/v1/apps/{id}":             "app|inhouseapp",
	"/api/agent/v1/apps/{id}":       "inhouseapp",
	"/api/v1/content/{id}":          "content",
	"/api/agent/v1/content/{id}":    "content",
	"/api/v1/configurations/{id}":   "configuration",
	"/api/v1/policies/{id}":         "policy",
	"/api/agent/v1/commands/{id}":   "command",
	"{patchGroupId}":                "patchgroup",
	"{tenantId}":                    "tenant",
	"{name}":                        "=invitation_pin",   // email templates: names are the product's, not a tenant's
	"{token}":                       "=0123456789abcdef", // an app install link's signed token: no tenant object
}

// isoQueryIDs says which kind of object a query parameter names; "" marks a parameter that names none.
var isoQueryIDs = map[string]string{
	"accountId": "account", "accountIds": "account", "deviceIds": "device", "groupId": "usergroup",
	"groupIds": "usergroup", "categoryId": "appcategory", "category": "contentcategory", "dmPartitionId": "space",
	"ids":   "", // the account or device ids of /api/v1/account… and /api/v1/device… (isoIDsParam)
	"start": "", "rows": "", "sortFields[0].name": "", "sortFields[0].order": "", "q": "", "fq": "", "sendInvite": "",
	"message": "", "phoneNumber": "", "osxLockPin": "", "sendPushNotification": "", "pushNotificationMessage": "",
	"sendEmail": "", "emailSubject": "", "emailBody": "", "$top": "", "$skip": "", "$select": "", "$orderby": "",
	"$count": "", "$filter": "", "limit": "", "PageNumber": "", "PageSize": "", "Filter": "", "OrderBy": "",
	"kind": "", "platformType": "", "managed": "", "bundleId": "", "after": "", "tag": "",
}

// isoIDsParam is what "ids" names on a path.
func isoIDsParam(path string) string {
	if strings.HasPrefix(path, "/api/v1/account") {
		return "account"
	}
	return "device"
}

// isoBodies are the request bodies (JSON unless the route is multipart, then form fields as a query
// string): valid but for the ids, so that a refusal is about the ids. {kind} is an id of that kind;
// "{}" is a body that takes no ids (refused as invalid, or harmless to A). Every route with a request
// body needs an entry; routes not here send none.
var isoBodies = map[string]string{
	"POST /api/v1/tenants":                                         "{}",
	"PUT /api/v1/tenants/{id}":                                     `{"name":"Mallory"}`,
	"POST /api/v1/accounts":                                        "{}",
	"POST /api/v1/usergroups":                                      "{}",
	"POST /api/v1/selfservice/pin":                                 "{}",
	"POST /api/v1/selfservice/password":                            "{}",
	"POST /api/v1/selfservice/support":                             `{"message":"Mallory"}`,
	"PUT /api/v1/emailtemplates/{name}":                            "{}",
	"POST /api/v1/emailtemplates/{name}/preview":                   "{}",
	"POST /api/agent/v1/register":                                  "{}",
	"POST /api/agent/v1/checkin":                                   `{"results":[{"id":{command},"status":"ERROR","error":"Mallory"}]}`,
	"PUT /api/v1/apple/pushcertificate":                            "{}",
	"POST /api/v1/appregistrations":                                "{}",
	"POST /api/patch/content/v1/cves-to-patch-group":               "{}",
	"POST /api/v1/patch/catalog":                                   "{}",
	"POST /api/v1/devicegroups":                                    "{}",
	"POST /api/v1/categories":                                      "{}",
	"POST /api/v1/apps/inhouse":                                    "categories[0]={appcategory}&targets[0].type=USER_GROUP&targets[0].id={usergroup}&targets[1].type=DEVICE_GROUP&targets[1].id={devicegroup}",
	"POST /api/v1/configurations":                                  "{}",
	"PUT /api/v1/account/{id}":                                     `{"firstName":"Mallory"}`,
	"POST /api/v1/account/regpin":                                  `{"accountId":{account}}`,
	"PUT /api/v1/registrationsettings/priority":                    `{"groupIds":[{usergroup}]}`,
	"PUT /api/v1/usergroups/{id}":                                  `{"name":"Mallory"}`,
	"PUT /api/v1/usergroups/{id}/members":                          `{"accountIds":[{account}]}`,
	"PUT /api/v1/supportadmins":                                    `{"accountIds":[{account}]}`,
	"PUT /api/v1/registrationsettings":                             `{"pinLength":8}`,
	"PUT /api/v1/device/{id}/customattributes":                     `{"attrs":{"k":"v"}}`,
	"PUT /api/v1/device/updateAccount":                             `{"accountId":{account},"deviceIds":[{device}]}`,
	"PUT /api/v1/devicegroups/{id}":                                `{"name":"Mallory"}`,
	"PUT /api/v1/devicegroups/{id}/members":                        `{"deviceIds":[{device}]}`,
	"PUT /api/v1/categories/{id}":                                  `{"name":"Mallory"}`,
	"POST /api/v1/apps":                                            `{"platformType":"ANDROID","bundleId":"com.mallory.app","name":"Mallory","categories":[{appcategory}],"targets":[{"type":"USER_GROUP","id":{usergroup}},{"type":"DEVICE_GROUP","id":{devicegroup}}]}`,
	"PUT /api/v1/apps/{id}":                                        `{"name":"Mallory","categories":[{appcategory}],"targets":[{"type":"USER_GROUP","id":{usergroup}},{"type":"DEVICE_GROUP","id":{devicegroup}}]}`,
	"PUT /api/v1/apps/{id}/distribution":                           `{"targets":[{"type":"USER_GROUP","id":{usergroup}},{"type":"DEVICE_GROUP","id":{devicegroup}}]}`,
	"POST /api/v1/content":                                         "name=Mallory&categories[0]={contentcategory}&targets[0].type=USER_GROUP&targets[0].id={usergroup}&targets[1].type=DEVICE_GROUP&targets[1].id={devicegroup}",
	"PUT /api/v1/content/{id}":                                     `{"name":"Mallory","categories":[{contentcategory}],"targets":[{"type":"USER_GROUP","id":{usergroup}},{"type":"DEVICE_GROUP","id":{devicegroup}}]}`,
	"PUT /api/v1/content/{id}/file":                                "name=Mallory",
	"PUT /api/v1/content/{id}/distribution":                        `{"targets":[{"type":"USER_GROUP","id":{usergroup}},{"type":"DEVICE_GROUP","id":{devicegroup}}]}`,
	"PUT /api/v1/configurations/{id}":                              `{"name":"Mallory"}`,
	"PUT /api/v1/configurations/{id}/priority":                     `{"priority":1}`,
	"PUT /api/v1/configurations/{id}/distribution":                 `{"targets":[{"type":"USER_GROUP","id":{usergroup}},{"type":"DEVICE_GROUP","id":{devicegroup}}]}`,
	"POST /api/v1/policies":                                        `{"name":"Mallory","type":"COMPROMISED","platforms":["ANDROID"],"deviceGroups":[{devicegroup}],"userGroups":[{usergroup}],"actions":[{"kind":"MONITOR"}]}`,
	"PUT /api/v1/policies/{id}":                                    `{"name":"Mallory renamed","type":"COMPROMISED","platforms":["ANDROID"],"deviceGroups":[{devicegroup}],"userGroups":[{usergroup}],"actions":[{"kind":"MONITOR"}]}`,
	"PUT /api/v1/appregistrations/{id}":                            `{"description":"Mallory"}`,
	"PATCH /api/v1/appregistrations/{id}":                          `{"description":"Mallory"}`,
	"PUT /api/patch/content/v1/cves-to-patch-group/{patchGroupId}": `{"cveIds":["CVE-2024-0039"]}`,
	"POST /api/patch/content/v1/patch-group/{patchGroupId}/deploy": `{"userGroupIds":[{usergroup}]}`,
	"PUT /api/agent/v1/commands/{id}":                              `{"id":{command},"status":"ACKNOWLEDGED"}`,
	"POST /{tenantId}/connect/token":                               "grant_type=client_credentials",
	"POST /oauth2/token":                                           "grant_type=client_credentials",
	"POST /oauth2/introspect":                                      "token={token}",
	"POST /oauth2/revoke":                                          "token={token}",
}

// isoAnswers are the routes that answer a refusal with 200 by their standard: RFC 7009 revocation and
// RFC 7662 introspection (checked for "active":false), and the public issuer metadata of any tenant.
var isoAnswers = map[string]string{
	"POST /oauth2/introspect":                                `"active":false`,
	"POST /oauth2/revoke":                                    "",
	"GET /.well-known/oauth-authorization-server/{tenantId}": "",
	"GET /{tenantId}/.well-known/oauth-authorization-server": "",
}

// isoProbe is one request template: {kind} placeholders in path, query and body, each naming A's or
// B's object (aKinds: the kinds filled with A's ids).
type isoProbe struct {
	path, query, body string
	aKinds            []string
	aInPath           bool
}

var isoPlaceholder = regexp.MustCompile(`\{([a-z]+)\}`)

// isoProbes turns rt into its probes: one per kind of id it takes, that kind filled with A's id and
// every other with B's (so a route on B's object naming A's in its body is probed too); one probe with
// B's ids alone when it takes none. It fails on a parameter the tables do not know.
func isoProbes(rt httpapi.Route) ([]isoProbe, error) {
	paths := []string{rt.Path}
	for _, m := range regexp.MustCompile(`\{[A-Za-z]+\}`).FindAllStringIndex(rt.Path, -1) {
		param := rt.Path[m[0]:m[1]]
		kinds, ok := isoPathIDs[rt.Path[:m[1]]]
		if !ok {
			kinds, ok = isoPathIDs[param]
		}
		if !ok {
			return nil, fmt.Errorf("no entry in isoPathIDs says what %s names", param)
		}
		var next []string
		for _, p := range paths {
			for _, k := range strings.Split(kinds, "|") {
				if fixed, ok := strings.CutPrefix(k, "="); ok {
					next = append(next, strings.Replace(p, param, fixed, 1))
				} else {
					next = append(next, strings.Replace(p, param, "{"+k+"}", 1))
				}
			}
		}
		paths = next
	}
	q := url.Values{}
	for _, prm := range rt.Query {
		kind, ok := isoQueryIDs[prm.Name]
		if !ok {
			return nil, fmt.Errorf("no entry in isoQueryIDs says whether the query parameter %s names an object", prm.Name)
		}
		if prm.Name == "ids" {
			kind = isoIDsParam(rt.Path)
		}
		if kind != "" {
			q.Set(prm.Name, "{"+kind+"}")
		}
	}
	query := strings.NewReplacer("%7B", "{", "%7D", "}").Replace(q.Encode())
	body, ok := isoBodies[rt.Method+" "+rt.Path]
	if !ok && rt.Body != nil {
		return nil, fmt.Errorf("no entry in isoBodies gives its body (with the ids it takes)")
	}
	var probes []isoProbe
	for _, path := range paths {
		var kinds []string
		for _, m := range isoPlaceholder.FindAllStringSubmatch(path+"?"+query+" "+body, -1) {
			if !slices.Contains(kinds, m[1]) {
				kinds = append(kinds, m[1])
			}
		}
		if len(kinds) == 0 {
			probes = append(probes, isoProbe{path: path, query: query, body: body})
		}
		for _, k := range kinds {
			probes = append(probes, isoProbe{path: path, query: query, body: body, aKinds: []string{k},
				aInPath: strings.Contains(path, "{"+k+"}")})
		}
	}
	return probes, nil
}

// fill replaces the placeholders of s with A's ids for p's A kinds (or, when absent, with an id no
// tenant has) and B's otherwise, and returns the A values used.
func (p isoProbe) fill(s string, a, b *isoTenant, absent bool) (string, []string) {
	var used []string
	out := isoPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		k := m[1 : len(m)-1]
		if !slices.Contains(p.aKinds, k) {
			return b.ids[k]
		}
		if absent {
			return "987654321"
		}
		used = append(used, a.ids[k])
		return a.ids[k]
	})
	return out, used
}

// isoHeaderTenant are the token endpoints that take the tenant in X-TenantId: B's client names A's.
var isoHeaderTenant = map[string]bool{
	"GET /api/patch/content/v1/authentication": true,
	"GET /api/apigatewaydataservices/v1/token": true,
}

// isoUnchangeable are routes that refuse every call whatever it names (405: registrations are immutable).
var isoUnchangeable = map[string]bool{
	"PUT /api/v1/appregistrations/{id}":   true,
	"PATCH /api/v1/appregistrations/{id}": true,
}

// isoSkipsForeign are routes that answer 200 while skipping what names another device's object, by
// their protocol: a check-in's results for commands the device does not have open are logged and
// skipped, and the rest of the check-in goes on. The snapshot shows A's command untouched.
var isoSkipsForeign = map[string]bool{
	"POST /api/agent/v1/checkin": true,
}

// isoRequest builds probe p of rt as caller c; absent puts an unknown id where A's would be.
func isoRequest(t *testing.T, e *apiEnv, rt httpapi.Route, c isoCaller, p isoProbe, a, b *isoTenant, absent bool) (*http.Request, []string) {
	t.Helper()
	path, used := p.fill(p.path, a, b, absent)
	query, usedQ := p.fill(p.query, a, b, absent)
	body, usedB := p.fill(p.body, a, b, absent)
	used = append(append(used, usedQ...), usedB...)
	target := e.url + path
	if query != "" {
		target += "?" + query
	}
	var req *http.Request
	if rt.Multipart {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fields, _ := url.ParseQuery(body)
		for k, v := range fields {
			mw.WriteField(k, v[0])
		}
		if strings.HasPrefix(rt.Path, "/api/v1/apps/") {
			fw, _ := mw.CreateFormFile("file", "mallory.apk")
			fw.Write(appstest.APK("com.mallory.field", "1.0", 1))
		} else {
			fw, _ := mw.CreateFormFile("file", "mallory.pdf")
			fw.Write(testPDF)
		}
		mw.Close()
		req = newRequest(t, rt.Method, target, "")
		req.Body, req.ContentLength = io.NopCloser(&buf), int64(buf.Len())
		req.Header.Set("Content-Type", mw.FormDataContentType())
	} else {
		req = newRequest(t, rt.Method, target, body)
		switch {
		case strings.HasPrefix(body, "{"):
			req.Header.Set("Content-Type", "application/json")
		case body != "":
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if strings.HasPrefix(rt.Path, "/api/patch/") {
		req.Header.Set("X-On-Behalf-Of", "mallory")
	}
	switch {
	case c.client:
		req.SetBasicAuth(b.ids["clientid"], b.ids["secret"])
		req.Header.Set("X-ClientId", b.ids["clientid"])
		req.Header.Set("X-ClientSecret", b.ids["secret"])
		req.Header.Set("X-TenantId", b.ids["tenant"])
		if isoHeaderTenant[rt.Method+" "+rt.Path] {
			req.Header.Set("X-TenantId", a.ids["tenant"])
			used = append(used, a.ids["tenant"])
		}
	case c.basic != "":
		user, pw, _ := strings.Cut(c.basic, ":")
		req.SetBasicAuth(user, pw)
	case c.bearer != "":
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	case c.portal != "":
		req.AddCookie(&http.Cookie{Name: "steward_portal", Value: c.portal})
	case c.console != "":
		req.AddCookie(&http.Cookie{Name: "steward_session", Value: c.console})
	}
	return req, used
}

// isoCheck sends probe p of rt as caller c and checks the answer: no 5xx, none of A's markers (but
// the values the request itself carried), and when the request names A's object, a refusal. A read or
// removal naming A's object in its query or body (a filter, or members to remove) may instead answer
// exactly what it answers for an id that exists nowhere: then it neither shows nor touches A's object.
func isoCheck(t *testing.T, e *apiEnv, rt httpapi.Route, c isoCaller, p isoProbe, a, b *isoTenant) (status int) {
	t.Helper()
	req, used := isoRequest(t, e, rt, c, p, a, b, false)
	r := e.send(req)
	cell := fmt.Sprintf("%s %s as %s", rt.Method, strings.TrimPrefix(req.URL.String(), e.url), c.name)
	if r.Status >= 500 {
		t.Errorf("%s: %d %s", cell, r.Status, r.Body)
	}
	lower := strings.ToLower(r.Body + fmt.Sprint(r.Header))
	for _, m := range a.markers {
		if !slices.Contains(used, m) && strings.Contains(lower, strings.ToLower(m)) {
			t.Errorf("%s: the answer (%d) shows tenant A's %q: %.300s", cell, r.Status, m, r.Body)
		}
	}
	key := rt.Method + " " + rt.Path
	if len(p.aKinds) == 0 && !(c.client && isoHeaderTenant[key]) {
		return r.Status
	}
	if want, ok := isoAnswers[key]; ok && r.Status == 200 {
		if !strings.Contains(r.Body, want) {
			t.Errorf("%s: %s, want it to contain %s", cell, r.Body, want)
		}
		return r.Status
	}
	switch {
	case r.Status == 401 || r.Status == 403 || r.Status == 404:
	case r.Status == 400 && !p.aInPath:
	case r.Status == 405 && isoUnchangeable[key]:
	case r.Status == 200 && isoSkipsForeign[key]:
	case (rt.Method == "GET" || rt.Method == "DELETE") && !p.aInPath && len(p.aKinds) > 0:
		unknown, _ := isoRequest(t, e, rt, c, p, a, b, true)
		u := e.send(unknown)
		if u.Status != r.Status || isoStable(u.Body) != isoStable(r.Body) {
			t.Errorf("%s: %d %.300s\nbut for an id that exists nowhere: %d %.300s", cell, r.Status, r.Body, u.Status, u.Body)
		}
	default:
		t.Errorf("%s: %d naming tenant A's %v, want a refusal: %.300s", cell, r.Status, p.aKinds, r.Body)
	}
	return r.Status
}

// isoSnapshot reads tenant A's objects as A's Tenant Admin: what no call of B's may change.
func isoSnapshot(e *apiEnv, a *isoTenant) map[string]string {
	out := map[string]string{}
	for _, path := range []string{"/api/v1/metadata/tenant", "/api/v1/account?rows=500", "/api/v1/usergroups",
		"/api/v1/usergroups/{usergroup}", "/api/v1/usergroups/{usergroup}/members", "/api/v1/registrationsettings/all",
		"/api/v1/emailtemplates/invitation_pin", "/api/v1/supportadmins", "/api/v1/apple/pushcertificate",
		"/api/v1/device/{device}", "/api/v1/device/{iosdevice}", "/api/v1/device/{device}/customattributes",
		"/api/v1/device/{device}/commands", "/api/v1/device/{iosdevice}/commands", "/api/v1/devicegroups",
		"/api/v1/devicegroups/{devicegroup}/members", "/api/v1/categories?kind=APP", "/api/v1/categories?kind=CONTENT", "/api/v1/apps", "/api/v1/apps/{app}",
		"/api/v1/apps/{app}/distribution", "/api/v1/apps/{inhouseapp}", "/api/v1/content", "/api/v1/content/{content}/distribution",
		"/api/v1/configurations", "/api/v1/configurations/{configuration}/distribution", "/api/v1/policies",
		"/api/v1/appregistrations", "/api/patch/content/v1/patch-group", "/api/patch/content/v1/cves-to-patch-group/{patchgroup}"} {
		p, _ := isoProbe{}.fill(path, a, a, false)
		r := e.call("GET", p, a.admin, "")
		if r.Status != 200 {
			e.t.Errorf("tenant A reading %s: %d %s", p, r.Status, r.Body)
		}
		out[path] = isoStable(r.Body)
	}
	return out
}

var isoVolatile = regexp.MustCompile(`"(lastAuthenticated|queryTime|lastCheckin)":([0-9]+|null)`)

// isoStable drops what a read itself may change (the time a registration last authenticated, the
// time a query took) and what A's own devices change meanwhile (check-in times are written in the
// background, so a check-in made while the data set was built may land during the test).
func isoStable(body string) string { return isoVolatile.ReplaceAllString(body, `"$1":_`) }

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
