package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"steward/internal/applemdm"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// consoleGETRoutes lists every GET pattern the console registers, read from its source, so that a new
// page is checked without anyone adding it here.
func consoleGETRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../web/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("console sources: %v", err)
	}
	re := regexp.MustCompile(`"GET (/[^"]*)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			out = append(out, string(m[1]))
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) < 50 {
		t.Fatalf("found only %d console GET routes: %v", len(out), out)
	}
	return out
}

// checkSecurityHeaders fails unless h carries nosniff, no framing (CSP frame-ancestors 'none' and
// X-Frame-Options DENY), a Referrer-Policy and a CSP that allows no inline script.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	var missing []string
	if h.Get("X-Content-Type-Options") != "nosniff" {
		missing = append(missing, "X-Content-Type-Options: nosniff")
	}
	if !strings.Contains(csp, "frame-ancestors 'none'") {
		missing = append(missing, "CSP frame-ancestors 'none'")
	}
	if h.Get("X-Frame-Options") != "DENY" {
		missing = append(missing, "X-Frame-Options: DENY")
	}
	if h.Get("Referrer-Policy") == "" {
		missing = append(missing, "Referrer-Policy")
	}
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "'unsafe-eval'") ||
		regexp.MustCompile(`script-src[^;]*'unsafe-inline'`).MatchString(csp) {
		missing = append(missing, "a CSP that allows no inline script (got "+csp+")")
	}
	if len(missing) > 0 {
		t.Errorf("%s: lacks %s", what, strings.Join(missing, ", "))
	}
}

// TestSecurityHeaders requests every console page as the System Admin, a tenant admin, a helpdesk user
// and anonymously, the portal's pages as a portal user, and the API, file, enrollment, metrics and
// error answers, and checks each carries the security headers.
func TestSecurityHeaders(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	tenant, ta := e.createTenant("Headers")
	helpdesk := roleUser(t, e, mdm.TenantID(tenant.ID), "hd@headers.example.com", authz.RoleSystemReadOnly)
	e.addUser(ta, "pat@headers.example.com", "Pat-password-123")
	device := e.enrolled(ta, "dee@headers.example.com", "HDR-1")
	var doc struct{ ID int64 }
	e.upload("POST", "/api/v1/content", ta, "Notes.pdf", bytes.NewReader(testPDF), map[string]string{"name": "Notes"}).must(t, 201, &doc)
	users := e.accountID(ta, "pat@headers.example.com")

	// A parameter gets a real object's id where one is at hand; elsewhere the answer is an error page,
	// which must carry the headers just the same.
	fill := func(route string) string {
		p := strings.TrimSuffix(route, "{$}")
		for _, r := range []struct{ prefix, param, value string }{
			{"/console/devices/", "{id}", fmt.Sprint(device.DeviceID)},
			{"/console/content/", "{id}", fmt.Sprint(doc.ID)},
			{"/go/content/", "{id}", fmt.Sprint(doc.ID)},
			{"/console/users/", "{id}", fmt.Sprint(users)},
			{"", "{id}", "1"},
			{"", "{name}", "pin_invite"},
			{"", "{action}", "lock"},
		} {
			if strings.HasPrefix(p, r.prefix) {
				p = strings.ReplaceAll(p, r.param, r.value)
			}
		}
		if strings.HasPrefix(p, "/static/") {
			p = "/static/app.css"
		}
		return p
	}
	routes := consoleGETRoutes(t)
	checked, ok := 0, 0
	for _, who := range []struct{ name, user, pw string }{
		{"System Admin", "admin", e.adminPW},
		{"tenant admin", strings.Split(ta, ":")[0], strings.Split(ta, ":")[1]},
		{"helpdesk", strings.Split(helpdesk, ":")[0], strings.Split(helpdesk, ":")[1]},
		{"anonymous", "", ""},
	} {
		c := &consoleClient{t: t, base: e.url, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
		if who.user != "" {
			c = signInAt(t, e.url, &http.Client{}, who.user, who.pw)
		}
		for _, route := range routes {
			path := fill(route)
			r := c.do("GET", path, nil)
			checkSecurityHeaders(t, fmt.Sprintf("%s GET %s (%d)", who.name, path, r.status), r.header)
			checked++
			if r.status == 200 {
				ok++
				// A console page keeps its own policy, which lets its scripts (htmx) run.
				if ct := r.header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") &&
					!strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") {
					t.Errorf("%s GET %s: CSP %q lets the page's own scripts not run", who.name, path, r.header.Get("Content-Security-Policy"))
				}
			}
			// The same page as an htmx fragment.
			r = c.do("GET", path, nil, "HX-Request", "true")
			checkSecurityHeaders(t, fmt.Sprintf("%s htmx GET %s (%d)", who.name, path, r.status), r.header)
			checked++
		}
	}

	// The portal as its user.
	portal := e.browser()
	if st, page := portal.signIn("pat@headers.example.com", "password", "Pat-password-123"); st != 200 {
		t.Fatalf("portal sign-in: %d\n%s", st, page)
	}
	for _, route := range routes {
		if !strings.HasPrefix(route, "/go") {
			continue
		}
		req, _ := http.NewRequest("GET", e.url+fill(route), nil)
		res, err := portal.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		checkSecurityHeaders(t, fmt.Sprintf("portal GET %s (%d)", fill(route), res.StatusCode), res.Header)
		checked++
	}

	// Everything else: the API (answers and errors), files, enrollment, operations, unknown paths.
	_, pin := e.deviceUser(ta, "ivy@headers.example.com")
	for _, c := range []struct {
		method, path, auth, body string
		form                     url.Values
	}{
		{"GET", "/api/v1/device", ta, "", nil},
		{"GET", "/api/v1/device", "", "", nil},
		{"GET", "/api/v1/device/999999", ta, "", nil},
		{"POST", "/api/v1/accounts", ta, `{"accounts":[{}]}`, nil},
		{"GET", fmt.Sprintf("/api/v1/content/%d/download", doc.ID), ta, "", nil},
		{"GET", "/api/openapi.json", "", "", nil},
		{"GET", "/api/docs", "", "", nil},
		{"GET", "/api/nothing", "", "", nil},
		{"POST", "/api/agent/v1/checkin", "", "{}", nil},
		{"GET", "/metrics", "", "", nil},
		{"GET", "/healthz", "", "", nil},
		{"GET", "/readyz", "", "", nil},
		{"GET", "/no/such/page", "", "", nil},
		{"GET", "/mdm/apple/apps/x/manifest.plist", "", "", nil},
		{"GET", "/" + tenant.ID + "/.well-known/openid-configuration", "", "", nil},
		{"POST", "/" + tenant.ID + "/connect/token", "", "", url.Values{"grant_type": {"client_credentials"}}},
		{"GET", applemdm.EnrollPath, "", "", nil},
		{"POST", applemdm.EnrollPath, "", "", url.Values{"username": {"ivy@headers.example.com"}, "pin": {"000000"}}},
		{"POST", applemdm.EnrollPath, "", "", url.Values{"username": {"ivy@headers.example.com"}, "pin": {pin}}},
	} {
		var r *response
		if c.form != nil {
			req, _ := http.NewRequest(c.method, e.url+c.path, strings.NewReader(c.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r = e.send(req)
		} else {
			r = e.call(c.method, c.path, c.auth, c.body)
		}
		checkSecurityHeaders(t, fmt.Sprintf("%s %s (%d %s)", c.method, c.path, r.Status, r.Header.Get("Content-Type")), r.Header)
		checked++
	}
	t.Logf("%d responses checked (%d console GET routes; %d pages answered 200)", checked, len(routes), ok)
}
