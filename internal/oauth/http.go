package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"steward/internal/appreg"
	"steward/internal/authz"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

// Paths of the token server outside /api.
const (
	TokenPath      = "/oauth2/token"
	JWKSPath       = "/oauth2/jwks"
	IntrospectPath = "/oauth2/introspect"
	RevokePath     = "/oauth2/revoke"
	wellKnown      = "/.well-known/oauth-authorization-server"
)

// maxForm bounds a token request's body.
const maxForm = 64 << 10

// Handler serves the token server's routes outside /api; Owns tells which paths they are. Those that
// authenticate the client themselves (ClientAuthenticated: a client_secret_basic Authorization header is
// no user login) must be dispatched before the server's authentication middleware.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { httpx.SetRoute(r); h(w, r) }))
	}
	handle("POST /{tenantId}/connect/token", s.token)
	handle("POST "+TokenPath, s.token)
	handle("GET "+wellKnown+"/{tenantId}", s.metadata)
	handle("GET /{tenantId}"+wellKnown, s.metadata)
	handle("GET "+JWKSPath, s.jwks)
	handle("POST "+IntrospectPath, s.introspect)
	handle("POST "+RevokePath, s.revoke)
	return mux
}

// ClientAuthenticated reports whether path is a route where the client authenticates itself (token,
// introspection, revocation): the server must not take their Authorization header for a user's.
func ClientAuthenticated(path string) bool {
	if path == TokenPath || path == IntrospectPath || path == RevokePath {
		return true
	}
	parts := strings.Split(path, "/")
	return len(parts) == 4 && parts[0] == "" && parts[1] != "" && parts[1] != "api" && parts[2] == "connect" && parts[3] == "token"
}

// Owns reports whether path is one of Handler's routes (any method: a wrong method gets its 405).
func Owns(path string) bool {
	switch {
	case strings.HasPrefix(path, "/api/"):
		return false
	case path == TokenPath || path == JWKSPath || path == IntrospectPath || path == RevokePath:
		return true
	}
	rest, ok := strings.CutPrefix(path, wellKnown+"/")
	if ok && rest != "" && !strings.Contains(rest, "/") {
		return true
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	return len(parts) == 3 && parts[0] != "" && (parts[1] == "connect" && parts[2] == "token" ||
		parts[1] == ".well-known" && parts[2] == "oauth-authorization-server")
}

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	status      int
	code        string
	description string
	retryAfter  time.Duration // for 429
	err         error         // a failure of the server, not the client's: answered by serverError
}

func badRequest(code, description string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, description: description}
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (e *oauthError) write(w http.ResponseWriter) {
	noStore(w)
	if e.status == http.StatusUnauthorized { // RFC 7235: a 401 names a scheme, Basic being the one a client can use
		w.Header().Set("WWW-Authenticate", `Basic realm="Steward", charset="UTF-8"`)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// serverError answers a failure of the server itself, logged here (never with the request's values).
func (s *Service) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "oauth request failed", "err", err.Error(), "code", string(mdm.ErrorCode(err)),
		"request_id", mdm.RequestIDFrom(r.Context()))
	status, code := http.StatusInternalServerError, "server_error"
	if mdm.IsCode(err, mdm.Unavailable) {
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	}
	(&oauthError{status: status, code: code, description: mdm.Message(err)}).write(w)
}

// readForm reads an application/x-www-form-urlencoded body (any other body reads as empty, and
// formRequired says so once the client is known). A parameter given twice is invalid (RFC 6749 §3.2).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if !isForm(r) {
		return url.Values{}, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid_request", "the body is not a readable form (at most 64 KiB)")
	}
	for name, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, badRequest("invalid_request", "parameter "+name+" is repeated")
		}
	}
	return r.PostForm, nil
}

func isForm(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}

func formRequired(r *http.Request) *oauthError {
	if !isForm(r) {
		return badRequest("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	return nil
}

// credentials are what the client presented.
type credentials struct{ id, secret string }

// clientCredentials reads client_secret_basic (RFC 6749 §2.3.1: the id and secret form-urlencoded in
// Basic) or client_secret_post, never both.
func clientCredentials(r *http.Request, form url.Values) (credentials, *oauthError) {
	if h := r.Header.Get("Authorization"); h != "" {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return credentials{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				description: "client authentication must be HTTP Basic or client_secret in the body"}
		}
		id, err1 := url.QueryUnescape(user)
		sec, err2 := url.QueryUnescape(pass)
		switch {
		case err1 != nil || err2 != nil:
			return credentials{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				description: "the Basic credentials are not form-urlencoded"}
		case form.Has("client_secret"):
			return credentials{}, badRequest("invalid_request", "use one client authentication method: Basic or client_secret, not both")
		case form.Has("client_id") && form.Get("client_id") != id:
			return credentials{}, badRequest("invalid_request", "client_id differs from the Basic credentials")
		}
		return credentials{id: id, secret: sec}, nil
	}
	c := credentials{id: form.Get("client_id"), secret: form.Get("client_secret")}
	if c.id == "" || c.secret == "" {
		return credentials{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "client authentication required"}
	}
	return c, nil
}

// authenticate checks c within the failure limits and, when tenantID is set, that the client is that
// tenant's. It returns the client (registration and tenant state) or the answer to give.
func (s *Service) authenticate(r *http.Request, c credentials, tenantID mdm.TenantID) (appreg.Client, *oauthError) {
	ctx := r.Context()
	if len(c.id) > maxClientID || !mdm.CleanText(c.id) {
		// No registration has such an id; refusing it here keeps the limiter's memory bounded.
		return appreg.Client{}, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
			description: "client authentication failed"}
	}
	done, wait := s.limits.begin(c.id, mdm.ClientAddrFrom(ctx))
	if wait > 0 {
		return appreg.Client{}, &oauthError{status: http.StatusTooManyRequests, code: "temporarily_unavailable",
			description: "too many failed client authentications: try again later", retryAfter: wait}
	}
	client, err := s.regs.VerifyClient(ctx, c.id, c.secret)
	reg := client.Registration
	switch {
	case err == nil:
		done(succeeded)
	case mdm.IsCode(err, mdm.Unauthenticated):
		done(failed)
	default:
		done(undecided)
	}
	switch {
	case mdm.IsCode(err, mdm.Unauthenticated):
		return client, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "client authentication failed"}
	case err != nil:
		return client, &oauthError{err: err}
	case tenantID != "" && reg.TenantID != tenantID:
		return client, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
			description: "the client is not registered with this tenant"}
	}
	httpx.SetTenant(r, reg.TenantID)
	return client, nil
}

// maxClientID bounds a client id: longer ones name no registration (appreg's ids are under 100 bytes).
const maxClientID = 256

// fail writes e, logging server failures.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, e *oauthError) {
	if e.err != nil {
		s.serverError(w, r, e.err)
		return
	}
	e.write(w)
}

// grant returns the scopes a token asked for with requested (space-delimited) gets: by default the
// registration's read scopes, else a subset of its scopes.
func grant(reg mdm.AppRegistration, requested string) ([]string, *oauthError) {
	if strings.TrimSpace(requested) == "" {
		read := authz.ReadScopes(reg.Scopes)
		if len(read) == 0 {
			return nil, badRequest("invalid_scope", "the registration has no read scope: ask for a scope")
		}
		return read, nil
	}
	var out []string
	for _, sc := range strings.Fields(requested) {
		if !slices.Contains(reg.Scopes, sc) {
			return nil, badRequest("invalid_scope", "scope "+strconv.Quote(sc)+" is not granted to this registration")
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// token is the token endpoint: the client credentials grant only, never a refresh token.
func (s *Service) token(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(w, r)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	c, e := clientCredentials(r, form)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	client, e := s.authenticate(r, c, mdm.TenantID(r.PathValue("tenantId")))
	if e != nil {
		s.fail(w, r, e)
		return
	}
	if e := formRequired(r); e != nil {
		s.fail(w, r, e)
		return
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		s.fail(w, r, badRequest("invalid_request", "grant_type is required"))
		return
	default:
		s.fail(w, r, badRequest("unsupported_grant_type", "only client_credentials is supported"))
		return
	}
	s.issue(w, r, client, form.Get("scope"), false)
}

// issue grants the scopes, signs the token and answers it, as JSON or (raw) the bare token. The
// tenant's state was read with the client's credentials.
func (s *Service) issue(w http.ResponseWriter, r *http.Request, client appreg.Client, scope string, raw bool) {
	scopes, e := grant(client.Registration, scope)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	if !client.TenantActive {
		s.fail(w, r, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "the tenant is suspended"})
		return
	}
	t, err := s.Issue(r.Context(), client.Registration, scopes)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	noStore(w)
	if raw {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(t.AccessToken))
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// ServeHeaderToken serves the Neurons header endpoints: X-ClientId, X-ClientSecret and X-TenantId
// authenticate; X-ClientScope (empty: the read scopes) chooses the scopes. raw answers the bare token
// as text/plain (Data Services) instead of the token JSON (Patch Management).
func (s *Service) ServeHeaderToken(w http.ResponseWriter, r *http.Request, raw bool) {
	c := credentials{id: r.Header.Get("X-ClientId"), secret: r.Header.Get("X-ClientSecret")}
	if c.id == "" || c.secret == "" {
		s.fail(w, r, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
			description: "X-ClientId and X-ClientSecret are required"})
		return
	}
	client, e := s.authenticate(r, c, "")
	if e != nil {
		s.fail(w, r, e)
		return
	}
	switch tenant := r.Header.Get("X-TenantId"); {
	case tenant == "":
		s.fail(w, r, badRequest("invalid_request", "X-TenantId is required"))
		return
	case mdm.TenantID(tenant) != client.Registration.TenantID:
		s.fail(w, r, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: "the client is not registered with this tenant"})
		return
	}
	s.issue(w, r, client, r.Header.Get("X-ClientScope"), raw)
}

// metadata is the RFC 8414 authorization server metadata of one tenant's issuer.
func (s *Service) metadata(w http.ResponseWriter, r *http.Request) {
	tenantID := mdm.TenantID(r.PathValue("tenantId"))
	if _, err := s.store.Tenants().Get(r.Context(), tenantID); mdm.IsCode(err, mdm.NotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "no such tenant"})
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	var names []string
	for _, sc := range authz.Scopes() {
		names = append(names, sc.Name)
	}
	methods := []string{"client_secret_basic", "client_secret_post"}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.Issuer(tenantID),
		"token_endpoint":                        s.Issuer(tenantID) + "/connect/token",
		"jwks_uri":                              s.baseURL + JWKSPath,
		"introspection_endpoint":                s.baseURL + IntrospectPath,
		"revocation_endpoint":                   s.baseURL + RevokePath,
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{},
		"token_endpoint_auth_methods_supported": methods,
		"introspection_endpoint_auth_methods_supported": methods,
		"revocation_endpoint_auth_methods_supported":    methods,
		"scopes_supported":                          names,
		"access_token_signing_alg_values_supported": []string{"ES256"},
	})
}

// jwks publishes the public keys that still verify tokens.
func (s *Service) jwks(w http.ResponseWriter, r *http.Request) {
	keys, err := s.ring.published(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	slices.SortFunc(keys, func(a, b verifier) int { return strings.Compare(a.kid, b.kid) })
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.key, KeyID: k.kid, Algorithm: "ES256", Use: "sig"})
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, set)
}

// clientForm reads the form and authenticates the client of introspection and revocation, and returns
// the token parameter.
func (s *Service) clientForm(w http.ResponseWriter, r *http.Request) (mdm.AppRegistration, string, bool) {
	form, e := readForm(w, r)
	if e == nil {
		var c credentials
		if c, e = clientCredentials(r, form); e == nil {
			var client appreg.Client
			if client, e = s.authenticate(r, c, ""); e == nil {
				if e = formRequired(r); e == nil {
					if tok := form.Get("token"); tok != "" {
						return client.Registration, tok, true
					}
					e = badRequest("invalid_request", "token is required")
				}
			}
		}
	}
	s.fail(w, r, e)
	return mdm.AppRegistration{}, "", false
}

// introspect is RFC 7662 introspection: a client learns only about its own registration's tokens.
func (s *Service) introspect(w http.ResponseWriter, r *http.Request) {
	reg, tok, ok := s.clientForm(w, r)
	if !ok {
		return
	}
	in, err := s.Introspect(r.Context(), reg, tok)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, in)
}

// revoke is RFC 7009 revocation: 200 whether or not there was anything of the client's to revoke.
func (s *Service) revoke(w http.ResponseWriter, r *http.Request) {
	reg, tok, ok := s.clientForm(w, r)
	if !ok {
		return
	}
	if err := s.Revoke(r.Context(), reg, tok); err != nil {
		s.serverError(w, r, err)
		return
	}
	noStore(w)
	w.WriteHeader(http.StatusOK)
}
