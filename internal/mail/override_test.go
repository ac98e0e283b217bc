package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
)

func TestDefaultSourcesPassTheirOwnChecks(t *testing.T) {
	for _, ti := range Templates() {
		t.Run(ti.Name, func(t *testing.T) {
			src, ok := DefaultSource(ti.Name)
			if !ok || src.Subject == "" || src.HTML == "" || src.Text == "" {
				t.Fatalf("DefaultSource = %+v, %v; want all three parts", src, ok)
			}
			if strings.Contains(src.HTML, "{{define") || strings.Contains(src.Text, "{{define") {
				t.Error("default source still holds a {{define}}")
			}
			r, err := PreviewSource(ti.Name, src)
			if err != nil {
				t.Fatalf("PreviewSource(default): %v", err)
			}
			want, err := render(ti.Name, defaults[ti.Name].sample)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != want.Subject || r.Text != want.Text {
				t.Errorf("default source renders another subject or text:\n%q\n%q", r.Subject, want.Subject)
			}
			if len(Fields(ti.Name)) == 0 {
				t.Error("no fields listed")
			}
			for _, f := range Fields(ti.Name) {
				if f.Meaning == "" {
					t.Errorf("field %s has no meaning", f.Name)
				}
			}
		})
	}
}

func fieldOf(t *testing.T, err error) mdm.FieldError {
	t.Helper()
	var e *mdm.Error
	if !errors.As(err, &e) || e.Code != mdm.Invalid || len(e.Fields) == 0 {
		t.Fatalf("got %v, want an invalid error with field errors", err)
	}
	return e.Fields[0]
}

func TestCheckSourceRefuses(t *testing.T) {
	good := Source{Subject: "Welcome to {{.TenantName}}", HTML: "<p>PIN: {{.PIN}}</p>", Text: "PIN: {{.PIN}}"}
	if _, err := CheckSource(TemplateInvitationPIN, good); err != nil {
		t.Fatalf("good source refused: %v", err)
	}
	cases := []struct {
		name      string
		edit      func(*Source)
		field     string
		inMessage string
	}{
		{"syntax error", func(s *Source) { s.HTML = "<p>{{if .PIN}}</p>" }, "html", "unexpected EOF"},
		{"unknown field", func(s *Source) { s.Text = "{{.PIN}} {{.Password}}" }, "text", "Password"},
		{"unknown field in subject", func(s *Source) { s.Subject = "{{.Nope}}" }, "subject", "Nope"},
		{"unknown function", func(s *Source) { s.HTML = `<p>{{.PIN}} {{exec "ls"}}</p>` }, "html", "exec"},
		{"defines a template", func(s *Source) { s.HTML = `<p>{{.PIN}}</p>{{define "layout"}}x{{end}}` }, "html", "define"},
		{"PIN missing from html", func(s *Source) { s.HTML = "<p>Welcome</p>" }, "html", "{{.PIN}}"},
		{"PIN missing from text", func(s *Source) { s.Text = "Welcome" }, "text", "{{.PIN}}"},
		{"sample PIN typed in", func(s *Source) { s.Text = "PIN 482913" }, "text", "{{.PIN}}"},
		{"PIN only as a stripped attribute", func(s *Source) { s.HTML = `<p onclick="{{.PIN}}">hi</p>` }, "html", "{{.PIN}}"},
		{"html too large", func(s *Source) { s.HTML = "<p>{{.PIN}}</p>" + strings.Repeat("x", MaxBodySource) }, "html", "KiB"},
		{"empty subject", func(s *Source) { s.Subject = " " }, "subject", "required"},
		{"NUL", func(s *Source) { s.Text = "{{.PIN}}\x00" }, "text", "NUL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := good
			tc.edit(&src)
			_, err := CheckSource(TemplateInvitationPIN, src)
			f := fieldOf(t, err)
			if f.Field != tc.field || !strings.Contains(f.Message, tc.inMessage) {
				t.Errorf("field error %+v, want field %q with %q in the message", f, tc.field, tc.inMessage)
			}
		})
	}
	if _, err := CheckSource("nope", good); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("unknown template: %v, want not_found", err)
	}
	// A link email must keep its link.
	_, err := CheckSource(TemplatePasswordRequest, Source{Subject: "Reset", HTML: "<p>Call us</p>", Text: "{{.Link}}"})
	if f := fieldOf(t, err); f.Field != "html" || !strings.Contains(f.Message, "{{.Link}}") {
		t.Errorf("link email without its link in html: %+v", f)
	}
}

// hostileImage is a remote image: kept in emails without a secret, refused in those with one.
const hostileImage = `<img src="https://cdn.example.com/x.png" onerror="alert(2)">`

const hostile = `<p>Hi {{.FirstName}}</p><script>alert(1)</script>` + hostileImage +
	`<a href="javascript:alert(3)">click</a><a href="{{.RegisterURL}}" onmouseover="alert(4)">register</a>` +
	`<form action="https://evil.example"><input name="p"></form><iframe src="https://evil.example"></iframe>` +
	`<p style="color:#c00;position:fixed">{{.PIN}}</p>`

func wantNoActiveMarkup(t *testing.T, where, html string) {
	t.Helper()
	for _, bad := range []string{"<script", "alert(", "onerror", "onmouseover", "javascript:", "<form", "<input", "<iframe", "position"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("%s still contains %q:\n%s", where, bad, html)
		}
	}
}

func TestOverrideIsSanitized(t *testing.T) {
	src, err := CheckSource(TemplateInvitationPIN, Source{Subject: "Hi", HTML: strings.Replace(hostile, hostileImage, "", 1), Text: "{{.PIN}}"})
	if err != nil {
		t.Fatal(err)
	}
	wantNoActiveMarkup(t, "stored source", src.HTML)
	if !strings.Contains(src.HTML, `<a href="{{.RegisterURL}}">register</a>`) {
		t.Errorf("stored source lost the link:\n%s", src.HTML)
	}
	for _, keep := range []string{`href="{{.RegisterURL}}"`, "{{.PIN}}", "{{.FirstName}}", "color: #c00"} {
		if !strings.Contains(src.HTML, keep) {
			t.Errorf("stored source lost %q:\n%s", keep, src.HTML)
		}
	}

	// Straight to the renderer (as if the database held the hostile source), and with hostile data.
	data := defaults[TemplateInvitationPIN].sample.(InvitationPINData)
	data.FirstName = `<b>Sam</b>`
	data.RegisterURL = "javascript:alert(6)"
	r, err := defaults[TemplateInvitationPIN].renderOverride(Source{Subject: "Hi", HTML: hostile, Text: "{{.PIN}}"}, data)
	if err != nil {
		t.Fatal(err)
	}
	wantNoActiveMarkup(t, "rendered mail", r.HTML)
	if strings.Contains(r.HTML, "<img") {
		t.Errorf("rendered PIN mail kept a remote image:\n%s", r.HTML)
	}
	if !strings.Contains(r.HTML, "&lt;b&gt;Sam&lt;/b&gt;") || !strings.Contains(r.HTML, data.PIN) {
		t.Errorf("rendered mail lost the escaped name or the PIN:\n%s", r.HTML)
	}
	if !strings.Contains(r.HTML, "Sent by Steward on behalf of") {
		t.Error("override content is not inside the shared layout")
	}
}

func TestOverrideKeepsRemoteImagesWithoutSecret(t *testing.T) {
	html := `<p>Hi {{.FirstName}}</p>` + hostileImage
	src, err := CheckSource(TemplateInvitationPassword, Source{Subject: "Hi", HTML: html, Text: "Hi"})
	if err != nil {
		t.Fatal(err)
	}
	want := `<img src="https://cdn.example.com/x.png">`
	if !strings.Contains(src.HTML, want) {
		t.Errorf("stored source lost the image:\n%s", src.HTML)
	}
	r, err := PreviewSource(TemplateInvitationPassword, src)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.HTML, want) {
		t.Errorf("rendered mail lost the image:\n%s", r.HTML)
	}
}

func TestMailerUsesTenantOverride(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var a, b mdm.Tenant
	for i, tn := range []*mdm.Tenant{&a, &b} {
		id := string(rune('a' + i))
		*tn = mdm.Tenant{ID: mdm.TenantID("t-" + id), Name: "Tenant " + id, State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
		if err := s.Tenants().Create(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	src, err := CheckSource(TemplateInvitationPIN, Source{Subject: "Custom {{.TenantName}}", HTML: "<p>Custom PIN {{.PIN}}</p>", Text: "Custom PIN {{.PIN}}"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EmailTemplates().Put(ctx, a.ID, mdm.EmailTemplate{Name: TemplateInvitationPIN, Subject: src.Subject,
		HTML: src.HTML, Text: src.Text, ModifiedAt: now, ModifiedBy: "x"}); err != nil {
		t.Fatal(err)
	}
	// A stored override that drops the PIN (written past the checks) must not cost the user their PIN.
	if err := s.EmailTemplates().Put(ctx, a.ID, mdm.EmailTemplate{Name: TemplatePINRequest, Subject: "No PIN",
		HTML: "<p>none</p>", Text: "none", ModifiedAt: now, ModifiedBy: "x"}); err != nil {
		t.Fatal(err)
	}
	m := NewMailer(testKeys(t), nil, WithOverrides(s.EmailTemplates()))
	data := InvitationPINData{TenantName: "Acme", FirstName: "Sam", Email: "sam@example.com", PIN: "135792", RegisterURL: "https://x.example/go", ExpiresAt: now}
	open := func(tenant mdm.TenantID, tmpl string, data any) Rendered {
		msg, err := m.Enqueue(ctx, s.Outbox(), tenant, tmpl, "sam@example.com", data)
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Open(msg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := open(a.ID, TemplateInvitationPIN, data); r.Subject != "Custom Acme" || !strings.Contains(r.Text, "Custom PIN 135792") || !strings.Contains(r.HTML, "Custom PIN 135792") {
		t.Errorf("tenant A's mail does not use its override: %q\n%s", r.Subject, r.Text)
	}
	for name, tenant := range map[string]mdm.TenantID{"tenant B": b.ID, "platform": ""} {
		if r := open(tenant, TemplateInvitationPIN, data); strings.Contains(r.Text, "Custom") || !strings.Contains(r.Text, "135792") {
			t.Errorf("%s's mail uses A's override or lost the PIN:\n%s", name, r.Text)
		}
	}
	pr := PINRequestData{TenantName: "Acme", Email: "sam@example.com", PIN: "246801", RegisterURL: "https://x.example/go", ExpiresAt: now}
	if r := open(a.ID, TemplatePINRequest, pr); !strings.Contains(r.Text, "246801") || r.Subject == "No PIN" {
		t.Errorf("an override without the PIN was used: %q\n%s", r.Subject, r.Text)
	}
}

// BenchmarkRender compares the built-in templates with a tenant's override (parsed, rendered and
// sanitized on every call).
func BenchmarkRender(b *testing.B) {
	s := defaults[TemplateInvitationPIN]
	src := s.source
	b.Run("default", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.render(s.sample); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("override", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.renderOverride(src, s.sample); err != nil {
				b.Fatal(err)
			}
		}
	})
}
