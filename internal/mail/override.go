package mail

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"regexp"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"

	"steward/internal/mdm"
)

// Size limits of an override's sources.
const (
	MaxSubjectSource = 1 << 10
	MaxBodySource    = 64 << 10
)

// partError is a failure of one part of an override (subject, html or text), reported on that field.
type partError struct {
	field string
	err   error
}

func (e *partError) Error() string { return e.field + ": " + e.err.Error() }
func (e *partError) Unwrap() error { return e.err }

// parsePart parses one source alone, with the functions templates may call, so that syntax errors and
// unknown functions are found before the source meets the layout. A source may not define templates:
// that could replace the layout; and it may only loop and call templates within bounds (checkBounds).
func parsePart(src string, helpers map[string]bool, data reflect.Type) error {
	t, err := texttemplate.New("content").Funcs(funcs).Parse(src)
	if err != nil {
		return err
	}
	for _, d := range t.Templates() {
		if d.Name() != "content" {
			return fmt.Errorf("must not define templates ({{define %q}})", d.Name())
		}
	}
	return checkBounds(t.Tree, helpers, data)
}

// contentSlot marks where an override's content goes in the rendered layout. It is random per process,
// so no data can imitate it.
var contentSlot = "steward-content-" + rand.Text()

// renderOverride renders src (a tenant's override of s) with data: the subject, the HTML content
// sanitized and then wrapped in the shared layout, and the text content in the text layout.
func (s *set) renderOverride(src Source, data any) (Rendered, error) {
	parts := []struct {
		field, src string
		helpers    map[string]bool
	}{{"subject", src.Subject, nil}, {"html", src.HTML, htmlHelpers}, {"text", src.Text, textHelpers}}
	for _, p := range parts {
		if err := parsePart(p.src, p.helpers, s.dataType); err != nil {
			return Rendered{}, &partError{p.field, err}
		}
	}
	fm := boundedFuncs()
	var b bytes.Buffer
	subj, err := texttemplate.New("subject").Funcs(fm).Option("missingkey=error").Parse(src.Subject)
	if err == nil {
		err = checkSecretUse(s.secret, subj.Tree, inSubject)
	}
	if err == nil {
		err = subj.Execute(capped(&b), data)
	}
	if err != nil {
		return Rendered{}, &partError{"subject", err}
	}
	subject := oneLine(b.String(), 200)
	p := page{Subject: subject, Tenant: reflect.ValueOf(data).FieldByName("TenantName").String(), Data: data}

	content, err := s.overrideContent(src.HTML, data, fm)
	if err != nil {
		return Rendered{}, &partError{"html", err}
	}
	b.Reset()
	if err := s.htmlSlot.ExecuteTemplate(&b, "layout", p); err != nil {
		return Rendered{}, &partError{"html", err}
	}
	htmlOut := strings.Replace(b.String(), contentSlot, string(content), 1)

	text, err := s.text.Clone()
	if err == nil {
		_, err = text.Funcs(fm).New("content").Parse(src.Text)
	}
	if err == nil {
		err = checkSecretUse(s.secret, text.Lookup("content").Tree, inText)
	}
	b.Reset()
	if err == nil {
		err = text.ExecuteTemplate(capped(&b), "layout", p)
	}
	if err != nil {
		return Rendered{}, &partError{"text", err}
	}
	return Rendered{Subject: subject, HTML: htmlOut, Text: tidyText(b.String())}, nil
}

// overrideContent renders an override's HTML content alone, escaped by html/template, and passes the
// result through the allowlist, so that neither the source nor any data can put active markup in a mail.
// The content may hand the email's secret only to the reader (see checkSecretUse), which is checked on
// the tree html/template escaped: its escapers tell where each action stands in the markup.
func (s *set) overrideContent(src string, data any, fm texttemplate.FuncMap) (htmltemplate.HTML, error) {
	t, err := s.htmlProto.Clone()
	if err != nil {
		return "", err
	}
	if _, err := t.Funcs(htmltemplate.FuncMap(fm)).New("content").Parse(src); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(capped(&b), "content", data); err != nil {
		return "", err
	}
	if err := checkSecretUse(s.secret, t.Lookup("content").Tree, inHTML); err != nil {
		return "", err
	}
	clean := sanitizeHTML(b.String(), s.secret == "")
	if err := s.checkSecretStandsAlone(clean, data); err != nil {
		return "", err
	}
	return htmltemplate.HTML(clean), nil //nolint:gosec // sanitized just now
}

// keepsSecret tells whether a rendering shows the email's secret (its PIN or link) in both parts.
func (s *set) keepsSecret(r Rendered, data any) (html, text bool) {
	if s.secret == "" {
		return true, true
	}
	v := reflect.ValueOf(data).FieldByName(s.secret).String()
	return strings.Contains(r.HTML, htmltemplate.HTMLEscapeString(v)) || strings.Contains(r.HTML, v), strings.Contains(r.Text, v)
}

// CheckSource validates a tenant's source for the named email and returns it as it will be stored:
// disallowed markup stripped from the HTML. It must parse, render with the email's sample data and,
// for an email that delivers a PIN or a link, show it in both parts. Unknown name -> not_found; bad
// source -> invalid with field errors on subject, html or text. In an email that carries a secret, the
// secret may appear in the HTML only as text or through the layout's helpers, in the text only as a
// lone {{.Link}}, in both apart from other text, never in the subject, and the HTML may show no
// images. Every part must be bounded (see bounds.go and budget.go): it loops only over data, calls
// only the layout's helpers, and renders and computes within MaxRendered and MaxComputed.
func CheckSource(name string, src Source) (Source, error) {
	s, ok := defaults[name]
	if !ok {
		return Source{}, mdm.Errorf(mdm.NotFound, "no email template named %q", name)
	}
	var v mdm.Validator
	v.Check(strings.TrimSpace(src.Subject) != "", "subject", "Required", "is required")
	v.Check(len(src.Subject) <= MaxSubjectSource, "subject", "Size", fmt.Sprintf("must be at most %d bytes", MaxSubjectSource))
	v.Check(strings.TrimSpace(src.HTML) != "", "html", "Required", "is required")
	v.Check(len(src.HTML) <= MaxBodySource, "html", "Size", fmt.Sprintf("must be at most %d KiB", MaxBodySource>>10))
	v.Check(strings.TrimSpace(src.Text) != "", "text", "Required", "is required")
	v.Check(len(src.Text) <= MaxBodySource, "text", "Size", fmt.Sprintf("must be at most %d KiB", MaxBodySource>>10))
	for field, val := range map[string]string{"subject": src.Subject, "html": src.HTML, "text": src.Text} {
		v.Check(utf8.ValidString(val) && !strings.ContainsRune(val, 0), field, "Encoding", "must be UTF-8 text without NUL characters")
	}
	if err := v.Err(); err != nil {
		return Source{}, err
	}
	v.Check(s.secret == "" || !hasImages(src.HTML), "html", "Image", fmt.Sprintf("must not show images (<img>): "+
		"this email carries {{.%s}}, and fetching a remote image tells a third party that it was opened", s.secret))
	if err := v.Err(); err != nil {
		return Source{}, err
	}
	src.HTML = sanitizeSource(src.HTML)
	r, err := s.renderOverride(src, s.sample)
	if err != nil {
		var pe *partError
		if !errors.As(err, &pe) {
			return Source{}, err
		}
		code, msg := "Template", templateMessage(pe.err)
		var se *secretPlacementError
		var be *boundsError
		switch {
		case errors.As(pe.err, &se):
			code, msg = "SecretPlacement", se.msg
		case errors.As(pe.err, &be):
			code, msg = "Bounds", be.msg
		case errors.Is(pe.err, errRenderSize):
			code, msg = "RenderSize", fmt.Sprintf("renders more than %d KiB with the sample data: loop or repeat less", MaxRendered>>10)
		case errors.Is(pe.err, errComputeSize):
			code, msg = "RenderSize", fmt.Sprintf("computes more than %d KiB with the sample data: loop or repeat less", MaxComputed>>10)
		}
		return Source{}, mdm.FieldErrors(mdm.FieldError{Code: code, Field: pe.field, Message: msg})
	}
	html, text := s.keepsSecret(r, s.sample)
	if s.secret != "" { // the sample value typed in by hand is not the field
		uses := regexp.MustCompile(`\.` + s.secret + `\b`)
		html, text = html && uses.MatchString(src.HTML), text && uses.MatchString(src.Text)
	}
	v.Check(html, "html", "Secret", fmt.Sprintf("must show {{.%s}}: this email exists to deliver it", s.secret))
	v.Check(text, "text", "Secret", fmt.Sprintf("must show {{.%s}}: this email exists to deliver it", s.secret))
	if err := v.Err(); err != nil {
		return Source{}, err
	}
	return src, nil
}

// PreviewSource renders src for the named email with the sample data, after the checks of CheckSource.
func PreviewSource(name string, src Source) (Rendered, error) {
	clean, err := CheckSource(name, src)
	if err != nil {
		return Rendered{}, err
	}
	return defaults[name].renderOverride(clean, defaults[name].sample)
}

// templateMessage is a parser or executor message without Go's "template: name:" prefix noise.
func templateMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	msg = strings.ReplaceAll(msg, "steward/internal/mail.", "")
	msg = strings.ReplaceAll(msg, "mail.", "")
	return msg
}
