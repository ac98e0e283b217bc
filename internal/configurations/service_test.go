package configurations_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"testing"
	"time"

	"steward/internal/configurations"
	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

// fixture is one tenant on a fresh SQLite database with an iOS and an Android device of one owner,
// and the service acting as its Tenant Admin.
type fixture struct {
	t        *testing.T
	store    *sqlstore.Store
	svc      *configurations.Service
	admin    context.Context
	tenant   mdm.TenantID
	ios, and mdm.DeviceID
	woken    map[mdm.DeviceID]int
}

type waker struct{ f *fixture }

func newFixture(t *testing.T) *fixture {
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
	keys, err := secret.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	tn := mdm.Tenant{ID: "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5", Name: "Cfg", State: mdm.TenantActive, LicenseDevices: 10,
		CreatedAt: now, ModifiedAt: now}
	acc := mdm.Account{TenantID: tn.ID, Username: "ann@cfg.example.com", Email: "ann@cfg.example.com", FirstName: "Ann",
		LastName: "Lee", Roles: []string{mdm.RoleTenantAdmin}, Enabled: true, CreatedAt: now, ModifiedAt: now, CreatedBy: "test"}
	f := &fixture{t: t, store: store, tenant: tn.ID, woken: map[mdm.DeviceID]int{}}
	err = store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Tenants().Create(ctx, &tn); err != nil {
			return err
		}
		if err := tx.Accounts().Create(ctx, &acc); err != nil {
			return err
		}
		for i, p := range []string{mdm.PlatformIOS, mdm.PlatformAndroid} {
			h := make([]byte, 32)
			rand.Read(h)
			d, err := tx.Devices().Create(ctx, mdm.NewDevice{TenantID: tn.ID, AccountID: acc.ID, GUID: fmt.Sprint("g", i),
				Platform: p, Kind: map[string]string{mdm.PlatformIOS: mdm.KindIPhone, mdm.PlatformAndroid: mdm.KindAndroidPhone}[p],
				Facts: mdm.DeviceFacts{DeviceName: p}, FactsHash: h, CredentialHash: h}, now)
			if err != nil {
				return err
			}
			if err := tx.Devices().SetPushToken(ctx, tn.ID, d.ID, "token-"+p, now); err != nil {
				return err
			}
			if p == mdm.PlatformIOS {
				f.ios = d.ID
			} else {
				f.and = d.ID
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = configurations.New(configurations.Deps{Store: store, Keys: keys, Waker: waker{f}})
	f.admin = mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(acc.ID), TenantID: tn.ID,
		Username: acc.Username, Roles: []string{mdm.RoleTenantAdmin}})
	return f
}

func (w waker) Wake(_ context.Context, targets []devices.WakeTarget) {
	for _, t := range targets {
		w.f.woken[t.DeviceID]++
	}
}

// open returns the commands open for a device, as "TYPE:configurationId@version".
func (f *fixture) open(id mdm.DeviceID) []string {
	f.t.Helper()
	cmds, err := f.store.Commands().Due(context.Background(), f.tenant, id, time.Now().Add(time.Hour), 100)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, c := range cmds {
		out = append(out, c.Type+":"+c.Payload["configurationId"]+"@"+c.Payload["version"])
	}
	return out
}

// answer completes every open command of the device with status, as the devices capability does.
func (f *fixture) answer(id mdm.DeviceID, status string) {
	f.t.Helper()
	ctx := context.Background()
	cmds, _ := f.store.Commands().Due(ctx, f.tenant, id, time.Now().Add(time.Hour), 100)
	for _, c := range cmds {
		err := f.store.InTx(ctx, func(tx mdm.Stores) error {
			done, err := tx.Commands().Complete(ctx, f.tenant, id, mdm.CommandResult{ID: c.ID, Status: status, Error: "no"}, time.Now())
			if err != nil {
				return err
			}
			return f.svc.Answered(ctx, tx, done)
		})
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) converge() {
	f.t.Helper()
	if _, err := f.svc.ReconcileAll(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) allDevices() int64 {
	gs, err := f.store.DeviceGroups().All(context.Background(), f.tenant)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, g := range gs {
		if g.Kind == mdm.AllDevicesGroup {
			return int64(g.ID)
		}
	}
	f.t.Fatal("no All Devices group")
	return 0
}

func ptr[T any](v T) *T { return &v }

func TestReconcile(t *testing.T) {
	f := newFixture(t)
	wifi, err := f.svc.Create(f.admin, configurations.Input{Name: ptr("Wi-Fi"), Type: ptr("WIFI"),
		Attributes: map[string]any{"ssid": "Corp", "password": "corp-pass-1"}})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := f.svc.Create(f.admin, configurations.Input{Name: ptr("Clip"), Type: ptr("WEBCLIP"),
		Attributes: map[string]any{"label": "Intranet", "url": "https://intra.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	all := []mdm.Distribution{{Target: mdm.TargetDeviceGroup, TargetID: f.allDevices()}}
	for _, id := range []mdm.ConfigurationID{wifi.ID, clip.ID} {
		if _, err := f.svc.SetDistribution(f.admin, id, all); err != nil {
			t.Fatal(err)
		}
	}
	f.converge()
	w, c := strconv.FormatInt(int64(wifi.ID), 10), strconv.FormatInt(int64(clip.ID), 10)
	// Platform applicability: the web clip goes to iOS only.
	if got := fmt.Sprint(f.open(f.ios)); got != fmt.Sprintf("[INSTALL_PROFILE:%s@1 INSTALL_PROFILE:%s@1]", w, c) {
		t.Fatalf("iOS: %s", got)
	}
	if got := fmt.Sprint(f.open(f.and)); got != "[APPLY_CONFIGURATION:"+w+"@1]" {
		t.Fatalf("Android: %s", got)
	}
	if f.woken[f.ios] != 1 || f.woken[f.and] != 1 {
		t.Fatalf("woken %v", f.woken)
	}
	// Idempotent: nothing more while the commands are open, nor after they are answered.
	if _, err := f.store.Generations().Bump(context.Background(), f.tenant); err != nil {
		t.Fatal(err)
	}
	f.converge()
	if n := len(f.open(f.ios)) + len(f.open(f.and)); n != 3 {
		t.Fatalf("%d open commands after converging again", n)
	}
	f.answer(f.ios, mdm.CmdAcknowledged)
	f.answer(f.and, mdm.CmdError)
	counts, _ := f.svc.Counts(f.admin, wifi.ID)
	if counts != (mdm.ConfigCounts{Total: 2, Installed: 1, Error: 1}) {
		t.Fatalf("counts %+v", counts)
	}
	f.store.Generations().Bump(context.Background(), f.tenant)
	f.converge()
	if n := len(f.open(f.ios)) + len(f.open(f.and)); n != 0 {
		t.Fatalf("%d commands after converging a converged tenant", n)
	}
	// A device reads its statuses.
	dcs, err := f.svc.ForDevice(f.admin, f.and)
	if err != nil || len(dcs) != 1 || dcs[0].Status != mdm.DeliveryError || dcs[0].Error != "no" || dcs[0].Name != "Wi-Fi" {
		t.Fatalf("for device %+v %v", dcs, err)
	}
	// Unassigned: removed from both.
	if _, err := f.svc.SetDistribution(f.admin, wifi.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.converge()
	if got := fmt.Sprint(f.open(f.ios)); got != "[REMOVE_PROFILE:"+w+"@1]" {
		t.Fatalf("iOS removal: %s", got)
	}
	if got := fmt.Sprint(f.open(f.and)); got != "[REMOVE_CONFIGURATION:"+w+"@1]" {
		t.Fatalf("Android removal: %s", got)
	}
	f.answer(f.ios, mdm.CmdAcknowledged)
	f.answer(f.and, mdm.CmdAcknowledged)
	if dcs, _ := f.svc.ForDevice(f.admin, f.and); len(dcs) != 0 {
		t.Fatalf("after removal %+v", dcs)
	}
}
