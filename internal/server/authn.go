package server

import (
	"context"

	"steward/internal/accounts"
	"steward/internal/mdm"
)

// authenticator resolves every kind of caller credential: user passwords and sessions through the
// accounts service, OAuth access tokens through bearer.
type authenticator struct {
	*accounts.Service
	bearer func(ctx context.Context, token string) (*mdm.Principal, error)
}

func (a authenticator) BearerPrincipal(ctx context.Context, token string) (*mdm.Principal, error) {
	if a.bearer == nil {
		return nil, mdm.Errorf(mdm.Unauthenticated, "bearer tokens are not accepted here")
	}
	return a.bearer(ctx, token)
}
