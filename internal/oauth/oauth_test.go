package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"steward/internal/appreg"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

const base = "https://steward.example.com"

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// databases opens a fresh migrated store: SQLite always, PostgreSQL when STEWARD_TEST_POSTGRES is set.
func databases(t testing.TB) map[string]func(t testing.TB) *sqlstore.Store {
	dbs := map[string]func(t testing.TB) *sqlstore.Store{"sqlite": func(t testing.TB) *sqlstore.Store { return open(t, "") }}
	if pg := os.Getenv("STEWARD_TEST_POSTGRES"); pg != "" {
		dbs["postgres"] = func(t testing.TB) *sqlstore.Store {
			admin, err := sql.Open("pgx", pg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { admin.Close() })
			b := make([]byte, 6)
			rand.Read(b)
			name := "steward_oauth_" + hex.EncodeToString(b)
			if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
				t.Fatalf("STEWARD_TEST_POSTGRES: %v", err)
			}
			t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
			u, _ := url.Parse(pg)
			u.Path = "/" + name
			return open(t, u.String())
		}
	}
	return dbs
}

func open(t testing.TB, dsn string) *sqlstore.Store {
	s, err := sqlstore.Open(context.Background(), dsn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// env is a token server on a store with two tenants, each with a Custom App.
type env struct {
	store      *sqlstore.Store
	keys       *secret.Keys
	regs       *appreg.Service
	clock      *clock
	svc        *Service
	a, b       mdm.AppRegistration
	aSecret    string
	tenantA, B mdm.TenantID
}

func newEnv(t testing.TB, st *sqlstore.Store, opts ...Option) *env {
	keys, err := secret.New(secret.RandomKey())
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{store: st, keys: keys, clock: c, regs: appreg.New(st, keys, log, base, c.now)}
	e.svc = New(st, keys, e.regs, log, base, append([]Option{WithClock(c.now)}, opts...)...)
	ctx := context.Background()
	for i, id := range []*mdm.TenantID{&e.tenantA, &e.B} {
		*id = mdm.TenantID("t" + strings.Repeat(string(rune('a'+i)), 8))
		tn := mdm.Tenant{ID: *id, Name: "Tenant " + string(*id), State: mdm.TenantActive, LicenseDevices: 5,
			CreatedAt: c.now(), ModifiedAt: c.now()}
		if err := st.InTx(ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(ctx, &tn) }); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(tenant mdm.TenantID) (mdm.AppRegistration, string) {
		ctx := mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, Username: "ta", TenantID: tenant,
			Roles: []string{mdm.RoleTenantAdmin}})
		cr, err := e.regs.Create(ctx, appreg.NewRegistration{AppType: authz.AppTypeCustom, Scopes: []string{authz.ScopeDeviceAction}})
		if err != nil {
			t.Fatal(err)
		}
		return cr.Registration, cr.Secret
	}
	e.a, e.aSecret = mk(e.tenantA)
	e.b, _ = mk(e.B)
	return e
}

func (e *env) issue(t testing.TB, reg mdm.AppRegistration, scopes ...string) string {
	t.Helper()
	tok, err := e.svc.Issue(context.Background(), reg, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// sign signs arbitrary claims and headers with the current key (forged tokens for the refusal tests).
func (e *env) sign(t testing.TB, c jwt.Claims, header map[string]any) string {
	t.Helper()
	k, err := e.svc.ring.signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["typ"], tok.Header["kid"] = TokenType, k.kid
	for h, v := range header {
		tok.Header[h] = v
	}
	raw, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (e *env) claims(reg mdm.AppRegistration) *claims {
	now := e.clock.now()
	return &claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: base + "/" + string(reg.TenantID), Subject: reg.ClientID,
		Audience: jwt.ClaimStrings{base + "/api"}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		IssuedAt: jwt.NewNumericDate(now), ID: "forged-" + reg.ClientID}, ClientID: reg.ClientID, Scope: "read"}
}

func TestVerification(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, db(t))
			ctx := context.Background()
			tok := e.issue(t, e.a, "read", "device.action")
			p, err := e.svc.Principal(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			want := mdm.Principal{Kind: mdm.ClientPrincipal, ID: e.a.ID, Username: e.a.ClientID, ClientID: e.a.ClientID,
				TenantID: e.tenantA, Scopes: []string{"read", "device.action"}}
			if p.Kind != want.Kind || p.ID != want.ID || p.Username != want.Username || p.ClientID != want.ClientID ||
				p.TenantID != want.TenantID || strings.Join(p.Scopes, " ") != "read device.action" {
				t.Errorf("principal = %+v, want %+v", p, want)
			}

			other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			foreignIss := e.claims(e.a)
			foreignIss.Issuer = base + "/" + string(e.B) // A's client under B's issuer
			wrongAud := e.claims(e.a)
			wrongAud.Audience = jwt.ClaimStrings{"https://elsewhere.example.com"}
			mismatch := e.claims(e.a)
			mismatch.Subject = e.b.ClientID
			noExp := e.claims(e.a)
			noExp.ExpiresAt = nil
			unknownClient := e.claims(e.a)
			unknownClient.ClientID, unknownClient.Subject = "nobody", "nobody"
			otherKey := jwt.NewWithClaims(jwt.SigningMethodES256, e.claims(e.a))
			otherKey.Header["typ"], otherKey.Header["kid"] = TokenType, "x"
			otherSigned, _ := otherKey.SignedString(other)
			hs := jwt.NewWithClaims(jwt.SigningMethodHS256, e.claims(e.a))
			hs.Header["typ"] = TokenType
			hsSigned, _ := hs.SignedString([]byte("secret"))
			none := jwt.NewWithClaims(jwt.SigningMethodNone, e.claims(e.a))
			none.Header["typ"] = TokenType
			noneSigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
			k, _ := e.svc.ring.signer(ctx)
			wrongKid := jwt.NewWithClaims(jwt.SigningMethodES256, e.claims(e.a))
			wrongKid.Header["typ"], wrongKid.Header["kid"] = TokenType, "unknown-kid"
			wrongKidSigned, _ := wrongKid.SignedString(k.key)

			for name, raw := range map[string]string{
				"foreign issuer":       e.sign(t, foreignIss, nil),
				"wrong audience":       e.sign(t, wrongAud, nil),
				"sub is not client_id": e.sign(t, mismatch, nil),
				"no exp":               e.sign(t, noExp, nil),
				"unknown client":       e.sign(t, unknownClient, nil),
				"typ JWT":              e.sign(t, e.claims(e.a), map[string]any{"typ": "JWT"}),
				"another key":          otherSigned,
				"HS256":                hsSigned,
				"alg none":             noneSigned,
				"unknown kid":          wrongKidSigned,
				"garbage":              "a.b.c",
			} {
				if _, err := e.svc.Principal(ctx, raw); !mdm.IsCode(err, mdm.Unauthenticated) {
					t.Errorf("%s: %v, want unauthenticated", name, err)
				}
			}
			// The forged claims are otherwise fine: with A's own issuer the same signing passes.
			if _, err := e.svc.Principal(ctx, e.sign(t, e.claims(e.a), nil)); err != nil {
				t.Errorf("a well-formed token signed by the current key: %v", err)
			}

			// Expiry: valid until exp, refused from then on.
			e.clock.advance(time.Hour - time.Second)
			if _, err := e.svc.Principal(ctx, tok); err != nil {
				t.Errorf("a second before expiry: %v", err)
			}
			e.clock.advance(time.Second)
			if _, err := e.svc.Principal(ctx, tok); !mdm.IsCode(err, mdm.Unauthenticated) {
				t.Errorf("at expiry: %v, want unauthenticated", err)
			}
		})
	}
}

// TestScopesFollowRegistration: a token only carries the scopes its registration still holds.
func TestScopesFollowRegistration(t *testing.T) {
	e := newEnv(t, open(t, ""))
	c := e.claims(e.a)
	c.Scope = "read user.manage"
	p, err := e.svc.Principal(context.Background(), e.sign(t, c, nil))
	if err != nil || strings.Join(p.Scopes, " ") != "read" {
		t.Errorf("scopes = %v, %v; want only read", p, err)
	}
}

// TestKeyRotation: a key signs for its period; then a new key signs, the old one verifies the tokens
// it signed until they expire and stays in the JWKS until then.
func TestKeyRotation(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, db(t), WithKeyPeriod(24*time.Hour))
			ctx := context.Background()
			kidOf := func(raw string) string {
				tok, _, err := jwt.NewParser().ParseUnverified(raw, &claims{})
				if err != nil {
					t.Fatal(err)
				}
				return tok.Header["kid"].(string)
			}
			first := e.issue(t, e.a)
			e.clock.advance(24*time.Hour - 30*time.Minute)
			old := e.issue(t, e.a) // signed 30 minutes before the key stops signing
			if kidOf(old) != kidOf(first) {
				t.Fatal("the key changed within its period")
			}
			// Within the lead, the next key is made and published before it signs anything.
			e.svc.Maintain(ctx)
			pub, err := e.svc.ring.published(ctx)
			if err != nil || len(pub) != 2 {
				t.Fatalf("published keys ahead of the rotation: %d, %v; want 2", len(pub), err)
			}
			next := pub[0].kid
			if next == kidOf(old) {
				next = pub[1].kid
			}
			if k := kidOf(e.issue(t, e.a)); k != kidOf(old) {
				t.Errorf("the published next key signs before its time")
			}
			e.clock.advance(30 * time.Minute)
			fresh := e.issue(t, e.a)
			if kidOf(fresh) != next {
				t.Fatalf("after the period the token's kid is %s, want the published next key %s", kidOf(fresh), next)
			}
			for name, raw := range map[string]string{"old key's token": old, "new key's token": fresh} {
				if _, err := e.svc.Principal(ctx, raw); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			pub, err = e.svc.ring.published(ctx)
			if err != nil || len(pub) != 2 {
				t.Errorf("published keys after rotation: %d, %v; want 2", len(pub), err)
			}
			// Another replica on the same database signs with the new key and verifies both.
			replica := New(e.store, e.keys, e.regs, slog.New(slog.DiscardHandler), base, WithClock(e.clock.now), WithKeyPeriod(24*time.Hour))
			if k, err := replica.ring.signer(ctx); err != nil || k.kid != kidOf(fresh) {
				t.Errorf("the replica signs with %v, %v; want %s", k, err, kidOf(fresh))
			}
			for _, raw := range []string{old, fresh} {
				if _, err := replica.Principal(ctx, raw); err != nil {
					t.Errorf("replica: %v", err)
				}
			}
			// Past the old tokens' expiry and the grace, the old key is gone from the JWKS and pruned.
			e.clock.advance(time.Hour + skew + time.Minute)
			if _, err := e.svc.Principal(ctx, old); err == nil {
				t.Error("the old token verifies after its expiry")
			}
			e.clock.advance(staleAfter)
			pub, err = e.svc.ring.published(ctx)
			if err != nil || len(pub) != 1 || pub[0].kid != kidOf(fresh) {
				t.Errorf("published keys after the old key retired: %v, %v", pub, err)
			}
			e.clock.advance(skew + time.Minute)
			e.svc.Maintain(ctx)
			keys, err := e.store.OAuth().SigningKeys(ctx)
			if err != nil || len(keys) != 1 {
				t.Errorf("stored keys after pruning: %d, %v; want 1", len(keys), err)
			}
		})
	}
}

// TestReplicasStartTogether: replicas that find no key at the same moment end with one.
func TestReplicasStartTogether(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			st := db(t)
			keys, _ := secret.New(secret.RandomKey())
			const n = 6
			kids := make([]string, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				svc := New(st, keys, nil, slog.New(slog.DiscardHandler), base)
				wg.Go(func() {
					<-start
					k, err := svc.ring.signer(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					kids[i] = k.kid
				})
			}
			close(start)
			wg.Wait()
			for i := range kids {
				if kids[i] != kids[0] {
					t.Errorf("replica %d signs with %s, replica 0 with %s", i, kids[i], kids[0])
				}
			}
			stored, err := st.OAuth().SigningKeys(context.Background())
			if err != nil || len(stored) != 1 {
				t.Errorf("stored keys: %d, %v; want 1", len(stored), err)
			}
			if len(stored) == 1 && strings.Contains(string(stored[0].PrivateSealed), "PRIVATE") {
				t.Error("the private key is stored in clear")
			}
		})
	}
}

// TestRevocation: only the token's own client revokes it, at once and until it expires; the revocation
// is pruned after that.
func TestRevocation(t *testing.T) {
	e := newEnv(t, open(t, ""))
	ctx := context.Background()
	tok := e.issue(t, e.a)
	if err := e.svc.Revoke(ctx, e.b, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Principal(ctx, tok); err != nil {
		t.Errorf("after another client's revocation: %v", err)
	}
	if in, _ := e.svc.Introspect(ctx, e.b, tok); in.Active {
		t.Error("another client introspects A's token as active")
	}
	if in, err := e.svc.Introspect(ctx, e.a, tok); err != nil || !in.Active || in.ClientID != e.a.ClientID {
		t.Errorf("own introspection: %+v, %v", in, err)
	}
	if err := e.svc.Revoke(ctx, e.a, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Principal(ctx, tok); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("after revocation: %v", err)
	}
	if in, _ := e.svc.Introspect(ctx, e.a, tok); in.Active {
		t.Error("a revoked token introspects as active")
	}
	e.clock.advance(time.Hour + skew + time.Second)
	e.svc.Maintain(ctx)
	if n, err := e.store.OAuth().PruneRevokedTokens(ctx, e.clock.now()); err != nil || n != 0 {
		t.Errorf("revocations left after Maintain: %d, %v", n, err)
	}
}

func TestLimiter(t *testing.T) {
	c := newClock()
	l := newLimiter(2, 3, time.Minute, c.now)
	fail := func(client, addr string) time.Duration {
		done, wait := l.begin(client, addr)
		if done != nil {
			done(failed)
		}
		return wait
	}
	// Parallel successes of one client never lock it out; undecided checks count nothing.
	for range 20 {
		done, wait := l.begin("ok", "9")
		if wait != 0 {
			t.Fatal("a client in good standing refused")
		}
		defer done(succeeded)
		d2, _ := l.begin("ok", "9")
		d2(undecided)
	}
	if fail("a", "1") != 0 || fail("a", "1") != 0 {
		t.Fatal("refused under the limit")
	}
	if w := fail("a", "1"); w <= 0 || w > time.Minute {
		t.Errorf("over the per-client limit: wait %v", w)
	}
	if fail("a", "2") != 0 {
		t.Error("the same client from another address is refused")
	}
	if fail("b", "1") != 0 {
		t.Error("another client from the address is refused before the address limit")
	}
	if fail("c", "1") == 0 {
		t.Error("over the per-address limit: not refused")
	}
	done, _ := l.begin("d", "3")
	done(succeeded)
	c.advance(time.Minute)
	if fail("a", "1") != 0 {
		t.Error("still refused after the window")
	}
}

func TestOwns(t *testing.T) {
	for path, want := range map[string][2]bool{
		"/t1/connect/token":  {true, true},
		"/oauth2/token":      {true, true},
		"/oauth2/introspect": {true, true},
		"/oauth2/revoke":     {true, true},
		"/oauth2/jwks":       {true, false},
		"/.well-known/oauth-authorization-server/t1": {true, false},
		"/t1/.well-known/oauth-authorization-server": {true, false},
		"/api/connect/token":                         {false, false},
		"/api/v1/device":                             {false, false},
		"/t1/connect/token/x":                        {false, false},
		"//connect/token":                            {false, false},
		"/":                                          {false, false},
		"/login":                                     {false, false},
	} {
		if got := [2]bool{Owns(path), ClientAuthenticated(path)}; got != want {
			t.Errorf("%s: Owns, ClientAuthenticated = %v, want %v", path, got, want)
		}
	}
}

// BenchmarkIssue measures signing one access token (ES256).
func BenchmarkIssue(b *testing.B) {
	e := newEnv(b, open(b, ""))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.Issue(ctx, e.a, []string{"read"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifySignature measures parsing and checking a token without the database read.
func BenchmarkVerifySignature(b *testing.B) {
	e := newEnv(b, open(b, ""))
	tok := e.issue(b, e.a, "read")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.parse(ctx, tok, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrincipal measures a Bearer request's whole check: signature and the one database read.
func BenchmarkPrincipal(b *testing.B) {
	for name, db := range databases(b) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, db(b))
			tok := e.issue(b, e.a, "read")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.svc.Principal(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRotationSeenByOtherReplica: a replica that loaded its keys before another one rotated verifies
// the new key's tokens at once (an unknown kid reloads the keys).
func TestRotationSeenByOtherReplica(t *testing.T) {
	e := newEnv(t, open(t, ""), WithKeyPeriod(time.Hour))
	other := New(e.store, e.keys, e.regs, slog.New(slog.DiscardHandler), base, WithClock(e.clock.now), WithKeyPeriod(time.Hour))
	ctx := context.Background()
	if _, err := other.Principal(ctx, e.issue(t, e.a)); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(time.Hour)
	fresh := e.issue(t, e.a) // the first replica rotates
	if _, err := other.Principal(ctx, fresh); err != nil {
		t.Errorf("the other replica refuses the new key's token: %v", err)
	}
	k1, _ := e.svc.ring.signer(ctx)
	k2, _ := other.ring.signer(ctx)
	if k1.kid != k2.kid {
		t.Errorf("after rotation the replicas sign with %s and %s", k1.kid, k2.kid)
	}
}

// BenchmarkTokenEndpoint measures the token endpoint's whole request, in process: form, client
// authentication, tenant check, grant, signing and the JSON answer.
func BenchmarkTokenEndpoint(b *testing.B) {
	for name, db := range databases(b) {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, db(b))
			h := e.svc.Handler()
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.a.ClientID},
				"client_secret": {e.aSecret}}.Encode()
			path := "/" + string(e.tenantA) + "/connect/token"
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("token: %d %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
