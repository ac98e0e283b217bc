package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"steward/internal/android"
	"steward/internal/apps/appstest"
	"steward/internal/authz"
	"steward/internal/mdm"
)

type appOutT struct {
	ID            int64
	Platform      string `json:"platformType"`
	Source        string
	BundleID      string
	Name          string
	Version       string
	BuildNumber   string
	ItunesStoreID string
	FileName      string
	FileSize      int64
	FileSha256    string
	Categories    []struct{ ID int64 }
	Targets       []struct {
		Type     string
		ID       int64
		Required bool
	}
}

type appPage struct {
	SearchResults []appOutT
	TotalCount    int
}

type catalogOutT struct {
	Apps []struct {
		ID          int64
		Name        string
		Platform    string `json:"platformType"`
		Required    bool
		DownloadURL string
		Categories  []struct{ ID int64 }
	}
	Categories []struct {
		ID   int64
		Name string
	}
}

func (c catalogOutT) names() []string {
	var out []string
	for _, a := range c.Apps {
		n := a.Name
		if a.Required {
			n += "*"
		}
		out = append(out, n)
	}
	return out
}

// uploadApp posts an in-house app as multipart/form-data: file under "file" (none when nil) and fields.
func (e *apiEnv) uploadApp(auth, fileName string, file []byte, fields map[string]string) *response {
	e.t.Helper()
	if file == nil {
		fileName = ""
	}
	return e.upload("POST", "/api/v1/apps/inhouse", auth, fileName, bytes.NewReader(file), fields)
}

func (e *apiEnv) appCount(auth string) int {
	e.t.Helper()
	var p appPage
	e.call("GET", "/api/v1/apps", auth, "").must(e.t, 200, &p)
	return p.TotalCount
}

// TestAppsAPI: public and in-house apps, validation (400, nothing stored), permissions (403), tenant
// isolation (404), distribution and categories, on each database.
func TestAppsAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			tn, ta := e.createTenant("Appco")
			_, other := e.createTenant("Elsewhere")

			var mail appOutT
			e.call("POST", "/api/v1/apps", ta, `{"platformType":"ios","bundleId":"com.example.mail","name":" Mail ",`+
				`"iconUrl":"https://example.com/mail.png","itunesStoreId":"1108187098","description":"Mail app"}`).must(t, 200, &mail)
			if mail.Platform != "IOS" || mail.Source != "PUBLIC" || mail.Name != "Mail" || mail.ItunesStoreID != "1108187098" {
				t.Errorf("created %+v", mail)
			}
			// Form-encoded, Android.
			var chat appOutT
			e.call("POST", "/api/v1/apps", ta, "platformType=ANDROID&bundleId=com.example.chat&name=Chat").must(t, 200, &chat)

			// Validation: a 4xx naming the field, and nothing stored.
			for body, field := range map[string]string{
				`{"bundleId":"com.x","name":"X"}`:                                                                    "platformType",
				`{"platformType":"WINDOWS","bundleId":"com.x","name":"X"}`:                                           "platformType",
				`{"platformType":"IOS","name":"X"}`:                                                                  "bundleId",
				`{"platformType":"IOS","bundleId":"com x","name":"X"}`:                                               "bundleId",
				`{"platformType":"IOS","bundleId":"com.x"}`:                                                          "name",
				`{"platformType":"IOS","bundleId":"com.x","name":"   "}`:                                             "name",
				`{"platformType":"IOS","bundleId":"com.x","name":"X","iconUrl":"javascript:alert(1)"}`:               "iconUrl",
				`{"platformType":"IOS","bundleId":"com.x","name":"X","itunesStoreId":"abc"}`:                         "itunesStoreId",
				`{"platformType":"ANDROID","bundleId":"com.x","name":"X","itunesStoreId":"12"}`:                      "itunesStoreId",
				`{"platformType":"IOS","bundleId":"com.x","name":"X","categories":[999999]}`:                         "categories",
				`{"platformType":"IOS","bundleId":"com.x","name":"X","targets":[{"type":"EVERYONE"}]}`:               "targets[0].type",
				`{"platformType":"IOS","bundleId":"com.x","name":"X","targets":[{"type":"USER_GROUP","id":999999}]}`: "targets[0].id",
				`{"platformType":"IOS","bundleId":"com.example.mail","name":"Dup"}`:                                  "bundleId",
			} {
				if r := e.call("POST", "/api/v1/apps", ta, body); r.field() != field || r.Status < 400 || r.Status >= 500 {
					t.Errorf("POST %s: %d %v, want a 4xx naming %s", body, r.Status, r.fields(), field)
				}
			}
			if n := e.appCount(ta); n != 2 {
				t.Errorf("%d apps after bad requests, want 2", n)
			}

			// In-house uploads: the id and version come from the binary.
			var ipa appOutT
			e.uploadApp(ta, "Notes.ipa", appstest.IPA("com.example.notes", "Notes", "2.1", "210"), map[string]string{
				"description": "in-house notes"}).must(t, 200, &ipa)
			if ipa.Platform != "IOS" || ipa.Source != "IN_HOUSE" || ipa.BundleID != "com.example.notes" || ipa.Name != "Notes" ||
				ipa.Version != "2.1" || ipa.BuildNumber != "210" || ipa.FileName != "Notes.ipa" || ipa.FileSize == 0 || len(ipa.FileSha256) != 64 {
				t.Errorf("ipa app %+v", ipa)
			}
			apkFile := appstest.APK("com.example.field", "3.0.0", 300)
			var apk appOutT
			e.uploadApp(ta, "field.apk", apkFile, map[string]string{"name": "Field Service", "targets[0].type": "ALL_USERS",
				"targets[0].required": "false"}).must(t, 200, &apk)
			if apk.Platform != "ANDROID" || apk.BundleID != "com.example.field" || apk.Version != "3.0.0" || apk.BuildNumber != "300" ||
				apk.Name != "Field Service" || len(apk.Targets) != 1 || apk.Targets[0].Type != "ALL_USERS" {
				t.Errorf("apk app %+v", apk)
			}
			// The binary downloads back unchanged.
			req, _ := http.NewRequest("GET", e.url+fmt.Sprintf("/api/v1/apps/%d/file", apk.ID), nil)
			user, pw, _ := strings.Cut(ta, ":")
			req.SetBasicAuth(user, pw)
			if r := e.send(req); r.Status != 200 || r.Body != string(apkFile) {
				t.Errorf("download: %d, %d bytes, want the %d uploaded", r.Status, len(r.Body), len(apkFile))
			}
			for what, c := range map[string]struct {
				name   string
				file   []byte
				fields map[string]string
				field  string
			}{
				"no file":         {"", nil, nil, "file"},
				"not a zip":       {"x.apk", []byte("not a zip"), nil, "file"},
				"zip without app": {"x.ipa", appstest.APK("com.example.x", "1", 1)[:30], nil, "file"},
				"platform":        {"x.apk", appstest.APK("com.example.x", "1", 1), map[string]string{"platformType": "IOS"}, "platformType"},
				"bundle":          {"x.apk", appstest.APK("com.example.x", "1", 1), map[string]string{"bundleId": "com.example.y"}, "bundleId"},
				"duplicate":       {"x.ipa", appstest.IPA("com.example.notes", "N", "1", "1"), nil, "bundleId"},
				"store id":        {"x.ipa", appstest.IPA("com.example.z", "N", "1", "1"), map[string]string{"itunesStoreId": "1"}, "itunesStoreId"},
			} {
				if r := e.uploadApp(ta, c.name, c.file, c.fields); r.field() != c.field || r.Status < 400 || r.Status >= 500 {
					t.Errorf("upload %s: %d %v, want a 4xx naming %s", what, r.Status, r.fields(), c.field)
				}
			}
			// Unclean input is a 4xx, never a 5xx, and stores nothing.
			for _, c := range []struct{ method, path, body string }{
				{"POST", "/api/v1/apps", `{"platformType":"IOS","bundleId":"com.nul","name":"N","description":"a\u0000b"}`},
				{"POST", "/api/v1/apps", "platformType=IOS&bundleId=com.bad&name=Bad%FF"},
				{"GET", "/api/v1/appinventory/devices?bundleId=%00", ""},
				{"GET", "/api/v1/appinventory?q=%FF", ""},
				{"GET", "/api/v1/appcatalog?accountId=%00", ""},
			} {
				if r := e.call(c.method, c.path, ta, c.body); r.Status < 400 || r.Status >= 500 {
					t.Errorf("%s %s %q: %d, want a 4xx", c.method, c.path, c.body, r.Status)
				}
			}
			if r := e.uploadApp(ta, "x.apk", appstest.APK("com.example.nul", "1", 1), map[string]string{"description": "a\x00b"}); r.Status < 400 || r.Status >= 500 {
				t.Errorf("upload with a NUL description: %d", r.Status)
			}
			if r := e.call("POST", "/api/v1/apps/inhouse", ta, `{}`); r.Status != 400 {
				t.Errorf("upload as JSON: %d, want 400", r.Status)
			}
			if n := e.appCount(ta); n != 4 {
				t.Errorf("%d apps after bad uploads, want 4", n)
			}

			// Edit: name and description change; bundle id and platform cannot.
			var edited appOutT
			e.call("PUT", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ta, `{"name":"Mail Pro","description":"new"}`).must(t, 200, &edited)
			if edited.Name != "Mail Pro" || edited.BundleID != "com.example.mail" {
				t.Errorf("edited %+v", edited)
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ta, `{"bundleId":"com.other"}`); r.field() != "bundleId" {
				t.Errorf("changing the bundle id: %d %v", r.Status, r.fields())
			}

			// Categories and distribution.
			var cat struct{ ID int64 }
			e.call("POST", "/api/v1/categories", ta, `{"name":"Productivity","kind":"APP"}`).must(t, 200, &cat)
			var contentCat struct{ ID int64 }
			e.call("POST", "/api/v1/categories", ta, `{"name":"Docs","kind":"CONTENT"}`).must(t, 200, &contentCat)
			e.call("PUT", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ta, fmt.Sprintf(`{"categories":[%d]}`, cat.ID)).must(t, 200, &edited)
			if len(edited.Categories) != 1 || edited.Categories[0].ID != cat.ID {
				t.Errorf("categories %+v", edited.Categories)
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ta, fmt.Sprintf(`{"categories":[%d]}`, contentCat.ID)); r.field() != "categories" {
				t.Errorf("a content category on an app: %d %v", r.Status, r.fields())
			}
			var dist struct {
				Targets []struct {
					Type     string
					Required bool
				}
			}
			e.call("PUT", fmt.Sprintf("/api/v1/apps/%d/distribution", mail.ID), ta, `{"targets":[{"type":"ALL_USERS","required":true}]}`).must(t, 200, &dist)
			e.call("GET", fmt.Sprintf("/api/v1/apps/%d/distribution", mail.ID), ta, "").must(t, 200, &dist)
			if len(dist.Targets) != 1 || !dist.Targets[0].Required {
				t.Errorf("distribution %+v", dist)
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/apps/%d/distribution", mail.ID), ta, `{"targets":[{"type":"DEVICE_GROUP"}]}`); r.Status != 400 {
				t.Errorf("a device group without id: %d", r.Status)
			}

			// Permissions: App & Content Read Only reads but cannot change; Device Read Only cannot read.
			ro := roleUser(t, e, mdm.TenantID(tn.ID), "ro@appco.example.com", authz.RoleAppContentReadOnly)
			dro := roleUser(t, e, mdm.TenantID(tn.ID), "dro@appco.example.com", authz.RoleDeviceReadOnly)
			e.call("GET", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ro, "").must(t, 200, nil)
			for _, c := range []struct{ method, path, body string }{
				{"POST", "/api/v1/apps", `{"platformType":"IOS","bundleId":"com.ro","name":"RO"}`},
				{"PUT", fmt.Sprintf("/api/v1/apps/%d", mail.ID), `{"name":"x"}`},
				{"PUT", fmt.Sprintf("/api/v1/apps/%d/distribution", mail.ID), `{"targets":[]}`},
				{"DELETE", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ""},
			} {
				if r := e.call(c.method, c.path, ro, c.body); r.Status != 403 {
					t.Errorf("%s %s as read-only: %d, want 403", c.method, c.path, r.Status)
				}
			}
			if r := e.uploadApp(ro, "x.apk", appstest.APK("com.example.ro", "1", 1), nil); r.Status != 403 {
				t.Errorf("upload as read-only: %d, want 403", r.Status)
			}
			for _, p := range []string{"/api/v1/apps", "/api/v1/appinventory", "/api/v1/appcatalog?accountId=1"} {
				if r := e.call("GET", p, dro, ""); r.Status != 403 {
					t.Errorf("GET %s as device read-only: %d, want 403", p, r.Status)
				}
			}

			// Another tenant sees none of it.
			if n := e.appCount(other); n != 0 {
				t.Errorf("the other tenant lists %d apps", n)
			}
			for _, c := range []struct{ method, path, body string }{
				{"GET", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ""},
				{"PUT", fmt.Sprintf("/api/v1/apps/%d", mail.ID), `{"name":"x"}`},
				{"GET", fmt.Sprintf("/api/v1/apps/%d/distribution", mail.ID), ""},
				{"PUT", fmt.Sprintf("/api/v1/apps/%d/distribution", mail.ID), `{"targets":[]}`},
				{"GET", fmt.Sprintf("/api/v1/apps/%d/file", apk.ID), ""},
				{"DELETE", fmt.Sprintf("/api/v1/apps/%d", mail.ID), ""},
			} {
				if r := e.call(c.method, c.path, other, c.body); r.Status != 404 {
					t.Errorf("%s %s from another tenant: %d, want 404", c.method, c.path, r.Status)
				}
			}

			// Delete.
			e.call("DELETE", fmt.Sprintf("/api/v1/apps/%d", apk.ID), ta, "").must(t, 200, nil)
			if r := e.call("GET", fmt.Sprintf("/api/v1/apps/%d", apk.ID), ta, ""); r.Status != 404 {
				t.Errorf("deleted app: %d", r.Status)
			}
			if n := e.appCount(ta); n != 3 {
				t.Errorf("%d apps after delete, want 3", n)
			}
			if n := e.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'app.%'"); n < 5 {
				t.Errorf("%d app audit rows", n)
			}
		})
	}
}

// TestAppCatalog: catalogs computed through All Users, user groups and device groups, filtered by
// platform and category, for the admin preview and for the device (agent), on each database.
func TestAppCatalog(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Catco")
			_, other := e.createTenant("Othercat")
			annDev := e.enrolled(ta, "ann@catco.example.com", "CAT-ANN")
			bobDev := e.enrolled(ta, "bob@catco.example.com", "CAT-BOB")
			ann, bob := e.accountID(ta, "ann@catco.example.com"), e.accountID(ta, "bob@catco.example.com")

			var sales struct{ ID int64 }
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Sales","kind":"STATIC"}`).must(t, 200, &sales)
			e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", sales.ID), ta, fmt.Sprintf(`{"accountIds":[%d]}`, ann)).must(t, 200, nil)
			var kiosk struct{ ID int64 }
			e.call("POST", "/api/v1/devicegroups", ta, `{"name":"Kiosks","kind":"STATIC"}`).must(t, 200, &kiosk)
			e.call("PUT", fmt.Sprintf("/api/v1/devicegroups/%d/members", kiosk.ID), ta, fmt.Sprintf(`{"deviceIds":[%d]}`, bobDev.DeviceID)).must(t, 200, nil)
			var prod, games struct{ ID int64 }
			e.call("POST", "/api/v1/categories", ta, `{"name":"Productivity","kind":"APP"}`).must(t, 200, &prod)
			e.call("POST", "/api/v1/categories", ta, `{"name":"Games","kind":"APP"}`).must(t, 200, &games)

			add := func(platform, bundle, name, targets string, cats ...int64) {
				t.Helper()
				c, _ := json2(cats)
				e.call("POST", "/api/v1/apps", ta, fmt.Sprintf(`{"platformType":%q,"bundleId":%q,"name":%q,"targets":%s,"categories":%s}`,
					platform, bundle, name, targets, c)).must(t, 200, nil)
			}
			add("ANDROID", "com.example.everyone", "Everyone", `[{"type":"ALL_USERS"}]`, prod.ID)
			add("ANDROID", "com.example.sales", "Sales CRM", fmt.Sprintf(`[{"type":"USER_GROUP","id":%d,"required":true}]`, sales.ID), prod.ID)
			add("ANDROID", "com.example.kiosk", "Kiosk Game", fmt.Sprintf(`[{"type":"DEVICE_GROUP","id":%d}]`, kiosk.ID), games.ID)
			add("IOS", "com.example.everyone.ios", "Everyone iOS", `[{"type":"ALL_USERS"}]`)
			add("ANDROID", "com.example.nobody", "Nobody", `[]`)

			catalog := func(query string) catalogOutT {
				t.Helper()
				var c catalogOutT
				e.call("GET", "/api/v1/appcatalog?"+query, ta, "").must(t, 200, &c)
				return c
			}
			for _, c := range []struct {
				query string
				want  []string
			}{
				{fmt.Sprintf("accountId=%d", ann), []string{"Everyone", "Everyone iOS", "Sales CRM*"}},
				{fmt.Sprintf("accountId=%d", bob), []string{"Everyone", "Everyone iOS"}}, // device groups reach devices, not users
				{fmt.Sprintf("accountId=%d&platformType=ANDROID", ann), []string{"Everyone", "Sales CRM*"}},
				{fmt.Sprintf("accountId=%d&platformType=IOS", ann), []string{"Everyone iOS"}},
				{fmt.Sprintf("accountId=%d&categoryId=%d", ann, prod.ID), []string{"Everyone", "Sales CRM*"}},
				{fmt.Sprintf("accountId=%d&categoryId=%d", ann, games.ID), nil},
			} {
				if got := catalog(c.query).names(); !slices.Equal(got, c.want) {
					t.Errorf("catalog %s = %v, want %v", c.query, got, c.want)
				}
			}
			if c := catalog(fmt.Sprintf("accountId=%d", ann)); len(c.Categories) != 1 || c.Categories[0].Name != "Productivity" {
				t.Errorf("ann's categories %+v", c.Categories)
			}
			for q, field := range map[string]string{"": "accountId", "accountId=x": "accountId", "accountId=1&platformType=PALM": "platformType"} {
				if r := e.call("GET", "/api/v1/appcatalog?"+q, ta, ""); r.Status != 400 || r.field() != field {
					t.Errorf("catalog ?%s: %d %v", q, r.Status, r.fields())
				}
			}
			if r := e.call("GET", fmt.Sprintf("/api/v1/appcatalog?accountId=%d", ann), other, ""); r.Status != 404 {
				t.Errorf("another tenant's user's catalog: %d, want 404", r.Status)
			}

			// The device's catalog: its platform only, its owner's groups and its device groups.
			agentCatalog := func(cred, query string) catalogOutT {
				t.Helper()
				var c catalogOutT
				e.agent("GET", "/api/agent/v1/catalog"+query, cred, nil).must(t, 200, &c)
				return c
			}
			if got := agentCatalog(annDev.Credential, "").names(); !slices.Equal(got, []string{"Everyone", "Sales CRM*"}) {
				t.Errorf("ann's device catalog %v", got)
			}
			if got := agentCatalog(bobDev.Credential, "").names(); !slices.Equal(got, []string{"Everyone", "Kiosk Game"}) {
				t.Errorf("bob's device catalog %v", got)
			}
			if got := agentCatalog(bobDev.Credential, fmt.Sprintf("?categoryId=%d", games.ID)).names(); !slices.Equal(got, []string{"Kiosk Game"}) {
				t.Errorf("bob's games %v", got)
			}
			if r := e.agent("GET", "/api/agent/v1/catalog", "", nil); r.Status != 401 {
				t.Errorf("catalog without a credential: %d", r.Status)
			}
		})
	}
}

func json2(ids []int64) (string, error) {
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, fmt.Sprint(id))
	}
	return "[" + strings.Join(parts, ",") + "]", nil
}

type inventoryOutT struct {
	SearchResults []struct {
		Platform     string `json:"platformType"`
		BundleID     string
		Name         string
		DeviceCount  int
		Managed      bool
		ManagedAppID int64
		Versions     []struct {
			Version     string
			DeviceCount int
		}
	}
	TotalCount int
}

// TestAppInventory: what devices report, aggregated by app with versions and device counts, managed
// apps marked, filtered and paged, with the drill-down to the devices, on each database.
func TestAppInventory(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Invco")
			_, other := e.createTenant("Invother")
			report := func(cred string, apps ...android.App) {
				t.Helper()
				e.checkin(cred, android.CheckinRequest{Apps: &apps})
			}
			mail1 := android.App{AppID: "com.example.mail", Name: "Mail", Version: "1.0"}
			mail2 := android.App{AppID: "com.example.mail", Name: "Mail", Version: "2.0"}
			chat := android.App{AppID: "com.example.chat", Name: "Chat", Version: "7"}
			d1 := e.enrolled(ta, "a1@invco.example.com", "INV-1")
			d2 := e.enrolled(ta, "a2@invco.example.com", "INV-2")
			d3 := e.enrolled(ta, "a3@invco.example.com", "INV-3")
			o1 := e.enrolled(other, "o1@invother.example.com", "INV-O")
			report(d1.Credential, mail1, chat)
			report(d2.Credential, mail2)
			report(d3.Credential, mail2)
			report(o1.Credential, chat)
			e.call("POST", "/api/v1/apps", ta, `{"platformType":"ANDROID","bundleId":"com.example.mail","name":"Mail"}`).must(t, 200, nil)

			var inv inventoryOutT
			e.call("GET", "/api/v1/appinventory", ta, "").must(t, 200, &inv)
			if inv.TotalCount != 2 || inv.SearchResults[0].BundleID != "com.example.mail" || inv.SearchResults[0].DeviceCount != 3 ||
				!inv.SearchResults[0].Managed || len(inv.SearchResults[0].Versions) != 2 || inv.SearchResults[0].Versions[1].DeviceCount != 2 ||
				inv.SearchResults[1].BundleID != "com.example.chat" || inv.SearchResults[1].Managed {
				t.Errorf("inventory %+v", inv)
			}
			for q, want := range map[string][]string{
				"managed=false":        {"com.example.chat"},
				"managed=true":         {"com.example.mail"},
				"q=CHAT":               {"com.example.chat"},
				"platformType=IOS":     nil,
				"rows=1&start=1":       {"com.example.chat"},
				"platformType=android": {"com.example.mail", "com.example.chat"},
			} {
				var p inventoryOutT
				e.call("GET", "/api/v1/appinventory?"+q, ta, "").must(t, 200, &p)
				var got []string
				for _, a := range p.SearchResults {
					got = append(got, a.BundleID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("inventory ?%s = %v, want %v", q, got, want)
				}
			}
			for q, field := range map[string]string{"rows=0": "rows", "managed=maybe": "managed", "platformType=X": "platformType"} {
				if r := e.call("GET", "/api/v1/appinventory?"+q, ta, ""); r.Status != 400 || r.field() != field {
					t.Errorf("inventory ?%s: %d %v", q, r.Status, r.fields())
				}
			}
			var devs struct {
				SearchResults []struct {
					ID      int64
					Version string
					UID     string
				}
				TotalCount int
			}
			e.call("GET", "/api/v1/appinventory/devices?bundleId=com.example.mail&platformType=ANDROID&fq="+url.QueryEscape("version=2.0"), ta, "").must(t, 200, &devs)
			if devs.TotalCount != 2 || devs.SearchResults[0].ID != d2.DeviceID || devs.SearchResults[0].UID != "a2@invco.example.com" {
				t.Errorf("drill-down %+v", devs)
			}
			if r := e.call("GET", "/api/v1/appinventory/devices", ta, ""); r.Status != 400 || r.field() != "bundleId" {
				t.Errorf("drill-down without bundleId: %d %v", r.Status, r.fields())
			}
			// The other tenant sees only its own.
			e.call("GET", "/api/v1/appinventory", other, "").must(t, 200, &inv)
			if inv.TotalCount != 1 || inv.SearchResults[0].DeviceCount != 1 || inv.SearchResults[0].Managed {
				t.Errorf("other tenant inventory %+v", inv)
			}
			e.call("GET", "/api/v1/appinventory/devices?bundleId=com.example.mail", other, "").must(t, 200, &devs)
			if devs.TotalCount != 0 {
				t.Errorf("other tenant drill-down %+v", devs)
			}
		})
	}
}
