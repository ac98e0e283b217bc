package server

import (
	"encoding/base64"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"steward/internal/authz"
	"steward/internal/mdm"
)

var (
	shownSecret   = regexp.MustCompile(`id="appreg-secret">([^<]+)<`)
	shownClientID = regexp.MustCompile(`id="appreg-client-id">([^<]+)<`)
)

// TestAppRegConsole drives /console/appregistrations without a browser: the navigation entry, the
// empty table, refused creations shown next to their field with nothing stored, a creation answered
// with the one-time credentials (never in a URL, never cached), the table without any secret, a System
// Read Only user who sees but cannot change, another tenant who cannot reach the row, and delete with
// its confirmation.
func TestAppRegConsole(t *testing.T) {
	s, ts := startConsole(t)
	hooli, admin := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	consoleTenant(t, s, "Raviga", "laurie@raviga.example.com")
	ta := signIn(t, ts, "gavin@hooli.example.com", testAdminPassword)
	stored := func() []mdm.AppRegistration {
		regs, err := s.store.AppRegistrations().List(t.Context(), hooli.Tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		return regs
	}

	ta.do("GET", "/console", nil).expect(t, 200, "overview", `href="/console/appregistrations"`)
	ta.do("GET", "/console/appregistrations", nil).expect(t, 200, "empty page", `id="appregs-none"`,
		`href="/console/appregistrations/new"`, "Last authenticated", "Created by")
	newPage := ta.do("GET", "/console/appregistrations/new", nil).expect(t, 200, "new", `name="appType"`,
		`id="type-CUSTOM"`, `id="scope-device.action"`, `name="description"`)
	for _, ty := range authz.AppTypes() {
		if !strings.Contains(newPage.body, html.EscapeString(ty.Name)) || !strings.Contains(newPage.body, html.EscapeString(ty.Description)) {
			t.Errorf("the new registration page lacks %s's name or description", ty.ID)
		}
	}

	for _, tt := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no type", url.Values{"description": {"x"}}, `id="appType-error"`},
		{"unknown type", url.Values{"appType": {"NOPE"}}, `id="appType-error"`},
		{"unknown scope", url.Values{"appType": {"CUSTOM"}, "scopes": {"root"}}, `id="scopes-error"`},
		{"description too long", url.Values{"appType": {"CUSTOM"}, "description": {strings.Repeat("d", 256)}}, `id="f-description-error"`},
	} {
		ta.do("POST", "/console/appregistrations/new", tt.form).expect(t, 400, tt.name, tt.want)
		if n := len(stored()); n != 0 {
			t.Fatalf("%s: %d registrations stored", tt.name, n)
		}
	}

	created := ta.do("POST", "/console/appregistrations/new", url.Values{"appType": {"CUSTOM"},
		"description": {"CMDB <sync>"}, "scopes": {"device.action", "user.manage"}})
	created.expect(t, 200, "created", `id="appreg-warning"`, "shown only this once", "cannot be recovered",
		`data-copy="appreg-secret"`, `data-copy="appreg-client-id"`, `data-copy="appreg-token-url"`,
		ts.URL+"/"+string(hooli.Tenant.ID)+"/connect/token", "CMDB &lt;sync&gt;", "/static/copy.js")
	if cc := created.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the credentials page: Cache-Control %q, want no-store", cc)
	}
	if loc := created.header.Get("Location"); loc != "" {
		t.Errorf("the credentials page redirects to %q", loc)
	}
	if csp := created.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("the credentials page's CSP %q", csp)
	}
	m, c := shownSecret.FindStringSubmatch(created.body), shownClientID.FindStringSubmatch(created.body)
	if m == nil || c == nil {
		t.Fatalf("no client id or secret on the page:\n%s", created.body)
	}
	secret, clientID := m[1], c[1]
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
		t.Errorf("secret %q is not 256 bits", secret)
	}
	reg, err := s.AppRegistrations().Verify(t.Context(), clientID, secret)
	if err != nil {
		t.Fatalf("the shown credentials do not verify: %v", err)
	}
	if reg.Description != "CMDB <sync>" || !slices.Contains(reg.Scopes, "device.action") || !slices.Contains(reg.Scopes, "user.manage") ||
		reg.CreatedBy != "gavin@hooli.example.com" {
		t.Errorf("stored %+v", reg)
	}

	// Scopes left ticked before choosing a type without any are not sent (the form hides them).
	ta.do("POST", "/console/appregistrations/new", url.Values{"appType": {"CSM"}, "scopes": {"device.action"}}).
		expect(t, 200, "CSM with a stale tick", `id="appreg-secret"`)
	regs := stored()
	if len(regs) != 2 || slices.Contains(regs[1].Scopes, "device.action") {
		t.Fatalf("stored %+v", regs)
	}

	list := ta.do("GET", "/console/appregistrations", nil).expect(t, 200, "list", "Custom App", "CMDB &lt;sync&gt;",
		"gavin@hooli.example.com", `data-client-id="`+clientID+`"`, `href="/console/appregistrations/`+strconv.FormatInt(reg.ID, 10)+`/delete"`)
	list.lacks(t, "list", secret, `id="appregs-none"`)
	lastAuth := regexp.MustCompile(`data-col="last-authenticated">([^<]*)<`).FindAllStringSubmatch(list.body, -1)
	if len(lastAuth) != 2 || lastAuth[0][1] != "" || lastAuth[1][1] != "" {
		t.Errorf("last authenticated cells %q, want two empty ones", lastAuth)
	}
	s.AppRegistrations().MarkAuthenticated(clientID)
	s.AppRegistrations().Flush(t.Context())
	when := time.Now().UTC().Format("2006-01-02")
	ta.do("GET", "/console/appregistrations", nil).expect(t, 200, "after a token", `data-col="last-authenticated">`+when)

	// System Read Only: the table, no actions, and every action refused.
	sro := consoleUserWithRoles(t, s, ts.URL, admin, "sro@hooli.example.com", authz.RoleSystemReadOnly)
	sro.do("GET", "/console/appregistrations", nil).expect(t, 200, "read-only", "CMDB &lt;sync&gt;").
		lacks(t, "read-only", `id="appreg-new"`, `data-action="delete"`)
	delPath := "/console/appregistrations/" + strconv.FormatInt(reg.ID, 10) + "/delete"
	sro.do("GET", "/console/appregistrations/new", nil).expect(t, 403, "read-only new")
	sro.do("POST", "/console/appregistrations/new", url.Values{"appType": {"CSM"}}).expect(t, 403, "read-only create")
	sro.do("GET", delPath, nil).expect(t, 403, "read-only delete page")
	sro.do("POST", delPath, url.Values{}).expect(t, 403, "read-only delete")
	// A user without a system role has neither the page nor the entry.
	dm := consoleUserWithRoles(t, s, ts.URL, admin, "dm@hooli.example.com", authz.RoleDeviceManagement)
	dm.do("GET", "/console/devices", nil).lacks(t, "device manager's navigation", `href="/console/appregistrations"`)
	dm.do("GET", "/console/appregistrations", nil).expect(t, 403, "device manager")

	// Another tenant cannot reach the row.
	other := signIn(t, ts, "laurie@raviga.example.com", testAdminPassword)
	other.do("GET", "/console/appregistrations", nil).expect(t, 200, "Raviga", `id="appregs-none"`).lacks(t, "Raviga", "CMDB")
	other.do("GET", delPath, nil).expect(t, 404, "Raviga's delete page")
	other.do("POST", delPath, url.Values{}).expect(t, 404, "Raviga's delete")
	if n := len(stored()); n != 2 {
		t.Fatalf("after refused deletes: %d registrations", n)
	}

	// Delete with confirmation.
	ta.do("GET", delPath, nil).expect(t, 200, "confirm", "cannot be undone", "no longer be able to authenticate",
		`action="`+delPath+`"`)
	ta.do("POST", delPath, url.Values{}).location(t, "/console/appregistrations?done=appregdeleted")
	ta.do("GET", "/console/appregistrations?done=appregdeleted", nil).expect(t, 200, "after delete", "was deleted").
		lacks(t, "after delete", `data-client-id="`+clientID+`"`)
	if _, err := s.AppRegistrations().Verify(t.Context(), clientID, secret); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("deleted credentials: %v", err)
	}
	ta.do("POST", delPath, url.Values{}).expect(t, 404, "second delete")
}

// TestAppRegInChromium: a Tenant Admin creates a Custom App registration with a description and an
// elevated scope, sees the one-time credentials with working copy buttons and the warning, goes back
// to the table (never authenticated), deletes it after confirming, and the row is gone. Set
// STEWARD_SCREENSHOTS to a directory to keep screenshots.
func TestAppRegInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)
	hooli, _ := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")

	run := steps(t, ctx)
	// The copy buttons write to the clipboard; let the page's origin read it back.
	run("grant clipboard access",
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-read"}, browser.PermissionSettingGranted).WithOrigin(ts.URL),
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-write"}, browser.PermissionSettingGranted).WithOrigin(ts.URL))

	var scopesHidden, scopesShown bool
	run("sign in and open App Registrations",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "gavin@hooli.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav a[href="/console/appregistrations"]`, chromedp.ByQuery),
		chromedp.Click(`nav a[href="/console/appregistrations"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#appregs-none`, chromedp.ByQuery),
		chromedp.Click(`#appreg-new`, chromedp.ByQuery),
		chromedp.WaitVisible(`#appreg-types`, chromedp.ByQuery),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("#scopes-CUSTOM")).display === "none"`, &scopesHidden),
		chromedp.Click(`label:has(#type-CUSTOM)`, chromedp.ByQuery),
		chromedp.WaitVisible(`#scope-device\.action`, chromedp.ByQuery),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("#scopes-CUSTOM")).display !== "none"`, &scopesShown),
		chromedp.Click(`label:has(#scope-device\.action)`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-description`, "CMDB sync", chromedp.ByQuery),
		screenshot("steward-appreg-new.png"),
		chromedp.Click(`#appreg-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#appreg-credentials`, chromedp.ByQuery),
	)
	if !scopesHidden || !scopesShown {
		t.Errorf("the elevated scopes: hidden before choosing the Custom App %v, shown after %v", scopesHidden, scopesShown)
	}

	var clientID, secret, tokenURL, warning, pageURL string
	run("read the one-time credentials",
		chromedp.Text(`#appreg-client-id`, &clientID, chromedp.ByQuery),
		chromedp.Text(`#appreg-secret`, &secret, chromedp.ByQuery),
		chromedp.Text(`#appreg-token-url`, &tokenURL, chromedp.ByQuery),
		chromedp.Text(`#appreg-warning`, &warning, chromedp.ByQuery),
		chromedp.Location(&pageURL),
		screenshot("steward-appreg-created.png"),
	)
	if !strings.Contains(warning, "shown only this once") || !strings.Contains(warning, "cannot be recovered") {
		t.Errorf("warning %q", warning)
	}
	if want := ts.URL + "/" + string(hooli.Tenant.ID) + "/connect/token"; tokenURL != want {
		t.Errorf("token URL %q, want %q", tokenURL, want)
	}
	if strings.Contains(pageURL, secret) || !strings.HasSuffix(pageURL, "/console/appregistrations/new") {
		t.Errorf("the credentials page's URL is %q", pageURL)
	}
	reg, err := s.AppRegistrations().Verify(t.Context(), clientID, secret)
	if err != nil {
		t.Fatalf("the shown credentials do not verify: %v", err)
	}
	if reg.Description != "CMDB sync" || reg.AppType != authz.AppTypeCustom || !slices.Contains(reg.Scopes, authz.ScopeDeviceAction) {
		t.Errorf("stored %+v", reg)
	}

	for _, tc := range []struct{ button, want string }{
		{"#copy-secret", secret}, {"#copy-client-id", clientID}, {"#copy-token-url", tokenURL},
	} {
		var copied string
		run("copy with "+tc.button,
			chromedp.Click(tc.button, chromedp.ByQuery),
			chromedp.WaitVisible(tc.button+`[data-copied="true"]`, chromedp.ByQuery),
			chromedp.Evaluate(`navigator.clipboard.readText()`, &copied, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
				return p.WithAwaitPromise(true)
			}),
		)
		if copied != tc.want {
			t.Errorf("%s copied %q, want %q", tc.button, copied, tc.want)
		}
	}

	row := `#appregs tr[data-client-id="` + clientID + `"]`
	var rowText, lastAuth string
	run("back to the table",
		chromedp.Click(`#appreg-done`, chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		chromedp.Text(row, &rowText, chromedp.ByQuery),
		chromedp.Text(row+` [data-col="last-authenticated"]`, &lastAuth, chromedp.ByQuery),
		screenshot("steward-appregs.png"),
	)
	for _, want := range []string{"Custom App", "CMDB sync", "gavin@hooli.example.com"} {
		if !strings.Contains(rowText, want) {
			t.Errorf("the row %q lacks %q", rowText, want)
		}
	}
	if strings.TrimSpace(lastAuth) != "" || strings.Contains(rowText, secret) {
		t.Errorf("the row shows last authenticated %q or the secret", lastAuth)
	}

	var confirmText, flashText string
	var rows int
	run("delete after confirming",
		chromedp.Click(row+` a[data-action="delete"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#confirm`, chromedp.ByQuery),
		chromedp.Text(`main`, &confirmText, chromedp.ByQuery),
		screenshot("steward-appreg-delete.png"),
		chromedp.Click(`#confirm`, chromedp.ByQuery),
		chromedp.WaitVisible(`#appregs-none`, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flashText, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#appregs tr[data-client-id]").length`, &rows),
	)
	if !strings.Contains(confirmText, "cannot be undone") || !strings.Contains(confirmText, "no longer be able to authenticate") {
		t.Errorf("confirmation %q", confirmText)
	}
	if rows != 0 || !strings.Contains(flashText, "deleted") {
		t.Errorf("after delete: %d rows, flash %q", rows, flashText)
	}
	if _, err := s.AppRegistrations().Verify(t.Context(), clientID, secret); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("the deleted registration's credentials: %v", err)
	}
}
