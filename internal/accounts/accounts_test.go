package accounts

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	ctx    context.Context
	store  *sqlstore.Store
	svc    *Service
	clock  *clock
	tenant mdm.Tenant
	admin  mdm.Account
}

const adminPW = "Tenant-admin-pw-1"

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f := &fixture{ctx: ctx, store: store, clock: c,
		svc: New(store, keys, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(c.now))}
	f.tenant = mdm.Tenant{ID: "t-1", Name: "Acme", State: mdm.TenantActive, CreatedAt: c.now(), ModifiedAt: c.now()}
	f.admin = mdm.Account{TenantID: "t-1", Username: "ta@acme.example.com", Email: "ta@acme.example.com",
		PasswordHash: secret.HashPassword(adminPW), Roles: []string{mdm.RoleTenantAdmin}, Enabled: true,
		CreatedAt: c.now(), ModifiedAt: c.now()}
	err = store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Tenants().Create(ctx, &f.tenant); err != nil {
			return err
		}
		return tx.Accounts().Create(ctx, &f.admin)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateSystemAdmin(ctx, "admin", "System-admin-pw-1"); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAuthenticate(t *testing.T) {
	f := setup(t)
	p, err := f.svc.Authenticate(f.ctx, "admin", "System-admin-pw-1")
	if err != nil || !p.IsSystemAdmin() || p.TenantID != "" {
		t.Fatalf("System Admin: %+v, %v", p, err)
	}
	p, err = f.svc.Authenticate(f.ctx, "TA@Acme.Example.com", adminPW)
	if err != nil || p.Kind != mdm.AccountPrincipal || p.TenantID != "t-1" || !p.HasRole(mdm.RoleTenantAdmin) {
		t.Fatalf("Tenant Admin: %+v, %v", p, err)
	}
	for _, c := range []struct{ user, pw string }{
		{"admin", adminPW}, {"ta@acme.example.com", "System-admin-pw-1"}, {"nobody@acme.example.com", adminPW},
		{"", adminPW}, {"admin", ""}, {"ops", "System-admin-pw-1"},
	} {
		if _, err := f.svc.Authenticate(f.ctx, c.user, c.pw); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("Authenticate(%q, %q) = %v, want unauthenticated", c.user, c.pw, err)
		}
	}
	// A half account (no password yet, e.g. before activation) cannot sign in with any password.
	half := mdm.Account{TenantID: "t-1", Username: "half@acme.example.com", Email: "half@acme.example.com",
		Enabled: true, CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	if err := f.store.Accounts().Create(f.ctx, &half); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, "half@acme.example.com", "anything-at-all"); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("half account: %v, want unauthenticated", err)
	}
}

func TestSuspendedTenantIsRefusedAtOnce(t *testing.T) {
	f := setup(t)
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, adminPW); err != nil {
		t.Fatal(err)
	}
	token, _, err := f.svc.Login(f.ctx, f.admin.Username, adminPW)
	if err != nil {
		t.Fatal(err)
	}
	suspended := mdm.TenantSuspended
	if _, err := f.store.Tenants().Update(f.ctx, "t-1", mdm.TenantPatch{State: &suspended}, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	// The verified-password cache must not let the suspended tenant through.
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, adminPW); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("Basic auth of a suspended tenant: %v, want forbidden", err)
	}
	if _, err := f.svc.SessionPrincipal(f.ctx, token); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("session of a suspended tenant: %v, want forbidden", err)
	}
}

func TestPasswordChangeBeatsTheCache(t *testing.T) {
	f := setup(t)
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, adminPW); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Accounts().SetPassword(f.ctx, "t-1", f.admin.ID, secret.HashPassword("A-new-password-2"), f.clock.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, adminPW); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("old password after a change: %v, want unauthenticated", err)
	}
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, "A-new-password-2"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestFailedSignInsAreLimited(t *testing.T) {
	f := setup(t)
	for range 10 {
		if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, "wrong-password"); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, adminPW); !mdm.IsCode(err, mdm.RateLimited) {
		t.Fatalf("right password after 10 failures: %v, want rate_limited", err)
	}
	// Another user is not affected.
	if _, err := f.svc.Authenticate(f.ctx, "admin", "System-admin-pw-1"); err != nil {
		t.Errorf("other user: %v", err)
	}
	// Case variants of the username share the limit.
	if _, err := f.svc.Authenticate(f.ctx, strings.ToUpper(f.admin.Username), adminPW); !mdm.IsCode(err, mdm.RateLimited) {
		t.Errorf("upper-case variant after 10 failures: %v, want rate_limited", err)
	}
	// Guesses from one address do not lock the user out elsewhere.
	elsewhere := mdm.WithClientAddr(f.ctx, "192.0.2.7")
	if _, err := f.svc.Authenticate(elsewhere, f.admin.Username, adminPW); err != nil {
		t.Errorf("same user from another address: %v", err)
	}
	f.clock.add(16 * time.Minute)
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, adminPW); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestParallelGuessesCannotOutrunTheLimit: attempts count when they start, not when the slow hash ends.
func TestParallelGuessesCannotOutrunTheLimit(t *testing.T) {
	f := setup(t)
	ctx := mdm.WithClientAddr(f.ctx, "198.51.100.1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[mdm.Code]int{}
	for range 30 {
		wg.Go(func() {
			_, err := f.svc.Authenticate(ctx, f.admin.Username, "wrong-password")
			mu.Lock()
			codes[mdm.ErrorCode(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[mdm.Unauthenticated] != 10 || codes[mdm.RateLimited] != 20 {
		t.Errorf("30 parallel guesses: %v, want 10 checked and 20 refused", codes)
	}
}

// TestClientLimit: one address trying many usernames is refused after the per-client limit.
func TestClientLimit(t *testing.T) {
	f := setup(t)
	ctx := mdm.WithClientAddr(f.ctx, "203.0.113.9")
	var last error
	for i := range 101 {
		_, last = f.svc.Authenticate(ctx, fmt.Sprintf("user%d@acme.example.com", i), "guess-password")
	}
	if !mdm.IsCode(last, mdm.RateLimited) {
		t.Errorf("101st failure from one address: %v, want rate_limited", last)
	}
	if _, err := f.svc.Authenticate(f.ctx, f.admin.Username, adminPW); err != nil {
		t.Errorf("another address: %v", err)
	}
}

func TestSessions(t *testing.T) {
	f := setup(t)
	token, p, err := f.svc.Login(f.ctx, "admin", "System-admin-pw-1")
	if err != nil || !p.Session || len(token) < 40 {
		t.Fatalf("Login = %q, %+v, %v", token, p, err)
	}
	if _, _, err := f.svc.Login(f.ctx, "admin", "wrong-password"); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("Login with a wrong password: %v", err)
	}
	got, err := f.svc.SessionPrincipal(f.ctx, token)
	if err != nil || !got.IsSystemAdmin() || !got.Session {
		t.Fatalf("SessionPrincipal = %+v, %v", got, err)
	}
	for _, bad := range []string{"", token + "x", "not-a-token"} {
		if _, err := f.svc.SessionPrincipal(f.ctx, bad); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("SessionPrincipal(%q) = %v, want unauthenticated", bad, err)
		}
	}
	f.clock.add(SessionLifetime)
	if _, err := f.svc.SessionPrincipal(f.ctx, token); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("expired session: %v, want unauthenticated", err)
	}
	token, _, _ = f.svc.Login(f.ctx, f.admin.Username, adminPW)
	if err := f.svc.Logout(f.ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SessionPrincipal(f.ctx, token); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("after logout: %v, want unauthenticated", err)
	}
}

func TestCreateSystemAdmin(t *testing.T) {
	f := setup(t)
	for _, c := range []struct{ user, pw string }{
		{"ops@example.com", "Long-enough-pw-1"}, {"", "Long-enough-pw-1"}, {"o p", "Long-enough-pw-1"}, {"ops", "short"},
	} {
		if _, err := f.svc.CreateSystemAdmin(f.ctx, c.user, c.pw); !mdm.IsCode(err, mdm.Invalid) {
			t.Errorf("CreateSystemAdmin(%q, %q) = %v, want invalid", c.user, c.pw, err)
		}
	}
	if _, err := f.svc.CreateSystemAdmin(f.ctx, "admin", "Another-long-pw-1"); !mdm.IsCode(err, mdm.Conflict) {
		t.Errorf("duplicate: %v, want conflict", err)
	}
	created, err := f.svc.EnsureSystemAdmin(f.ctx, "Whatever-long-pw-1")
	if err != nil || created {
		t.Errorf("EnsureSystemAdmin with one present = %v, %v; want no change", created, err)
	}
	if _, err := f.svc.Authenticate(f.ctx, "admin", "Whatever-long-pw-1"); err == nil {
		t.Error("EnsureSystemAdmin replaced the existing password")
	}
}

func TestActivation(t *testing.T) {
	f := setup(t)
	half := mdm.Account{TenantID: "t-1", Username: "new@acme.example.com", Email: "new@acme.example.com",
		Enabled: true, CreatedAt: f.clock.now(), ModifiedAt: f.clock.now()}
	if err := f.store.Accounts().Create(f.ctx, &half); err != nil {
		t.Fatal(err)
	}
	token := "activation-token-for-test"
	ott := &mdm.OneTimeToken{Hash: f.svc.keys.Hash(token), Purpose: mdm.TokenPurposeActivation, TenantID: "t-1",
		AccountID: half.ID, ExpiresAt: f.clock.now().Add(time.Hour), CreatedAt: f.clock.now()}
	if err := f.store.Tokens().Create(f.ctx, ott); err != nil {
		t.Fatal(err)
	}
	if a, err := f.svc.CheckActivation(f.ctx, token); err != nil || a.Username != half.Username || a.TenantName != "Acme" {
		t.Fatalf("CheckActivation = %+v, %v", a, err)
	}
	if _, err := f.svc.CheckActivation(f.ctx, "wrong-token"); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("unknown token: %v", err)
	}
	// A suspended tenant's links do not work.
	suspended, active := mdm.TenantSuspended, mdm.TenantActive
	f.store.Tenants().Update(f.ctx, "t-1", mdm.TenantPatch{State: &suspended}, f.clock.now())
	if _, err := f.svc.Activate(f.ctx, token, "Chosen-password-1"); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("activation in a suspended tenant: %v, want forbidden", err)
	}
	f.store.Tenants().Update(f.ctx, "t-1", mdm.TenantPatch{State: &active}, f.clock.now())
	if _, err := f.svc.Activate(f.ctx, token, "short"); !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("short password: %v, want invalid", err)
	}
	if _, err := f.svc.Activate(f.ctx, token, "Chosen-password-1"); err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if _, err := f.svc.Authenticate(f.ctx, half.Username, "Chosen-password-1"); err != nil {
		t.Errorf("sign-in after activation: %v", err)
	}
	if _, err := f.svc.Activate(f.ctx, token, "Another-password-2"); !mdm.IsCode(err, mdm.Conflict) {
		t.Errorf("second use: %v, want conflict", err)
	}
	// An expired link says so.
	ott2 := &mdm.OneTimeToken{Hash: f.svc.keys.Hash("expiring"), Purpose: mdm.TokenPurposeActivation, TenantID: "t-1",
		AccountID: half.ID, ExpiresAt: f.clock.now().Add(time.Minute), CreatedAt: f.clock.now()}
	f.store.Tokens().Create(f.ctx, ott2)
	f.clock.add(2 * time.Minute)
	if _, err := f.svc.CheckActivation(f.ctx, "expiring"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired link: %v", err)
	}
}
