package storetest

import (
	"context"
	"testing"
	"time"

	"steward/internal/mdm"
)

var selfServiceTests = []test{
	{"SupportAdmins", testSupportAdmins},
	{"OneResetLink", testOneResetLink},
	{"NoDevices", testNoDevices},
}

func testSupportAdmins(t *testing.T, f *fixture) {
	sa := f.s.SupportAdmins()
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	amy := f.account(t, f.A.ID, "amy@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	for _, tn := range []mdm.TenantID{f.A.ID, f.B.ID} {
		got, err := sa.List(f.ctx, tn)
		must(t, "List", err)
		if len(got) != 0 {
			t.Errorf("tenant %s starts with support admins %v", tn, got)
		}
	}
	must(t, "Set A", sa.Set(f.ctx, f.A.ID, []mdm.AccountID{amy.ID, ann.ID, amy.ID}))
	must(t, "Set B", sa.Set(f.ctx, f.B.ID, []mdm.AccountID{bob.ID}))
	// B's account in A's list, or A's in B's: not_found, and nothing changes.
	wantCode(t, "Set A with B's account", sa.Set(f.ctx, f.A.ID, []mdm.AccountID{ann.ID, bob.ID}), mdm.NotFound)
	wantCode(t, "Set B with A's account", sa.Set(f.ctx, f.B.ID, []mdm.AccountID{ann.ID}), mdm.NotFound)
	want := map[mdm.TenantID][]mdm.AccountID{f.A.ID: sorted(ann.ID, amy.ID), f.B.ID: {bob.ID}}
	for tn, w := range want {
		got, err := sa.List(f.ctx, tn)
		must(t, "List", err)
		if d := diff(w, got); d != "" {
			t.Errorf("List(%s) (-want +got):\n%s", tn, d)
		}
	}
	// Deleting an account removes it from the list; clearing A leaves B alone.
	_, err := f.s.Accounts().Delete(f.ctx, f.A.ID, []mdm.AccountID{amy.ID})
	must(t, "Delete amy", err)
	got, err := sa.List(f.ctx, f.A.ID)
	must(t, "List", err)
	if d := diff([]mdm.AccountID{ann.ID}, got); d != "" {
		t.Errorf("after deleting amy (-want +got):\n%s", d)
	}
	must(t, "clear A", sa.Set(f.ctx, f.A.ID, nil))
	if got, _ := sa.List(f.ctx, f.A.ID); len(got) != 0 {
		t.Errorf("A after clearing: %v", got)
	}
	if got, _ := sa.List(f.ctx, f.B.ID); len(got) != 1 {
		t.Errorf("clearing A changed B: %v", got)
	}
}

func sorted(a, b mdm.AccountID) []mdm.AccountID {
	if a > b {
		a, b = b, a
	}
	return []mdm.AccountID{a, b}
}

// testOneResetLink: an account has at most one unused password reset link, so that two concurrent
// requests cannot both send one; a used link does not count, and other accounts are not affected.
func testOneResetLink(t *testing.T, f *fixture) {
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	bob := f.account(t, f.B.ID, "bob@b.example.com")
	reset := func(a mdm.Account) mdm.OneTimeToken {
		return mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: mdm.TokenPurposePasswordReset, TenantID: a.TenantID,
			AccountID: a.ID, ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now}
	}
	first := reset(ann)
	must(t, "first link", f.s.Tokens().Create(f.ctx, &first))
	second := reset(ann)
	wantCode(t, "second unused link", f.s.Tokens().Create(f.ctx, &second), mdm.Conflict)
	other := reset(bob)
	must(t, "B's link", f.s.Tokens().Create(f.ctx, &other))
	must(t, "use the first", f.s.Tokens().Use(f.ctx, first.Hash, f.now))
	must(t, "a link after the first was used", f.s.Tokens().Create(f.ctx, &second))
	// PINs are not limited this way.
	for range 2 {
		pin := reset(ann)
		pin.Purpose = mdm.TokenPurposeRegistrationPIN
		must(t, "PIN token", f.s.Tokens().Create(f.ctx, &pin))
	}
}

// testNoDevices: an account without devices lists an empty list, not nil (the Devices group covers
// accounts with devices).
func testNoDevices(t *testing.T, f *fixture) {
	ann := f.account(t, f.A.ID, "ann@a.example.com")
	got, err := f.s.Devices().ForAccount(context.Background(), f.A.ID, ann.ID)
	must(t, "ForAccount", err)
	if got == nil || len(got) != 0 {
		t.Errorf("ForAccount = %#v, want an empty list", got)
	}
	if got, err := f.s.Devices().ForAccount(f.ctx, f.B.ID, ann.ID); err != nil || len(got) != 0 {
		t.Errorf("ForAccount through B = %v, %v", got, err)
	}
}
