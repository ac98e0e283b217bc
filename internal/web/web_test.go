package web

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		err    error
		status int
		shows  string
	}{
		{mdm.Errorf(mdm.Invalid, "bad input"), 400, "Bad input."},
		{mdm.Errorf(mdm.Unauthenticated, "not signed in"), 401, "Not signed in."},
		{mdm.Errorf(mdm.Forbidden, "only a System Admin may do this"), 403, "Only a System Admin may do this."},
		{mdm.Errorf(mdm.NotFound, "no such tenant"), 404, "No such tenant."},
		{mdm.Errorf(mdm.Conflict, "taken"), 409, "Taken."},
		{mdm.Errorf(mdm.RateLimited, "slow down"), 429, "Slow down."},
		{mdm.Wrap(mdm.Unavailable, errors.New("db down"), "try later"), 503, "Try later."},
		{mdm.Wrap(mdm.Internal, errors.New("secret cause"), "cannot do it"), 500, "Something went wrong on our side"},
		{errors.New("secret cause"), 500, "Something went wrong on our side"},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			r := httptest.NewRequest("GET", "/console/x", nil)
			w := httptest.NewRecorder()
			WriteError(w, r, tc.err)
			body := w.Body.String()
			if w.Code != tc.status || !strings.Contains(body, tc.shows) || !strings.Contains(body, "<!DOCTYPE html>") {
				t.Errorf("status %d, body:\n%s", w.Code, body)
			}
			if strings.Contains(body, "secret cause") {
				t.Errorf("the cause leaked into the page")
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}

			r.Header.Set("HX-Request", "true")
			w = httptest.NewRecorder()
			WriteError(w, r, tc.err)
			if w.Code != tc.status || w.Header().Get("HX-Retarget") != "#flash" || strings.Contains(w.Body.String(), "<html") ||
				!strings.Contains(w.Body.String(), tc.shows) {
				t.Errorf("htmx: status %d, retarget %q, body:\n%s", w.Code, w.Header().Get("HX-Retarget"), w.Body.String())
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "/console",
		"/console/report":          "/console/report",
		"/console/tenants?q=a&b=c": "/console/tenants?q=a&b=c",
		"//evil.example/console":   "/console",
		"https://evil.example/":    "/console",
		"/login":                   "/console",
		"/console\\@evil.example":  "/console",
		"/console\r\nX: y":         "/console",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatic(t *testing.T) {
	h := New(Deps{})
	get := func(path string, headers ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, name := range []string{"app.css", "htmx.min.js", "favicon.svg"} {
		u := assetURL(name)
		w := get(u)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") || w.Header().Get("ETag") == "" {
			t.Errorf("%s: status %d, headers %v", u, w.Code, w.Header())
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", u)
		}
		if w2 := get(u, "If-None-Match", w.Header().Get("ETag")); w2.Code != http.StatusNotModified {
			t.Errorf("%s revalidation: %d", u, w2.Code)
		}
		if w3 := get("/static/" + name); strings.Contains(w3.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("unversioned %s is cached forever", name)
		}
	}
	w := get(assetURL("htmx.min.js"), "Accept-Encoding", "br, gzip")
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("htmx not gzipped: %v", w.Header())
	}
	z, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(z)
	if !bytes.Equal(plain, assets["htmx.min.js"].data) {
		t.Errorf("gzipped htmx differs from the file")
	}
	if !bytes.HasPrefix(assets["htmx.min.js"].data, []byte("/*! htmx 2.0.4")) {
		t.Errorf("htmx.min.js lost its license header")
	}
	if w := get(assetURL("htmx.min.js"), "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip sent although refused")
	}
	if w := get("/static/nothing.js"); w.Code != http.StatusNotFound {
		t.Errorf("unknown asset: %d", w.Code)
	}
}

func TestAnonymousConsole(t *testing.T) {
	h := New(Deps{})
	for _, path := range []string{"/console", "/console/", "/console/tenants", "/console/report", "/console/mail",
		"/console/mail/1", "/console/audit", "/console/users", "/console/users/1", "/console/users/1/delete", "/console/groups",
		"/console/groups/1", "/console/roles", "/console/registration"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("GET %s: %d, Location %q", path, w.Code, w.Header().Get("Location"))
		}
	}
	for _, path := range []string{"/console/tenants", "/console/users", "/console/users/bulk", "/console/users/invite",
		"/console/users/1", "/console/users/1/pin", "/console/users/1/delete", "/console/groups", "/console/groups/1",
		"/console/groups/1/members", "/console/groups/1/delete", "/console/registration"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader("name=x")))
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
			t.Errorf("POST %s: %d, Location %q", path, w.Code, w.Header().Get("Location"))
		}
	}
}

func TestEscaping(t *testing.T) {
	tenant := &mdm.Tenant{ID: "t-1", Name: `<script>alert(1)</script>"`, State: mdm.TenantActive, CreatedAt: time.Now()}
	w := httptest.NewRecorder()
	if err := fragment(w, 200, "tenants", "tenant_row", tenant); err != nil {
		t.Fatal(err)
	}
	if body := w.Body.String(); strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("tenant name not escaped:\n%s", body)
	}
}

// TestTemplatesAreSelfContained guards the page rules: no inline scripts or event handlers (the CSP
// would block them anyway), no inline styles, and nothing loaded from another site.
func TestTemplatesAreSelfContained(t *testing.T) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`),
		regexp.MustCompile(`(?i)hx-on`),
	}
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range bad {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: %q matches %s", path, b[loc[0]:loc[1]], re)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	css := string(assets["app.css"].data)
	if strings.Contains(css, "@import") || strings.Contains(css, "url(") {
		t.Errorf("app.css loads external resources")
	}
}

func TestPager(t *testing.T) {
	p := pager{Path: "/console/tenants", Query: "a b", Start: 25, Rows: 25, Total: 60, Shown: 25}
	if p.PrevURL() != "/console/tenants?q=a+b" || p.NextURL() != "/console/tenants?q=a+b&start=50" ||
		!p.HasPrev() || !p.HasNext() || p.From() != 26 || p.To() != 50 {
		t.Errorf("pager %+v: prev %s next %s", p, p.PrevURL(), p.NextURL())
	}
	p = pager{Path: "/x", Start: 50, Rows: 25, Total: 60, Shown: 10}
	if p.HasNext() || p.PrevURL() != "/x?start=25" {
		t.Errorf("last page: next %v prev %s", p.HasNext(), p.PrevURL())
	}
}
