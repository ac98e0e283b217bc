package mail

import (
	"context"
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"

	"steward/internal/mdm"
)

// doublings is a source that doubles a variable n times without writing it.
func doublings(n int) string {
	return `{{$a := "0123456789abcdef"}}` + strings.Repeat(`{{$a = print $a $a}}`, n)
}

// Every shape that made an override run without bound is refused with a field error on the part
// that holds it, before anything runs; and the renderer (what sends stored overrides) refuses it too.
func TestCheckSourceRefusesUnboundedOverrides(t *testing.T) {
	// Each case edits one part of a good admin_invitation source (it has .Roles to range over).
	cases := []struct {
		name, field, src, code, inMessage string
	}{
		{"integer range", "html", `<p>{{.Link}}</p>{{range 3}}x{{end}}`, "Bounds", "{{range 3}}"},
		{"integer range in text", "text", "{{.Link}}\n{{range 3}}x{{end}}", "Bounds", "{{range 3}}"},
		{"integer range in subject", "subject", `Hi{{range 3}}x{{end}}`, "Bounds", "{{range 3}}"},
		{"nested integer ranges", "html", `<p>{{.Link}}</p>{{range .Roles}}{{range 2}}x{{end}}{{end}}`, "Bounds", "{{range 2}}"},
		{"range over a variable", "html", `<p>{{.Link}}</p>{{range .Roles}}{{range $.Roles}}x{{end}}{{end}}`, "Bounds", "{{range $.Roles}}"},
		{"range over a number method", "html", `<p>{{.Link}}</p>{{range .ExpiresAt.Unix}}x{{end}}`, "Bounds", "{{range .ExpiresAt.Unix}}"},
		{"range over a field inside with", "text", "{{.Link}}\n{{with .ExpiresAt}}{{range .YearDay}}x{{end}}{{end}}", "Bounds", "{{range .YearDay}}"},
		{"range over a text field", "html", `<p>{{.Link}}</p>{{range .FirstName}}x{{end}}`, "Bounds", "{{range .FirstName}}"},
		{"range over dot", "html", `<p>{{.Link}}</p>{{with .Roles}}{{range .}}x{{end}}{{end}}`, "Bounds", "{{range .}}"},
		{"range over a function result", "text", "{{.Link}}\n{{range slice .Roles 0}}x{{end}}", "Bounds", "slice"},
		{"range over lines of a variable", "text", "{{.Link}}\n{{$m := .FirstName}}{{range lines $m}}x{{end}}", "Bounds", "lines $m"},
		{"recursion through content", "html", `<p>{{.Link}}</p>{{template "content" .}}`, "Bounds", `{{template "content"}}`},
		{"recursion through content with slice", "html", `<p>{{.Link}}</p>{{if .FirstName}}{{template "content" (slice .FirstName 1)}}{{end}}`, "Bounds", `"content"`},
		{"text recursion", "text", "{{.Link}}\n{{template \"content\" .}}", "Bounds", `"content"`},
		{"layout", "html", `<p>{{.Link}}</p>{{template "layout" .}}`, "Bounds", `"layout"`},
		{"preheader", "html", `<p>{{.Link}}</p>{{template "preheader" .}}`, "Bounds", `"preheader"`},
		{"html helper in text", "text", "{{.Link}}\n{{template \"code\" .FirstName}}", "Bounds", `"greeting"`},
		{"template in subject", "subject", `{{template "greeting" .FirstName}}`, "Bounds", "may not call templates"},
		{"block", "html", `<p>{{.Link}}</p>{{block "x" .}}y{{end}}`, "Template", "define"},
		{"escaper with many arguments", "html", `<p>{{.Link}}</p>{{html .FirstName .FirstName}}`, "Bounds", "one argument"},
		{"html overflow", "html", `<p>{{.Link}}</p>{{range .Roles}}{{printf "%200000s" .}}{{end}}`, "RenderSize", "256 KiB"},
		{"text overflow", "text", "{{.Link}}\n{{printf \"%300000s\" .FirstName}}", "RenderSize", "256 KiB"},
		{"subject overflow", "subject", `{{printf "%300000s" .FirstName}}`, "RenderSize", "256 KiB"},
		{"variable doubling", "html", `<p>{{.Link}}</p>` + doublings(40), "RenderSize", "1024 KiB"},
		{"dot doubling", "text", "{{.Link}}\n" + strings.Repeat(`{{with print "0123456789" "0123456789"}}`, 1) +
			strings.Repeat(`{{with print . .}}`, 40) + strings.Repeat(`{{end}}`, 41), "RenderSize", "1024 KiB"},
		{"printf padding", "text", "{{.Link}}\n{{$a := printf \"" + strings.Repeat("%999999d", 200) + "\"}}", "RenderSize", "1024 KiB"},
		{"printf width from an argument", "text", "{{.Link}}\n{{$a := printf \"%*d\" 999999 1}}", "Template", "(*)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := Source{Subject: "Hi {{.FirstName}}", HTML: `<p>{{.Link}}</p>`, Text: "{{.Link}}"}
			switch tc.field {
			case "subject":
				src.Subject = tc.src
			case "html":
				src.HTML = tc.src
			case "text":
				src.Text = tc.src
			}
			_, err := CheckSource(TemplateAdminInvitation, src)
			f := fieldOf(t, err)
			if f.Field != tc.field || f.Code != tc.code || !strings.Contains(f.Message, tc.inMessage) {
				t.Errorf("field error %+v, want %s on %q mentioning %q", f, tc.code, tc.field, tc.inMessage)
			}
			s := defaults[TemplateAdminInvitation]
			if _, err := s.renderOverride(src, s.sample); err == nil {
				t.Error("renderOverride accepted the source")
			}
		})
	}
}

// The review's payload (65 s and about 1 GB before) is refused before it runs.
func TestCheckSourceRefusesTheReviewPayload(t *testing.T) {
	src := Source{Subject: "Hi", HTML: `<p>{{.PIN}}</p>{{range 1000}}{{range 1000}}{{range 100}}xxxxxxxxxx{{end}}{{end}}{{end}}`, Text: "{{.PIN}}"}
	_, err := PreviewSource(TemplateInvitationPIN, src)
	if f := fieldOf(t, err); f.Field != "html" || f.Code != "Bounds" || !strings.Contains(f.Message, "{{range 1000}}") {
		t.Errorf("field error %+v, want Bounds on html", f)
	}
}

// Bounded is not crippled: ranges over data, lines of a field, the layout's helpers and printf with a
// modest width still render.
func TestCheckSourceAcceptsBoundedLoopsAndHelpers(t *testing.T) {
	src := Source{Subject: `{{printf "%-3s" "Hi"}} {{.FirstName}}`,
		HTML: `{{template "h1" "Welcome"}}{{template "greeting" .FirstName}}<ul>{{range $i, $r := .Roles}}<li>{{$i}} {{$r}}</li>{{end}}</ul>` +
			`{{range lines .InvitedBy}}<p>{{.}}</p>{{end}}{{template "note" (join .Roles ", ")}}{{template "quote" .TenantName}}` +
			`{{template "button" (button .Link "Accept")}}{{template "fallback" .Link}}`,
		Text: "{{template \"greeting\" .FirstName}}\n{{range .Roles}}- {{.}}\n{{end}}\n{{.Link}}\n"}
	r, err := PreviewSource(TemplateAdminInvitation, src)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.HTML, "<li>1 App Admin</li>") || !strings.Contains(r.HTML, "Device Admin, App Admin") || !strings.Contains(r.Text, "- App Admin") {
		t.Errorf("bounded override rendered wrong:\n%s\n%s", r.HTML, r.Text)
	}
}

// The helper lists are the layouts' own small templates, without the ones that would recurse.
func TestHelpersAreTheLayoutsTemplates(t *testing.T) {
	for _, tc := range []struct {
		defined []string
		helpers map[string]bool
	}{
		{templateNames(defaults[TemplateAdminActivation].htmlProto.Templates()), htmlHelpers},
		{templateNamesText(defaults[TemplateAdminActivation].text.Templates()), textHelpers},
	} {
		want := map[string]bool{}
		for _, n := range tc.defined {
			if n != "layout" && n != "preheader" && n != "content" && !strings.HasSuffix(n, ".html") && !strings.HasSuffix(n, ".txt") {
				want[n] = true
			}
		}
		if len(want) != len(tc.helpers) {
			t.Errorf("helpers %v, layout defines %v", tc.helpers, want)
		}
		for n := range want {
			if !tc.helpers[n] {
				t.Errorf("layout helper %q is not allowed", n)
			}
		}
	}
}

// A stored override that is unbounded or grows too large (saved before these checks) is not used at
// send time: the mail goes out with the built-in template.
func TestMailerFallsBackFromUnboundedStoredOverride(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tn := mdm.Tenant{ID: "t-dos", Name: "DoS", State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
	if err := s.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	m := NewMailer(testKeys(t), nil, WithOverrides(s.EmailTemplates()))
	data := PasswordRequestData{TenantName: "DoS", Username: "sam", Link: "https://steward.example/reset?token=t0k3n", ExpiresAt: now}
	for _, html := range []string{
		`<p>Custom {{.Link}}</p>{{range 1000}}{{range 1000}}{{range 100}}xxxxxxxxxx{{end}}{{end}}{{end}}`,
		`<p>Custom {{.Link}}</p>{{template "content" .}}`,
		`<p>Custom {{.Link}}</p>{{printf "%300000s" .Username}}`,
		`<p>Custom {{.Link}}</p>` + doublings(60),
	} {
		if err := s.EmailTemplates().Put(ctx, tn.ID, mdm.EmailTemplate{Name: TemplatePasswordRequest, Subject: "Reset",
			HTML: html, Text: "{{.Link}}", ModifiedAt: now, ModifiedBy: "x"}); err != nil {
			t.Fatal(err)
		}
		msg, err := m.Enqueue(ctx, s.Outbox(), tn.ID, TemplatePasswordRequest, "sam@example.com", data)
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Open(msg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.HTML, "Custom") || !strings.Contains(r.HTML, "t0k3n") || len(r.HTML) > 64<<10 {
			t.Errorf("mail used the unbounded override or lost the link (%d bytes)", len(r.HTML))
		}
	}
}

func templateNames(ts []*htmltemplate.Template) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name())
	}
	return out
}

func templateNamesText(ts []*texttemplate.Template) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name())
	}
	return out
}
