package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"steward/internal/authz"
)

// xssPayloads try to run script wherever they are shown: as markup, by breaking out of an attribute,
// a textarea or the title, as a javascript: URL, as a template literal or expression, with escaped
// brackets, and at a length that might be cut in the middle of an escape. Each that runs sets
// window.__xss or opens a dialog; each element one injects carries data-xss.
var xssPayloads = []string{
	`<script>window.__xss=1;alert(1)</script>`,
	`"><img src=x onerror="window.__xss=1" data-xss=1>`,
	`'><svg onload=window.__xss=1 data-xss=1>`,
	`javascript:window.__xss=1;alert(1)//`,
	"${window.__xss=1}`;alert(1);`{{7*7}}",
	"\u003cimg src=x onerror=window.__xss=1 data-xss=1\u003e \\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
	`</textarea></title><b data-xss=1 onmouseover=alert(1)>x</b>`,
	`<a href="javascript:alert(1)" data-xss=1>click</a><iframe srcdoc="<script>parent.__xss=1</script>" data-xss=1>`,
	strings.Repeat("&lt;A", 700) + `<b data-xss=1>long</b>`,
}

// xssField stores one payload in one field through the API; it returns the API's status.
type xssField struct {
	name  string
	store func(e *apiEnv, ta string, i int, payload string) int
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestXSSCorpus stores every payload of the corpus in every field the console shows back (fields that
// refuse a payload with a 400 are counted), then loads each page that shows them in headless Chromium:
// no payload may run (no window.__xss, no dialog, no CSP violation, no injected element), and the
// payloads show as text. Every page's HTML is also checked for the payloads' raw markup.
func TestXSSCorpus(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Xss")

	fields := []xssField{
		{"tenant name (System Admin pages)", func(e *apiEnv, _ string, i int, p string) int {
			return e.call("POST", "/api/v1/tenants", e.admin(), fmt.Sprintf(`{"name":%s,"adminEmail":"t%d@xsst.example.com",`+
				`"adminFirstName":"T","adminLastName":"T","adminPassword":"Tenant-admin-pw-1"}`, jsonString(p), i)).Status
		}},
		{"user first and last name", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/accounts", ta, fmt.Sprintf(`{"accounts":[{"emailAddress":"u%d@xss.example.com",`+
				`"firstName":%s,"lastName":%s}]}`, i, jsonString(p), jsonString(p))).Status
		}},
		{"user group name", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/usergroups", ta, fmt.Sprintf(`{"name":%s,"kind":"STATIC"}`, jsonString(p))).Status
		}},
		{"device group name", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/devicegroups", ta, fmt.Sprintf(`{"name":%s,"kind":"STATIC"}`, jsonString(p))).Status
		}},
		{"category name", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/categories", ta, fmt.Sprintf(`{"name":%s,"kind":"APP"}`, jsonString(p))).Status
		}},
		{"policy name and message", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/policies", ta, fmt.Sprintf(`{"name":%s,"type":"COMPROMISED","priority":%d,"enabled":true,`+
				`"platforms":["ANDROID"],"actions":[{"kind":"MONITOR"},{"kind":"MESSAGE","email":true,"push":true,"title":%s,"message":%s}]}`,
				jsonString(p), i+1, jsonString(p), jsonString(p))).Status
		}},
		{"configuration name", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/configurations", ta, fmt.Sprintf(`{"name":%s,"type":"WIFI","attributes":`+
				`{"ssid":%s,"securityType":"WPA2","password":"s3cret-wifi-pw"}}`, jsonString(p), jsonString(fmt.Sprintf("ssid%d", i)))).Status
		}},
		{"app name and description", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/apps", ta, fmt.Sprintf(`{"platformType":"ANDROID","bundleId":"com.xss.a%d","name":%s,"description":%s}`,
				i, jsonString(p), jsonString(p))).Status
		}},
		{"content name and description", func(e *apiEnv, ta string, i int, p string) int {
			return e.upload("POST", "/api/v1/content", ta, fmt.Sprintf("doc%d.pdf", i), bytes.NewReader(testPDF),
				map[string]string{"name": p, "description": p}).Status
		}},
		{"App Registration description", func(e *apiEnv, ta string, i int, p string) int {
			return e.call("POST", "/api/v1/appregistrations", ta, fmt.Sprintf(`{"appType":%q,"description":%s}`,
				authz.AppTypeCSM, jsonString(p))).Status
		}},
		{"device name (reported by the device)", func(e *apiEnv, ta string, i int, p string) int {
			_, pin := e.deviceUser(ta, fmt.Sprintf("d%d@xss.example.com", i))
			f := sampleFacts(fmt.Sprintf("XSS-%d", i))
			f.DeviceName, f.PrettyModel = p, p
			return e.agent("POST", "/api/agent/v1/register", "", map[string]any{"username": fmt.Sprintf("d%d@xss.example.com", i),
				"pin": pin, "facts": f}).Status
		}},
		{"email template subject and text", func(e *apiEnv, ta string, i int, p string) int {
			if i > 0 && i < 100 { // one template: each payload replaces the last, so keep the first (and the benign one)
				return 0
			}
			return e.call("PUT", "/api/v1/emailtemplates/invitation_pin", ta, fmt.Sprintf(`{"subject":%s,"html":%s,"text":%s}`,
				jsonString(p+" {{.TenantName}}"), jsonString("<p>"+p+" {{.PIN}}</p>"), jsonString(p+" {{.PIN}}"))).Status
		}},
	}
	stored, refused := 0, 0
	for _, f := range fields {
		// A benign value goes in: the request is right, so a refusal below is the payload's.
		if st := f.store(e, ta, 100, "Benign value"); st < 200 || st > 201 {
			t.Fatalf("%s: a benign value is refused (%d): the request is wrong", f.name, st)
		}
		for i, p := range xssPayloads {
			switch st := f.store(e, ta, i, p); {
			case st == 0:
			case st == 200 || st == 201:
				stored++
			case st == 400:
				refused++
			default:
				t.Errorf("%s, payload %d: status %d, want 200, 201 or 400", f.name, i, st)
			}
		}
	}

	pages := []string{"/console/users", "/console/groups", "/console/devicegroups", "/console/categories", "/console/policies",
		"/console/configurations", "/console/apps", "/console/appcatalog", "/console/appinventory", "/console/content",
		"/console/appregistrations", "/console/devices", "/console/emailtemplates", "/console/emailtemplates/invitation_pin",
		"/console/audit", "/console/registration", "/console/support"}
	for _, kind := range []string{"users", "groups", "devicegroups", "categories", "apps", "content", "configurations", "devices"} {
		for _, id := range []int{1, 2, 4, 6} {
			pages = append(pages, fmt.Sprintf("/console/%s/%d", kind, id))
		}
	}
	sysPages := []string{"/console/tenants", "/console/report", "/console/audit", "/console/mail"}
	// Reflected: search boxes echo the query back.
	for _, p := range []string{xssPayloads[1], xssPayloads[2], xssPayloads[6]} {
		q := "?q=" + url.QueryEscape(p) + "&fq=" + url.QueryEscape(p)
		for _, path := range []string{"/console/users", "/console/devices", "/console/support", "/console/groups", "/console/apps",
			"/console/content", "/console/audit", "/console/devicegroups", "/console/configurations"} {
			pages = append(pages, path+q)
		}
		sysPages = append(sysPages, "/console/tenants"+q, "/console/mail"+q)
	}

	// Raw markup of a payload must never reach a page.
	checkHTML := func(c *consoleClient, who string, paths []string) {
		for _, path := range paths {
			r := c.do("GET", path, nil)
			for i, p := range xssPayloads {
				if strings.ContainsAny(p, `<>"'`) && strings.Contains(r.body, p) {
					t.Errorf("%s %s: payload %d is in the HTML unescaped", who, path, i)
				}
			}
		}
	}
	checkHTML(signInAt(t, e.url, &http.Client{}, strings.Split(ta, ":")[0], strings.Split(ta, ":")[1]), "tenant admin", pages)
	checkHTML(signInAt(t, e.url, &http.Client{}, "admin", e.adminPW), "System Admin", sysPages)
	// The portal shows app and content names to users.
	e.addUser(ta, "pat@xss.example.com", "Pat-password-123")
	portal := e.browser()
	if st, _ := portal.signIn("pat@xss.example.com", "password", "Pat-password-123"); st != 200 {
		t.Fatalf("portal sign-in: %d", st)
	}
	for _, path := range []string{"/go", "/go/apps"} {
		st, body := portal.get(path)
		if st != 200 {
			t.Errorf("portal %s: %d", path, st)
		}
		for i, p := range xssPayloads {
			if strings.ContainsAny(p, `<>"'`) && strings.Contains(body, p) {
				t.Errorf("portal %s: payload %d is in the HTML unescaped", path, i)
			}
		}
	}

	ctx := chromium(t) // started here: its deadline covers the browser's part only
	// The browser: dialogs are dismissed and counted; CSP violations (what an injected inline script or
	// handler would cause) are recorded on the page.
	var dialogs atomic.Int32
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			go chromedp.Run(ctx, cdppage.HandleJavaScriptDialog(false))
		}
	})
	run := steps(t, ctx)
	run("watch for CSP violations", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := cdppage.AddScriptToEvaluateOnNewDocument(`window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`).Do(ctx)
		return err
	}))
	signInBrowser := func(user, pw string) {
		run("sign in as "+user,
			chromedp.Navigate(e.url+"/login"),
			chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
			chromedp.SendKeys(`#f-username`, user, chromedp.ByQuery),
			chromedp.SendKeys(`#f-password`, pw, chromedp.ByQuery),
			chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=whoami]`, chromedp.ByQuery),
		)
	}
	type verdict struct {
		XSS      bool     `json:"xss"`
		Injected int      `json:"injected"`
		CSP      []string `json:"csp"`
		Shown    bool     `json:"shown"`
	}
	const judge = `({xss: !!window.__xss, injected: document.querySelectorAll("[data-xss], img[onerror], svg[onload], ` +
		`a[href^='javascript:']").length, csp: window.__csp || [], shown: document.body.innerText.includes("window.__xss") || ` +
		`document.body.innerText.includes("alert(1)")})`
	loaded, shownOn := 0, 0
	visit := func(who string, paths []string) {
		for _, path := range paths {
			var v verdict
			run("load "+path,
				chromedp.Navigate(e.url+path),
				chromedp.WaitReady(`body`, chromedp.ByQuery),
				chromedp.Sleep(100*time.Millisecond), // let onload/onerror handlers and htmx run
				chromedp.Evaluate(judge, &v),
			)
			loaded++
			if v.XSS || v.Injected > 0 || len(v.CSP) > 0 {
				t.Errorf("%s %s: a payload ran or was injected: %+v", who, path, v)
			}
			if v.Shown {
				shownOn++
			}
		}
	}
	signInBrowser(strings.Split(ta, ":")[0], strings.Split(ta, ":")[1])
	// The judge sees an injection: markup put in the page by hand is found, and its handler is blocked.
	var control verdict
	run("inject by hand",
		chromedp.Navigate(e.url+"/console/users"),
		chromedp.WaitReady(`body`, chromedp.ByQuery),
		chromedp.Evaluate(`document.body.insertAdjacentHTML("beforeend", '<img src=x onerror="window.__xss=1" data-xss=1>'); 1`, nil),
		chromedp.Sleep(150*time.Millisecond),
		chromedp.Evaluate(judge, &control),
	)
	if control.Injected == 0 || len(control.CSP) == 0 || !control.Shown {
		t.Fatalf("the judge misses a hand-made injection: %+v", control)
	}
	visit("tenant admin", pages)
	run("sign out", chromedp.Click(`#logout`, chromedp.ByQuery), chromedp.WaitVisible(`#f-username`, chromedp.ByQuery))
	signInBrowser("admin", e.adminPW)
	visit("System Admin", sysPages)
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
	if shownOn < len(sysPages)+10 {
		t.Errorf("the payloads show as text on only %d of %d pages: are the pages showing them at all?", shownOn, loaded)
	}
	t.Logf("%d fields × %d payloads: %d stored, %d refused with 400; %d pages loaded in Chromium (payload text shown on %d)",
		len(fields), len(xssPayloads), stored, refused, loaded, shownOn)
}
