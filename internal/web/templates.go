package web

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"steward/internal/mdm"
)

//go:embed templates
var templateFS embed.FS

// pages holds one template set per page: the shared layout and parts plus that page's file.
var pages = parsePages()

var funcs = template.FuncMap{
	"asset":     assetURL,
	"when":      formatTime,
	"ago":       relativeTime,
	"sentence":  sentence,
	"field":     newField,
	"json":      compactJSON,
	"short":     shortID,
	"add":       func(a, b int) int { return a + b },
	"size":      byteSize,
	"dict":      dict,
	"can":       can,
	"roleLabel": roleLabel,
	"roleName":  roleName,
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts/*.html"))
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
	}
	return out
}

// formatTime shows a time in UTC, minutes precision.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// sentence capitalises a service message ("must be …") for display on its own.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func compactJSON(v any) string {
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func shortID(id mdm.TenantID) string {
	if len(id) > 8 {
		return string(id[:8])
	}
	return string(id)
}

// form is a submitted form's values and errors, for re-rendering it.
type form struct {
	Values map[string]string
	Errors map[string]string
	Global string
}

func newForm() form { return form{Values: map[string]string{}, Errors: map[string]string{}} }

// Value is the submitted value of name.
func (f form) Value(name string) string { return f.Values[name] }

// Error is the message for name, "" when it is fine.
func (f form) Error(name string) string { return f.Errors[name] }

// setError records a service error on the form: field errors next to the named fields (those in known),
// anything else as the form's message. It reports whether err was a user error worth re-rendering the
// form for (invalid input or a conflict), and the status to answer with.
func (f *form) setError(err error, known ...string) (int, bool) {
	var e *mdm.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch e.Code {
	case mdm.Invalid, mdm.Conflict, mdm.Unauthenticated, mdm.RateLimited, mdm.NotFound:
	default:
		return 0, false
	}
	placed := false
	for _, fe := range e.Fields {
		if contains(known, fe.Field) {
			if f.Errors[fe.Field] == "" {
				f.Errors[fe.Field] = sentence(fe.Message) + "."
			}
			placed = true
		} else if f.Global == "" {
			f.Global = sentence(fe.Field+": "+fe.Message) + "."
		}
	}
	if !placed && f.Global == "" && len(f.Errors) == 0 {
		f.Global = sentence(e.Message) + "."
	}
	return statusOf(err), true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// field is one labelled input for the shared "field" template.
type field struct {
	Form         form
	Name         string
	Label        string
	Type         string
	Hint         string
	Autocomplete string
	Required     bool
	Inputmode    string
	Min          string
	Rows         string // lines of a textarea (Type "textarea")
}

// newField builds a field; opts are key=value pairs: hint, autocomplete, required, inputmode, min, rows.
func newField(f form, name, label, typ string, opts ...string) field {
	fd := field{Form: f, Name: name, Label: label, Type: typ}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "hint":
			fd.Hint = v
		case "autocomplete":
			fd.Autocomplete = v
		case "required":
			fd.Required = true
		case "inputmode":
			fd.Inputmode = v
		case "min":
			fd.Min = v
		case "rows":
			fd.Rows = v
		default:
			panic("web: unknown field option " + k)
		}
	}
	return fd
}

// ID is the input's element id.
func (f field) ID() string { return "f-" + f.Name }

// Value is the value to show again; passwords never come back.
func (f field) Value() string {
	if f.Type == "password" {
		return ""
	}
	return f.Form.Value(f.Name)
}

// Error is the field's message.
func (f field) Error() string { return f.Form.Error(f.Name) }

// pager is one page of a list with the links around it.
type pager struct {
	Path  string
	Query string // the search box, kept across pages
	Start int
	Rows  int
	Total int
	Shown int
	// HXTarget, when set, makes the page links swap only that element (by id) with htmx.
	HXTarget string
	// Params are further query parameters kept across pages (a list's filters and sort).
	Params url.Values
}

const pageRows = 25

// listRequest reads start and q from the URL.
func listRequest(q url.Values) (start int, query string) {
	start, _ = strconv.Atoi(q.Get("start"))
	start = max(0, min(start, 1_000_000_000))
	query = strings.TrimSpace(q.Get("q"))
	if len(query) > 200 {
		query = query[:200]
	}
	return start, query
}

// From is the 1-based number of the first row shown.
func (p pager) From() int {
	if p.Shown == 0 {
		return 0
	}
	return p.Start + 1
}

// To is the number of the last row shown.
func (p pager) To() int { return p.Start + p.Shown }

// HasPrev and HasNext tell whether there are rows before and after this page.
func (p pager) HasPrev() bool { return p.Start > 0 }
func (p pager) HasNext() bool { return p.Start+p.Shown < p.Total }

// PrevURL and NextURL link to the neighbouring pages.
func (p pager) PrevURL() string { return p.url(max(0, p.Start-p.Rows)) }
func (p pager) NextURL() string { return p.url(p.Start + p.Rows) }

func (p pager) url(start int) string {
	v := url.Values{}
	for k, vals := range p.Params {
		v[k] = vals
	}
	if p.Query != "" {
		v.Set("q", p.Query)
	}
	if start > 0 {
		v.Set("start", strconv.Itoa(start))
	}
	if len(v) == 0 {
		return p.Path
	}
	return p.Path + "?" + v.Encode()
}

// byteSize shows a file size in B, KiB or MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// dict builds a map from alternating keys and values, to pass several values to a template.
func dict(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			m[k] = kv[i+1]
		}
	}
	return m
}
