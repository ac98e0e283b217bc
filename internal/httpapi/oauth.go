package httpapi

import (
	"net/http"
)

// ClientTokens issues App Registration access tokens through the Neurons header endpoints.
type ClientTokens interface {
	// ServeHeaderToken authenticates the client by X-ClientId, X-ClientSecret and X-TenantId and answers
	// the token: JSON, or with raw the bare token as text/plain.
	ServeHeaderToken(w http.ResponseWriter, r *http.Request, raw bool)
}

// tokenResult documents the token JSON.
type tokenResult struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// clientHeaders says how the header endpoints authenticate, in their descriptions.
const clientHeaders = "The App Registration authenticates with the headers X-ClientId, X-ClientSecret and X-TenantId " +
	"(its tenant). Wrong or missing credentials get 401 with an RFC 6749 error body ({\"error\":\"invalid_client\"}); " +
	"repeated failures from one address get 429 with Retry-After. No other credential is used. "

// clientTokenRoutes serves the Neurons header endpoints that issue the same access tokens as
// POST /{tenantId}/connect/token.
func (a *API) clientTokenRoutes() {
	if a.clientTokens == nil {
		return
	}
	a.add(Route{Method: "GET", Path: "/api/patch/content/v1/authentication", Tag: "OAuth", ClientAuth: true,
		Summary: "Get an access token with client headers (Patch Management)",
		Description: clientHeaders + "X-ClientScope (space-delimited) asks for scopes of the registration; empty means its " +
			"read scopes. The answer is the token JSON {access_token, token_type, expires_in, scope}.",
		Result: tokenResult{}},
		func(w http.ResponseWriter, r *http.Request) error {
			a.clientTokens.ServeHeaderToken(w, r, false)
			return nil
		})
	a.add(Route{Method: "GET", Path: "/api/apigatewaydataservices/v1/token", Tag: "OAuth", ClientAuth: true,
		Summary:     "Get an access token with client headers (Data Services): the bare token",
		Description: clientHeaders + "The token carries the registration's read scopes; the body is the token itself (text/plain).",
		Result:      ""},
		func(w http.ResponseWriter, r *http.Request) error {
			a.clientTokens.ServeHeaderToken(w, r, true)
			return nil
		})
}
