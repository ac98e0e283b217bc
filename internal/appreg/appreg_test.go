package appreg_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"steward/internal/appreg"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	store *sqlstore.Store
	clock *clock
	svc   *appreg.Service
	a, b  context.Context // the Tenant Admins of tenants a and b
	sro   context.Context // a System Read Only user of tenant a
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	store, err := sqlstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	f := &fixture{store: store, clock: c,
		svc: appreg.New(store, keys, slog.New(slog.NewTextHandler(io.Discard, nil)), "https://mdm.example.com/", c.now)}
	for _, id := range []mdm.TenantID{"t-a", "t-b"} {
		tn := mdm.Tenant{ID: id, Name: string(id), State: mdm.TenantActive, CreatedAt: c.now(), ModifiedAt: c.now()}
		if err := store.InTx(ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(ctx, &tn) }); err != nil {
			t.Fatal(err)
		}
	}
	as := func(tenant mdm.TenantID, name, role string) context.Context {
		return mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, Username: name, TenantID: tenant,
			Roles: []string{role}})
	}
	f.a = as("t-a", "admin@a.example.com", mdm.RoleTenantAdmin)
	f.b = as("t-b", "admin@b.example.com", mdm.RoleTenantAdmin)
	f.sro = as("t-a", "sro@a.example.com", authz.RoleSystemReadOnly)
	return f
}

func (f *fixture) create(t *testing.T, ctx context.Context, in appreg.NewRegistration) appreg.Created {
	t.Helper()
	c, err := f.svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCreate: fresh credentials each time, the token URL under the base URL, the scopes of the type
// and the elevated ones chosen, and the permission checked.
func TestCreate(t *testing.T) {
	f := newFixture(t)
	c1 := f.create(t, f.a, appreg.NewRegistration{AppType: authz.AppTypeCustom, Description: "  sync  ",
		Scopes: []string{authz.ScopeDeviceAction}})
	c2 := f.create(t, f.a, appreg.NewRegistration{AppType: authz.AppTypeCustom})
	if c1.Secret == c2.Secret || c1.Registration.ClientID == c2.Registration.ClientID || c1.Registration.ID == c2.Registration.ID {
		t.Errorf("the same type twice gave the same credentials")
	}
	if c1.TokenURL != "https://mdm.example.com/t-a/connect/token" {
		t.Errorf("token URL %q", c1.TokenURL)
	}
	r := c1.Registration
	if r.Description != "sync" || r.CreatedBy != "admin@a.example.com" || !r.CreatedAt.Equal(f.clock.now()) || r.TenantID != "t-a" {
		t.Errorf("registration %+v", r)
	}
	want, _ := authz.RegistrationScopes(authz.AppTypeCustom, []string{authz.ScopeDeviceAction})
	if len(r.Scopes) != len(want) || r.Scopes[len(r.Scopes)-1] != authz.ScopeDeviceAction {
		t.Errorf("scopes %v, want %v", r.Scopes, want)
	}
	if _, err := f.svc.Create(f.sro, appreg.NewRegistration{AppType: authz.AppTypeCSM}); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("System Read Only creates: %v, want forbidden", err)
	}
	if _, err := f.svc.Create(t.Context(), appreg.NewRegistration{AppType: authz.AppTypeCSM}); err == nil {
		t.Error("an anonymous caller created a registration")
	}
	for name, in := range map[string]appreg.NewRegistration{
		"unknown type":       {AppType: "NOPE"},
		"scope on CSM":       {AppType: authz.AppTypeCSM, Scopes: []string{authz.ScopeDeviceAction}},
		"NUL in description": {AppType: authz.AppTypeCSM, Description: "a\x00b"},
		"long description":   {AppType: authz.AppTypeCSM, Description: string(bytes.Repeat([]byte("é"), appreg.MaxDescription+1))},
	} {
		if _, err := f.svc.Create(f.a, in); !mdm.IsCode(err, mdm.Invalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := f.svc.Create(f.a, appreg.NewRegistration{AppType: authz.AppTypeCSM,
		Description: string(bytes.Repeat([]byte("é"), appreg.MaxDescription))}); err != nil {
		t.Errorf("a description of exactly %d characters: %v", appreg.MaxDescription, err)
	}
	if regs, _ := f.svc.List(f.a); len(regs) != 3 {
		t.Errorf("%d registrations, want 3", len(regs))
	}
}

// TestVerifyRemembers: a verified client is remembered for a second (a suspension made behind the
// service's back shows only then), a wrong secret is refused while it is remembered, and Forget,
// ForgetTenant and Delete drop it at once.
func TestVerifyRemembers(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c := f.create(t, f.a, appreg.NewRegistration{AppType: authz.AppTypeCSM})
	verify := func(secret string) (appreg.Client, error) {
		return f.svc.VerifyClient(ctx, c.Registration.ClientID, secret)
	}
	if r, err := verify(c.Secret); err != nil || !r.TenantActive {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
	suspended := mdm.TenantSuspended
	if _, err := f.store.Tenants().Update(ctx, "t-a", mdm.TenantPatch{State: &suspended}, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	if r, err := verify(c.Secret); err != nil || !r.TenantActive {
		t.Errorf("within the second: %+v, %v; want the remembered active client", r, err)
	}
	if _, err := verify(c.Secret + "x"); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("a wrong secret of a remembered client: %v, want unauthenticated", err)
	}
	f.clock.set(f.clock.now().Add(time.Second))
	if r, err := verify(c.Secret); err != nil || r.TenantActive {
		t.Errorf("after the second: %+v, %v; want the suspended tenant read", r, err)
	}
	active := mdm.TenantActive
	if _, err := f.store.Tenants().Update(ctx, "t-a", mdm.TenantPatch{State: &active}, f.clock.now()); err != nil {
		t.Fatal(err)
	}
	f.svc.ForgetTenant("t-b")
	if r, _ := verify(c.Secret); r.TenantActive {
		t.Error("forgetting another tenant dropped this one's client")
	}
	f.svc.ForgetTenant("t-a")
	if r, err := verify(c.Secret); err != nil || !r.TenantActive {
		t.Errorf("after ForgetTenant: %+v, %v; want the resumed tenant read", r, err)
	}
	if err := f.svc.Delete(f.a, c.Registration.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(c.Secret); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("a deleted client: %v, want unauthenticated at once", err)
	}
}

// TestVerify: only the right secret of an existing client verifies, and every failure reads the same.
func TestVerify(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, f.a, appreg.NewRegistration{AppType: authz.AppTypeCSM})
	other := f.create(t, f.b, appreg.NewRegistration{AppType: authz.AppTypeCSM})
	if r, err := f.svc.Verify(t.Context(), c.Registration.ClientID, c.Secret); err != nil || r.ID != c.Registration.ID {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
	var msgs []string
	for name, cred := range map[string][2]string{
		"wrong secret":         {c.Registration.ClientID, other.Secret},
		"unknown client":       {"AppReg_nobody", c.Secret},
		"empty secret":         {c.Registration.ClientID, ""},
		"empty client":         {"", c.Secret},
		"secret with a suffix": {c.Registration.ClientID, c.Secret + "x"},
	} {
		_, err := f.svc.Verify(t.Context(), cred[0], cred[1])
		if !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Errorf("%s: %v, want unauthenticated", name, err)
		}
		msgs = append(msgs, mdm.Message(err))
	}
	for _, m := range msgs {
		if m != msgs[0] {
			t.Errorf("failures read differently: %q", msgs)
		}
	}
}

// TestDelete: another tenant's registration is not found; a deleted one no longer verifies, and the
// OnDelete hooks hear of it once it is committed.
func TestDelete(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, f.a, appreg.NewRegistration{AppType: authz.AppTypeUWM})
	type heard struct {
		tenant mdm.TenantID
		client string
	}
	var got []heard
	f.svc.OnDelete(func(tenant mdm.TenantID, client string) { got = append(got, heard{tenant, client}) })
	if err := f.svc.Delete(f.b, c.Registration.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("delete as another tenant: %v, want not_found", err)
	}
	if err := f.svc.Delete(f.sro, c.Registration.ID); !mdm.IsCode(err, mdm.Forbidden) {
		t.Errorf("delete as System Read Only: %v, want forbidden", err)
	}
	if len(got) != 0 {
		t.Errorf("hooks ran for refused deletes: %v", got)
	}
	if err := f.svc.Delete(f.a, c.Registration.ID); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (heard{"t-a", c.Registration.ClientID}) {
		t.Errorf("hooks heard %v", got)
	}
	if _, err := f.svc.Verify(t.Context(), c.Registration.ClientID, c.Secret); !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("a deleted registration verifies: %v", err)
	}
	if _, err := f.svc.Lookup(t.Context(), c.Registration.ClientID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("Lookup of a deleted registration: %v, want not_found", err)
	}
	if err := f.svc.Delete(f.a, c.Registration.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("second delete: %v, want not_found", err)
	}
}

// TestLastAuthenticated: List shows the times gathered before they are written, Flush writes them in
// one go, and Run writes what is left when it stops.
func TestLastAuthenticated(t *testing.T) {
	f := newFixture(t)
	c := f.create(t, f.a, appreg.NewRegistration{AppType: authz.AppTypeCSM})
	id := c.Registration.ClientID
	stored := func() time.Time {
		r, err := f.store.AppRegistrations().GetByClientID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return r.LastAuthenticatedAt
	}
	listed := func() time.Time {
		regs, err := f.svc.List(f.sro)
		if err != nil || len(regs) != 1 {
			t.Fatalf("List = %v, %v", regs, err)
		}
		return regs[0].LastAuthenticatedAt
	}

	t1 := f.clock.now().Add(time.Minute)
	f.clock.set(t1)
	f.svc.MarkAuthenticated(id)
	if !listed().Equal(t1) || !stored().IsZero() {
		t.Errorf("before the flush: listed %v, stored %v; want %v listed, nothing stored", listed(), stored(), t1)
	}
	f.svc.Flush(t.Context())
	if !stored().Equal(t1) {
		t.Errorf("after the flush: stored %v, want %v", stored(), t1)
	}

	// A clock that steps back (another replica's, or a correction) never moves it back.
	f.clock.set(t1.Add(-time.Hour))
	f.svc.MarkAuthenticated(id)
	f.svc.Flush(t.Context())
	if !stored().Equal(t1) || !listed().Equal(t1) {
		t.Errorf("after an earlier authentication: stored %v, listed %v, want %v", stored(), listed(), t1)
	}

	// Run flushes once more when it stops.
	t2 := t1.Add(time.Hour)
	f.clock.set(t2)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	f.svc.MarkAuthenticated(id)
	cancel()
	<-done
	if !stored().Equal(t2) {
		t.Errorf("after Run stopped: stored %v, want %v", stored(), t2)
	}
}
