package seed

import (
	"context"
	"os"
	"testing"
	"time"

	"steward/internal/fq"
	"steward/internal/mdm"
	"steward/internal/store/pgtest"
	"steward/internal/store/sqlstore"
)

// eachDB runs fn on SQLite and, when STEWARD_TEST_POSTGRES is set, on a fresh PostgreSQL database
// (which CI must set).
func eachDB(t *testing.T, fn func(t *testing.T, st *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlstore.Open(t.Context(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	switch raw := os.Getenv("STEWARD_TEST_POSTGRES"); {
	case raw != "":
		t.Run("postgres", func(t *testing.T) { fn(t, pgtest.Store(t, "steward_seed")) })
	case os.Getenv("CI") == "true":
		t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
	}
}

// expected replays the generator's random stream without a database: the fleet Run writes for o
// (a new tenant, fewer devices than one chunk).
func expected(o Options) (mdm.TenantID, []sqlstore.BulkDevice) {
	g := &gen{o: o, rng: newRand(o.Seed)}
	tenant := mdm.TenantID(g.uuid())
	users := g.users(tenant, 0, o.Users)
	ids := make([]mdm.AccountID, len(users))
	for i := range ids {
		ids[i] = mdm.AccountID(i + 1)
	}
	return tenant, g.devices(tenant, ids, 0, o.Devices)
}

func TestSeedIsReadByTheProduct(t *testing.T) {
	eachDB(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		o := Options{Devices: 2000, Users: 700, AppsPerDevice: 4, Groups: 3, Seed: 7, Now: now}
		stats, err := Run(ctx, st, o)
		if err != nil {
			t.Fatal(err)
		}
		wantTenant, want := expected(o)
		if stats.TenantID != wantTenant || stats.Devices != 2000 || stats.Users != 700 || stats.Apps != 8000 ||
			stats.GroupMembers != 700+2000 {
			t.Fatalf("stats %+v", stats)
		}
		tenant := stats.TenantID

		count := func(filter string) int {
			t.Helper()
			f, err := fq.Parse(filter, mdm.DeviceFields)
			if err != nil {
				t.Fatal(err)
			}
			p, err := st.Devices().List(ctx, tenant, mdm.ListOptions{Filter: f, Rows: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Items) != min(100, p.TotalCount) {
				t.Fatalf("%s: page of %d, total %d", filter, len(p.Items), p.TotalCount)
			}
			return p.TotalCount
		}
		if n := count(""); n != 2000 {
			t.Errorf("list: %d devices, want 2000", n)
		}
		var ios185, owner3, jailbroken, active int
		for i, d := range want {
			if d.Platform == mdm.PlatformIOS && d.Facts.OSVersion == "18.5" {
				ios185++
			}
			if i%700 == 3 {
				owner3++
			}
			if d.Facts.Jailbroken {
				jailbroken++
			}
			if d.RegistrationState == mdm.StateActive {
				active++
			}
		}
		if ios185 == 0 || jailbroken == 0 || active == 2000 {
			t.Fatalf("generator lost its variety: %d on iOS 18.5, %d jailbroken, %d active", ios185, jailbroken, active)
		}
		for filter, n := range map[string]int{
			"platformType=IOS and platformVersion=18.5":    ios185,
			"emailAddress=" + UserEmail(tenant, 3):         owner3,
			"jailbroken=true":                              jailbroken,
			"registrationState=ACTIVE":                     active,
			"deviceModel=SM-G991B and prettyModel=Galaxy*": countModel(want, "SM-G991B"),
		} {
			if got := count(filter); got != n {
				t.Errorf("%s: %d devices, want %d", filter, got, n)
			}
		}

		// A device reads back as generated, with its owner, apps and groups.
		p, err := st.Devices().List(ctx, tenant, mdm.ListOptions{Filter: mdm.Compare{Field: "serialNumber", Op: mdm.Eq,
			Value: want[703].Facts.SerialNumber}})
		if err != nil || p.TotalCount != 1 {
			t.Fatalf("by serial: %d, %v", p.TotalCount, err)
		}
		d := p.Items[0]
		if d.GUID != want[703].GUID || d.Facts != want[703].Facts || d.Kind != want[703].Kind || d.AppCount != 4 ||
			d.OwnerEmail != UserEmail(tenant, 3) || !d.LastCheckin.Equal(want[703].LastCheckin) {
			t.Errorf("device reads %+v, want %+v", d, want[703].Device)
		}
		apps, err := st.Devices().Apps(ctx, tenant, d.ID)
		if err != nil || len(apps) != 4 {
			t.Fatalf("apps: %v, %v", apps, err)
		}
		groups, err := st.Groups().GroupsFor(ctx, tenant, d.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		if !hasGroup(groups, "Seed Team 1") { // user 3 of 3 groups
			t.Errorf("owner's groups %+v, want Seed Team 1 among them", groups)
		}
		in, err := st.DeviceGroups().StaticGroupsOf(ctx, tenant, d.ID)
		if err != nil || len(in) != 1 {
			t.Fatalf("device groups %v, %v", in, err)
		}
		all, err := st.DeviceGroups().All(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range all {
			if g.Kind != mdm.StaticDeviceGroup {
				continue
			}
			m, err := st.DeviceGroups().Members(ctx, tenant, g.ID, mdm.ListOptions{Rows: 1})
			if err != nil || m.TotalCount < 666 || m.TotalCount > 667 {
				t.Errorf("%s: %d members, %v", g.Name, m.TotalCount, err)
			}
		}

		// The fleet is at rest: the configuration reconciler finds no device behind.
		gen, err := st.Generations().Get(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if behind, err := st.Configurations().DevicesBehind(ctx, tenant, gen, 0, 10); err != nil || len(behind) != 0 {
			t.Errorf("devices behind on configurations: %v, %v", behind, err)
		}

		// Seeding adds a whole fleet to a tenant without devices or nothing: a second run is refused.
		if _, err := Run(ctx, st, Options{TenantID: tenant, Devices: 10}); !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("seeding the seeded tenant: %v, want conflict", err)
		}
		if _, err := Run(ctx, st, o); !mdm.IsCode(err, mdm.Conflict) {
			t.Errorf("seeding the same seed again: %v, want conflict", err)
		}
		if n := count(""); n != 2000 {
			t.Errorf("after the refused runs: %d devices", n)
		}
		// Another seed makes another tenant beside it; new devices get new ids.
		other, err := Run(ctx, st, Options{Devices: 50, Seed: 8, Now: now})
		if err != nil || other.TenantID == tenant {
			t.Fatalf("second tenant: %+v, %v", other, err)
		}
		op, err := st.Devices().List(ctx, other.TenantID, mdm.ListOptions{Rows: 1, Sort: []mdm.SortField{{Field: "id"}}})
		if err != nil || op.TotalCount != 50 || op.Items[0].ID <= want[0].ID {
			t.Errorf("second tenant's devices: %+v, %v", op, err)
		}
	})
}

func TestSeedRejectsBadOptions(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{}, {Devices: 10, AppsPerDevice: 61}, {Devices: 10, Users: -1},
		{Devices: 10, TenantID: "00000000-0000-4000-8000-000000000000"}} {
		if _, err := Run(t.Context(), st, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func countModel(ds []sqlstore.BulkDevice, model string) int {
	n := 0
	for _, d := range ds {
		if d.Facts.Model == model {
			n++
		}
	}
	return n
}

func hasGroup(gs []mdm.UserGroup, name string) bool {
	for _, g := range gs {
		if g.Name == name {
			return true
		}
	}
	return false
}
