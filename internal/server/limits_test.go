package server

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Every API operation but the uploads refuses a body over 1 MiB with 413 and a message saying so,
// whether or not it reads a body, before anything is written.
func TestAPIBodyCap(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Bodycap")
	e.enrolled(ta, "dev@bodycap.example.com", "BC1")
	written := func() int {
		return e.count(`SELECT (SELECT COUNT(*) FROM audit_log) + (SELECT COUNT(*) FROM accounts) +
			(SELECT COUNT(*) FROM tenants) + (SELECT COUNT(*) FROM devices)`)
	}
	before := written()
	huge := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	placeholder := regexp.MustCompile(`\{[^}]+\}`)
	checked := 0
	for _, rt := range e.srv.api.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/") || rt.Multipart {
			continue
		}
		path := placeholder.ReplaceAllString(rt.Path, "1")
		for _, auth := range []string{e.admin(), ta} {
			r := e.call(rt.Method, path, auth, huge)
			if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "larger than 1048576 bytes") {
				t.Errorf("%s %s with a body over 1 MiB: %d %.200s", rt.Method, path, r.Status, r.Body)
			}
		}
		checked++
	}
	if checked < 50 {
		t.Fatalf("only %d routes checked", checked)
	}
	// A body without a declared length is cut at the cap as it is read.
	for _, c := range []struct{ method, path, auth, ct string }{
		{"POST", "/api/v1/accounts", ta, "application/json"},
		{"POST", "/api/v1/accounts", ta, "application/x-www-form-urlencoded"},
		{"POST", "/api/v1/tenants", e.admin(), "application/json"},
		{"POST", "/api/agent/v1/register", "", "application/json"},
	} {
		req := newRequest(t, c.method, e.url+c.path, "")
		req.Body = io.NopCloser(strings.NewReader(`{"accounts":[{"emailAddress":"` + strings.Repeat("a", 1<<20) + `"}]}`))
		req.ContentLength = -1
		req.Header.Set("Content-Type", c.ct)
		if user, pw, ok := strings.Cut(c.auth, ":"); ok {
			req.SetBasicAuth(user, pw)
		}
		if r := e.send(req); r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "larger than 1048576 bytes") {
			t.Errorf("%s %s (%s) streamed over 1 MiB: %d %.200s", c.method, c.path, c.ct, r.Status, r.Body)
		}
	}
	if after := written(); after != before {
		t.Errorf("rows changed from %d to %d", before, after)
	}
	// Just under the cap is read and judged on its content.
	r := e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"`+strings.Repeat("a", 1<<19)+`"}]}`)
	if r.Status != 400 || strings.Contains(r.Body, "larger than") {
		t.Errorf("a body under the cap: %d %.200s", r.Status, r.Body)
	}
}
