package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"steward/internal/mdm"
)

func TestRequestID(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = mdm.RequestIDFrom(r.Context()) }))
	for in, keep := range map[string]bool{"abc-123_X": true, "": false, "has space": false, strings.Repeat("a", 65): false, "<script>": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-Id", in)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if keep != (seen == in) || seen == "" || w.Header().Get("X-Request-Id") != seen {
			t.Errorf("incoming %q: context %q, header %q (keep=%v)", in, seen, w.Header().Get("X-Request-Id"), keep)
		}
	}
}

func TestAccessLogRecoversAndRecords(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	var observed []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom/{id}", func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r)
		panic("kaboom")
	})
	h := RequestID(AccessLog(log, func(route, method string, status int, _ time.Duration) {
		observed = append(observed, method+" "+route+" "+http.StatusText(status))
	}, mux))
	r := httptest.NewRequest("GET", "/boom/7", nil)
	r.SetBasicAuth("admin", "secret-password")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 500 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d (%s), want 500 JSON", w.Code, w.Header().Get("Content-Type"))
	}
	var env struct {
		Errors struct{ GlobalErrors []struct{ Code string } }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || len(env.Errors.GlobalErrors) == 0 {
		t.Errorf("panic body is not the error envelope: %s", w.Body)
	}
	if len(observed) != 1 || observed[0] != "GET GET /boom/{id} Internal Server Error" {
		t.Errorf("observed %v", observed)
	}
	out := logs.String()
	for _, want := range []string{`"route":"GET /boom/{id}"`, `"http_status":500`, `"request_id":"`, `"panic":"kaboom"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret-password") || strings.Contains(out, "Basic ") {
		t.Errorf("credentials in the log:\n%s", out)
	}
}

type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, user, pw string) (*mdm.Principal, error) {
	if user == "admin" && pw == "right" {
		return &mdm.Principal{Kind: mdm.SystemAdminPrincipal, Username: user}, nil
	}
	return nil, mdm.Errorf(mdm.Unauthenticated, "wrong username or password")
}

func (fakeAuth) SessionPrincipal(_ context.Context, token string) (*mdm.Principal, error) {
	if token == "live" {
		return &mdm.Principal{Kind: mdm.AccountPrincipal, TenantID: "t1", Session: true}, nil
	}
	return nil, mdm.Errorf(mdm.Unauthenticated, "ended")
}

func (fakeAuth) PortalPrincipal(_ context.Context, token string) (*mdm.Principal, error) {
	if token == "portal" {
		return &mdm.Principal{Kind: mdm.PortalPrincipal, TenantID: "t2", Session: true}, nil
	}
	return nil, mdm.Errorf(mdm.Unauthenticated, "ended")
}

func (fakeAuth) BearerPrincipal(_ context.Context, token string) (*mdm.Principal, error) {
	if token == "good-token" {
		return &mdm.Principal{Kind: mdm.ClientPrincipal, TenantID: "t3", Scopes: []string{"read"}}, nil
	}
	return nil, mdm.Errorf(mdm.Unauthenticated, "invalid token")
}

func TestAuthenticate(t *testing.T) {
	var got *mdm.Principal
	h := Authenticate(fakeAuth{}, func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(map[mdm.Code]int{mdm.Unauthenticated: 401, mdm.Forbidden: 403}[mdm.ErrorCode(err)])
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = mdm.PrincipalFrom(r.Context()) }))
	tests := []struct {
		name       string
		set        func(r *http.Request)
		status     int
		wantTenant mdm.TenantID
		anonymous  bool
	}{
		{"anonymous", func(*http.Request) {}, 200, "", true},
		{"basic ok", func(r *http.Request) { r.SetBasicAuth("admin", "right") }, 200, "", false},
		{"basic wrong", func(r *http.Request) { r.SetBasicAuth("admin", "wrong") }, 401, "", true},
		{"bearer wrong", func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, 401, "", true},
		{"bearer ok", func(r *http.Request) { r.Header.Set("Authorization", "Bearer good-token") }, 200, "t3", false},
		{"other scheme", func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, 401, "", true},
		{"live session", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "live"}) }, 200, "t1", false},
		{"ended session is anonymous", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "old"}) }, 200, "", true},
		{"portal session", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: PortalCookie, Value: "portal"}) }, 200, "t2", false},
		{"console session wins over portal", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "live"})
			r.AddCookie(&http.Cookie{Name: PortalCookie, Value: "portal"})
		}, 200, "t1", false},
		{"console token in the portal cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: PortalCookie, Value: "live"}) }, 200, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest("GET", "/", nil)
			tt.set(r)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			challenge := "Basic"
			if strings.HasPrefix(tt.name, "bearer") {
				challenge = `Bearer realm="Steward", error="invalid_token"`
			}
			if tt.status == 401 && !strings.Contains(w.Header().Get("WWW-Authenticate"), challenge) {
				t.Errorf("401 without a %s challenge: %q", challenge, w.Header().Get("WWW-Authenticate"))
			}
			if tt.anonymous != (got == nil) || got != nil && got.TenantID != tt.wantTenant {
				t.Errorf("principal %+v", got)
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	var got string
	h := ClientAddr(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = mdm.ClientAddrFrom(r.Context()) }))
	tests := []struct{ remote, xff, want string }{
		{"192.0.2.5:4000", "", "192.0.2.5"},
		{"192.0.2.5:4000", "198.51.100.1", "192.0.2.5"},                          // not a trusted proxy: header ignored
		{"10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},                        // trusted proxy
		{"10.1.2.3:4000", "203.0.113.9, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // last untrusted hop
		{"10.1.2.3:4000", "", "10.1.2.3"},
		{"10.1.2.3:4000", "garbage", "10.1.2.3"},
		{"[::ffff:192.0.2.5]:4000", "", "192.0.2.5"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tt.want {
			t.Errorf("remote %s, X-Forwarded-For %q: client %q, want %q", tt.remote, tt.xff, got, tt.want)
		}
	}
}

// TestSecurityHeaders: every answer gets the defaults, a handler's own value wins, and the access log
// names a token route by its pattern.
func TestSecurityHeaders(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) })
	mux.HandleFunc("GET /own", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /files/{token}/f", func(w http.ResponseWriter, r *http.Request) { SetRoute(r); http.NotFound(w, r) })
	var logs bytes.Buffer
	h := SecurityHeaders(AccessLog(slog.New(slog.NewTextHandler(&logs, nil)), nil, mux))
	get := func(path string) http.Header {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Result().Header
	}
	for _, path := range []string{"/plain", "/nowhere", "/files/sekrit-token/f"} {
		hd := get(path)
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("X-Frame-Options") != "DENY" ||
			hd.Get("Referrer-Policy") != "same-origin" || hd.Get("Content-Security-Policy") != DefaultCSP {
			t.Errorf("%s: headers %v", path, hd)
		}
	}
	if hd := get("/own"); hd.Get("Content-Security-Policy") != "default-src 'self'" || hd.Get("Referrer-Policy") != "no-referrer" ||
		hd.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/own: headers %v", hd)
	}
	if strings.Contains(logs.String(), "sekrit-token") || !strings.Contains(logs.String(), "path=/files/{token}/f") {
		t.Errorf("access log:\n%s", logs.String())
	}
}
