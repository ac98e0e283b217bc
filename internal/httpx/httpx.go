// Package httpx is the HTTP plumbing every listener shares: handlers that return errors, request ids,
// the access log, panic recovery, metrics and authentication of the caller.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"steward/internal/mdm"
)

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ErrorWriter writes err as a response: the API writes the JSON envelope, the console an HTML page.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Adapt turns h into an http.Handler whose errors go to writeErr. Internal errors are logged once here,
// with their cause; the client sees only the safe message.
func Adapt(log *slog.Logger, writeErr ErrorWriter, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		code := mdm.ErrorCode(err)
		if code == mdm.Internal || code == mdm.Unavailable {
			log.ErrorContext(r.Context(), "request failed", "err", err.Error(), "code", string(code),
				"request_id", mdm.RequestIDFrom(r.Context()))
		}
		writeErr(w, r, err)
	})
}

// RequestID gives every request an id (a sane incoming X-Request-Id is kept) and echoes it back.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(mdm.WithRequestID(r.Context(), id)))
	})
}

func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// RejectUnclean answers 400 for a request whose path or query is not clean text, so that such input
// never reaches a handler or the database.
func RejectUnclean(writeErr ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !mdm.CleanText(r.URL.Path) {
			writeErr(w, r, mdm.Errorf(mdm.Invalid, "the path must be UTF-8 text without NUL characters"))
			return
		}
		for name, values := range r.URL.Query() {
			for _, v := range values {
				if !mdm.CleanText(name) || !mdm.CleanText(v) {
					writeErr(w, r, mdm.FieldErrors(mdm.FieldError{Code: "Encoding", Field: strings.ToValidUTF8(name, "?"),
						Message: "must be UTF-8 text without NUL characters"}))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// requestInfo is filled in by inner middleware (route, tenant) for the access log and metrics.
type requestInfo struct {
	mu       sync.Mutex
	route    string
	tenantID mdm.TenantID
}

type infoKey struct{}

func info(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

// SetRoute records the matched route pattern (the mux sets r.Pattern only on the request it passes on).
func SetRoute(r *http.Request) {
	if i := info(r.Context()); i != nil && r.Pattern != "" {
		i.mu.Lock()
		i.route = r.Pattern
		i.mu.Unlock()
	}
}

// SetTenant records the caller's tenant for the access log when no principal names it (a device
// authenticated by its own protocol).
func SetTenant(r *http.Request, id mdm.TenantID) {
	if i := info(r.Context()); i != nil {
		i.mu.Lock()
		i.tenantID = id
		i.mu.Unlock()
	}
}

// Observer receives one call per finished request (metrics).
type Observer func(route, method string, status int, elapsed time.Duration)

// AccessLog logs one JSON line per request (never bodies, never credentials), recovers panics into a
// 500 and reports to observe.
func AccessLog(log *slog.Logger, observe Observer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", "panic", p, "stack", string(debug.Stack()),
					"request_id", mdm.RequestIDFrom(r.Context()))
				if sw.status == 0 {
					sw.Header().Set("Content-Type", "application/json")
					sw.WriteHeader(http.StatusInternalServerError)
					io.WriteString(sw, `{"errors":{"globalErrors":[{"code":"internal","message":"internal error"}],"fieldErrors":null},"result":null}`+"\n")
				}
			}
			elapsed := time.Since(start)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			ri.mu.Lock()
			route, tenant := ri.route, ri.tenantID
			ri.mu.Unlock()
			if route == "" {
				route = "unmatched"
			}
			if observe != nil {
				observe(route, r.Method, sw.status, elapsed)
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", mdm.RequestIDFrom(r.Context())),
				slog.String("method", r.Method), slog.String("path", loggedPath(r, route)), slog.String("route", route),
				slog.Int("http_status", sw.status), slog.Int("bytes", sw.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("tenant_id", string(tenant)), slog.String("remote", mdm.ClientAddrFrom(r.Context())))
		}()
		next.ServeHTTP(sw, r)
	})
}

// loggedPath is the path the access log records: the route's pattern instead when a path segment is a
// credential ({token}, as in-house app manifest URLs), so that the log never holds one.
func loggedPath(r *http.Request, route string) string {
	if strings.Contains(route, "{token}") {
		if _, pattern, ok := strings.Cut(route, " "); ok {
			return pattern
		}
		return route
	}
	return r.URL.Path
}

// ClientAddr puts the caller's address in the context (mdm.ClientAddrFrom) for sign-in limits and the
// access log. Behind a reverse proxy every request comes from the proxy, so for connections from a
// trusted proxy the address is the last one in X-Forwarded-For that is not itself a trusted proxy.
func ClientAddr(trusted []netip.Prefix, next http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, err := netip.ParseAddrPort(r.RemoteAddr)
		client := r.RemoteAddr
		if err == nil {
			client = addr.Addr().Unmap().String()
			if isTrusted(addr.Addr()) {
				hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
				for i := len(hops) - 1; i >= 0; i-- {
					hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
					if err != nil {
						break
					}
					client = hop.Unmap().String()
					if !isTrusted(hop) {
						break
					}
				}
			}
		}
		next.ServeHTTP(w, r.WithContext(mdm.WithClientAddr(r.Context(), client)))
	})
}

// Authenticator resolves credentials into principals.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*mdm.Principal, error)
	SessionPrincipal(ctx context.Context, token string) (*mdm.Principal, error)
	PortalPrincipal(ctx context.Context, token string) (*mdm.Principal, error)
	// BearerPrincipal resolves an OAuth 2.0 access token (an App Registration's) into a ClientPrincipal.
	BearerPrincipal(ctx context.Context, token string) (*mdm.Principal, error)
}

// SessionCookie is the console's session cookie.
const SessionCookie = "steward_session"

// PortalCookie is the /go self-service portal's session cookie. It resolves only to a portal principal
// (mdm.PortalPrincipal), which authz lets do nothing but the user's own self-service calls.
const PortalCookie = "steward_portal"

// AgentPrefix is where the device agent protocols live. Authenticate leaves these requests alone: they
// carry a device credential, never a user's, and no principal is resolved for them.
const AgentPrefix = "/api/agent/"

// Authenticate puts the caller's principal in the context: from HTTP Basic credentials, else from the
// console session cookie, else from the portal session cookie. Wrong credentials are answered at once
// through writeErr (401, or 403 for a suspended tenant); a request without any goes on anonymous and
// each handler decides.
func Authenticate(auth Authenticator, writeErr ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, AgentPrefix) {
			next.ServeHTTP(w, r) // the device protocol authenticates the device itself (Bearer device credential)
			return
		}
		var p *mdm.Principal
		var err error
		bearer := false
		if h := r.Header.Get("Authorization"); h != "" {
			user, pass, ok := r.BasicAuth()
			switch {
			case ok:
				p, err = auth.Authenticate(r.Context(), user, pass)
			case strings.HasPrefix(strings.ToLower(h), "bearer "):
				bearer = true
				p, err = auth.BearerPrincipal(r.Context(), strings.TrimSpace(h[len("bearer "):]))
			default:
				err = mdm.Errorf(mdm.Unauthenticated, "malformed or unsupported Authorization header: use Basic or Bearer")
			}
		} else {
			p, err = cookiePrincipal(r, SessionCookie, auth.SessionPrincipal)
			if p == nil && err == nil {
				p, err = cookiePrincipal(r, PortalCookie, auth.PortalPrincipal)
			}
		}
		if err != nil {
			switch {
			case bearer && mdm.IsCode(err, mdm.Unauthenticated): // RFC 6750 §3
				w.Header().Set("WWW-Authenticate", `Bearer realm="Steward", error="invalid_token"`)
			case mdm.IsCode(err, mdm.Unauthenticated):
				w.Header().Set("WWW-Authenticate", `Basic realm="Steward", charset="UTF-8"`)
			}
			writeErr(w, r, err)
			return
		}
		if p != nil {
			if i := info(r.Context()); i != nil {
				i.mu.Lock()
				i.tenantID = p.TenantID
				i.mu.Unlock()
			}
			r = r.WithContext(mdm.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// cookiePrincipal resolves the session in cookie name, if the request carries one.
func cookiePrincipal(r *http.Request, name string, resolve func(context.Context, string) (*mdm.Principal, error)) (*mdm.Principal, error) {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	p, err := resolve(r.Context(), c.Value)
	if mdm.IsCode(err, mdm.Unauthenticated) {
		return nil, nil // an ended session is just an anonymous visitor
	}
	return p, err
}

// DefaultCSP is the Content-Security-Policy of a response whose handler set none (API answers, files,
// plain pages): no script at all, no framing. Console pages set their own.
const DefaultCSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders gives every response, whatever answers it, nosniff, no framing, a same-origin
// Referrer-Policy and DefaultCSP, each unless the handler set its own by the time it writes the header.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&headerWriter{ResponseWriter: w}, r)
	})
}

type headerWriter struct {
	http.ResponseWriter
	done bool
}

func (h *headerWriter) defaults() {
	if h.done {
		return
	}
	h.done = true
	hd := h.ResponseWriter.Header()
	for name, value := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "same-origin", "Content-Security-Policy": DefaultCSP} {
		if hd.Get(name) == "" {
			hd.Set(name, value)
		}
	}
}

func (h *headerWriter) WriteHeader(code int) {
	h.defaults()
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerWriter) Write(b []byte) (int, error) {
	h.defaults()
	return h.ResponseWriter.Write(b)
}

func (h *headerWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }
