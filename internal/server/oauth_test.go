package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"steward/internal/appreg"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// tenantAdminCtx is a context carrying a Tenant Admin of tenantID (for appreg calls).
func tenantAdminCtx(tenantID mdm.TenantID) context.Context {
	return mdm.WithPrincipal(context.Background(), &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1,
		Username: "ta", TenantID: tenantID, Roles: []string{mdm.RoleTenantAdmin}})
}

// registerApp creates an App Registration of appType in tenantID with the elevated scopes given.
func (e *apiEnv) registerApp(tenantID mdm.TenantID, appType string, scopes ...string) appreg.Created {
	e.t.Helper()
	c, err := e.srv.appReg.Create(tenantAdminCtx(tenantID), appreg.NewRegistration{AppType: appType, Scopes: scopes})
	if err != nil {
		e.t.Fatalf("register %s: %v", appType, err)
	}
	return c
}

// tokenAnswer is the token endpoint's JSON.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// tokenRequest posts form to path with client_secret_basic when basic is set.
func (e *apiEnv) tokenRequest(path string, form url.Values, basicID, basicSecret string) (*response, tokenAnswer) {
	e.t.Helper()
	req := newRequest(e.t, "POST", e.url+path, form.Encode())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	r := e.send(req)
	var a tokenAnswer
	json.Unmarshal([]byte(r.Body), &a)
	return r, a
}

// clientToken gets a token with client_secret_post, or fails the test.
func (e *apiEnv) clientToken(tenantID, clientID, secret, scope string) tokenAnswer {
	e.t.Helper()
	r, a := e.tokenRequest("/"+tenantID+"/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}, "", "")
	if r.Status != 200 || a.AccessToken == "" {
		e.t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	return a
}

// bearer calls the API with an access token.
func (e *apiEnv) bearer(method, path, token, body string) *response {
	e.t.Helper()
	req := newRequest(e.t, method, e.url+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.send(req)
}

func TestOAuthClientCredentials(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			tenant, _ := e.createTenant("Oauth")
			other, _ := e.createTenant("Other")
			tid := mdm.TenantID(tenant.ID)
			app := e.registerApp(tid, authz.AppTypeCustom, authz.ScopeDeviceAction)
			clientID, secret := app.Registration.ClientID, app.Secret
			readScopes := authz.ReadScopes(app.Registration.Scopes)
			tokenURL := e.url + "/" + tenant.ID + "/connect/token"
			if app.TokenURL != tokenURL {
				t.Errorf("TokenURL = %q, want %q", app.TokenURL, tokenURL)
			}

			t.Run("x/oauth2 client, both auth styles", func(t *testing.T) {
				for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
					cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL, AuthStyle: style}
					tok, err := cfg.Token(context.Background())
					if err != nil {
						t.Fatalf("style %d: %v", style, err)
					}
					if got := tok.Extra("scope"); got != strings.Join(readScopes, " ") {
						t.Errorf("style %d: default scope %q, want the read scopes %q", style, got, readScopes)
					}
					if tok.TokenType != "Bearer" || tok.RefreshToken != "" || time.Until(tok.Expiry) < 59*time.Minute {
						t.Errorf("style %d: token type %q, refresh %q, expiry %v", style, tok.TokenType, tok.RefreshToken, tok.Expiry)
					}
					// A subset of the registration's scopes, elevated included.
					cfg.Scopes = []string{authz.ScopeRead, authz.ScopeDeviceAction}
					if tok, err = cfg.Token(context.Background()); err != nil || tok.Extra("scope") != "read device.action" {
						t.Errorf("style %d: subset: %v, %v", style, tok, err)
					}
					cfg.Scopes = []string{authz.ScopeUserManage}
					_, err = cfg.Token(context.Background())
					if re := retrieveError(err); re == nil || re.ErrorCode != "invalid_scope" {
						t.Errorf("style %d: scope not granted: %v, want invalid_scope", style, err)
					}
					cfg.Scopes, cfg.ClientSecret = nil, secret+"x"
					_, err = cfg.Token(context.Background())
					if re := retrieveError(err); re == nil || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
						t.Errorf("style %d: wrong secret: %v, want invalid_client 401", style, err)
					} else if style == oauth2.AuthStyleInHeader && !strings.HasPrefix(re.Response.Header.Get("WWW-Authenticate"), "Basic") {
						t.Errorf("wrong secret in Basic: WWW-Authenticate %q", re.Response.Header.Get("WWW-Authenticate"))
					}
				}
			})

			t.Run("token endpoint rules", func(t *testing.T) {
				form := func(kv ...string) url.Values {
					v := url.Values{}
					for i := 0; i < len(kv); i += 2 {
						v.Set(kv[i], kv[i+1])
					}
					return v
				}
				path := "/" + tenant.ID + "/connect/token"
				cases := []struct {
					name       string
					path       string
					form       url.Values
					basic      bool
					status     int
					wantErr    string
					wantTenant bool
				}{
					{"post", path, form("grant_type", "client_credentials", "client_id", clientID, "client_secret", secret), false, 200, "", true},
					{"basic", path, form("grant_type", "client_credentials"), true, 200, "", true},
					{"tenant from the client", "/oauth2/token", form("grant_type", "client_credentials"), true, 200, "", true},
					{"both methods", path, form("grant_type", "client_credentials", "client_secret", secret), true, 400, "invalid_request", false},
					{"another tenant's path", "/" + other.ID + "/connect/token", form("grant_type", "client_credentials"), true, 401, "invalid_client", false},
					{"no grant type", path, form("client_id", clientID, "client_secret", secret), false, 400, "invalid_request", false},
					{"password grant", path, form("grant_type", "password", "client_id", clientID, "client_secret", secret), false, 400, "unsupported_grant_type", false},
					{"no client", path, form("grant_type", "client_credentials"), false, 401, "invalid_client", false},
					{"unknown client", path, form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", secret), false, 401, "invalid_client", false},
				}
				for _, c := range cases {
					id, sec := "", ""
					if c.basic {
						id, sec = clientID, secret
					}
					r, a := e.tokenRequest(c.path, c.form, id, sec)
					if r.Status != c.status || a.Error != c.wantErr {
						t.Errorf("%s: %d %s, want %d %q", c.name, r.Status, r.Body, c.status, c.wantErr)
					}
					if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
						t.Errorf("%s: Cache-Control %q, Pragma %q", c.name, r.Header.Get("Cache-Control"), r.Header.Get("Pragma"))
					}
					if c.status == 200 && (a.TokenType != "Bearer" || a.ExpiresIn != 3600 || a.RefreshToken != "" || strings.Contains(r.Body, "refresh")) {
						t.Errorf("%s: %s", c.name, r.Body)
					}
				}
			})

			t.Run("API access by scope", func(t *testing.T) {
				read := e.clientToken(tenant.ID, clientID, secret, "").AccessToken
				if r := e.bearer("GET", "/api/v1/device", read, ""); r.Status != 200 {
					t.Errorf("GET /api/v1/device with the read scope: %d %s", r.Status, r.Body)
				}
				if r := e.bearer("PUT", "/api/v1/device/lock", read, "{}"); r.Status != 403 {
					t.Errorf("a device action with read scopes: %d, want 403", r.Status)
				}
				if r := e.bearer("GET", "/api/v1/audit", read, ""); r.Status != 403 {
					t.Errorf("GET /api/v1/audit (System Read is never a scope): %d, want 403", r.Status)
				}
				act := e.clientToken(tenant.ID, clientID, secret, "device.action").AccessToken
				if r := e.bearer("PUT", "/api/v1/device/lock", act, "{}"); r.Status == 401 || r.Status == 403 {
					t.Errorf("a device action with device.action: %d %s", r.Status, r.Body)
				}
				if r := e.bearer("GET", "/api/v1/tenants", read, ""); r.Status != 403 {
					t.Errorf("a System Admin route: %d, want 403", r.Status)
				}
				r := e.bearer("GET", "/api/v1/device", read+"x", "")
				if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("a tampered token: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
				}
			})

			t.Run("introspection and revocation", func(t *testing.T) {
				tok := e.clientToken(tenant.ID, clientID, secret, "read device.action").AccessToken
				app2 := e.registerApp(tid, authz.AppTypeCustom)
				tok2 := e.clientToken(tenant.ID, app2.Registration.ClientID, app2.Secret, "").AccessToken
				introspect := func(token string) map[string]any {
					t.Helper()
					r, _ := e.tokenRequest("/oauth2/introspect", url.Values{"token": {token}}, clientID, secret)
					var m map[string]any
					if r.Status != 200 || json.Unmarshal([]byte(r.Body), &m) != nil {
						t.Fatalf("introspect: %d %s", r.Status, r.Body)
					}
					return m
				}
				m := introspect(tok)
				if m["active"] != true || m["scope"] != "read device.action" || m["client_id"] != clientID || m["iss"] != e.url+"/"+tenant.ID {
					t.Errorf("introspect own token: %v", m)
				}
				if m := introspect(tok2); m["active"] != false || len(m) != 1 {
					t.Errorf("introspect another client's token: %v, want only active false", m)
				}
				if m := introspect("garbage"); m["active"] != false {
					t.Errorf("introspect garbage: %v", m)
				}
				if r, a := e.tokenRequest("/oauth2/introspect", url.Values{"token": {tok}}, clientID, "wrong"); r.Status != 401 || a.Error != "invalid_client" {
					t.Errorf("introspect with a wrong secret: %d %s", r.Status, r.Body)
				}
				// Revoking another client's token does nothing; revoking one's own ends it at once.
				if r, _ := e.tokenRequest("/oauth2/revoke", url.Values{"token": {tok2}}, clientID, secret); r.Status != 200 {
					t.Errorf("revoke another's token: %d", r.Status)
				}
				if r := e.bearer("GET", "/api/v1/device", tok2, ""); r.Status != 200 {
					t.Errorf("another's token after a foreign revocation: %d", r.Status)
				}
				if r, _ := e.tokenRequest("/oauth2/revoke", url.Values{"token": {tok}, "token_type_hint": {"access_token"}}, clientID, secret); r.Status != 200 {
					t.Errorf("revoke: %d %s", r.Status, r.Body)
				}
				if r := e.bearer("GET", "/api/v1/device", tok, ""); r.Status != 401 {
					t.Errorf("a revoked token: %d, want 401", r.Status)
				}
				if m := introspect(tok); m["active"] != false {
					t.Errorf("introspect a revoked token: %v", m)
				}
			})

			t.Run("JWKS and metadata", func(t *testing.T) {
				tok := e.clientToken(tenant.ID, clientID, secret, "").AccessToken
				r := e.call("GET", "/oauth2/jwks", "", "")
				var set jose.JSONWebKeySet
				if r.Status != 200 || json.Unmarshal([]byte(r.Body), &set) != nil || len(set.Keys) == 0 {
					t.Fatalf("jwks: %d %s", r.Status, r.Body)
				}
				if strings.Contains(r.Body, `"d"`) {
					t.Errorf("the JWKS holds a private key: %s", r.Body)
				}
				jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				h := jws.Signatures[0].Header
				if h.ExtraHeaders["typ"] != "at+jwt" {
					t.Errorf("typ = %v", h.ExtraHeaders["typ"])
				}
				keys := set.Key(h.KeyID)
				if len(keys) != 1 || !keys[0].Valid() || !keys[0].IsPublic() {
					t.Fatalf("kid %q in the JWKS: %v", h.KeyID, keys)
				}
				payload, err := jws.Verify(keys[0])
				if err != nil {
					t.Fatalf("verify with the JWKS key: %v", err)
				}
				var claims map[string]any
				json.Unmarshal(payload, &claims)
				if aud := anyStrings(claims["aud"]); !slices.Equal(aud, []string{e.url + "/api"}) {
					t.Errorf("aud = %v", aud)
				}
				for k, want := range map[string]any{"iss": e.url + "/" + tenant.ID, "sub": clientID, "client_id": clientID,
					"scope": strings.Join(readScopes, " ")} {
					if claims[k] != want {
						t.Errorf("claim %s = %v, want %v", k, claims[k], want)
					}
				}
				if claims["jti"] == "" || claims["exp"].(float64)-claims["iat"].(float64) != 3600 {
					t.Errorf("claims: %v", claims)
				}
				for _, p := range []string{"/.well-known/oauth-authorization-server/" + tenant.ID, "/" + tenant.ID + "/.well-known/oauth-authorization-server"} {
					r := e.call("GET", p, "", "")
					var md map[string]any
					if r.Status != 200 || json.Unmarshal([]byte(r.Body), &md) != nil {
						t.Fatalf("%s: %d %s", p, r.Status, r.Body)
					}
					if md["issuer"] != e.url+"/"+tenant.ID || md["token_endpoint"] != tokenURL || md["jwks_uri"] != e.url+"/oauth2/jwks" ||
						md["introspection_endpoint"] != e.url+"/oauth2/introspect" || md["revocation_endpoint"] != e.url+"/oauth2/revoke" ||
						!slices.Equal(anyStrings(md["grant_types_supported"]), []string{"client_credentials"}) ||
						!slices.Contains(anyStrings(md["scopes_supported"]), "device.action") ||
						!slices.Contains(anyStrings(md["token_endpoint_auth_methods_supported"]), "client_secret_basic") {
						t.Errorf("%s: %v", p, md)
					}
				}
				if r := e.call("GET", "/.well-known/oauth-authorization-server/nosuchtenant", "", ""); r.Status != 404 {
					t.Errorf("metadata of an unknown tenant: %d", r.Status)
				}
			})

			t.Run("header endpoints", func(t *testing.T) {
				get := func(path string, h map[string]string) *response {
					req := newRequest(t, "GET", e.url+path, "")
					for k, v := range h {
						req.Header.Set(k, v)
					}
					return e.send(req)
				}
				creds := map[string]string{"X-ClientId": clientID, "X-ClientSecret": secret, "X-TenantId": tenant.ID}
				r := get("/api/patch/content/v1/authentication", creds)
				var a tokenAnswer
				if r.Status != 200 || json.Unmarshal([]byte(r.Body), &a) != nil || a.Scope != strings.Join(readScopes, " ") || a.TokenType != "Bearer" {
					t.Fatalf("patch authentication: %d %s", r.Status, r.Body)
				}
				if r := e.bearer("GET", "/api/v1/device", a.AccessToken, ""); r.Status != 200 {
					t.Errorf("the header endpoint's token: %d", r.Status)
				}
				creds["X-ClientScope"] = "device.action"
				if r := get("/api/patch/content/v1/authentication", creds); r.Status != 200 || !strings.Contains(r.Body, `"scope":"device.action"`) {
					t.Errorf("X-ClientScope: %d %s", r.Status, r.Body)
				}
				delete(creds, "X-ClientScope")
				r = get("/api/apigatewaydataservices/v1/token", creds)
				if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || strings.Count(r.Body, ".") != 2 {
					t.Fatalf("data services token: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
				}
				if r := e.bearer("GET", "/api/v1/device", r.Body, ""); r.Status != 200 {
					t.Errorf("the raw token: %d", r.Status)
				}
				for name, h := range map[string]map[string]string{
					"wrong secret":     {"X-ClientId": clientID, "X-ClientSecret": "nope", "X-TenantId": tenant.ID},
					"another tenant":   {"X-ClientId": clientID, "X-ClientSecret": secret, "X-TenantId": other.ID},
					"no secret":        {"X-ClientId": clientID, "X-TenantId": tenant.ID},
					"nothing":          {},
					"user credentials": {"Authorization": "Basic " + basic("ta@oauth.example.com:Tenant-admin-pw-1")},
				} {
					for _, p := range []string{"/api/patch/content/v1/authentication", "/api/apigatewaydataservices/v1/token"} {
						if r := get(p, h); r.Status != 401 || !strings.Contains(r.Body, "invalid_client") {
							t.Errorf("%s %s: %d %s", p, name, r.Status, r.Body)
						}
					}
				}
			})

			t.Run("last authenticated", func(t *testing.T) {
				e.srv.appReg.Flush(context.Background())
				r, err := e.srv.Store().AppRegistrations().Get(context.Background(), tid, app.Registration.ID)
				if err != nil || r.LastAuthenticatedAt.IsZero() || time.Since(r.LastAuthenticatedAt) > time.Minute {
					t.Errorf("LastAuthenticatedAt after tokens and Flush = %v, %v", r.LastAuthenticatedAt, err)
				}
			})

			t.Run("deletion ends the tokens at once", func(t *testing.T) {
				gone := e.registerApp(tid, authz.AppTypeCustom)
				tok := e.clientToken(tenant.ID, gone.Registration.ClientID, gone.Secret, "").AccessToken
				if r := e.bearer("GET", "/api/v1/device", tok, ""); r.Status != 200 {
					t.Fatalf("before deletion: %d", r.Status)
				}
				if err := e.srv.appReg.Delete(tenantAdminCtx(tid), gone.Registration.ID); err != nil {
					t.Fatal(err)
				}
				if r := e.bearer("GET", "/api/v1/device", tok, ""); r.Status != 401 {
					t.Errorf("a deleted registration's token: %d, want 401", r.Status)
				}
				if r, a := e.tokenRequest("/"+tenant.ID+"/connect/token", url.Values{"grant_type": {"client_credentials"}},
					gone.Registration.ClientID, gone.Secret); r.Status != 401 || a.Error != "invalid_client" {
					t.Errorf("a deleted registration's token request: %d %s", r.Status, r.Body)
				}
			})

			t.Run("suspended tenant", func(t *testing.T) {
				sus := e.registerApp(mdm.TenantID(other.ID), authz.AppTypeCustom)
				tok := e.clientToken(other.ID, sus.Registration.ClientID, sus.Secret, "").AccessToken
				e.call("PUT", "/api/v1/tenants/"+other.ID, e.admin(), `{"state":"SUSPENDED"}`).must(t, 200, nil)
				if r := e.bearer("GET", "/api/v1/device", tok, ""); r.Status != 403 {
					t.Errorf("a suspended tenant's token: %d, want 403", r.Status)
				}
				if r, _ := e.tokenRequest("/"+other.ID+"/connect/token", url.Values{"grant_type": {"client_credentials"}},
					sus.Registration.ClientID, sus.Secret); r.Status != 401 {
					t.Errorf("a suspended tenant's client asking for a token: %d", r.Status)
				}
			})

			t.Run("failed authentications are limited", func(t *testing.T) {
				lim := e.registerApp(tid, authz.AppTypeCustom)
				form := url.Values{"grant_type": {"client_credentials"}}
				var last *response
				for i := 0; i < 11; i++ {
					last, _ = e.tokenRequest("/"+tenant.ID+"/connect/token", form, lim.Registration.ClientID, "wrong")
				}
				var body map[string]string
				json.Unmarshal([]byte(last.Body), &body)
				if last.Status != 429 || last.Header.Get("Retry-After") == "" || body["error"] == "" {
					t.Errorf("the 11th failure: %d %q %s, want 429 with Retry-After", last.Status, last.Header.Get("Retry-After"), last.Body)
				}
				if r, _ := e.tokenRequest("/"+tenant.ID+"/connect/token", form, lim.Registration.ClientID, lim.Secret); r.Status != 429 {
					t.Errorf("the right secret while limited: %d, want 429", r.Status)
				}
				// Another client from the same address is not locked out by it.
				if r, _ := e.tokenRequest("/"+tenant.ID+"/connect/token", form, clientID, secret); r.Status != 200 {
					t.Errorf("another client: %d", r.Status)
				}
			})
		})
	}
}

func retrieveError(err error) *oauth2.RetrieveError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestOAuthRoutesBypassUserAuthentication: the token server's routes never take client_secret_basic
// for a user's sign-in, and the console still serves the paths around them.
func TestOAuthRoutesBypassUserAuthentication(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	tenant, ta := e.createTenant("Bypass")
	// A user's credentials in Basic on the token endpoint are a wrong client, not a signed-in user.
	r, a := e.tokenRequest("/"+tenant.ID+"/connect/token", url.Values{"grant_type": {"client_credentials"}},
		strings.Split(ta, ":")[0], strings.Split(ta, ":")[1])
	if r.Status != 401 || a.Error != "invalid_client" {
		t.Errorf("user credentials on the token endpoint: %d %s", r.Status, r.Body)
	}
	if r := e.call("GET", "/"+tenant.ID+"/connect/token", "", ""); r.Status != 405 {
		t.Errorf("GET on the token endpoint: %d, want 405", r.Status)
	}
	if r := e.call("GET", "/healthz", "", ""); r.Status != 200 {
		t.Errorf("healthz: %d", r.Status)
	}
}

// TestOAuthAcrossReplicas: two replicas on one database sign with the same key, verify each other's
// tokens, and a registration deleted or a token revoked on one is refused by the other at once.
func TestOAuthAcrossReplicas(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			dsn := db(t)
			one := newAPIEnv(t, dsn, nil)
			// The same server key (and, on SQLite, the same file) and the same public URL (the issuer).
			dataDir, baseURL := one.srv.cfg.DataDir, one.srv.cfg.BaseURL
			two := newAPIEnv(t, dsn, func(c *Config) { c.DataDir, c.BaseURL = dataDir, baseURL })
			tenant, _ := one.createTenant("Replicas")
			tid := mdm.TenantID(tenant.ID)
			app := one.registerApp(tid, authz.AppTypeCustom)
			fromOne := one.clientToken(tenant.ID, app.Registration.ClientID, app.Secret, "")
			fromTwo := two.clientToken(tenant.ID, app.Registration.ClientID, app.Secret, "")
			kid := func(raw string) string {
				jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				return jws.Signatures[0].Header.KeyID
			}
			if kid(fromOne.AccessToken) != kid(fromTwo.AccessToken) {
				t.Errorf("the replicas sign with different keys")
			}
			for _, c := range []struct {
				e   *apiEnv
				tok string
			}{{one, fromTwo.AccessToken}, {two, fromOne.AccessToken}} {
				if r := c.e.bearer("GET", "/api/v1/device", c.tok, ""); r.Status != 200 {
					t.Errorf("the other replica's token: %d %s", r.Status, r.Body)
				}
			}
			if r, _ := one.tokenRequest("/oauth2/revoke", url.Values{"token": {fromOne.AccessToken}}, app.Registration.ClientID, app.Secret); r.Status != 200 {
				t.Fatalf("revoke: %d", r.Status)
			}
			if r := two.bearer("GET", "/api/v1/device", fromOne.AccessToken, ""); r.Status != 401 {
				t.Errorf("a token revoked on the other replica: %d, want 401", r.Status)
			}
			if r := two.bearer("GET", "/api/v1/device", fromTwo.AccessToken, ""); r.Status != 200 {
				t.Fatalf("before deletion: %d", r.Status)
			}
			if err := one.srv.appReg.Delete(tenantAdminCtx(tid), app.Registration.ID); err != nil {
				t.Fatal(err)
			}
			if r := two.bearer("GET", "/api/v1/device", fromTwo.AccessToken, ""); r.Status != 401 {
				t.Errorf("a registration deleted on the other replica: %d, want 401", r.Status)
			}
		})
	}
}
