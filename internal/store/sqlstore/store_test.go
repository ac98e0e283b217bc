package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
	"steward/internal/store/storetest"
)

// pgEnv names the PostgreSQL server the tests use. CI sets it and must fail, not skip, when the
// server is unreachable.
const pgEnv = "STEWARD_TEST_POSTGRES"

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mdm.Store { return migrated(t, openSQLite(t)) })
}

func TestPostgres(t *testing.T) {
	pg := postgresServer(t)
	storetest.Run(t, func(t *testing.T) mdm.Store { return migrated(t, pg.open(t)) })
}

// openSQLite opens an empty SQLite database in a fresh temp dir.
func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func migrated(t *testing.T, s *sqlstore.Store) *sqlstore.Store {
	t.Helper()
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// pgServer hands out fresh databases on the server named by STEWARD_TEST_POSTGRES.
type pgServer struct {
	admin *sql.DB
	url   *url.URL
}

// postgresServer skips the test when STEWARD_TEST_POSTGRES is unset (outside CI) and fails it when the
// server cannot be reached. CI must run the PostgreSQL suite, so there an unset variable fails too.
func postgresServer(t testing.TB) *pgServer {
	t.Helper()
	raw := os.Getenv(pgEnv)
	if raw == "" && os.Getenv("CI") == "true" {
		t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL suite must run")
	}
	if raw == "" {
		t.Skip("STEWARD_TEST_POSTGRES not set")
	}
	if !sqlstore.IsPostgres(raw) {
		t.Fatalf("%s must be a postgres:// URL", pgEnv)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", pgEnv, err)
	}
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatalf("open %s: %v", pgEnv, err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("cannot reach the PostgreSQL server in %s: %v", pgEnv, err)
	}
	return &pgServer{admin: admin, url: u}
}

// open creates an empty database for t alone and drops it when t ends, so tests can run in parallel.
func (pg *pgServer) open(t testing.TB) *sqlstore.Store {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "steward_test_" + hex.EncodeToString(b)
	if _, err := pg.admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	// Registered before the store's Close, so it runs after it; FORCE ends any connection left over.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pg.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u := *pg.url
	u.Path = "/" + name
	s, err := sqlstore.Open(t.Context(), u.String(), "")
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	// Parallel tests each hold a pool; keep them well under the server's max_connections.
	s.DB().SetMaxOpenConns(4)
	return s
}

// forEachDB runs fn on SQLite and, when STEWARD_TEST_POSTGRES is set, on PostgreSQL. open returns an
// empty, unmigrated database.
func forEachDB(t *testing.T, fn func(t *testing.T, open func(t *testing.T) *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, openSQLite)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := postgresServer(t)
		fn(t, func(t *testing.T) *sqlstore.Store { return pg.open(t) })
	})
}

func TestMigrateReady(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		ctx := t.Context()
		s := open(t)
		if err := s.Ready(ctx); !mdm.IsCode(err, mdm.Unavailable) {
			t.Errorf("Ready before Migrate = %v, want code %q", err, mdm.Unavailable)
		}
		n, err := s.Migrate(ctx)
		if err != nil || n == 0 {
			t.Fatalf("Migrate = %d, %v; want some migrations applied", n, err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Errorf("Ready after Migrate: %v", err)
		}
		if n, err := s.Migrate(ctx); err != nil || n != 0 {
			t.Errorf("second Migrate = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestOpenRejectsOtherURLs(t *testing.T) {
	_, err := sqlstore.Open(t.Context(), "mysql://localhost/steward", t.TempDir())
	if !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("Open(mysql URL) = %v, want code %q", err, mdm.Invalid)
	}
}

// TestUsageCountsDevices covers the device half of the site report. It inserts rows directly, so that
// it can count platforms and states the device store never writes.
func TestUsageCountsDevices(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		ctx := t.Context()
		s := migrated(t, open(t))
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		tenants := []mdm.Tenant{
			{ID: "00000000-0000-4000-8000-00000000000a", Name: "Tenant A", State: mdm.TenantActive, LicenseDevices: 5, CreatedAt: now, ModifiedAt: now},
			{ID: "00000000-0000-4000-8000-00000000000b", Name: "Tenant B", State: mdm.TenantActive, LicenseDevices: 9, CreatedAt: now, ModifiedAt: now},
		}
		for i := range tenants {
			if err := s.InTx(ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(ctx, &tenants[i]) }); err != nil {
				t.Fatal(err)
			}
		}
		a, b := tenants[0].ID, tenants[1].ID
		devices := []struct {
			tenant          mdm.TenantID
			platform, state string
		}{
			{a, "iOS", "ACTIVE"}, {a, "iOS", "ACTIVE"}, {a, "ANDROID", "ACTIVE"}, {a, "iOS", "RETIRED"},
			{a, "ANDROID", "WIPED"}, {a, "macOS", "PENDING"},
			{b, "ANDROID", "ACTIVE"}, {b, "iOS", "RETIRED"},
		}
		for _, d := range devices {
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO devices (tenant_id, platform, registration_state, created_at)
				VALUES ($1,$2,$3,$4)`, d.tenant, d.platform, d.state, now.UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Tenants().Usage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Retired and wiped devices hold no seat; pending ones do.
		want := []mdm.TenantUsage{
			{TenantID: a, Name: "Tenant A", State: mdm.TenantActive, LicensedSeats: 5, UsedSeats: 4,
				DevicesByPlatform: map[string]int{"iOS": 2, "ANDROID": 1, "macOS": 1}},
			{TenantID: b, Name: "Tenant B", State: mdm.TenantActive, LicensedSeats: 9, UsedSeats: 1,
				DevicesByPlatform: map[string]int{"ANDROID": 1}},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Usage (-want +got):\n%s", d)
		}
	})
}

// TestDevicesForAccount lists one account's devices and never another tenant's. It inserts rows
// directly, so that a device of tenant B can name an account id of tenant A, which Create refuses.
func TestDevicesForAccount(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		ctx := t.Context()
		s := migrated(t, open(t))
		now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
		tenants := []mdm.Tenant{
			{ID: "00000000-0000-4000-8000-00000000000a", Name: "Tenant A", State: mdm.TenantActive, LicenseDevices: 5, CreatedAt: now, ModifiedAt: now},
			{ID: "00000000-0000-4000-8000-00000000000b", Name: "Tenant B", State: mdm.TenantActive, LicenseDevices: 9, CreatedAt: now, ModifiedAt: now},
		}
		accts := make([]mdm.Account, 2)
		for i := range tenants {
			accts[i] = mdm.Account{TenantID: tenants[i].ID, Username: "u" + string(rune('a'+i)) + "@example.com",
				Email: "u@example.com", Enabled: true, CreatedAt: now, ModifiedAt: now}
			if err := s.InTx(ctx, func(tx mdm.Stores) error {
				if err := tx.Tenants().Create(ctx, &tenants[i]); err != nil {
					return err
				}
				return tx.Accounts().Create(ctx, &accts[i])
			}); err != nil {
				t.Fatal(err)
			}
		}
		a, b := accts[0], accts[1]
		rows := []struct {
			tenant   mdm.TenantID
			account  mdm.AccountID
			platform string
			at       int64
		}{
			{a.TenantID, a.ID, "iOS", 2}, {a.TenantID, a.ID, "ANDROID", 1}, {a.TenantID, a.ID + 1000, "macOS", 1},
			{b.TenantID, a.ID, "ANDROID", 1}, {b.TenantID, b.ID, "iOS", 1},
		}
		for _, d := range rows {
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO devices (tenant_id, account_id, platform, registration_state, created_at)
				VALUES ($1,$2,$3,'ACTIVE',$4)`, d.tenant, d.account, d.platform, now.UnixMilli()+d.at); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Devices().ForAccount(ctx, a.TenantID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var platforms []string
		for _, d := range got {
			platforms = append(platforms, d.Platform)
			if d.TenantID != a.TenantID || d.AccountID != a.ID || d.RegistrationState != "ACTIVE" {
				t.Errorf("foreign or garbled device %+v", d)
			}
		}
		if d := cmp.Diff([]string{"ANDROID", "iOS"}, platforms); d != "" {
			t.Errorf("A's devices, oldest first (-want +got):\n%s", d)
		}
	})
}
