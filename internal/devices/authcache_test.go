package devices_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"steward/internal/accounts"
	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

// pausingStore lets a test stop a credential lookup between its read and its return.
type pausingStore struct {
	*sqlstore.Store
	hold chan chan struct{}
}

func (s pausingStore) Devices() mdm.DeviceStore { return pausingDevices{s.Store.Devices(), s.hold} }

type pausingDevices struct {
	mdm.DeviceStore
	hold chan chan struct{}
}

func (d pausingDevices) ByCredential(ctx context.Context, hash []byte) (*mdm.Device, error) {
	dev, err := d.DeviceStore.ByCredential(ctx, hash)
	select {
	case release := <-d.hold: // the test asked to pause this lookup after its read
		release <- struct{}{}
		<-release
	default:
	}
	return dev, err
}

// A lookup that read the device before its retirement committed must not cache that record after the
// retirement dropped the device from the cache: the retired credential would work until the entry expires.
func TestDeviceAuthCacheKeepsNoRecordReadBeforeRetirement(t *testing.T) {
	store, err := sqlstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f := newFixture(t, store)
	keys, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hold := make(chan chan struct{}, 1)
	ps := pausingStore{store, hold}
	acc := accounts.New(ps, keys, log, accounts.WithClock(f.clock.now))
	svc := devices.New(ps, keys, acc, log, devices.WithClock(f.clock.now))

	a := f.user("t-1", "sam@acme.example.com", userPW)
	r, err := svc.Register(f.ctx, devices.Registration{Username: a.Username, PIN: f.pin(a), Platform: mdm.PlatformAndroid, Facts: phoneFacts("C1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Act(f.admin1, devices.Retire, []mdm.DeviceID{r.Device.ID}, devices.ActionOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.AuthenticateDevice(f.ctx, r.Credential)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := svc.CheckIn(f.ctx, d, devices.CheckIn{})
	if err != nil || len(reply.Commands) != 1 {
		t.Fatalf("check-in: %v, %+v; want the retire command", err, reply)
	}
	f.clock.add(10 * time.Second) // the cache entry expires

	release := make(chan struct{})
	hold <- release
	done := make(chan error)
	go func() { _, err := svc.AuthenticateDevice(f.ctx, r.Credential); done <- err }()
	<-release // the concurrent lookup has read the RETIRE_PENDING device
	if err := svc.Acknowledge(f.ctx, d, mdm.CommandResult{ID: reply.Commands[0].ID, Status: mdm.CmdAcknowledged}); err != nil {
		t.Fatal(err)
	}
	release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatalf("the lookup that began before the retirement: %v", err)
	}
	if s := f.stored("t-1", d.ID).RegistrationState; s != mdm.StateRetired {
		t.Fatalf("stored state %s, want %s", s, mdm.StateRetired)
	}
	got, err := svc.AuthenticateDevice(f.ctx, r.Credential)
	if !mdm.IsCode(err, mdm.Unauthenticated) {
		t.Errorf("retired device's credential: %v, %v; want unauthenticated", got, err)
	}
}
