// Package appreg keeps a tenant's App Registrations: OAuth 2.0 clients (client credentials grant) bound
// to one supported application type and its scopes. It creates them with a secret shown once, lists and
// deletes them, checks client credentials for the token server, and records "last authenticated"
// without a database write per token.
package appreg

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// MaxDescription bounds a registration's description, in characters.
const MaxDescription = 255

// flushEvery is how often the last-authenticated times gathered in memory are written.
const flushEvery = time.Second

// Service manages App Registrations.
type Service struct {
	store   mdm.Store
	keys    *secret.Keys
	log     *slog.Logger
	baseURL string
	now     func() time.Time

	mu       sync.Mutex
	seen     map[string]time.Time // client id → last authentication not yet written
	onDelete []func(tenantID mdm.TenantID, clientID string)
	verified *verifiedClients
}

// New returns the service. baseURL is the public URL the token URL is given under.
func New(store mdm.Store, keys *secret.Keys, log *slog.Logger, baseURL string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, keys: keys, log: log, baseURL: strings.TrimRight(baseURL, "/"), now: now,
		seen: map[string]time.Time{}, verified: newVerifiedClients(maxVerified)}
}

// NewRegistration is what an administrator chooses: the application type, an optional description and,
// for a Custom App, the elevated scopes it may use.
type NewRegistration struct {
	AppType     string
	Description string
	Scopes      []string
}

// Created is a new registration with its credentials. Secret is never stored or shown again.
type Created struct {
	Registration mdm.AppRegistration
	Secret       string
	TokenURL     string
}

// TokenURL is where tenantID's clients get their tokens.
func (s *Service) TokenURL(tenantID mdm.TenantID) string {
	return s.baseURL + "/" + string(tenantID) + "/connect/token"
}

// Create registers a new client for the caller's tenant (SystemManage). Every call makes fresh
// credentials, even for an application type the tenant has registered before.
func (s *Service) Create(ctx context.Context, in NewRegistration) (Created, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.SystemManage)
	if err != nil {
		return Created{}, err
	}
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case !mdm.CleanText(in.Description):
		return Created{}, mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "description", Message: "must be UTF-8 text without NUL characters"})
	case utf8.RuneCountInString(in.Description) > MaxDescription:
		return Created{}, mdm.FieldErrors(mdm.FieldError{Code: "TooLong", Field: "description",
			Message: "must be at most " + strconv.Itoa(MaxDescription) + " characters"})
	}
	scopes, err := authz.RegistrationScopes(in.AppType, in.Scopes)
	if err != nil {
		return Created{}, err
	}
	clientSecret := secret.Token()
	r := mdm.AppRegistration{TenantID: tenantID, ClientID: newClientID(in.AppType, tenantID),
		SecretHash: s.keys.Hash(clientSecret), AppType: in.AppType, Scopes: scopes, Description: in.Description,
		CreatedBy: p.Username, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.AppRegistrations().Create(ctx, &r); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), r.CreatedAt, audit.Entry{TenantID: tenantID, Action: "appregistration.create",
			TargetType: "appRegistration", TargetID: strconv.FormatInt(r.ID, 10),
			Details: map[string]any{"clientId": r.ClientID, "appType": r.AppType, "scopes": r.Scopes}})
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Registration: r, Secret: clientSecret, TokenURL: s.TokenURL(tenantID)}, nil
}

// newClientID follows the Neurons form AppReg_<type>ClientType_<tenantId>, with a random suffix so
// that every registration, even of the same type, has its own.
func newClientID(appType string, tenantID mdm.TenantID) string {
	b := make([]byte, 8)
	rand.Read(b)
	kind := strings.ReplaceAll(strings.ToLower(appType), "_", "")
	return "AppReg_" + kind + "ClientType_" + string(tenantID) + "_" + hex.EncodeToString(b)
}

// List returns the caller's tenant's registrations (SystemRead), oldest first, with the last
// authentication times not yet written folded in.
func (s *Service) List(ctx context.Context) ([]mdm.AppRegistration, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return nil, err
	}
	regs, err := s.store.AppRegistrations().List(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	for i := range regs {
		if t, ok := s.seen[regs[i].ClientID]; ok && t.After(regs[i].LastAuthenticatedAt) {
			regs[i].LastAuthenticatedAt = t
		}
	}
	s.mu.Unlock()
	return regs, nil
}

// Delete removes a registration of the caller's tenant (SystemManage) for good, audited. The OnDelete
// hooks run once it is committed, so that the token server forgets it at once.
func (s *Service) Delete(ctx context.Context, id int64) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemManage)
	if err != nil {
		return err
	}
	var r mdm.AppRegistration
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if r, err = tx.AppRegistrations().Get(ctx, tenantID, id); err != nil {
			return err
		}
		if err := tx.AppRegistrations().Delete(ctx, tenantID, id); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "appregistration.delete",
			TargetType: "appRegistration", TargetID: strconv.FormatInt(id, 10),
			Details: map[string]any{"clientId": r.ClientID, "appType": r.AppType}})
	})
	if err != nil {
		return err
	}
	s.Forget(r.ClientID)
	s.mu.Lock()
	delete(s.seen, r.ClientID)
	hooks := append([]func(mdm.TenantID, string){}, s.onDelete...)
	s.mu.Unlock()
	for _, f := range hooks {
		f(tenantID, r.ClientID)
	}
	return nil
}

// OnDelete registers f to run after a registration is deleted on this replica.
func (s *Service) OnDelete(f func(tenantID mdm.TenantID, clientID string)) {
	s.mu.Lock()
	s.onDelete = append(s.onDelete, f)
	s.mu.Unlock()
}

// errBadClient is the one answer to a wrong client id or secret, so neither can be told apart.
var errBadClient = mdm.Errorf(mdm.Unauthenticated, "invalid client credentials")

// Client is a client whose credentials verified: its registration and whether its tenant is active.
type Client struct {
	Registration mdm.AppRegistration
	TenantActive bool
}

// Verify checks a client's credentials and returns its registration (VerifyClient).
func (s *Service) Verify(ctx context.Context, clientID, clientSecret string) (mdm.AppRegistration, error) {
	c, err := s.VerifyClient(ctx, clientID, clientSecret)
	return c.Registration, err
}

// VerifyClient checks a client's credentials and returns its registration with its tenant's state,
// read together in one indexed read. A success is remembered for verifiedTTL, so that a client asking for
// tokens in a burst costs one read a second; Forget and ForgetTenant drop what is remembered. An
// unknown client costs the same hash work as a wrong secret. It does not record the authentication:
// MarkAuthenticated does, once a token is issued.
func (s *Service) VerifyClient(ctx context.Context, clientID, clientSecret string) (Client, error) {
	hash := s.keys.Hash(clientSecret)
	if clientID == "" || clientSecret == "" || !mdm.CleanText(clientID) || len(clientID) > 256 {
		return Client{}, errBadClient
	}
	now := s.now()
	c, gen, ok := s.verified.get(clientID, now)
	if !ok {
		st, err := s.store.OAuth().ClientToken(ctx, clientID, "")
		if mdm.IsCode(err, mdm.NotFound) {
			return Client{}, errBadClient
		}
		if err != nil {
			return Client{}, err
		}
		c = Client{Registration: st.Registration, TenantActive: st.TenantActive}
	}
	// A client's secret never changes, so a remembered registration checks a secret as well as a read one.
	if !hmac.Equal(hash, c.Registration.SecretHash) {
		return Client{}, errBadClient
	}
	if !ok {
		s.verified.put(c, gen, now)
	}
	return c, nil
}

// Forget drops what Verify remembers of clientID: call it when the registration is deleted (Delete
// does, on this replica) or another replica says it was.
func (s *Service) Forget(clientID string) { s.verified.forget(clientID) }

// ForgetTenant drops what Verify remembers of tenantID's clients: call it when the tenant's state
// changes, so that a suspension refuses the next token request.
func (s *Service) ForgetTenant(tenantID mdm.TenantID) { s.verified.forgetTenant(tenantID) }

// ForgetAll drops everything Verify remembers (changes announced by other replicas may have been missed).
func (s *Service) ForgetAll() { s.verified.forgetAll() }

// Lookup returns the registration of clientID (not_found once deleted), for checks of issued tokens.
func (s *Service) Lookup(ctx context.Context, clientID string) (mdm.AppRegistration, error) {
	return s.store.AppRegistrations().GetByClientID(ctx, clientID)
}

// MarkAuthenticated records that clientID authenticated now. It is written within flushEvery by Run.
func (s *Service) MarkAuthenticated(clientID string) {
	now := s.now()
	s.mu.Lock()
	if now.After(s.seen[clientID]) {
		s.seen[clientID] = now
	}
	s.mu.Unlock()
}

// Run writes the gathered last-authenticated times every flushEvery until ctx ends, then once more.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			s.Flush(ctx)
		}
	}
}

// Flush writes the gathered last-authenticated times in one transaction; on failure they are kept for
// the next try.
func (s *Service) Flush(ctx context.Context) {
	s.mu.Lock()
	batch := s.seen
	s.seen = map[string]time.Time{}
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := s.store.AppRegistrations().TouchAuthenticated(ctx, batch); err != nil {
		s.log.WarnContext(ctx, "writing app registrations' last authentication", "err", err.Error(), "clients", len(batch))
		s.mu.Lock()
		for id, at := range batch {
			if at.After(s.seen[id]) {
				s.seen[id] = at
			}
		}
		s.mu.Unlock()
	}
}
