package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestTenantsAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			testAuthentication(t, e)
			testCreateAndRead(t, e)
			testBadInputChangesNothing(t, e)
			testSuspension(t, e)
			testListing(t, e)
			testAudit(t, e)
		})
	}
}

func testAuthentication(t *testing.T, e *apiEnv) {
	if r := e.call("GET", "/api/v1/tenants", "", ""); r.Status != 401 {
		t.Errorf("anonymous: %d, want 401", r.Status)
	}
	r := e.call("GET", "/api/v1/tenants", "admin:wrong-password", "")
	if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("wrong password: %d %q, want 401 with a Basic challenge", r.Status, r.Header.Get("WWW-Authenticate"))
	}
	if r := e.call("GET", "/api/v1/tenants", "nobody@example.com:whatever-password", ""); r.Status != 401 {
		t.Errorf("unknown user: %d, want 401", r.Status)
	}
	if r := e.call("GET", "/api/v1/system/report", "", ""); r.Status != 401 {
		t.Errorf("anonymous report: %d, want 401", r.Status)
	}
	if r := e.call("GET", "/api/v1/metadata/tenant", e.admin(), ""); r.Status != 403 {
		t.Errorf("System Admin on a tenant call: %d, want 403", r.Status)
	}
}

func testCreateAndRead(t *testing.T, e *apiEnv) {
	c, ta := e.createTenant("Acme")
	if c.ID == "" || c.State != "ACTIVE" || c.LicenseDevices != 10 || c.DefaultDmPartitionID == 0 || c.Admin.ID == 0 {
		t.Fatalf("created tenant = %+v", c)
	}
	var meta struct {
		ID                   string `json:"id"`
		Name                 string `json:"name"`
		DefaultDmPartitionID int64  `json:"defaultDmPartitionId"`
	}
	e.call("GET", "/api/v1/metadata/tenant", ta, "").must(t, 200, &meta)
	if meta.ID != c.ID || meta.Name != "Acme" || meta.DefaultDmPartitionID != c.DefaultDmPartitionID {
		t.Errorf("metadata = %+v, want the tenant %+v", meta, c)
	}
	// Usernames are case-insensitive.
	if r := e.call("GET", "/api/v1/metadata/tenant", strings.ToUpper(ta[:strings.Index(ta, ":")])+ta[strings.Index(ta, ":"):], ""); r.Status != 200 {
		t.Errorf("upper-case username: %d", r.Status)
	}
	for _, path := range []string{"/api/v1/tenants", "/api/v1/tenants/" + c.ID, "/api/v1/system/report"} {
		if r := e.call("GET", path, ta, ""); r.Status != 403 {
			t.Errorf("Tenant Admin GET %s: %d, want 403", path, r.Status)
		}
	}
	if r := e.call("PUT", "/api/v1/tenants/"+c.ID, ta, `{"state":"SUSPENDED"}`); r.Status != 403 {
		t.Errorf("Tenant Admin suspends own tenant: %d, want 403", r.Status)
	}
	var got createdTenant
	e.call("GET", "/api/v1/tenants/"+c.ID, e.admin(), "").must(t, 200, &got)
	if got.Name != "Acme" {
		t.Errorf("GET tenant = %+v", got)
	}
	if r := e.call("GET", "/api/v1/tenants/no-such-tenant", e.admin(), ""); r.Status != 404 || r.Env.Errors == nil {
		t.Errorf("unknown tenant: %d %s", r.Status, r.Body)
	}
	// Form bodies work as well as JSON.
	var f createdTenant
	e.call("POST", "/api/v1/tenants", e.admin(), "name=Formco&adminEmail=boss%40formco.example.com&adminFirstName=B"+
		"&adminLastName=Oss&adminPassword=Form-admin-pw-1&licenseDevices=5&sendActivation=false").must(t, 200, &f)
	if f.Name != "Formco" || f.LicenseDevices != 5 || f.Admin.EmailAddress != "boss@formco.example.com" {
		t.Errorf("form-created tenant = %+v", f)
	}
}

func tenantCount(t *testing.T, e *apiEnv) int {
	t.Helper()
	var page struct{ TotalCount int }
	e.call("GET", "/api/v1/tenants", e.admin(), "").must(t, 200, &page)
	return page.TotalCount
}

func testBadInputChangesNothing(t *testing.T, e *apiEnv) {
	before := tenantCount(t, e)
	tests := []struct {
		name, body string
		status     int
		fields     []string
	}{
		{"empty name and bad email", `{"name":"","adminEmail":"not-an-email"}`, 400,
			[]string{"name", "adminEmail", "adminFirstName", "adminLastName", "adminPassword"}},
		{"doubled period", `{"name":"X","adminEmail":"a..b@x.example.com","adminFirstName":"A","adminLastName":"B","adminPassword":"Long-enough-pw-1"}`,
			400, []string{"adminEmail"}},
		{"display name", `{"name":"X","adminEmail":"Ann <a@x.example.com>","adminFirstName":"A","adminLastName":"B","adminPassword":"Long-enough-pw-1"}`,
			400, []string{"adminEmail"}},
		{"short password", `{"name":"X","adminEmail":"a@x.example.com","adminFirstName":"A","adminLastName":"B","adminPassword":"short"}`,
			400, []string{"adminPassword"}},
		{"password with activation", `{"name":"X","adminEmail":"a@x.example.com","adminFirstName":"A","adminLastName":"B","adminPassword":"Long-enough-pw-1","sendActivation":true}`,
			400, []string{"adminPassword"}},
		{"negative seats", `{"name":"X","adminEmail":"a@x.example.com","adminFirstName":"A","adminLastName":"B","adminPassword":"Long-enough-pw-1","licenseDevices":-1}`,
			400, []string{"licenseDevices"}},
		{"wrong type", `{"name":"X","licenseDevices":"ten"}`, 400, []string{"licenseDevices"}},
		{"unknown field", `{"name":"X","colour":"red"}`, 400, []string{"colour"}},
		{"bidi override in a name", `{"name":"evil\u202egnp.exe","adminEmail":"a@x.example.com","adminFirstName":"A\nB","adminLastName":"B","adminPassword":"Long-enough-pw-1"}`,
			400, []string{"name", "adminFirstName"}},
		{"malformed JSON", `{"name":`, 400, []string{"body"}},
		{"duplicate name, any case", `{"name":"ACME","adminEmail":"other@x.example.com","adminFirstName":"A","adminLastName":"B","adminPassword":"Long-enough-pw-1"}`,
			409, []string{"name"}},
		// The admin email is taken by Acme's admin: the tenant must not be created either.
		{"duplicate admin username", `{"name":"Newco","adminEmail":"TA@acme.example.com","adminFirstName":"A","adminLastName":"B","adminPassword":"Long-enough-pw-1"}`,
			409, []string{"adminEmail"}},
	}
	for _, tt := range tests {
		r := e.call("POST", "/api/v1/tenants", e.admin(), tt.body)
		if r.Status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.Status, tt.status, r.Body)
			continue
		}
		if r.Env.Errors == nil || string(r.Env.Result) != "null" {
			t.Errorf("%s: want errors and a null result: %s", tt.name, r.Body)
		}
		for _, f := range tt.fields {
			if !slices.Contains(r.fields(), f) {
				t.Errorf("%s: fieldErrors %v lack %s", tt.name, r.fields(), f)
			}
		}
	}
	if after := tenantCount(t, e); after != before {
		t.Errorf("bad input changed the tenant count from %d to %d", before, after)
	}
	for _, q := range []string{"rows=501", "rows=0", "rows=x", "start=-1", "fq=bogus=1", "fq=(name=a", "fq=name==a", "sortFields[0].name=colour",
		"sortFields[0].name=name&sortFields[0].order=UP"} {
		r := e.call("GET", "/api/v1/tenants?"+q, e.admin(), "")
		if r.Status != 400 || r.field() == "" {
			t.Errorf("GET ?%s: %d %s, want 400 naming the field", q, r.Status, r.Body)
		}
	}
	r := e.call("GET", "/api/v1/tenants?rows=501", e.admin(), "")
	if r.Env.Errors.FieldErrors[0].Code != "Range" || r.field() != "rows" {
		t.Errorf("rows=501: %s", r.Body)
	}
	if r := e.call("PUT", "/api/v1/tenants/x", e.admin(), `{"state":"GONE"}`); r.Status != 400 || r.field() != "state" {
		t.Errorf("bad state: %d %s", r.Status, r.Body)
	}
	if r := e.call("POST", "/api/v1/tenants", e.admin(), "<xml/>"); r.Status != 400 {
		t.Errorf("unreadable body: %d", r.Status)
	}
}

func testSuspension(t *testing.T, e *apiEnv) {
	c, ta := e.createTenant("Suspendco")
	e.call("GET", "/api/v1/metadata/tenant", ta, "").must(t, 200, nil)
	var s createdTenant
	e.call("PUT", "/api/v1/tenants/"+c.ID, e.admin(), "state=SUSPENDED").must(t, 200, &s)
	if s.State != "SUSPENDED" {
		t.Fatalf("state = %s", s.State)
	}
	if r := e.call("GET", "/api/v1/metadata/tenant", ta, ""); r.Status != 403 {
		t.Errorf("suspended tenant's admin: %d, want 403", r.Status)
	}
	e.call("PUT", "/api/v1/tenants/"+c.ID, e.admin(), `{"state":"ACTIVE","name":"Suspendco Renamed","licenseDevices":25}`).must(t, 200, &s)
	if s.Name != "Suspendco Renamed" || s.LicenseDevices != 25 {
		t.Errorf("after update: %+v", s)
	}
	e.call("GET", "/api/v1/metadata/tenant", ta, "").must(t, 200, nil)
	if r := e.call("PUT", "/api/v1/tenants/"+c.ID, e.admin(), `{"name":"acme"}`); r.Status != 409 {
		t.Errorf("rename onto a taken name: %d, want 409", r.Status)
	}
	if r := e.call("PUT", "/api/v1/tenants/nope", e.admin(), `{"name":"Fine"}`); r.Status != 404 {
		t.Errorf("update unknown tenant: %d, want 404", r.Status)
	}
}

func testListing(t *testing.T, e *apiEnv) {
	var page struct {
		SearchResults []createdTenant
		TotalCount    int
		Offset        int
		Limit         int
	}
	e.call("GET", "/api/v1/tenants?fq=name=acme", e.admin(), "").must(t, 200, &page)
	if page.TotalCount != 1 || len(page.SearchResults) != 1 || page.SearchResults[0].Name != "Acme" {
		t.Errorf("fq=name=acme: %+v", page)
	}
	e.call("GET", "/api/v1/tenants?fq="+urlq("state=ACTIVE and (name=acme or name='Formco')")+"&sortFields[0].name=name&sortFields[0].order=DESC",
		e.admin(), "").must(t, 200, &page)
	if len(page.SearchResults) != 2 || page.SearchResults[0].Name != "Formco" || page.SearchResults[1].Name != "Acme" {
		t.Errorf("fq with or + sort DESC: %+v", page.SearchResults)
	}
	e.call("GET", "/api/v1/tenants?rows=1&start=1&sortFields[0].name=name", e.admin(), "").must(t, 200, &page)
	if len(page.SearchResults) != 1 || page.Offset != 1 || page.Limit != 1 || page.TotalCount < 3 {
		t.Errorf("paging: %+v", page)
	}
	e.call("GET", "/api/v1/tenants?q=suspend", e.admin(), "").must(t, 200, &page)
	if page.TotalCount != 1 {
		t.Errorf("q=suspend: %+v", page)
	}
	var report struct {
		Tenants []struct {
			Name          string
			Users         int
			LicensedSeats int
		}
		Total struct{ Users, LicensedSeats int }
	}
	e.call("GET", "/api/v1/system/report", e.admin(), "").must(t, 200, &report)
	if len(report.Tenants) < 3 || report.Total.Users < 3 {
		t.Errorf("report: %+v", report)
	}
	sum := 0
	for _, u := range report.Tenants {
		sum += u.LicensedSeats
	}
	if sum != report.Total.LicensedSeats {
		t.Errorf("total seats %d, tenants add up to %d", report.Total.LicensedSeats, sum)
	}
}

func urlq(s string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "=", "%3D", "'", "%27").Replace(s)
}

func testAudit(t *testing.T, e *apiEnv) {
	type record struct {
		TenantID, Action, ActorName, TargetID string
	}
	var all struct {
		SearchResults []record
		TotalCount    int
	}
	e.call("GET", "/api/v1/audit?rows=500", e.admin(), "").must(t, 200, &all)
	actions := map[string]int{}
	for _, r := range all.SearchResults {
		actions[r.Action]++
		if r.Action == "tenant.create" && r.ActorName != "admin" {
			t.Errorf("tenant.create by %q, want admin", r.ActorName)
		}
	}
	for _, a := range []string{"system_admin.create", "tenant.create", "tenant.suspend", "tenant.resume"} {
		if actions[a] == 0 {
			t.Errorf("no %s record in the audit trail: %v", a, actions)
		}
	}
	// Failed attempts wrote nothing: only the successful creations appear.
	if actions["tenant.create"] != 3 {
		t.Errorf("%d tenant.create records, want 3", actions["tenant.create"])
	}
	c, ta := e.createTenant("Auditco")
	var mine struct{ SearchResults []record }
	e.call("GET", "/api/v1/audit", ta, "").must(t, 200, &mine)
	if len(mine.SearchResults) == 0 {
		t.Fatal("Tenant Admin sees no audit records of their tenant")
	}
	for _, r := range mine.SearchResults {
		if r.TenantID != c.ID {
			t.Errorf("Tenant Admin sees another tenant's record: %+v", r)
		}
	}
	var outbox struct{ SearchResults []json.RawMessage }
	e.call("GET", "/api/v1/mail/outbox", ta, "").must(t, 200, &outbox)
}

func TestOperationalEndpoints(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		if r := e.call("GET", path, "", ""); r.Status != 200 || !strings.Contains(r.Body, want) {
			t.Errorf("%s: %d %q", path, r.Status, r.Body)
		}
	}
	e.call("GET", "/api/v1/tenants", e.admin(), "")
	r := e.call("GET", "/metrics", "", "")
	for _, want := range []string{
		`steward_http_requests_total{method="GET",route="GET /api/v1/tenants",status="200"}`,
		"steward_http_request_duration_seconds_bucket", "go_sql_open_connections",
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if r.Status != 200 {
		t.Errorf("/metrics: %d", r.Status)
	}
	// Made-up methods do not make new series.
	e.call("BREW", "/healthz", "", "")
	if r := e.call("GET", "/metrics", "", ""); strings.Contains(r.Body, "BREW") || !strings.Contains(r.Body, `method="OTHER"`) {
		t.Error("an unknown method became its own metric label")
	}
	if r := e.call("GET", "/api/v1/nothing-here", e.admin(), ""); r.Status != 404 || r.Env.Errors == nil {
		t.Errorf("unknown API path: %d %s", r.Status, r.Body)
	}
	if r := e.call("DELETE", "/api/v1/tenants", e.admin(), ""); r.Status != http.StatusMethodNotAllowed && r.Status != 404 {
		t.Errorf("wrong method: %d", r.Status)
	}
	// Readiness follows the database.
	e.srv.Store().Close()
	if r := e.call("GET", "/readyz", "", ""); r.Status != 503 {
		t.Errorf("/readyz with the database closed: %d, want 503", r.Status)
	}
}

// TestOpenAPICoversEveryRoute fails when a route is served but not documented, or documented but not served.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	r := e.call("GET", "/api/openapi.json", "", "")
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	routes := e.srv.api.Routes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, rt.Path)
			continue
		}
		if op["summary"] == "" || op["responses"] == nil {
			t.Errorf("%s %s has no summary or responses", rt.Method, rt.Path)
		}
		// Documented means served: the path answers something other than "no such operation".
		path := strings.NewReplacer("{id}", "x").Replace(rt.Path)
		res := e.call(rt.Method, path, "", "")
		if res.Status == 405 || res.Status == 404 && strings.Contains(res.Body, "no API operation") {
			t.Errorf("%s %s is documented but not served (%d)", rt.Method, rt.Path, res.Status)
		}
	}
	n := 0
	for _, ops := range doc.Paths {
		n += len(ops)
	}
	if n != len(routes) {
		t.Errorf("document has %d operations, route table %d", n, len(routes))
	}
	if r := e.call("GET", "/api/docs", "", ""); r.Status != 200 || !strings.Contains(r.Body, "/api/v1/tenants") {
		t.Errorf("/api/docs: %d", r.Status)
	}
}

func TestStatePersistsAcrossRestart(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			url, dir := db(t), t.TempDir()
			keep := func(c *Config) { c.DataDir = dir }
			e := newAPIEnv(t, url, keep)
			c, ta := e.createTenant("Durable")
			e.srv.Close()
			e2 := newAPIEnv(t, url, keep)
			var got createdTenant
			e2.call("GET", "/api/v1/tenants/"+c.ID, e2.admin(), "").must(t, 200, &got)
			if got.Name != "Durable" {
				t.Errorf("after restart: %+v", got)
			}
			e2.call("GET", "/api/v1/metadata/tenant", ta, "").must(t, 200, nil)
		})
	}
}

// TestUncleanInputIs4xx: NUL characters and invalid UTF-8, which PostgreSQL refuses, are bad input on
// every path into Steward and never a 500.
func TestUncleanInputIs4xx(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			for _, c := range []struct{ method, path, auth, body string }{
				{"GET", "/api/v1/tenants/%00", e.admin(), ""},
				{"GET", "/api/v1/tenants/%FF%FE", e.admin(), ""},
				{"PUT", "/api/v1/tenants/%00", e.admin(), `{"name":"Fine"}`},
				{"GET", "/api/v1/tenants?fq=name=%00", e.admin(), ""},
				{"GET", "/api/v1/tenants?q=%FF", e.admin(), ""},
				{"GET", "/api/v1/tenants?fq=name=%27%C3%27", e.admin(), ""},
				{"POST", "/api/v1/tenants", e.admin(), `{"name":"Nul","adminEmail":"a@nul.example.com","adminFirstName":"\u0000",` +
					`"adminLastName":"B","adminPassword":"Long-enough-pw-1"}`},
				{"POST", "/api/v1/tenants", e.admin(), "name=Bad%FFUTF8&adminEmail=a%40bad.example.com&adminFirstName=A&adminLastName=B&adminPassword=Long-enough-pw-1"},
				{"GET", "/api/v1/metadata/tenant", "a\x00b@x.example.com:password-1234", ""},
				{"GET", "/api/v1/metadata/tenant", "a@x.example.com:pass\xff\xfeword", ""},
			} {
				r := e.call(c.method, c.path, c.auth, c.body)
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("%s %s %q: %d %s, want a 4xx", c.method, c.path, c.body, r.Status, r.Body)
				}
			}
			if n := tenantCount(t, e); n != 0 {
				t.Errorf("%d tenants created from unclean input", n)
			}
		})
	}
}

// TestCrossOriginRefused: a browser request from another site cannot use the admin's session, and the
// API says so in its envelope.
func TestCrossOriginRefused(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	req, _ := http.NewRequest("POST", e.url+"/api/v1/tenants", strings.NewReader(`{"name":"X"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.SetBasicAuth("admin", e.adminPW)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env struct {
		Errors *struct{ GlobalErrors []struct{ Code string } }
	}
	json.NewDecoder(res.Body).Decode(&env)
	if res.StatusCode != 403 || env.Errors == nil || env.Errors.GlobalErrors[0].Code != "forbidden" {
		t.Errorf("cross-origin POST: %d %+v, want 403 in the envelope", res.StatusCode, env.Errors)
	}
	if n := tenantCount(t, e); n != 0 {
		t.Errorf("the refused request created %d tenants", n)
	}
}
