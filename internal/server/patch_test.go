package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"steward/internal/android"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/sim/ios"
)

const patchAPI = "/api/patch/content/v1"

type patchListView struct {
	PageCount    int               `json:"pageCount"`
	CurrentPage  int               `json:"currentPage"`
	TotalRecords int               `json:"totalRecords"`
	Data         []json.RawMessage `json:"data"`
}

type patchGroupView struct {
	PatchGroupID     string   `json:"patchGroupId"`
	PatchGroupName   string   `json:"patchGroupName"`
	Version          int      `json:"version"`
	CreationDate     string   `json:"creationDate"`
	LastModifiedDate string   `json:"lastModifiedDate"`
	PatchIDs         []string `json:"patchIds"`
}

type cvesToPatchGroupView struct {
	PatchGroupID  string              `json:"patchGroupId"`
	CVEsToPatches map[string][]string `json:"cvesToPatches"`
}

// patchCall sends a Patch Management request with X-On-Behalf-Of (when behalf is not "").
func (e *apiEnv) patchCall(method, path, auth, behalf, body string) *response {
	e.t.Helper()
	req := newRequest(e.t, method, e.url+path, body)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if behalf != "" {
		req.Header.Set("X-On-Behalf-Of", behalf)
	}
	if user, pw, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(user, pw)
	}
	return e.send(req)
}

// bare decodes a Patch Management answer (no envelope), requiring status.
func bare[T any](t *testing.T, r *response, status int) T {
	t.Helper()
	var out T
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatalf("body: %v: %s", err, r.Body)
	}
	return out
}

func TestPatchManagementAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			a, ta := e.createTenant("Patcha")
			_, tb := e.createTenant("Patchb")
			reader := roleUser(t, e, mdm.TenantID(a.ID), "reader@patcha.example.com", authz.RoleDeviceReadOnly)
			nobody := roleUser(t, e, mdm.TenantID(a.ID), "nobody@patcha.example.com", authz.RoleUserReadOnly)
			t.Run("Catalog", func(t *testing.T) { testPatchCatalogAPI(t, e, reader, nobody) })
			id := testPatchGroupsAPI(t, e, ta, tb, reader)
			t.Run("Tokens", func(t *testing.T) { testPatchScopes(t, e, a.ID, id) })
			t.Run("Import", func(t *testing.T) { testPatchImport(t, e, ta, reader) })
			t.Run("Deploy", func(t *testing.T) { testPatchDeploy(t, e, ta, tb, reader) })
		})
	}
}

func testPatchCatalogAPI(t *testing.T, e *apiEnv, reader, nobody string) {
	p := bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch", reader, "", ""), 200)
	if p.TotalRecords != 16 || len(p.Data) != 10 || p.PageCount != 2 || p.CurrentPage != 1 {
		t.Errorf("first page: total %d, %d rows, %d pages, page %d", p.TotalRecords, len(p.Data), p.PageCount, p.CurrentPage)
	}
	var newest struct {
		Name          string   `json:"name"`
		PublishedDate string   `json:"publishedDate"`
		CVEs          []string `json:"cves"`
		CVECount      int      `json:"cveCount"`
	}
	json.Unmarshal(p.Data[0], &newest)
	if _, err := time.Parse(time.RFC3339, newest.PublishedDate); err != nil || newest.Name != "iOS 18.3.2" || newest.CVECount != len(newest.CVEs) {
		t.Errorf("newest patch first (PublishedDate desc): %+v", newest)
	}
	p = bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch?PageNumber=2", reader, "", ""), 200)
	if len(p.Data) != 6 || p.CurrentPage != 2 {
		t.Errorf("page 2: %d rows, page %d", len(p.Data), p.CurrentPage)
	}
	p = bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch?PageSize=150&Filter=android&OrderBy=PublishedDate%20asc", reader, "", ""), 200)
	json.Unmarshal(p.Data[0], &newest)
	if p.TotalRecords != 6 || len(p.Data) != 6 || !strings.Contains(newest.Name, "2023-09") {
		t.Errorf("Android, oldest first: %d rows, first %q", p.TotalRecords, newest.Name)
	}
	for _, q := range []string{"PageSize=151", "PageSize=0", "PageNumber=0", "PageSize=x", "OrderBy=Colour", "OrderBy=name%20sideways"} {
		r := e.patchCall("GET", patchAPI+"/patch?"+q, reader, "", "")
		if r.Status != 400 || r.field() == "" {
			t.Errorf("GET patch?%s: %d %s, want 400 naming the parameter", q, r.Status, r.Body)
		}
	}
	if r := e.patchCall("GET", patchAPI+"/patch?PageSize=151", reader, "", ""); !strings.Contains(r.Body, "between 1 and 150") {
		t.Errorf("PageSize 151 message: %s", r.Body)
	}
	c := bare[patchListView](t, e.patchCall("GET", patchAPI+"/cve?Filter=CVE-2024", reader, "", ""), 200)
	if c.TotalRecords != 9 {
		t.Errorf("CVE-2024 CVEs: %d, want 9", c.TotalRecords)
	}
	for _, path := range []string{"/patch", "/cve", "/patch-group", "/patch-group-audit"} {
		if r := e.patchCall("GET", patchAPI+path, nobody, "", ""); r.Status != 403 {
			t.Errorf("GET %s without a patch role: %d, want 403", path, r.Status)
		}
		if r := e.patchCall("GET", patchAPI+path, "", "", ""); r.Status != 401 {
			t.Errorf("GET %s anonymous: %d, want 401", path, r.Status)
		}
	}
}

func testPatchGroupsAPI(t *testing.T, e *apiEnv, ta, tb, reader string) string {
	groups := func(auth string) patchListView {
		return bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch-group", auth, "", ""), 200)
	}
	body := `{"cveIds":["CVE-2024-23225","CVE-2024-1580","CVE-1999-0001"],"patchGroupName":"Zero days","dataUpdateErrorPolicy":"Include"}`
	for _, tc := range []struct {
		name, auth, behalf, body string
		status                   int
		field                    string
	}{
		{"reader", reader, "soc", body, 403, ""},
		{"no X-On-Behalf-Of", ta, "", body, 400, "X-On-Behalf-Of"},
		{"blank X-On-Behalf-Of", ta, "   ", body, 400, "X-On-Behalf-Of"},
		{"X-On-Behalf-Of too long", ta, strings.Repeat("x", 256), body, 400, "X-On-Behalf-Of"},
		{"invalid JSON", ta, "soc", `{"cveIds":[`, 400, "body"},
		{"unknown field", ta, "soc", `{"cveIds":["CVE-2024-1580"],"colour":"red"}`, 400, "colour"},
		{"Fail policy", ta, "soc", `{"cveIds":["CVE-1999-0001"],"dataUpdateErrorPolicy":"Fail"}`, 400, "cveIds"},
	} {
		r := e.patchCall("POST", patchAPI+"/cves-to-patch-group", tc.auth, tc.behalf, tc.body)
		if r.Status != tc.status || tc.field != "" && r.field() != tc.field {
			t.Errorf("POST %s: %d field %q, want %d %q: %s", tc.name, r.Status, r.field(), tc.status, tc.field, r.Body)
		}
	}
	if g := groups(reader); g.TotalRecords != 0 {
		t.Fatalf("refused requests made %d groups", g.TotalRecords)
	}

	created := bare[cvesToPatchGroupView](t, e.patchCall("POST", patchAPI+"/cves-to-patch-group", ta, "ann@soc.example.com", body), 200)
	want := map[string][]string{"CVE-2024-23225": {"5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f06"},
		"CVE-2024-1580": {"5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f07"}, "CVE-1999-0001": {}}
	if created.PatchGroupID == "" || fmt.Sprint(created.CVEsToPatches) != fmt.Sprint(want) {
		t.Errorf("created = %+v", created)
	}
	id := created.PatchGroupID
	g := groups(reader)
	var pg patchGroupView
	json.Unmarshal(g.Data[0], &pg)
	if g.TotalRecords != 1 || pg.PatchGroupID != id || pg.PatchGroupName != "Zero days" || pg.Version != 1 || len(pg.PatchIDs) != 2 {
		t.Errorf("patch groups = %+v", pg)
	}
	if _, err := time.Parse(time.RFC3339, pg.CreationDate); err != nil {
		t.Errorf("creationDate %q is not RFC 3339", pg.CreationDate)
	}

	// PUT replaces the patches; the reader cannot; the header is required; another tenant sees nothing.
	put := `{"cveIds":["CVE-2024-0039"]}`
	if r := e.patchCall("PUT", patchAPI+"/cves-to-patch-group/"+id, reader, "soc", put); r.Status != 403 {
		t.Errorf("PUT as reader: %d", r.Status)
	}
	if r := e.patchCall("PUT", patchAPI+"/cves-to-patch-group/"+id, ta, "", put); r.Status != 400 || r.field() != "X-On-Behalf-Of" {
		t.Errorf("PUT without X-On-Behalf-Of: %d %s", r.Status, r.Body)
	}
	for _, auth := range []string{tb} {
		if r := e.patchCall("PUT", patchAPI+"/cves-to-patch-group/"+id, auth, "mallory", put); r.Status != 404 {
			t.Errorf("PUT another tenant's group: %d", r.Status)
		}
		if r := e.patchCall("GET", patchAPI+"/cves-to-patch-group/"+id, auth, "", ""); r.Status != 404 {
			t.Errorf("GET another tenant's group: %d", r.Status)
		}
		if g := groups(auth); g.TotalRecords != 0 {
			t.Errorf("tenant B lists %d groups", g.TotalRecords)
		}
		if a := bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch-group-audit", auth, "", ""), 200); a.TotalRecords != 0 {
			t.Errorf("tenant B lists %d audit rows", a.TotalRecords)
		}
	}
	for _, bad := range []string{"42", "not-a-guid", "5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f0"} {
		if r := e.patchCall("GET", patchAPI+"/cves-to-patch-group/"+bad, reader, "", ""); r.Status != 400 {
			t.Errorf("GET cves-to-patch-group/%s: %d, want 400", bad, r.Status)
		}
	}
	if r := e.patchCall("GET", patchAPI+"/cves-to-patch-group/00000000-0000-4000-8000-000000000000", reader, "", ""); r.Status != 404 {
		t.Errorf("unknown group: %d, want 404", r.Status)
	}
	updated := bare[cvesToPatchGroupView](t, e.patchCall("PUT", patchAPI+"/cves-to-patch-group/"+strings.ToUpper(id), ta, "bob@soc.example.com", put), 200)
	if updated.PatchGroupID != id || len(updated.CVEsToPatches["CVE-2024-0039"]) != 1 {
		t.Errorf("updated = %+v", updated)
	}
	m := bare[map[string][]string](t, e.patchCall("GET", patchAPI+"/cves-to-patch-group/"+id, reader, "", ""), 200)
	if fmt.Sprint(m) != fmt.Sprint(updated.CVEsToPatches) {
		t.Errorf("GET cves-to-patch-group = %v, want %v", m, updated.CVEsToPatches)
	}
	json.Unmarshal(groups(reader).Data[0], &pg)
	if pg.Version != 2 || pg.PatchGroupName != "Zero days" {
		t.Errorf("after PUT: %+v", pg)
	}

	// The history names who each change was made for; the audit trail records both changes.
	audit := bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch-group-audit?PageSize=20", reader, "", ""), 200)
	var rows []string
	for _, raw := range audit.Data {
		var r struct {
			Action   string `json:"patchGroupAuditAction"`
			EditedBy string `json:"editedBy"`
			Version  int    `json:"patchGroupVersion"`
			Status   string `json:"patchGroupStatus"`
		}
		json.Unmarshal(raw, &r)
		rows = append(rows, fmt.Sprintf("%s/%s/%d/%s", r.Action, r.EditedBy, r.Version, r.Status))
	}
	wantRows := []string{"PatchRemoved/bob@soc.example.com/2/Active", "PatchRemoved/bob@soc.example.com/2/Active",
		"PatchAdded/bob@soc.example.com/2/Active", "PatchAdded/ann@soc.example.com/1/Active",
		"PatchAdded/ann@soc.example.com/1/Active", "Created/ann@soc.example.com/1/Active"}
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
		t.Errorf("patch-group-audit newest first:\n got %v\nwant %v", rows, wantRows)
	}
	var trail struct {
		SearchResults []struct {
			Action  string         `json:"action"`
			Details map[string]any `json:"details"`
		} `json:"searchResults"`
	}
	e.call("GET", "/api/v1/audit?fq=targetType%3Dpatch_group&sortFields%5B0%5D.name=id&sortFields%5B0%5D.order=ASC", ta, "").must(t, 200, &trail)
	if len(trail.SearchResults) != 2 || trail.SearchResults[0].Action != "patch.group.create" ||
		trail.SearchResults[1].Details["onBehalfOf"] != "bob@soc.example.com" {
		t.Errorf("audit trail = %+v", trail.SearchResults)
	}
	return id
}

// testPatchScopes calls the API handler with App Registration principals (what a Bearer token
// resolves to), checking each route's declared permission against the patchgroup scopes.
func testPatchScopes(t *testing.T, e *apiEnv, tenantID, id string) {
	call := func(method, path, body string, scopes ...string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-On-Behalf-Of", "integration@vm.example.com")
		p := &mdm.Principal{Kind: mdm.ClientPrincipal, TenantID: mdm.TenantID(tenantID), Username: "client-1", ClientID: "client-1", Scopes: scopes}
		rec := httptest.NewRecorder()
		e.srv.api.ServeHTTP(rec, req.WithContext(mdm.WithPrincipal(req.Context(), p)))
		return rec.Code
	}
	body := `{"cveIds":["CVE-2024-1580"]}`
	tests := []struct {
		name, method, path, body string
		scopes                   []string
		want                     int
	}{
		{"reader lists", "GET", patchAPI + "/patch-group", "", []string{authz.ScopePatchGroupReader}, 200},
		{"reader reads a group", "GET", patchAPI + "/cves-to-patch-group/" + id, "", []string{authz.ScopePatchGroupReader}, 200},
		{"reader cannot create", "POST", patchAPI + "/cves-to-patch-group", body, []string{authz.ScopePatchGroupReader}, 403},
		{"reader cannot edit", "PUT", patchAPI + "/cves-to-patch-group/" + id, body, []string{authz.ScopePatchGroupReader}, 403},
		{"editor cannot create", "POST", patchAPI + "/cves-to-patch-group", body, []string{authz.ScopePatchGroupReader, authz.ScopePatchGroupEditor}, 403},
		{"editor edits", "PUT", patchAPI + "/cves-to-patch-group/" + id, body, []string{authz.ScopePatchGroupReader, authz.ScopePatchGroupEditor}, 200},
		{"editor cannot deploy", "POST", patchAPI + "/patch-group/" + id + "/deploy", `{"fq":"platformType=IOS"}`, []string{authz.ScopePatchGroupEditor}, 403},
		{"admin creates", "POST", patchAPI + "/cves-to-patch-group", body, []string{authz.ScopePatchGroupAdmin}, 200},
		{"admin edits", "PUT", patchAPI + "/cves-to-patch-group/" + id, body, []string{authz.ScopePatchGroupAdmin}, 200},
		{"read scope is not a patch scope", "GET", patchAPI + "/patch", "", []string{authz.ScopeRead}, 403},
		{"no tenant route for a token", "POST", "/api/v1/patch/catalog", `{}`, []string{authz.ScopePatchGroupAdmin}, 403},
	}
	for _, tt := range tests {
		if got := call(tt.method, tt.path, tt.body, tt.scopes...); got != tt.want {
			t.Errorf("%s: %s %s = %d, want %d", tt.name, tt.method, tt.path, got, tt.want)
		}
	}
}

func testPatchImport(t *testing.T, e *apiEnv, ta, reader string) {
	entry := `{"id":"11111111-2222-4333-8444-555555555555","name":"iOS 18.4.1","operatingSystem":"iOS","osVersion":"18.4.1",` +
		`"publishedDate":"2025-04-16T00:00:00Z","kbNumber":"122282","description":"Audio and pointer authentication fixes","cveIds":["CVE-2025-31200","CVE-2025-31201"]}`
	good := `{"cves":[{"id":"CVE-2025-31200","description":"CoreAudio memory corruption from a crafted audio stream"}],"patches":[` + entry + `]}`
	if r := e.call("POST", "/api/v1/patch/catalog", ta, good); r.Status != 403 {
		t.Errorf("import as Tenant Admin: %d, want 403", r.Status)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"patches":[` + strings.Replace(entry, `"iOS","osVersion":"18.4.1"`, `"iOS","osVersion":"2025-04-01"`, 1) + `]}`, "patches[0].osVersion"},
		{`{"patches":[` + strings.Replace(entry, `"name":"iOS 18.4.1"`, `"name":""`, 1) + `]}`, "patches[0].name"},
		{`{"patches":[` + entry + `,` + strings.Replace(entry, "iOS 18.4.1", "x", 1) + `]}`, "patches[1].id"},
		{`{"patches":[`, "body"},
		{`{}`, "patches"},
	} {
		r := e.call("POST", "/api/v1/patch/catalog", e.admin(), bad.body)
		if r.Status != 400 || r.field() != bad.field {
			t.Errorf("import %s: %d %q, want 400 on %s", bad.field, r.Status, r.field(), bad.field)
		}
	}
	p := bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch?Filter=18.4.1", reader, "", ""), 200)
	if p.TotalRecords != 0 {
		t.Fatalf("a refused import changed the catalog")
	}
	var res struct{ Patches, CVEs int }
	e.call("POST", "/api/v1/patch/catalog", e.admin(), good).must(t, 200, &res)
	if res.Patches != 1 || res.CVEs != 1 {
		t.Errorf("import = %+v", res)
	}
	e.call("POST", "/api/v1/patch/catalog", e.admin(), strings.Replace(good, "iOS 18.4.1", "iOS 18.4.1 (revised)", 1)).must(t, 200, nil)
	p = bare[patchListView](t, e.patchCall("GET", patchAPI+"/patch?Filter=18.4.1", reader, "", ""), 200)
	if p.TotalRecords != 1 || !strings.Contains(string(p.Data[0]), "revised") {
		t.Errorf("after re-import: %d %s", p.TotalRecords, p.Data)
	}
}

func testPatchDeploy(t *testing.T, e *apiEnv, ta, tb, reader string) {
	dev := e.enrolled(ta, "phone@patcha.example.com", "PATCH1")
	g := bare[cvesToPatchGroupView](t, e.patchCall("POST", patchAPI+"/cves-to-patch-group", ta, "soc",
		`{"cveIds":["CVE-2024-0039"],"patchGroupName":"Android March"}`), 200)
	path := patchAPI + "/patch-group/" + g.PatchGroupID + "/deploy"
	if r := e.patchCall("POST", path, reader, "", `{"fq":"platformType=ANDROID"}`); r.Status != 403 {
		t.Errorf("deploy as reader: %d", r.Status)
	}
	if r := e.patchCall("POST", path, tb, "", `{"fq":"platformType=ANDROID"}`); r.Status != 404 {
		t.Errorf("deploy another tenant's group: %d", r.Status)
	}
	if r := e.patchCall("POST", path, ta, "", `{}`); r.Status != 400 {
		t.Errorf("deploy without targets: %d", r.Status)
	}
	if r := e.patchCall("POST", path, ta, "", `{"fq":"colour=red"}`); r.Status != 400 || r.field() != "fq" {
		t.Errorf("deploy with a bad filter: %d %s", r.Status, r.Body)
	}
	d := bare[struct{ Targeted, Queued, UpToDate, Skipped int }](t, e.patchCall("POST", path, ta, "", `{"fq":"platformType=ANDROID"}`), 200)
	if d.Targeted < 1 || d.Queued != d.Targeted {
		t.Fatalf("deployment = %+v", d)
	}
	// The device gets the OS update at its next check-in and acknowledges it.
	reply := e.checkin(dev.Credential, android.CheckinRequest{})
	var cmd *android.Command
	for i := range reply.Commands {
		if reply.Commands[i].Type == mdm.CmdOSUpdate {
			cmd = &reply.Commands[i]
		}
	}
	if cmd == nil || cmd.Payload["productVersion"] != "2024-03-01" || cmd.Payload["patchId"] != "7a4c2e10-6d3b-4c8a-b5e2-9f0a1b2c3d03" {
		t.Fatalf("check-in commands = %+v", reply.Commands)
	}
	e.checkin(dev.Credential, android.CheckinRequest{Results: []android.CommandResult{{ID: cmd.ID, Status: "ACKNOWLEDGED"}}})
	var hist struct {
		SearchResults []struct{ Type, Status string } `json:"searchResults"`
	}
	e.call("GET", fmt.Sprintf("/api/v1/device/%s/commands", dev.GUID), ta, "").must(t, 200, &hist)
	found := false
	for _, c := range hist.SearchResults {
		found = found || c.Type == mdm.CmdOSUpdate && c.Status == mdm.CmdAcknowledged
	}
	if !found {
		t.Errorf("command history = %+v", hist.SearchResults)
	}
	if r := e.patchCall("GET", patchAPI+"/patch-group-audit?Filter=Android%20March", reader, "", ""); !strings.Contains(r.Body, `"Deployed"`) {
		t.Errorf("no Deployed row: %s", r.Body)
	}
}

// TestPatchDeployToIOS deploys a patch group to a simulated iPhone: it gets ScheduleOSUpdate at its
// next connect, installs the version, reports it at the next inventory, and a second deployment finds
// it up to date.
func TestPatchDeployToIOS(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Iospatch")
			e.uploadPushCertificate(ta)
			ctx := context.Background()
			email := "phone@iospatch.example.com"
			_, pin := e.deviceUser(ta, email)
			dev := ios.NewDevice(http.DefaultClient, 4242, ios.DeviceOptions{Model: 1})
			if err := dev.Enroll(ctx, e.url, email, pin, ""); err != nil {
				t.Fatal(err)
			}
			if err := dev.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			id := e.appleDeviceID(ta, dev.State().SerialNumber)

			// A future release, so that the simulator's version is always below it.
			e.call("POST", "/api/v1/patch/catalog", e.admin(), `{"patches":[{"id":"99999999-0000-4000-8000-000000000001",`+
				`"name":"iOS 99.1","operatingSystem":"iOS","osVersion":"99.1","publishedDate":"2099-01-01","cveIds":["CVE-2099-0001"]}]}`).must(t, 200, nil)
			g := bare[cvesToPatchGroupView](t, e.patchCall("POST", patchAPI+"/cves-to-patch-group", ta, "soc", `{"cveIds":["CVE-2099-0001"]}`), 200)
			deploy := func() (d struct{ Targeted, Queued, UpToDate, Skipped int }) {
				return bare[struct{ Targeted, Queued, UpToDate, Skipped int }](t,
					e.patchCall("POST", patchAPI+"/patch-group/"+g.PatchGroupID+"/deploy", ta, "", `{"fq":"platformType=IOS"}`), 200)
			}
			if d := deploy(); d.Targeted != 1 || d.Queued != 1 {
				t.Fatalf("deployment = %+v", d)
			}
			if err := dev.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			if st := dev.State(); st.OSVersion != "99.1" || st.Executed["ScheduleOSUpdate"] != 1 {
				t.Fatalf("simulator after the update: OS %s, executed %v", st.OSVersion, st.Executed)
			}
			if !slices.ContainsFunc(e.history(ta, id), func(c commandView) bool {
				return c.Type == mdm.CmdOSUpdate && c.Status == mdm.CmdAcknowledged
			}) {
				t.Fatalf("no acknowledged OS_UPDATE in %+v", e.history(ta, id))
			}
			e.act(ta, "forceCheckin", id)
			if err := dev.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			if v := e.getDevice(ta, id); v.PlatformVersion != "99.1" {
				t.Fatalf("platformVersion after the inventory: %q", v.PlatformVersion)
			}
			if d := deploy(); d.Queued != 0 || d.UpToDate != 1 {
				t.Errorf("second deployment = %+v, want the device up to date", d)
			}
		})
	}
}
