package assign

import (
	"context"
	"sync"
	"testing"

	"steward/internal/mdm"
	"steward/internal/store/pgtest"
	"steward/internal/store/sqlstore"
)

// postgresStore opens a migrated store on a fresh PostgreSQL database, or skips without
// STEWARD_TEST_POSTGRES.
func postgresStore(t *testing.T) *sqlstore.Store { return pgtest.Store(t, "steward_assign") }

// TestConcurrentDistributionChanges: several administrators setting one item's targets at once all
// succeed, one after the other, and the item ends with exactly one of their lists.
func TestConcurrentDistributionChanges(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) *sqlstore.Store{
		"sqlite":   func(t *testing.T) *sqlstore.Store { return setup(t).store },
		"postgres": postgresStore,
	} {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			ctx := context.Background()
			tn := mdm.Tenant{ID: "t-c", Name: "t-c", State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
			if err := store.Tenants().Create(ctx, &tn); err != nil {
				t.Fatal(err)
			}
			groups, err := store.DeviceGroups().All(ctx, "t-c")
			if err != nil {
				t.Fatal(err)
			}
			const workers = 8
			errs := make([]error, workers)
			var wg sync.WaitGroup
			for i := range workers {
				wg.Go(func() {
					ds := []mdm.Distribution{{Target: mdm.TargetAllUsers}}
					for _, g := range groups[:1+i%len(groups)] {
						ds = append(ds, mdm.Distribution{Target: mdm.TargetDeviceGroup, TargetID: int64(g.ID), Required: i%2 == 0})
					}
					errs[i] = store.InTx(ctx, func(tx mdm.Stores) error {
						_, err := SetDistribution(ctx, tx, "t-c", mdm.ItemApp, 1, ds)
						return err
					})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("worker %d: %v", i, err)
				}
			}
			ds, err := store.Distributions().ForItem(ctx, "t-c", mdm.ItemApp, 1)
			if err != nil {
				t.Fatal(err)
			}
			n := len(ds) - 1 // device groups besides ALL_USERS
			if n < 1 || n > len(groups) {
				t.Fatalf("the item ends with %d targets: %+v", len(ds), ds)
			}
			required := ds[1].Required
			for _, d := range ds[1:] {
				if d.Required != required {
					t.Errorf("the item mixes two workers' lists: %+v", ds)
				}
			}
			if g, _ := store.Generations().Get(ctx, "t-c"); g != workers {
				t.Errorf("generation = %d, want %d", g, workers)
			}
		})
	}
}
