package sqlstore

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

// TestDistributionMigrationGivesTenantsBuiltIns: a tenant that exists before migration 00017 gets the
// built-in device groups from it, and ensuring them afterwards adds nothing.
func TestDistributionMigrationGivesTenantsBuiltIns(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.migrator.UpTo(ctx, 14); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO tenants (id, name, name_key, state, license_devices, default_dm_partition_id,
		default_cm_partition_id, created_at, modified_at) VALUES ('t-old', 'Old', 'old', 'ACTIVE', 10, 0, 0, $1, $1)`, ms(created)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		all, err := s.DeviceGroups().All(ctx, "t-old")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(mdm.BuiltInDeviceGroups) {
			t.Fatalf("%s: %d groups, want the %d built-ins: %+v", when, len(all), len(mdm.BuiltInDeviceGroups), all)
		}
		for i, g := range all {
			want := mdm.BuiltInDeviceGroups[i]
			if g.Name != want.Name || g.Kind != want.Kind || g.Rule != want.Rule || g.Description != want.Description ||
				!g.BuiltIn || !g.CreatedAt.Equal(created) {
				t.Errorf("%s: group %d = %+v, want %+v created %v", when, i, g, want, created)
			}
		}
	}
	check("after the migration")
	if err := s.DeviceGroups().EnsureBuiltIns(ctx, "t-old", time.Now()); err != nil {
		t.Fatal(err)
	}
	check("after EnsureBuiltIns")
}
