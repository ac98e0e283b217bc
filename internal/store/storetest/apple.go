package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
)

var appleTests = []test{
	{"Enrollment", testAppleEnrollment},
	{"EnrollmentTenantsApart", testAppleEnrollmentTenantsApart},
	{"IssueCertOnce", testAppleIssueCertOnce},
	{"BindOnce", testAppleBindOnce},
	{"PruneEnrollments", testApplePruneEnrollments},
	{"EnrollmentsGoWithAccount", testAppleEnrollmentsGoWithAccount},
	{"Device", testAppleDevice},
	{"DeviceByUDID", testAppleDeviceByUDID},
	{"DeviceTenantsApart", testAppleDeviceTenantsApart},
	{"DeviceGoesWithDevice", testAppleDeviceGoesWithDevice},
	{"InventoryDue", testAppleInventoryDue},
	{"PushCertificate", testApplePushCertificate},
	{"PushCertificatesExpiring", testApplePushCertificatesExpiring},
	{"CA", testAppleCA},
	{"InitCAConcurrent", testAppleInitCAConcurrent},
}

// enrollment stores a fresh enrollment for owner that expires in an hour.
func (f *fixture) enrollment(t *testing.T, owner mdm.Account) mdm.AppleEnrollment {
	t.Helper()
	e := mdm.AppleEnrollment{
		ID: fmt.Sprintf("%x", randomBytes(t, 16)), TenantID: owner.TenantID, AccountID: owner.ID,
		ChallengeHash: randomBytes(t, 32), CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour),
	}
	must(t, "CreateEnrollment", f.s.Apple().CreateEnrollment(f.ctx, e))
	return e
}

func (f *fixture) getEnrollment(t *testing.T, id string) mdm.AppleEnrollment {
	t.Helper()
	e, err := f.s.Apple().Enrollment(f.ctx, id)
	must(t, "Enrollment", err)
	return *e
}

func testAppleEnrollment(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	e := f.enrollment(t, ann)

	got, err := as.Enrollment(f.ctx, e.ID)
	must(t, "Enrollment", err)
	if d := diff(e, *got); d != "" {
		t.Errorf("Enrollment (-want +got):\n%s", d)
	}
	wantUTC(t, "Enrollment", got.CreatedAt, got.ExpiresAt)
	got, err = as.EnrollmentByChallenge(f.ctx, e.ChallengeHash)
	must(t, "EnrollmentByChallenge", err)
	if d := diff(e, *got); d != "" {
		t.Errorf("EnrollmentByChallenge (-want +got):\n%s", d)
	}
	_, err = as.Enrollment(f.ctx, fmt.Sprintf("%x", randomBytes(t, 16)))
	wantCode(t, "Enrollment(unknown)", err, mdm.NotFound)
	_, err = as.EnrollmentByChallenge(f.ctx, randomBytes(t, 32))
	wantCode(t, "EnrollmentByChallenge(unknown)", err, mdm.NotFound)
	_, err = as.EnrollmentByChallenge(f.ctx, nil)
	wantCode(t, "EnrollmentByChallenge(nil)", err, mdm.NotFound)

	// The same id or the same challenge again is a conflict, and changes nothing.
	dup := e
	dup.ChallengeHash = randomBytes(t, 32)
	wantCode(t, "CreateEnrollment(same id)", as.CreateEnrollment(f.ctx, dup), mdm.Conflict)
	dup = e
	dup.ID = fmt.Sprintf("%x", randomBytes(t, 16))
	wantCode(t, "CreateEnrollment(same challenge)", as.CreateEnrollment(f.ctx, dup), mdm.Conflict)
	_, err = as.Enrollment(f.ctx, dup.ID)
	wantCode(t, "Enrollment after a refused create", err, mdm.NotFound)

	// Bad input is invalid; an unknown account is not found.
	for name, bad := range map[string]func(e *mdm.AppleEnrollment){
		"no id":            func(e *mdm.AppleEnrollment) { e.ID = "" },
		"no challenge":     func(e *mdm.AppleEnrollment) { e.ChallengeHash = nil },
		"no tenant":        func(e *mdm.AppleEnrollment) { e.TenantID = "" },
		"expired at birth": func(e *mdm.AppleEnrollment) { e.ExpiresAt = e.CreatedAt },
		"NUL in id":        func(e *mdm.AppleEnrollment) { e.ID = "ab\x00cd" },
	} {
		b := mdm.AppleEnrollment{ID: fmt.Sprintf("%x", randomBytes(t, 16)), TenantID: f.A.ID, AccountID: ann.ID,
			ChallengeHash: randomBytes(t, 32), CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}
		bad(&b)
		wantCode(t, "CreateEnrollment("+name+")", as.CreateEnrollment(f.ctx, b), mdm.Invalid)
	}
	unknown := mdm.AppleEnrollment{ID: fmt.Sprintf("%x", randomBytes(t, 16)), TenantID: f.A.ID, AccountID: ann.ID + 1000,
		ChallengeHash: randomBytes(t, 32), CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}
	wantCode(t, "CreateEnrollment(unknown account)", as.CreateEnrollment(f.ctx, unknown), mdm.NotFound)

	// A new enrollment has issued nothing and bound nothing, whatever the caller passed.
	pre := mdm.AppleEnrollment{ID: fmt.Sprintf("%x", randomBytes(t, 16)), TenantID: f.A.ID, AccountID: ann.ID,
		ChallengeHash: randomBytes(t, 32), CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour), CertIssuedAt: &f.now, DeviceID: 7}
	must(t, "CreateEnrollment(preset)", as.CreateEnrollment(f.ctx, pre))
	if g := f.getEnrollment(t, pre.ID); g.CertIssuedAt != nil || g.DeviceID != 0 {
		t.Errorf("new enrollment: CertIssuedAt %v, DeviceID %d; want nil, 0", g.CertIssuedAt, g.DeviceID)
	}

	// The lifecycle: issue once, bind once.
	issued := f.now.Add(time.Minute)
	must(t, "IssueCert", as.IssueCert(f.ctx, e.ID, issued))
	wantCode(t, "IssueCert again", as.IssueCert(f.ctx, e.ID, issued.Add(time.Second)), mdm.NotFound)
	d, _ := f.device(t, ann, 1)
	must(t, "BindEnrollment", as.BindEnrollment(f.ctx, e.ID, d.ID))
	d2, _ := f.device(t, ann, 2)
	wantCode(t, "BindEnrollment again", as.BindEnrollment(f.ctx, e.ID, d2.ID), mdm.Conflict)
	wantCode(t, "BindEnrollment again, same device", as.BindEnrollment(f.ctx, e.ID, d.ID), mdm.Conflict)
	want := e
	want.CertIssuedAt, want.DeviceID = &issued, d.ID
	if d := diff(want, f.getEnrollment(t, e.ID)); d != "" {
		t.Errorf("Enrollment after IssueCert and BindEnrollment (-want +got):\n%s", d)
	}

	// Unknown enrollments and devices.
	wantCode(t, "IssueCert(unknown)", as.IssueCert(f.ctx, "nope", f.now), mdm.NotFound)
	wantCode(t, "BindEnrollment(unknown)", as.BindEnrollment(f.ctx, "nope", d.ID), mdm.NotFound)
	other := f.enrollment(t, ann)
	wantCode(t, "BindEnrollment(unknown device)", as.BindEnrollment(f.ctx, other.ID, d2.ID+1000), mdm.NotFound)
	wantCode(t, "BindEnrollment(device 0)", as.BindEnrollment(f.ctx, other.ID, 0), mdm.Invalid)
	if g := f.getEnrollment(t, other.ID); g.DeviceID != 0 {
		t.Errorf("refused binds left DeviceID %d, want 0", g.DeviceID)
	}

	// An expired enrollment issues nothing: the boundary itself is expired.
	wantCode(t, "IssueCert at ExpiresAt", as.IssueCert(f.ctx, other.ID, other.ExpiresAt), mdm.NotFound)
	must(t, "IssueCert just before ExpiresAt", as.IssueCert(f.ctx, other.ID, other.ExpiresAt.Add(-time.Millisecond)))
}

func testAppleEnrollmentTenantsApart(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	// An enrollment names its tenant's account: A's account under B's tenant is unknown.
	cross := mdm.AppleEnrollment{ID: fmt.Sprintf("%x", randomBytes(t, 16)), TenantID: f.B.ID, AccountID: ann.ID,
		ChallengeHash: randomBytes(t, 32), CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}
	wantCode(t, "CreateEnrollment(B, A's account)", as.CreateEnrollment(f.ctx, cross), mdm.NotFound)

	e := f.enrollment(t, ann)
	got := f.getEnrollment(t, e.ID)
	if got.TenantID != f.A.ID || got.AccountID != ann.ID {
		t.Errorf("Enrollment: tenant %s account %d, want %s %d", got.TenantID, got.AccountID, f.A.ID, ann.ID)
	}
	// A's enrollment cannot bind B's device.
	bd, _ := f.device(t, bob, 1)
	wantCode(t, "BindEnrollment(A's enrollment, B's device)", as.BindEnrollment(f.ctx, e.ID, bd.ID), mdm.NotFound)
	if g := f.getEnrollment(t, e.ID); g.DeviceID != 0 {
		t.Errorf("A's enrollment bound B's device %d", g.DeviceID)
	}
}

// testAppleIssueCertOnce: requests racing with one challenge get one certificate between them.
func testAppleIssueCertOnce(t *testing.T, f *fixture) {
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	e := f.enrollment(t, ann)
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			errs[i] = f.s.Apple().IssueCert(f.ctx, e.ID, f.now.Add(time.Duration(i+1)*time.Second))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !mdm.IsCode(err, mdm.NotFound):
			t.Errorf("IssueCert call %d: %v (code %q), want nil or not_found", i, err, mdm.ErrorCode(err))
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent IssueCert calls succeeded, want exactly 1", wins, workers)
	}
	if g := f.getEnrollment(t, e.ID); g.CertIssuedAt == nil {
		t.Errorf("CertIssuedAt is nil after a successful IssueCert")
	}
}

// testAppleBindOnce: devices racing for one enrollment: one binds, the others get conflict.
func testAppleBindOnce(t *testing.T, f *fixture) {
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	e := f.enrollment(t, ann)
	const workers = 6
	devs := make([]mdm.DeviceID, workers)
	for i := range devs {
		d, _ := f.device(t, ann, i+1)
		devs[i] = d.ID
	}
	var mu sync.Mutex
	winner := mdm.DeviceID(0)
	exactlyOneWins(t, "BindEnrollment", workers, func(i int) error {
		err := f.s.Apple().BindEnrollment(f.ctx, e.ID, devs[i])
		if err == nil {
			mu.Lock()
			winner = devs[i]
			mu.Unlock()
		}
		return err
	})
	if g := f.getEnrollment(t, e.ID); g.DeviceID != winner || winner == 0 {
		t.Errorf("enrollment bound to %d, the winning call bound %d", g.DeviceID, winner)
	}
}

func testApplePruneEnrollments(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	expiredA := f.enrollment(t, ann) // expires at now+1h, unbound
	expiredB := f.enrollment(t, bob) // the same in tenant B: pruning is across tenants
	bound := f.enrollment(t, ann)    // expired too, but bound: kept
	d, _ := f.device(t, ann, 1)
	must(t, "IssueCert", as.IssueCert(f.ctx, bound.ID, f.now))
	must(t, "BindEnrollment", as.BindEnrollment(f.ctx, bound.ID, d.ID))
	live := mdm.AppleEnrollment{ID: fmt.Sprintf("%x", randomBytes(t, 16)), TenantID: f.A.ID, AccountID: ann.ID,
		ChallengeHash: randomBytes(t, 32), CreatedAt: f.now, ExpiresAt: f.now.Add(3 * time.Hour)}
	must(t, "CreateEnrollment(live)", as.CreateEnrollment(f.ctx, live))

	// Nothing has expired before its own expiry.
	n, err := as.PruneEnrollments(f.ctx, f.now.Add(time.Hour))
	must(t, "PruneEnrollments at expiry", err)
	if n != 0 {
		t.Errorf("PruneEnrollments at the expiry instant removed %d, want 0", n)
	}
	n, err = as.PruneEnrollments(f.ctx, f.now.Add(2*time.Hour))
	must(t, "PruneEnrollments", err)
	if n != 2 {
		t.Errorf("PruneEnrollments removed %d, want 2", n)
	}
	for _, id := range []string{expiredA.ID, expiredB.ID} {
		_, err := as.Enrollment(f.ctx, id)
		wantCode(t, "Enrollment(pruned)", err, mdm.NotFound)
	}
	for _, id := range []string{bound.ID, live.ID} {
		_, err := as.Enrollment(f.ctx, id)
		must(t, "Enrollment(kept)", err)
	}
}

func testAppleEnrollmentsGoWithAccount(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	amy := f.account(t, f.A.ID, "amy@a.example.com")
	gone := f.enrollment(t, ann)
	kept := f.enrollment(t, amy)
	n, err := f.s.Accounts().Delete(f.ctx, f.A.ID, []mdm.AccountID{ann.ID})
	must(t, "Accounts().Delete", err)
	if n != 1 {
		t.Fatalf("Accounts().Delete removed %d, want 1", n)
	}
	_, err = as.Enrollment(f.ctx, gone.ID)
	wantCode(t, "Enrollment of a deleted account", err, mdm.NotFound)
	_, err = as.EnrollmentByChallenge(f.ctx, gone.ChallengeHash)
	wantCode(t, "EnrollmentByChallenge of a deleted account", err, mdm.NotFound)
	wantCode(t, "IssueCert of a deleted account", as.IssueCert(f.ctx, gone.ID, f.now), mdm.NotFound)
	_, err = as.Enrollment(f.ctx, kept.ID)
	must(t, "Enrollment of another account", err)
}

// appleDevice registers a device for owner and stores its Apple state.
func (f *fixture) appleDevice(t *testing.T, owner mdm.Account, n int, udid string) (mdm.Device, mdm.AppleDevice) {
	t.Helper()
	d, _ := f.device(t, owner, n)
	ad := mdm.AppleDevice{
		TenantID: owner.TenantID, DeviceID: d.ID, UDID: udid, EnrollmentID: fmt.Sprintf("%x", randomBytes(t, 16)),
		Topic: "com.apple.mgmt.External.0f5c", PushMagic: fmt.Sprintf("magic-%d", n), EnrolledAt: f.now,
	}
	must(t, "PutDevice", f.s.Apple().PutDevice(f.ctx, ad))
	return d, ad
}

func testAppleDevice(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d, ad := f.appleDevice(t, ann, 1, "00008030-001A2B3C4D5E6F70")
	got, err := as.Device(f.ctx, f.A.ID, d.ID)
	must(t, "Device", err)
	if diff := diff(ad, *got); diff != "" {
		t.Errorf("Device (-want +got):\n%s", diff)
	}
	wantUTC(t, "Device", got.EnrolledAt)
	if !got.TokenAt.IsZero() || !got.InventoryAt.IsZero() || got.UnlockToken != nil {
		t.Errorf("new device: TokenAt %v, InventoryAt %v, UnlockToken %x; want zero, zero, nil", got.TokenAt, got.InventoryAt, got.UnlockToken)
	}

	// TokenUpdate with an unlock token, then one without: the token stays.
	sealed := randomBytes(t, 48)
	tokenAt := f.now.Add(time.Minute)
	must(t, "SetToken", as.SetToken(f.ctx, f.A.ID, d.ID, "magic-2", sealed, "com.apple.mgmt.External.new", tokenAt))
	later := tokenAt.Add(time.Minute)
	must(t, "SetToken(no unlock token)", as.SetToken(f.ctx, f.A.ID, d.ID, "magic-3", nil, "com.apple.mgmt.External.new", later))
	inv := later.Add(time.Hour)
	must(t, "SetInventoryAt", as.SetInventoryAt(f.ctx, f.A.ID, d.ID, inv))
	want := ad
	want.PushMagic, want.UnlockToken, want.Topic, want.TokenAt, want.InventoryAt = "magic-3", sealed, "com.apple.mgmt.External.new", later, inv
	got, err = as.Device(f.ctx, f.A.ID, d.ID)
	must(t, "Device after updates", err)
	if diff := diff(want, *got); diff != "" {
		t.Errorf("Device after SetToken and SetInventoryAt (-want +got):\n%s", diff)
	}
	wantUTC(t, "Device after updates", got.TokenAt, got.InventoryAt)
	magic, err := as.PushMagic(f.ctx, f.A.ID, d.ID)
	must(t, "PushMagic", err)
	if magic != "magic-3" {
		t.Errorf("PushMagic = %q, want magic-3", magic)
	}

	// PutDevice replaces the whole state (a re-enrollment of the same record).
	re := mdm.AppleDevice{TenantID: f.A.ID, DeviceID: d.ID, UDID: ad.UDID, EnrollmentID: "second", Topic: "t2",
		PushMagic: "", EnrolledAt: later}
	must(t, "PutDevice(replace)", as.PutDevice(f.ctx, re))
	got, err = as.Device(f.ctx, f.A.ID, d.ID)
	must(t, "Device after replace", err)
	if diff := diff(re, *got); diff != "" {
		t.Errorf("Device after replace (-want +got):\n%s", diff)
	}

	// Unknown devices and bad input.
	wantCode(t, "PutDevice(unknown device)", as.PutDevice(f.ctx, mdm.AppleDevice{TenantID: f.A.ID, DeviceID: d.ID + 1000,
		UDID: "x", EnrolledAt: f.now}), mdm.NotFound)
	wantCode(t, "PutDevice(no UDID)", as.PutDevice(f.ctx, mdm.AppleDevice{TenantID: f.A.ID, DeviceID: d.ID, EnrolledAt: f.now}), mdm.Invalid)
	wantCode(t, "PutDevice(NUL in topic)", as.PutDevice(f.ctx, mdm.AppleDevice{TenantID: f.A.ID, DeviceID: d.ID, UDID: "u",
		Topic: "a\x00b", EnrolledAt: f.now}), mdm.Invalid)
	wantCode(t, "SetToken(bad UTF-8)", as.SetToken(f.ctx, f.A.ID, d.ID, "\xff", nil, "t", f.now), mdm.Invalid)
	got, err = as.Device(f.ctx, f.A.ID, d.ID)
	must(t, "Device after refused writes", err)
	if diff := diff(re, *got); diff != "" {
		t.Errorf("refused writes changed the device (-want +got):\n%s", diff)
	}
	// A device record without Apple state.
	plain, _ := f.device(t, ann, 2)
	_, err = as.Device(f.ctx, f.A.ID, plain.ID)
	wantCode(t, "Device(no Apple state)", err, mdm.NotFound)
	wantCode(t, "SetToken(no Apple state)", as.SetToken(f.ctx, f.A.ID, plain.ID, "m", nil, "t", f.now), mdm.NotFound)
	wantCode(t, "SetInventoryAt(no Apple state)", as.SetInventoryAt(f.ctx, f.A.ID, plain.ID, f.now), mdm.NotFound)
	_, err = as.PushMagic(f.ctx, f.A.ID, plain.ID)
	wantCode(t, "PushMagic(no Apple state)", err, mdm.NotFound)
}

func testAppleDeviceByUDID(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	const udid = "00008101-000A1B2C3D4E5F60"
	old, _ := f.appleDevice(t, ann, 1, udid)
	got, err := as.DeviceByUDID(f.ctx, f.A.ID, udid)
	must(t, "DeviceByUDID", err)
	if got.DeviceID != old.ID {
		t.Errorf("DeviceByUDID = device %d, want %d", got.DeviceID, old.ID)
	}
	// Retired: no longer found. A re-enrollment makes a new record, which is found.
	_, err = f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{old.ID}, everyState, mdm.StateRetired, f.now)
	must(t, "SetState(RETIRED)", err)
	_, err = as.DeviceByUDID(f.ctx, f.A.ID, udid)
	wantCode(t, "DeviceByUDID(retired)", err, mdm.NotFound)
	newer, _ := f.appleDevice(t, ann, 2, udid)
	got, err = as.DeviceByUDID(f.ctx, f.A.ID, udid)
	must(t, "DeviceByUDID(re-enrolled)", err)
	if got.DeviceID != newer.ID {
		t.Errorf("DeviceByUDID after re-enrollment = device %d, want %d", got.DeviceID, newer.ID)
	}
	// Wiped: not found either; a pending state still is.
	_, err = f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{newer.ID}, everyState, mdm.StateWipePending, f.now)
	must(t, "SetState(WIPE_PENDING)", err)
	_, err = as.DeviceByUDID(f.ctx, f.A.ID, udid)
	must(t, "DeviceByUDID(wipe pending)", err)
	_, err = f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{newer.ID}, everyState, mdm.StateWiped, f.now)
	must(t, "SetState(WIPED)", err)
	_, err = as.DeviceByUDID(f.ctx, f.A.ID, udid)
	wantCode(t, "DeviceByUDID(wiped)", err, mdm.NotFound)
	for _, u := range []string{"", "unknown-udid", "bad\xff"} {
		_, err = as.DeviceByUDID(f.ctx, f.A.ID, u)
		wantCode(t, fmt.Sprintf("DeviceByUDID(%q)", u), err, mdm.NotFound)
	}
}

func testAppleDeviceTenantsApart(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	const udid = "00008030-0011223344556677"
	d, ad := f.appleDevice(t, ann, 1, udid)
	bd, _ := f.appleDevice(t, bob, 2, "00008030-BBBBBBBBBBBBBBBB")

	// B cannot read A's device, by id or UDID.
	_, err := as.Device(f.ctx, f.B.ID, d.ID)
	wantCode(t, "Device(B, A's device)", err, mdm.NotFound)
	_, err = as.DeviceByUDID(f.ctx, f.B.ID, udid)
	wantCode(t, "DeviceByUDID(B, A's UDID)", err, mdm.NotFound)
	_, err = as.PushMagic(f.ctx, f.B.ID, d.ID)
	wantCode(t, "PushMagic(B, A's device)", err, mdm.NotFound)
	// Nor write it.
	wantCode(t, "PutDevice(B, A's device)", as.PutDevice(f.ctx, mdm.AppleDevice{TenantID: f.B.ID, DeviceID: d.ID,
		UDID: udid, EnrolledAt: f.now}), mdm.NotFound)
	wantCode(t, "SetToken(B, A's device)", as.SetToken(f.ctx, f.B.ID, d.ID, "evil", randomBytes(t, 8), "evil", f.now), mdm.NotFound)
	wantCode(t, "SetInventoryAt(B, A's device)", as.SetInventoryAt(f.ctx, f.B.ID, d.ID, f.now), mdm.NotFound)
	got, err := as.Device(f.ctx, f.A.ID, d.ID)
	must(t, "Device(A)", err)
	if diff := diff(ad, *got); diff != "" {
		t.Errorf("A's device after B's attempts (-want +got):\n%s", diff)
	}
	// B's own device stays B's.
	if got, err := as.Device(f.ctx, f.B.ID, bd.ID); err != nil || got.TenantID != f.B.ID {
		t.Errorf("Device(B, B's device) = %v, %v", got, err)
	}
}

// testAppleDeviceGoesWithDevice: deleting a device through the device store removes its Apple state.
// (The schema's cascade itself, a delete in plain SQL, is checked by the SQL store's own tests: the
// suite speaks only through the store interfaces.)
func testAppleDeviceGoesWithDevice(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	d, _ := f.appleDevice(t, ann, 1, "udid-1")
	kept, _ := f.appleDevice(t, ann, 2, "udid-2")
	n, err := f.s.Devices().Delete(f.ctx, f.A.ID, []mdm.DeviceID{d.ID})
	must(t, "Devices().Delete", err)
	if n != 1 {
		t.Fatalf("Devices().Delete removed %d, want 1", n)
	}
	_, err = as.Device(f.ctx, f.A.ID, d.ID)
	wantCode(t, "Device after the device was deleted", err, mdm.NotFound)
	_, err = as.DeviceByUDID(f.ctx, f.A.ID, "udid-1")
	wantCode(t, "DeviceByUDID after the device was deleted", err, mdm.NotFound)
	_, err = as.Device(f.ctx, f.A.ID, kept.ID)
	must(t, "Device(another device)", err)
}

// iosDevice registers an iOS device for owner with Apple state enrolled at enrolled and inventory
// taken at inventory (zero: never).
func (f *fixture) iosDevice(t *testing.T, owner mdm.Account, n int, enrolled, inventory time.Time) mdm.DeviceID {
	t.Helper()
	nd := newDevice(t, owner, n)
	nd.Platform, nd.Kind = mdm.PlatformIOS, mdm.KindIPhone
	d, err := f.s.Devices().Create(f.ctx, nd, f.now)
	must(t, "Create device", err)
	must(t, "PutDevice", f.s.Apple().PutDevice(f.ctx, mdm.AppleDevice{TenantID: owner.TenantID, DeviceID: d.ID,
		UDID: fmt.Sprintf("udid-%d", n), EnrollmentID: fmt.Sprintf("e-%d", n), EnrolledAt: enrolled, InventoryAt: inventory}))
	return d.ID
}

func testAppleInventoryDue(t *testing.T, f *fixture) {
	as := f.s.Apple()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	h := func(n int) time.Time { return f.now.Add(time.Duration(n) * time.Hour) }
	never := time.Time{}
	// Due before h(10), oldest first across tenants: B's (enrolled h(1), never answered), A's answered
	// at h(2), A's enrolled h(0) and answered h(3).
	b1 := f.iosDevice(t, bob, 1, h(1), never)
	a2 := f.iosDevice(t, ann, 2, h(-5), h(2))
	a3 := f.iosDevice(t, ann, 3, h(0), h(3))
	f.iosDevice(t, ann, 4, h(0), h(10))  // answered at the boundary: not due (before is exclusive)
	f.iosDevice(t, ann, 5, h(12), never) // enrolled later
	retired := f.iosDevice(t, ann, 6, h(0), never)
	_, err := f.s.Devices().SetState(f.ctx, f.A.ID, []mdm.DeviceID{retired}, everyState, mdm.StateRetired, f.now)
	must(t, "SetState(RETIRED)", err)
	android, _ := f.appleDevice(t, ann, 7, "udid-android") // Apple state on a non-iOS record: not listed
	asked := f.iosDevice(t, ann, 8, h(0), never)
	_, err = f.s.Commands().Enqueue(f.ctx, f.A.ID, []mdm.DeviceID{asked}, []string{mdm.StateActive},
		mdm.NewCommand{Type: mdm.CmdDeviceInformation, CreatedBy: "system"}, f.now)
	must(t, "Enqueue(DeviceInformation)", err)
	// An open command of another type does not count as asked.
	appsOnly := f.iosDevice(t, ann, 9, h(4), never)
	_, err = f.s.Commands().Enqueue(f.ctx, f.A.ID, []mdm.DeviceID{appsOnly}, []string{mdm.StateActive},
		mdm.NewCommand{Type: mdm.CmdInstalledApps, CreatedBy: "system"}, f.now)
	must(t, "Enqueue(InstalledApps)", err)

	ids := func(ds []mdm.AppleDevice) []mdm.DeviceID {
		out := []mdm.DeviceID{}
		for _, d := range ds {
			out = append(out, d.DeviceID)
		}
		return out
	}
	got, err := as.InventoryDue(f.ctx, h(10), 100)
	must(t, "InventoryDue", err)
	if d := diff([]mdm.DeviceID{b1, a2, a3, appsOnly}, ids(got)); d != "" {
		t.Errorf("InventoryDue, oldest first (-want +got):\n%s", d)
	}
	for _, d := range got {
		if d.DeviceID == b1 && d.TenantID != f.B.ID || d.DeviceID != b1 && d.TenantID != f.A.ID {
			t.Errorf("InventoryDue: device %d in tenant %s", d.DeviceID, d.TenantID)
		}
		if d.DeviceID == android.ID {
			t.Errorf("InventoryDue listed a non-iOS device")
		}
	}
	got, err = as.InventoryDue(f.ctx, h(10), 2)
	must(t, "InventoryDue(limit 2)", err)
	if d := diff([]mdm.DeviceID{b1, a2}, ids(got)); d != "" {
		t.Errorf("InventoryDue(limit 2) (-want +got):\n%s", d)
	}
	got, err = as.InventoryDue(f.ctx, h(1), 100)
	must(t, "InventoryDue(at the first due time)", err)
	if len(got) != 0 {
		t.Errorf("InventoryDue(h1) = %v, want none", ids(got))
	}

	// Once the asked device answers, it is due again when its answer gets old.
	cmds, err := f.s.Commands().Due(f.ctx, f.A.ID, asked, f.now, 10)
	must(t, "Due", err)
	if len(cmds) != 1 {
		t.Fatalf("asked device has %d due commands, want 1", len(cmds))
	}
	_, err = f.s.Commands().Complete(f.ctx, f.A.ID, asked, mdm.CommandResult{ID: cmds[0].ID, Status: mdm.CmdAcknowledged}, f.now)
	must(t, "Complete", err)
	got, err = as.InventoryDue(f.ctx, h(10), 100)
	must(t, "InventoryDue after the answer", err)
	if d := diff([]mdm.DeviceID{asked, b1, a2, a3, appsOnly}, ids(got)); d != "" {
		t.Errorf("InventoryDue after the asked device answered (-want +got):\n%s", d)
	}
	_, err = as.InventoryDue(f.ctx, h(10), 0)
	wantCode(t, "InventoryDue(limit 0)", err, mdm.Invalid)
}

func pushCert(t *testing.T, tenant mdm.TenantID, notAfter, uploaded time.Time) mdm.ApplePushCertificate {
	return mdm.ApplePushCertificate{
		TenantID: tenant, CertPEM: []byte("-----BEGIN CERTIFICATE-----\n" + fmt.Sprintf("%x", randomBytes(t, 24)) + "\n-----END CERTIFICATE-----\n"),
		KeySealed: randomBytes(t, 64), Topic: "com.apple.mgmt.External." + fmt.Sprintf("%x", randomBytes(t, 4)),
		NotAfter: notAfter, UploadedBy: "admin@example.com", UploadedAt: uploaded,
	}
}

func testApplePushCertificate(t *testing.T, f *fixture) {
	as := f.s.Apple()
	_, err := as.PushCertificate(f.ctx, f.A.ID)
	wantCode(t, "PushCertificate(none)", err, mdm.NotFound)
	wantCode(t, "DeletePushCertificate(none)", as.DeletePushCertificate(f.ctx, f.A.ID), mdm.NotFound)

	c := pushCert(t, f.A.ID, f.now.Add(365*24*time.Hour), f.now)
	must(t, "PutPushCertificate", as.PutPushCertificate(f.ctx, c))
	got, err := as.PushCertificate(f.ctx, f.A.ID)
	must(t, "PushCertificate", err)
	if d := diff(c, *got); d != "" {
		t.Errorf("PushCertificate (-want +got):\n%s", d)
	}
	wantUTC(t, "PushCertificate", got.NotAfter, got.UploadedAt)
	// B has none, and cannot delete A's.
	_, err = as.PushCertificate(f.ctx, f.B.ID)
	wantCode(t, "PushCertificate(B)", err, mdm.NotFound)
	wantCode(t, "DeletePushCertificate(B)", as.DeletePushCertificate(f.ctx, f.B.ID), mdm.NotFound)

	// Renewal replaces it.
	renewed := pushCert(t, f.A.ID, f.now.Add(2*365*24*time.Hour), f.now.Add(time.Hour))
	must(t, "PutPushCertificate(renew)", as.PutPushCertificate(f.ctx, renewed))
	got, err = as.PushCertificate(f.ctx, f.A.ID)
	must(t, "PushCertificate after renewal", err)
	if d := diff(renewed, *got); d != "" {
		t.Errorf("PushCertificate after renewal (-want +got):\n%s", d)
	}

	// Bad input and unknown tenants.
	for name, bad := range map[string]func(c *mdm.ApplePushCertificate){
		"no cert":      func(c *mdm.ApplePushCertificate) { c.CertPEM = nil },
		"no key":       func(c *mdm.ApplePushCertificate) { c.KeySealed = nil },
		"no topic":     func(c *mdm.ApplePushCertificate) { c.Topic = "" },
		"NUL in topic": func(c *mdm.ApplePushCertificate) { c.Topic = "a\x00" },
		"no tenant":    func(c *mdm.ApplePushCertificate) { c.TenantID = "" },
	} {
		b := pushCert(t, f.A.ID, f.now, f.now)
		bad(&b)
		wantCode(t, "PutPushCertificate("+name+")", as.PutPushCertificate(f.ctx, b), mdm.Invalid)
	}
	wantCode(t, "PutPushCertificate(unknown tenant)", as.PutPushCertificate(f.ctx, pushCert(t, newTenantID(t), f.now, f.now)), mdm.NotFound)
	got, err = as.PushCertificate(f.ctx, f.A.ID)
	must(t, "PushCertificate after refused writes", err)
	if d := diff(renewed, *got); d != "" {
		t.Errorf("refused writes changed the certificate (-want +got):\n%s", d)
	}

	must(t, "DeletePushCertificate", as.DeletePushCertificate(f.ctx, f.A.ID))
	_, err = as.PushCertificate(f.ctx, f.A.ID)
	wantCode(t, "PushCertificate after delete", err, mdm.NotFound)
	wantCode(t, "DeletePushCertificate again", as.DeletePushCertificate(f.ctx, f.A.ID), mdm.NotFound)
}

func testApplePushCertificatesExpiring(t *testing.T, f *fixture) {
	as := f.s.Apple()
	c := f.tenant(t, "Tenant C", 5)
	soon := pushCert(t, f.B.ID, f.now.Add(24*time.Hour), f.now)
	sooner := pushCert(t, c.ID, f.now.Add(time.Hour), f.now)
	late := pushCert(t, f.A.ID, f.now.Add(60*24*time.Hour), f.now)
	for _, p := range []mdm.ApplePushCertificate{soon, sooner, late} {
		must(t, "PutPushCertificate", as.PutPushCertificate(f.ctx, p))
	}
	got, err := as.PushCertificatesExpiring(f.ctx, f.now.Add(30*24*time.Hour))
	must(t, "PushCertificatesExpiring", err)
	if d := diff([]mdm.ApplePushCertificate{sooner, soon}, got); d != "" {
		t.Errorf("PushCertificatesExpiring, soonest first (-want +got):\n%s", d)
	}
	// before is exclusive.
	got, err = as.PushCertificatesExpiring(f.ctx, sooner.NotAfter)
	must(t, "PushCertificatesExpiring(at the first expiry)", err)
	if len(got) != 0 {
		t.Errorf("PushCertificatesExpiring at the first expiry = %d certificates, want 0", len(got))
	}
}

func testAppleCA(t *testing.T, f *fixture) {
	as := f.s.Apple()
	_, err := as.CA(f.ctx)
	wantCode(t, "CA before InitCA", err, mdm.NotFound)
	_, err = as.InitCA(f.ctx, mdm.AppleCA{CertDER: nil, KeySealed: randomBytes(t, 8), CreatedAt: f.now})
	wantCode(t, "InitCA(no certificate)", err, mdm.Invalid)
	first := mdm.AppleCA{CertDER: randomBytes(t, 300), KeySealed: randomBytes(t, 120), CreatedAt: f.now}
	got, err := as.InitCA(f.ctx, first)
	must(t, "InitCA", err)
	if d := diff(first, *got); d != "" {
		t.Errorf("InitCA (-want +got):\n%s", d)
	}
	wantUTC(t, "InitCA", got.CreatedAt)
	second := mdm.AppleCA{CertDER: randomBytes(t, 300), KeySealed: randomBytes(t, 120), CreatedAt: f.now.Add(time.Hour)}
	got, err = as.InitCA(f.ctx, second)
	must(t, "InitCA again", err)
	if d := diff(first, *got); d != "" {
		t.Errorf("InitCA again returns the first CA (-want +got):\n%s", d)
	}
	got, err = as.CA(f.ctx)
	must(t, "CA", err)
	if d := diff(first, *got); d != "" {
		t.Errorf("CA (-want +got):\n%s", d)
	}
}

// testAppleInitCAConcurrent: replicas starting together each offer their own CA; all end up with one.
func testAppleInitCAConcurrent(t *testing.T, f *fixture) {
	const workers = 8
	offered := make([]mdm.AppleCA, workers)
	for i := range offered {
		offered[i] = mdm.AppleCA{CertDER: randomBytes(t, 200), KeySealed: randomBytes(t, 100), CreatedAt: f.now.Add(time.Duration(i) * time.Second)}
	}
	got := make([]*mdm.AppleCA, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = f.s.Apple().InitCA(f.ctx, offered[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		must(t, fmt.Sprintf("InitCA call %d", i), err)
	}
	stored, err := f.s.Apple().CA(f.ctx)
	must(t, "CA", err)
	isOffered := false
	for _, o := range offered {
		if diff(o, *stored) == "" {
			isOffered = true
		}
	}
	if !isOffered {
		t.Errorf("the stored CA is none of those offered")
	}
	for i, g := range got {
		if d := diff(*stored, *g); d != "" {
			t.Errorf("InitCA call %d returned a CA other than the stored one (-stored +got):\n%s", i, d)
		}
	}
}
