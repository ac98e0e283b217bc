// Package pgtest gives a test a PostgreSQL database of its own on the server STEWARD_TEST_POSTGRES
// names, dropped when the test ends. Only tests import it.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"steward/internal/store/sqlstore"
)

// Server returns STEWARD_TEST_POSTGRES. Without it the test is skipped, or fails when CI=true: the
// PostgreSQL runs must happen there.
func Server(t testing.TB) string {
	t.Helper()
	base := os.Getenv("STEWARD_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
		}
		t.Skip("set STEWARD_TEST_POSTGRES to run the PostgreSQL tests")
	}
	return base
}

// Database creates an empty database named prefix_<random hex>, drops it when the test ends, and
// returns its URL.
func Database(t testing.TB, prefix string) string {
	t.Helper()
	base := Server(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("STEWARD_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("PostgreSQL at STEWARD_TEST_POSTGRES is not usable: %v", err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Store opens and migrates a store on a fresh database (Database), closed when the test ends.
func Store(t testing.TB, prefix string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), Database(t, prefix), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}
