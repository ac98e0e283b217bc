package mail

import (
	"strings"
	"testing"
)

// A secret glued to other text is refused in both bodies: mail clients make one link of
// "https://evil.example/r?u=" and the link or PIN after it. The text part takes only a lone action.
func TestCheckSourceRefusesGluedOrComputedSecret(t *testing.T) {
	const goodHTML, goodText = `<p>{{.Link}}</p>`, "{{.Link}}"
	cases := []struct {
		name, template, html, text, field, inMessage string
	}{
		{"review: glued URL prefix in HTML", TemplatePasswordRequest, `<p>Reset: https://evil.example/r?u={{.Link}}</p>`, goodText, "html", "stand alone"},
		{"glued prefix with a trim marker", TemplatePasswordRequest, `<p>Reset: https://evil.example/r?u= {{- .Link}}</p>`, goodText, "html", "stand alone"},
		{"glued suffix in HTML", TemplatePasswordRequest, `<p>Reset: {{.Link}}&amp;x=https://evil.example/</p>`, goodText, "html", "stand alone"},
		{"glued to another action", TemplatePasswordRequest, `<p>{{.Username}}{{.Link}}</p>`, goodText, "html", "stand alone"},
		{"glued around an if", TemplatePasswordRequest, `<p>https://evil.example/?u={{if .Username}}{{.Link}}{{end}}</p>`, goodText, "html", "stand alone"},
		{"PIN glued in HTML", TemplateInvitationPIN, `<p>https://evil.example/?p={{.PIN}}</p>{{template "code" .PIN}}`, "{{.PIN}}", "html", "stand alone"},
		{"inline tag between prefix and secret", TemplatePasswordRequest, `<p>https://evil.example/r?u=<b>{{.Link}}</b></p>`, goodText, "html", "stand alone"},
		{"inline tag between secret and suffix", TemplatePasswordRequest, `<p><span>{{.Link}}</span>.evil.example</p>`, goodText, "html", "stand alone"},
		{"tag dropped by the allowlist", TemplatePasswordRequest, `<p>https://evil.example/r?u=<a href="{{.Username}}">{{.Link}}</a></p>`, goodText, "html", "stand alone"},
		{"review: urlquery pipeline in text", TemplatePasswordRequest, goodHTML, "https://evil.example/r?u={{.Link | urlquery}}", "text", "{{.Link | urlquery}}"},
		{"glued URL prefix in text", TemplatePasswordRequest, goodHTML, "Reset: https://evil.example/r?u={{.Link}}", "text", "stand alone"},
		{"glued suffix in text", TemplatePasswordRequest, goodHTML, "Reset: {{.Link}}.evil.example", "text", "stand alone"},
		{"tag-like prefix in text", TemplatePasswordRequest, goodHTML, "Reset: <{{.Link}}>", "text", "stand alone"},
		{"function in text", TemplateInvitationPIN, `{{template "code" .PIN}}`, "{{printf \"%s\" .PIN}}", "text", "printf"},
		{"variable in text", TemplatePasswordRequest, goodHTML, "{{$l := .Link}}{{$l}}", "text", "{{.Link}}"},
		{"with in text", TemplatePasswordRequest, goodHTML, "{{with .Link}}{{.}}{{end}}", "text", "{{.Link}}"},
		{"whole data in text", TemplatePasswordRequest, goodHTML, "{{.Link}} {{.}}", "text", "whole data"},
		{"helper handed the secret in text", TemplatePasswordRequest, goodHTML, "{{.Link}} {{template \"greeting\" .Link}}", "text", "{{.Link}}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := Source{Subject: "Hello", HTML: tc.html, Text: tc.text}
			_, err := CheckSource(tc.template, src)
			f := fieldOf(t, err)
			if f.Field != tc.field || f.Code != "SecretPlacement" || !strings.Contains(f.Message, tc.inMessage) {
				t.Errorf("field error %+v, want SecretPlacement on %q mentioning %q", f, tc.field, tc.inMessage)
			}
			s := defaults[tc.template]
			if _, err := s.renderOverride(src, s.sample); err == nil {
				t.Error("renderOverride accepted the source")
			}
		})
	}
}

// A secret set apart by white space, a line break or (in HTML) a tag is fine, also next to the edges
// of an {{if}}.
func TestCheckSourceAcceptsSecretStandingAlone(t *testing.T) {
	cases := []struct{ name, html, text string }{
		{"spaces", `<p>Reset: {{.Link}} now</p>`, "Reset: {{.Link}} now"},
		{"tags and line breaks", `<p><strong>{{.Link}}</strong></p>`, "Reset:\n{{.Link}}\n"},
		{"whole part", `{{.Link}}`, `{{.Link}}`},
		{"next to helpers", `{{template "h1" "Reset"}}{{.Link}}{{template "note" "Thanks"}}`, "{{.Link}}"},
		{"inside if and else", `<p>{{if .Username}} {{.Link}} {{else}}<b>{{.Link}}</b>{{end}}</p>`, "Go:\n{{if .Username}}{{.Link}}{{else}}{{.Link}}{{end}}\nThanks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CheckSource(TemplatePasswordRequest, Source{Subject: "Hello", HTML: tc.html, Text: tc.text}); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}
