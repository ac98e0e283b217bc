package enroll

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"steward/internal/store/pgtest"
	"steward/internal/store/sqlstore"
)

// TestLoadCAOnStores starts several replicas at once on one real database (each with its own
// connection pool, as separate processes would): all must end with the same CA, and a later start
// loads it again.
func TestLoadCAOnStores(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		replicasAgree(t, func(t *testing.T) *sqlstore.Store { return openStore(t, "", dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		raw := os.Getenv("STEWARD_TEST_POSTGRES")
		switch {
		case raw != "":
		case os.Getenv("CI") == "true":
			t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL run must happen")
		default:
			t.Skip("set STEWARD_TEST_POSTGRES to run on PostgreSQL")
		}
		dsn := freshPostgres(t, raw)
		replicasAgree(t, func(t *testing.T) *sqlstore.Store { return openStore(t, dsn, "") })
	})
}

func replicasAgree(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
	ctx := context.Background()
	keys := testKeys(t)
	first := open(t)
	if _, err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const replicas = 4
	stores := []*sqlstore.Store{first}
	for len(stores) < replicas {
		stores = append(stores, open(t))
	}
	cas := make([]*CA, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { cas[i], errs[i] = LoadCA(ctx, s.Apple(), keys, time.Now()) })
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if !cas[i].Cert.Equal(cas[0].Cert) {
			t.Fatalf("replica %d ended with another CA", i)
		}
	}
	again, err := LoadCA(ctx, open(t).Apple(), keys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(cas[0].Cert) {
		t.Error("a restart made a new CA")
	}
	// The stored CA works: it issues what it verifies.
	cert, err := again.Issue(csrFor(t, rsaKey(t), "x"), "e", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := cas[1].Verify(cert, time.Now()); err != nil {
		t.Errorf("one replica's certificate does not verify on another: %v", err)
	}
}

func openStore(t *testing.T, dsn, dir string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), dsn, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// freshPostgres makes an empty database for the test and returns its URL.
func freshPostgres(t *testing.T, _ string) string { return pgtest.Database(t, "steward_enroll") }
