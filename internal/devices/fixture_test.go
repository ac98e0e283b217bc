package devices_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"steward/internal/accounts"
	"steward/internal/devices"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/pgtest"
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

// fixture is two tenants, each with a Tenant Admin, on a fresh database, and the services on top.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	store  *sqlstore.Store
	counts *counts
	acc    *accounts.Service
	svc    *devices.Service
	clock  *clock
	waker  *loopbackWaker
	mailed int
	// admin1 and admin2 are contexts carrying each tenant's Tenant Admin.
	admin1, admin2 context.Context
}

const userPW = "Device-user-pw-1"

// eachDB runs fn on SQLite and, when STEWARD_TEST_POSTGRES is set, on PostgreSQL (which CI must set).
func eachDB(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Run("sqlite", func(t *testing.T) {
		store, err := sqlstore.Open(t.Context(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		fn(t, newFixture(t, store))
	})
	switch raw := os.Getenv("STEWARD_TEST_POSTGRES"); {
	case raw != "":
		t.Run("postgres", func(t *testing.T) { fn(t, newFixture(t, freshPostgres(t, raw))) })
	case os.Getenv("CI") == "true":
		t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
	}
}

// onPostgres runs fn on PostgreSQL only, for races that SQLite's single writer rules out. Locally
// without STEWARD_TEST_POSTGRES it is skipped; in CI that variable must be set.
func onPostgres(t *testing.T, fn func(t *testing.T, f *fixture)) {
	raw := os.Getenv("STEWARD_TEST_POSTGRES")
	switch {
	case raw != "":
		fn(t, newFixture(t, freshPostgres(t, raw)))
	case os.Getenv("CI") == "true":
		t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
	default:
		t.Skip("a PostgreSQL race: set STEWARD_TEST_POSTGRES to run it")
	}
}

func freshPostgres(t *testing.T, _ string) *sqlstore.Store { return pgtest.Store(t, "steward_devices") }

func newFixture(t testing.TB, store *sqlstore.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{t: t, ctx: ctx, store: store, clock: c, counts: &counts{n: map[string]int{}}, waker: &loopbackWaker{}}
	f.acc = accounts.New(countingStore{store, f.counts}, keys, log, accounts.WithClock(c.now))
	f.svc = devices.New(countingStore{store, f.counts}, keys, f.acc, log, devices.WithClock(c.now),
		devices.WithWaker(f.waker), devices.WithMail(mail.NewMailer(keys, c.now), func() { f.mailed++ }),
		devices.WithCheckinInterval(time.Minute))
	f.admin1 = f.tenant("t-1", "Acme")
	f.admin2 = f.tenant("t-2", "Globex")
	return f
}

// tenant creates a tenant with a Tenant Admin and returns a context carrying the admin.
func (f *fixture) tenant(id mdm.TenantID, name string) context.Context {
	f.t.Helper()
	now := f.clock.now()
	t := mdm.Tenant{ID: id, Name: name, State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
	a := mdm.Account{TenantID: id, Username: "admin@" + string(id) + ".example.com", Email: "admin@" + string(id) + ".example.com",
		Roles: []string{mdm.RoleTenantAdmin}, Enabled: true, CreatedAt: now, ModifiedAt: now}
	err := f.store.InTx(f.ctx, func(tx mdm.Stores) error {
		if err := tx.Tenants().Create(f.ctx, &t); err != nil {
			return err
		}
		return tx.Accounts().Create(f.ctx, &a)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.as(a, mdm.RoleTenantAdmin)
}

// as returns a context carrying a as a principal holding roles.
func (f *fixture) as(a mdm.Account, roles ...string) context.Context {
	return mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID), Username: a.Username,
		TenantID: a.TenantID, Roles: roles})
}

// user creates an enabled account with userPW as its password ("" for a half account).
func (f *fixture) user(tenant mdm.TenantID, email, password string) mdm.Account {
	f.t.Helper()
	now := f.clock.now()
	a := mdm.Account{TenantID: tenant, Username: email, Email: email, FirstName: "Sam", Enabled: true, CreatedAt: now, ModifiedAt: now}
	if password != "" {
		a.PasswordHash = secret.HashPassword(password)
	}
	if err := f.store.Accounts().Create(f.ctx, &a); err != nil {
		f.t.Fatal(err)
	}
	return a
}

// setting stores a tenant's registration setting.
func (f *fixture) setting(tenant mdm.TenantID, auth mdm.RegistrationAuthType, perUser int) {
	f.t.Helper()
	s := mdm.DefaultRegistrationSettings()
	s.AuthType, s.DevicesPerUser = auth, perUser
	if err := f.store.RegistrationSettings().Put(f.ctx, tenant, s, f.clock.now()); err != nil {
		f.t.Fatal(err)
	}
}

// pin issues a fresh registration PIN for a (as its tenant's admin). Administrators issue PINs only
// under a setting that uses them, so under PASSWORD_ONLY it switches to PIN_ONLY for the moment (as
// an invitation's PIN would have been issued before).
func (f *fixture) pin(a mdm.Account) string {
	f.t.Helper()
	ctx := f.admin1
	if a.TenantID == "t-2" {
		ctx = f.admin2
	}
	set, err := f.store.RegistrationSettings().Get(f.ctx, a.TenantID)
	if err != nil {
		f.t.Fatal(err)
	}
	if !set.UsesPIN() {
		f.setting(a.TenantID, mdm.PINOnly, set.DevicesPerUser)
		defer f.setting(a.TenantID, set.AuthType, set.DevicesPerUser)
	}
	p, err := f.acc.IssueRegistrationPIN(ctx, a.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.PIN
}

func phoneFacts(serial string) mdm.DeviceFacts {
	return mdm.DeviceFacts{DeviceName: "Sam's phone", Model: "SM-G991B", PrettyModel: "Galaxy S21", Manufacturer: "samsung",
		OSVersion: "14", OSBuild: "UP1A.231005.007", SerialNumber: serial, IMEI: "356938035643809",
		WifiMAC: "AA:BB:CC:DD:EE:01", FormFactor: "phone", PasscodeCompliant: true, Encrypted: true,
		TotalCapacityMB: 128000, AvailableCapMB: 64000, ClientVersion: "1.0.0"}
}

var someApps = []mdm.InstalledApp{
	{AppID: "com.example.mail", Name: "Mail", Version: "2.1"},
	{AppID: "com.android.chrome", Name: "Chrome", Version: "120.0"},
}

// register registers an Android phone for a with a fresh PIN (the first registration's credential).
func (f *fixture) register(a mdm.Account, serial string) *devices.Registered {
	f.t.Helper()
	r, err := f.svc.Register(f.ctx, devices.Registration{Username: a.Username, PIN: f.pin(a), Platform: mdm.PlatformAndroid,
		Facts: phoneFacts(serial), Apps: someApps, PushToken: "push-" + serial})
	if err != nil {
		f.t.Fatalf("register %s: %v", serial, err)
	}
	return r
}

// device authenticates a credential, failing the test when it does not work.
func (f *fixture) device(credential string) *mdm.Device {
	f.t.Helper()
	d, err := f.svc.AuthenticateDevice(f.ctx, credential)
	if err != nil {
		f.t.Fatalf("AuthenticateDevice: %v", err)
	}
	return d
}

// stored reads a device straight from the store.
func (f *fixture) stored(tenant mdm.TenantID, id mdm.DeviceID) *mdm.Device {
	f.t.Helper()
	d, err := f.store.Devices().Get(f.ctx, tenant, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// loopbackWaker records the devices it is asked to wake.
type loopbackWaker struct {
	mu      sync.Mutex
	targets []devices.WakeTarget
}

func (w *loopbackWaker) Wake(_ context.Context, targets []devices.WakeTarget) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.targets = append(w.targets, targets...)
}

func (w *loopbackWaker) take() []devices.WakeTarget {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.targets
	w.targets = nil
	return out
}

// counts counts the store calls the services make; failCreate makes the next device Create fail as
// when another registration took the last seat.
type counts struct {
	mu         sync.Mutex
	n          map[string]int
	failCreate bool
}

func (c *counts) failNextCreate() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	fail := c.failCreate
	c.failCreate = false
	return fail
}

func (c *counts) add(name string) { c.mu.Lock(); c.n[name]++; c.mu.Unlock() }

func (c *counts) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

type countingStore struct {
	*sqlstore.Store
	c *counts
}

func (s countingStore) Devices() mdm.DeviceStore   { return countingDevices{s.Store.Devices(), s.c} }
func (s countingStore) Commands() mdm.CommandStore { return countingCommands{s.Store.Commands(), s.c} }
func (s countingStore) InTx(ctx context.Context, fn func(tx mdm.Stores) error) error {
	s.c.add("InTx")
	return s.Store.InTx(ctx, func(tx mdm.Stores) error { return fn(countingTx{tx, s.c}) })
}

type countingTx struct {
	mdm.Stores
	c *counts
}

func (s countingTx) Devices() mdm.DeviceStore   { return countingDevices{s.Stores.Devices(), s.c} }
func (s countingTx) Commands() mdm.CommandStore { return countingCommands{s.Stores.Commands(), s.c} }

type countingDevices struct {
	mdm.DeviceStore
	c *counts
}

func (d countingDevices) Create(ctx context.Context, nd mdm.NewDevice, now time.Time) (*mdm.Device, error) {
	if d.c.failNextCreate() {
		return nil, mdm.Errorf(mdm.Conflict, "all device licenses of the tenant are in use")
	}
	return d.DeviceStore.Create(ctx, nd, now)
}

func (d countingDevices) ByCredential(ctx context.Context, hash []byte) (*mdm.Device, error) {
	d.c.add("ByCredential")
	return d.DeviceStore.ByCredential(ctx, hash)
}

func (d countingDevices) SetFacts(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, kind string, f mdm.DeviceFacts, hash []byte, now time.Time) error {
	d.c.add("SetFacts")
	return d.DeviceStore.SetFacts(ctx, tenantID, id, kind, f, hash, now)
}

func (d countingDevices) SetApps(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, apps []mdm.InstalledApp, hash []byte, now time.Time) error {
	d.c.add("SetApps")
	return d.DeviceStore.SetApps(ctx, tenantID, id, apps, hash, now)
}

func (d countingDevices) TouchCheckins(ctx context.Context, touches []mdm.CheckinTouch) error {
	d.c.add("TouchCheckins")
	return d.DeviceStore.TouchCheckins(ctx, touches)
}

func (d countingDevices) SetPushToken(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, token string, now time.Time) error {
	d.c.add("SetPushToken")
	return d.DeviceStore.SetPushToken(ctx, tenantID, id, token, now)
}

type countingCommands struct {
	mdm.CommandStore
	c *counts
}

func (q countingCommands) Due(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, resendBefore time.Time, limit int) ([]mdm.Command, error) {
	q.c.add("Due")
	return q.CommandStore.Due(ctx, tenantID, deviceID, resendBefore, limit)
}

func (q countingCommands) MarkSent(ctx context.Context, tenantID mdm.TenantID, ids []mdm.CommandID, now time.Time) ([]mdm.CommandID, error) {
	q.c.add("MarkSent")
	return q.CommandStore.MarkSent(ctx, tenantID, ids, now)
}
