// Package seed fills a tenant with a generated fleet (users, devices, app inventory, user and device
// groups) for load measurements and demos at scale. Rows go through the store's bulk loader, so the
// product reads them as it reads registered devices; the same seed always generates the same fleet.
package seed

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// Options say what to generate. Zero Users, AppsPerDevice or Groups take the defaults below.
type Options struct {
	TenantID      mdm.TenantID // an existing tenant without devices; empty: create "Seed <seed>"
	Devices       int
	Users         int // owners; devices are spread evenly over them (default: one per two devices)
	AppsPerDevice int // installed apps per device (default 5; -1 for none)
	Groups        int // static user groups and static device groups, each (default 10; -1 for none)
	Seed          uint64
	Now           time.Time // the generated times lie before it (default: now)
}

// Stats are what one run wrote.
type Stats struct {
	TenantID                           mdm.TenantID
	Users, Devices, Apps, GroupMembers int
	UserGroups, DeviceGroups           []string // names
	Elapsed                            time.Duration
}

// Rows is every row written.
func (s Stats) Rows() int { return s.Users*2 + s.Devices + s.Apps + s.GroupMembers }

// chunk is how many devices go in one transaction: large enough that a transaction's fixed cost
// vanishes, small enough that memory and SQLite's WAL stay modest.
const chunk = 10_000

// Run generates the fleet into st.
func Run(ctx context.Context, st *sqlstore.Store, o Options) (Stats, error) {
	start := time.Now()
	if o.Devices <= 0 {
		return Stats{}, mdm.Errorf(mdm.Invalid, "devices must be at least 1")
	}
	if o.Users == 0 {
		o.Users = max(1, o.Devices/2)
	}
	if o.AppsPerDevice == 0 {
		o.AppsPerDevice = 5
	}
	if o.Groups == 0 {
		o.Groups = 10
	}
	if o.Users < 0 || o.AppsPerDevice > len(appPool) || o.Groups > 1000 {
		return Stats{}, mdm.Errorf(mdm.Invalid, "users must be positive, apps per device at most %d, groups at most 1000", len(appPool))
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	g := &gen{o: o, rng: newRand(o.Seed)}
	tenant, err := g.tenant(ctx, st)
	if err != nil {
		return Stats{}, err
	}
	stats := Stats{TenantID: tenant}
	bulk, err := st.NewBulk(ctx)
	if err != nil {
		return stats, err
	}
	defer bulk.Close()

	accounts := make([]mdm.AccountID, 0, o.Users)
	for first := 0; first < o.Users; first += chunk {
		batch := g.users(tenant, first, min(first+chunk, o.Users))
		if err := bulk.Accounts(ctx, batch); err != nil {
			return stats, err
		}
		for _, a := range batch {
			accounts = append(accounts, a.ID)
		}
		stats.Users += len(batch)
	}
	userGroups, deviceGroups, err := g.groups(ctx, st, tenant)
	if err != nil {
		return stats, err
	}
	for i, gr := range userGroups {
		stats.UserGroups = append(stats.UserGroups, gr.Name)
		members := map[mdm.GroupID][]mdm.AccountID{}
		for u := i; u < len(accounts); u += len(userGroups) {
			members[gr.ID] = append(members[gr.ID], accounts[u])
		}
		if err := bulk.UserGroupMembers(ctx, tenant, members); err != nil {
			return stats, err
		}
		stats.GroupMembers += len(members[gr.ID])
	}
	for _, gr := range deviceGroups {
		stats.DeviceGroups = append(stats.DeviceGroups, gr.Name)
	}

	// The fleet is at rest: every active device has what the tenant's configurations give it, so the
	// reconciler finds nothing to do until a configuration changes.
	generation, err := st.Generations().Get(ctx, tenant)
	if err != nil {
		return stats, err
	}
	for first := 0; first < o.Devices; first += chunk {
		devices := g.devices(tenant, accounts, first, min(first+chunk, o.Devices))
		if err := bulk.Devices(ctx, devices, generation); err != nil {
			return stats, err
		}
		apps := g.apps(devices)
		if err := bulk.DeviceApps(ctx, tenant, apps); err != nil {
			return stats, err
		}
		members := map[mdm.DeviceGroupID][]mdm.DeviceID{}
		for i, d := range devices {
			if len(deviceGroups) > 0 {
				gr := deviceGroups[(first+i)%len(deviceGroups)].ID
				members[gr] = append(members[gr], d.ID)
			}
		}
		if err := bulk.DeviceGroupMembers(ctx, tenant, members); err != nil {
			return stats, err
		}
		stats.Devices += len(devices)
		stats.Apps += len(apps)
		stats.GroupMembers += len(devices) * min(1, len(deviceGroups))
	}
	if err := bulk.Analyze(ctx); err != nil {
		return stats, err
	}
	stats.Elapsed = time.Since(start)
	return stats, nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// gen draws every generated value from one random stream, in a fixed order.
type gen struct {
	o   Options
	rng *rand.Rand
}

// tenant creates the seed's tenant, or checks that the given one exists and has no devices yet:
// seeding adds a whole fleet or nothing, so that a fleet's numbers always mean what the run printed.
func (g *gen) tenant(ctx context.Context, st *sqlstore.Store) (mdm.TenantID, error) {
	if g.o.TenantID != "" {
		if _, err := st.Tenants().Get(ctx, g.o.TenantID); err != nil {
			return "", err
		}
		page, err := st.Devices().List(ctx, g.o.TenantID, mdm.ListOptions{Rows: 1})
		if err != nil {
			return "", err
		}
		if page.TotalCount > 0 {
			return "", mdm.Errorf(mdm.Conflict, "tenant %s already has %d devices: seed a new tenant (leave out --tenant)",
				g.o.TenantID, page.TotalCount)
		}
		return g.o.TenantID, nil
	}
	t := &mdm.Tenant{ID: mdm.TenantID(g.uuid()), Name: fmt.Sprintf("Seed %d", g.o.Seed), State: mdm.TenantActive,
		LicenseDevices: g.o.Devices, CreatedAt: g.o.Now, ModifiedAt: g.o.Now}
	if err := st.Tenants().Create(ctx, t); err != nil {
		if mdm.IsCode(err, mdm.Conflict) {
			return "", mdm.Errorf(mdm.Conflict, "tenant %q exists already: pick another --seed or pass --tenant", t.Name)
		}
		return "", err
	}
	return t.ID, nil
}

// uuid is a version-4-shaped UUID from the random stream.
func (g *gen) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], g.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// UserEmail is the address (and username) of the tenant's i-th generated user; the tenant's id is in
// it because usernames are unique across tenants.
func UserEmail(tenant mdm.TenantID, i int) string {
	return fmt.Sprintf("user%07d@t%s.seed.example.com", i, strings.ReplaceAll(string(tenant), "-", "")[:12])
}

func (g *gen) users(tenant mdm.TenantID, from, to int) []mdm.Account {
	out := make([]mdm.Account, 0, to-from)
	for i := from; i < to; i++ {
		email := UserEmail(tenant, i)
		out = append(out, mdm.Account{TenantID: tenant, Username: email, Email: email,
			FirstName: firstNames[g.rng.IntN(len(firstNames))], LastName: lastNames[g.rng.IntN(len(lastNames))],
			Roles: []string{}, Enabled: true, CreatedBy: "seed", CreatedAt: g.o.Now, ModifiedAt: g.o.Now})
	}
	return out
}

// groups creates the static user and device groups through the stores.
func (g *gen) groups(ctx context.Context, st *sqlstore.Store, tenant mdm.TenantID) ([]mdm.UserGroup, []mdm.DeviceGroup, error) {
	var users []mdm.UserGroup
	var devices []mdm.DeviceGroup
	for i := 0; i < g.o.Groups; i++ {
		ug := mdm.UserGroup{TenantID: tenant, Name: fmt.Sprintf("Seed Team %d", i+1), Description: "Generated users.",
			Kind: mdm.StaticGroup, Roles: []string{}, CreatedAt: g.o.Now, ModifiedAt: g.o.Now}
		if err := st.Groups().Create(ctx, &ug); err != nil {
			return nil, nil, err
		}
		users = append(users, ug)
		dg := mdm.DeviceGroup{TenantID: tenant, Name: fmt.Sprintf("Seed Devices %d", i+1), Description: "Generated devices.",
			Kind: mdm.StaticDeviceGroup, CreatedAt: g.o.Now, ModifiedAt: g.o.Now}
		if err := st.DeviceGroups().Create(ctx, &dg); err != nil {
			return nil, nil, err
		}
		devices = append(devices, dg)
	}
	return users, devices, nil
}

// devices generates devices from..to-1; device i belongs to user i mod users.
func (g *gen) devices(tenant mdm.TenantID, accounts []mdm.AccountID, from, to int) []sqlstore.BulkDevice {
	out := make([]sqlstore.BulkDevice, 0, to-from)
	for i := from; i < to; i++ {
		m := models[g.rng.IntN(len(models))]
		os := m.versions[g.rng.IntN(len(m.versions))]
		state := mdm.StateActive
		switch r := g.rng.IntN(100); {
		case r == 0:
			state = mdm.StateRetired
		case r == 1:
			state = mdm.StateWiped
		}
		registered := g.o.Now.Add(-time.Duration(g.rng.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Millisecond)
		// Most devices checked in within the check-in interval; a tail has been out of contact for weeks.
		ago := time.Duration(g.rng.Int64N(int64(time.Hour)))
		if g.rng.IntN(20) == 0 {
			ago = time.Duration(g.rng.Int64N(int64(60 * 24 * time.Hour)))
		}
		checkin := g.o.Now.Add(-ago).Truncate(time.Millisecond)
		if checkin.Before(registered) {
			checkin = registered
		}
		cred := make([]byte, 32)
		for k := 0; k < 32; k += 8 {
			binary.BigEndian.PutUint64(cred[k:], g.rng.Uint64())
		}
		var owner mdm.AccountID
		if len(accounts) > 0 {
			owner = accounts[i%len(accounts)]
		}
		total := m.capacityGB * 1024
		f := mdm.DeviceFacts{DeviceName: fmt.Sprintf("%s %07d", m.pretty, i), Model: m.model, PrettyModel: m.pretty,
			Manufacturer: m.maker, OSVersion: os, OSBuild: fmt.Sprintf("%s.%03d", strings.ReplaceAll(os, ".", ""), g.rng.IntN(1000)),
			SerialNumber: fmt.Sprintf("SN%s%09d", m.serialPrefix, i), IMEI: fmt.Sprintf("35%013d", g.rng.Int64N(1e13)),
			WifiMAC:           fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256)),
			FormFactor:        m.form,
			Jailbroken:        g.rng.IntN(50) == 0,
			PasscodeCompliant: g.rng.IntN(10) != 0,
			Encrypted:         g.rng.IntN(20) != 0,
			Roaming:           g.rng.IntN(30) == 0,
			TotalCapacityMB:   total, AvailableCapMB: g.rng.Int64N(total),
			ClientVersion: m.client}
		apps := 0
		if g.o.AppsPerDevice > 0 {
			apps = g.o.AppsPerDevice
		}
		out = append(out, sqlstore.BulkDevice{Device: mdm.Device{TenantID: tenant, GUID: g.uuid(), AccountID: owner,
			Platform: m.platform, Kind: mdm.DeviceKindFor(m.platform, m.model, m.pretty, m.form), RegistrationState: state,
			Facts: f, ComplianceState: true, AppCount: apps, LastCheckin: checkin, RegisteredAt: registered,
			CreatedAt: registered, ModifiedAt: checkin}, CredentialHash: cred})
	}
	return out
}

// apps gives each device AppsPerDevice different apps of its platform, each at one of its versions.
func (g *gen) apps(devices []sqlstore.BulkDevice) []sqlstore.BulkApp {
	if g.o.AppsPerDevice <= 0 {
		return nil
	}
	out := make([]sqlstore.BulkApp, 0, len(devices)*g.o.AppsPerDevice)
	for _, d := range devices {
		// A random start and a step coprime with the pool's size visit distinct apps.
		start, step := g.rng.IntN(len(appPool)), appSteps[g.rng.IntN(len(appSteps))]
		for k := 0; k < g.o.AppsPerDevice; k++ {
			a := appPool[(start+k*step)%len(appPool)]
			id := a.android
			if d.Platform == mdm.PlatformIOS {
				id = a.ios
			}
			out = append(out, sqlstore.BulkApp{DeviceID: d.ID, InstalledApp: mdm.InstalledApp{AppID: id, Name: a.name,
				Version: fmt.Sprintf("%d.%d.%d", a.major, g.rng.IntN(10), g.rng.IntN(20))}})
		}
	}
	return out
}
