package server

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"steward/internal/apps/appstest"
	"steward/internal/authz"
)

// uploadForm posts a multipart form with file to path in the console session of c.
func (c *consoleClient) uploadForm(path, fileName string, file []byte, fields map[string]string) pageResp {
	c.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("file", fileName)
	_, _ = fw.Write(file)
	_ = w.Close()
	req, _ := http.NewRequestWithContext(c.t.Context(), "POST", c.base+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.AddCookie(c.cookie)
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pageResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// TestConsoleApps drives the Apps, App Catalog and App Inventory pages and the portal's apps page as a
// browser without JavaScript: adding public and in-house apps, editing, distribution, categories,
// deleting with confirmation, the catalog preview, the inventory with its drill-down, permissions and
// tenant isolation.
func TestConsoleApps(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	s, base := e.srv, e.url
	_, hooli := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	consoleTenant(t, s, "Endframe", "kevin@endframe.example.com")
	ann := newTestAgent(t, s, hooli, "ann@hooli.example.com", "Ann's Pixel") // reports com.example.mail 3.2
	_ = ann

	admin := signInAt(t, base, &http.Client{}, "gavin@hooli.example.com", testAdminPassword)
	admin.do("GET", "/console/apps", nil).expect(t, http.StatusOK, "the Apps page", `id="create-app"`, `id="upload-app"`,
		`href="/console/apps" aria-current="page"`, "No app.")
	admin.do("POST", "/console/apps", url.Values{"platformType": {"ANDROID"}, "bundleId": {"not a bundle"}, "name": {"X"}}).
		expect(t, http.StatusBadRequest, "a bad bundle id", `value="not a bundle"`, "bundle id")
	loc := admin.do("POST", "/console/apps", url.Values{"platformType": {"ANDROID"}, "bundleId": {"com.example.mail"},
		"name": {"Mail <pro>"}}).location(t, "/console/apps/")
	mail := "/console/apps/" + pathIDOf(t, loc)
	admin.do("GET", loc, nil).expect(t, http.StatusOK, "the new app", "App added.", "Mail &lt;pro&gt;", `id="save-distribution"`,
		`id="delete-app"`, `data-key="all"`)

	// In-house upload.
	up := admin.uploadForm("/console/apps/inhouse", "field.apk", appstest.APK("com.example.field", "4.1", 41), map[string]string{"name": ""})
	if up.status != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", up.status, up.body)
	}
	admin.do("GET", up.header.Get("Location"), nil).expect(t, http.StatusOK, "the uploaded app", "com.example.field", "4.1 (41)", "field.apk")
	admin.uploadForm("/console/apps/inhouse", "junk.apk", []byte("junk"), nil).expect(t, http.StatusBadRequest, "junk", "not a zip")

	// Edit, categories, distribution.
	admin.do("POST", mail, url.Values{"name": {"Mail"}, "description": {"the mail app"}, "iconUrl": {""}}).location(t, mail+"?done=updated")
	admin.do("POST", "/console/categories", url.Values{"kind": {"APP"}, "name": {"Office"}}).location(t, "/console/categories")
	page := admin.do("GET", mail, nil).expect(t, http.StatusOK, "the edited app", "the mail app", `name="category"`)
	catID := firstMatch(t, page.body, `name="category" value="(\d+)"`)
	admin.do("POST", mail+"/categories", url.Values{"category": {catID}}).location(t, mail+"?done=categorized")
	admin.do("POST", mail+"/distribution", url.Values{"t-all": {"required"}}).location(t, mail+"?done=distributed")
	admin.do("GET", mail, nil).expect(t, http.StatusOK, "the distribution", `data-key="all" data-setting="required"`,
		`value="`+catID+`" checked`)

	// Catalog preview.
	admin.do("GET", "/console/appcatalog?email="+url.QueryEscape("ann@hooli.example.com"), nil).
		expect(t, http.StatusOK, "ann's catalog", `id="catalog-apps"`, `data-required="true"`, "Office")
	admin.do("GET", "/console/appcatalog?email=nobody@hooli.example.com", nil).expect(t, http.StatusNotFound, "an unknown user", "No user has this email address.")

	// Inventory and drill-down.
	admin.do("GET", "/console/appinventory", nil).expect(t, http.StatusOK, "the inventory", `data-bundle="com.example.mail"`,
		`data-managed="true"`, "3.2 (1)")
	admin.do("GET", "/console/appinventory?managed=false", nil).lacks(t, "unmanaged only", `data-bundle="com.example.mail"`)
	admin.do("GET", "/console/appinventory/devices?bundleId=com.example.mail&platformType=ANDROID", nil).
		expect(t, http.StatusOK, "the drill-down", "Ann&#39;s Pixel", "ann@hooli.example.com")

	// Permissions and isolation.
	ro := consoleUserWithRoles(t, s, base, hooli, "ro@hooli.example.com", authz.RoleAppContentReadOnly)
	ro.do("GET", mail, nil).expect(t, http.StatusOK, "read only", "the mail app").lacks(t, "read only", `id="save-app"`, `id="delete-app"`, `id="save-distribution"`)
	ro.do("GET", "/console/apps", nil).lacks(t, "read only list", `id="create-app"`)
	if r := ro.do("POST", mail+"/distribution", url.Values{"t-all": {"optional"}}); r.status != http.StatusForbidden {
		t.Errorf("read only distributes: %d", r.status)
	}
	dev := consoleUserWithRoles(t, s, base, hooli, "dev@hooli.example.com", authz.RoleDeviceManagement)
	if r := dev.do("GET", "/console/apps", nil); r.status != http.StatusForbidden {
		t.Errorf("device admin opens apps: %d", r.status)
	}
	kevin := signInAt(t, base, &http.Client{}, "kevin@endframe.example.com", testAdminPassword)
	if r := kevin.do("GET", mail, nil); r.status != http.StatusNotFound {
		t.Errorf("other tenant opens the app: %d", r.status)
	}
	kevin.do("GET", "/console/appinventory", nil).lacks(t, "other tenant's inventory", "com.example.mail")

	if !strings.Contains(admin.do("GET", mail+"/delete", nil).body, "Delete the app Mail?") {
		t.Error("no delete confirmation")
	}
	admin.do("POST", mail+"/delete", nil).location(t, "/console/apps?done=deleted")
	if r := admin.do("GET", mail, nil); r.status != http.StatusNotFound {
		t.Errorf("deleted app page: %d", r.status)
	}
}

// TestPortalApps: the self-service portal lists the apps available to the signed-in user.
func TestPortalApps(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Portapps")
	e.call("POST", "/api/v1/apps", ta, `{"platformType":"ANDROID","bundleId":"com.example.mail","name":"Team Mail",`+
		`"targets":[{"type":"ALL_USERS","required":true}]}`).must(t, 200, nil)
	e.call("POST", "/api/v1/apps", ta, `{"platformType":"IOS","bundleId":"com.example.secret","name":"Hidden"}`).must(t, 200, nil)
	b := e.browser()
	if st, body := b.get("/go/apps"); st != 200 || strings.Contains(body, "Team Mail") {
		t.Errorf("signed out /go/apps: %d", st)
	}
	if st, _ := b.signIn("ta@portapps.example.com", "password", "Tenant-admin-pw-1"); st != 200 {
		t.Fatalf("portal sign-in: %d", st)
	}
	st, body := b.get("/go/apps")
	if st != 200 || !strings.Contains(body, "Team Mail") || !strings.Contains(body, `data-required="true"`) || strings.Contains(body, "Hidden") {
		t.Errorf("/go/apps: %d\n%s", st, body)
	}
	if _, home := b.get("/go"); !strings.Contains(home, `href="/go/apps"`) {
		t.Error("the portal home has no link to the apps")
	}
	// A quarantined device of the user: the catalog says so.
	dev := e.enrolled(ta, "dee@portapps.example.com", "SERQ")
	if _, err := e.srv.Store().DB().Exec(`UPDATE devices SET quarantined=true, account_id=(SELECT id FROM accounts WHERE email='ta@portapps.example.com') WHERE id=$1`, dev.DeviceID); err != nil {
		t.Fatal(err)
	}
	if _, body := b.get("/go/apps"); !strings.Contains(body, `id="go-apps-quarantined"`) || !strings.Contains(body, "compliance policy") {
		t.Errorf("/go/apps with a quarantined device has no notice:\n%s", body)
	}
}
