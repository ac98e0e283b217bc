package server

import (
	"net/http"

	"steward/internal/httpapi"
	"steward/internal/oauth"
)

// oauthFirst sends the requests whose path is one of the token server's (owns) to tokens, the rest to next.
func oauthFirst(tokens http.Handler, owns func(path string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if owns(r.URL.Path) {
			tokens.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// oauthRoutes documents the token server's routes outside /api.
func oauthRoutes() []httpapi.Route {
	const clientAuth = "The client authenticates with client_secret_basic (HTTP Basic, id and secret form-urlencoded, " +
		"RFC 6749 §2.3.1) or client_secret_post (client_id and client_secret in the form), never both (invalid_request). " +
		"Wrong credentials get 401 invalid_client (with WWW-Authenticate: Basic when Basic was used); repeated failures " +
		"from one address get 429 with Retry-After. Errors are RFC 6749 §5.2 JSON {error, error_description}. "
	token := "Client credentials grant (RFC 6749 §4.4). Form body: grant_type=client_credentials (else " +
		"unsupported_grant_type), optional scope (space-delimited; none: the registration's read scopes; else a subset of " +
		"its scopes, or invalid_scope). " + clientAuth + "The answer {access_token, token_type: Bearer, expires_in, scope} " +
		"is never cached (Cache-Control: no-store) and has no refresh token. The access token is a JWT (RFC 9068, typ " +
		"at+jwt, ES256) for the API: send it as Authorization: Bearer."
	return []httpapi.Route{
		{Method: "POST", Path: "/{tenantId}/connect/token", Tag: "OAuth", ClientAuth: true,
			Summary: "Get an access token for an App Registration of the tenant", Description: token},
		{Method: "POST", Path: oauth.TokenPath, Tag: "OAuth", ClientAuth: true,
			Summary: "Get an access token (the tenant is the client's)", Description: token},
		{Method: "GET", Path: "/.well-known/oauth-authorization-server/{tenantId}", Tag: "OAuth",
			Summary: "Authorization server metadata of the tenant's issuer (RFC 8414)"},
		{Method: "GET", Path: "/{tenantId}/.well-known/oauth-authorization-server", Tag: "OAuth",
			Summary: "Authorization server metadata of the tenant's issuer (RFC 8414), under the issuer's path"},
		{Method: "GET", Path: oauth.JWKSPath, Tag: "OAuth",
			Summary: "The public keys that verify access tokens (JWKS); a retired key stays until its tokens expired"},
		{Method: "POST", Path: oauth.IntrospectPath, Tag: "OAuth", ClientAuth: true,
			Summary: "Introspect an access token (RFC 7662)",
			Description: "Form body: token. " + clientAuth + "A client learns only about its own registration's tokens: " +
				"any other token, and an invalid, expired or revoked one, is {\"active\": false}."},
		{Method: "POST", Path: oauth.RevokePath, Tag: "OAuth", ClientAuth: true,
			Summary: "Revoke an access token (RFC 7009)",
			Description: "Form body: token. " + clientAuth + "Revokes a token of the client's own registration at once on " +
				"every replica; anything else is left alone. 200 either way."},
	}
}
