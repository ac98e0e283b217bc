package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
)

// testTokenCountFailure: wrong guesses count on the account's current unused token of the purpose only,
// never across tenants, and at the limit the token is revoked in place (expired, count kept), so that
// Latest still shows the lock.
func testTokenCountFailure(t *testing.T, f *fixture) {
	ts := f.s.Tokens()
	a := f.account(t, f.A.ID, "a@example.com")
	b := f.account(t, f.B.ID, "b@example.com")
	mk := func(acc mdm.Account, purpose string, age time.Duration) mdm.OneTimeToken {
		tok := mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: purpose, TenantID: acc.TenantID, AccountID: acc.ID,
			ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now.Add(-age)}
		must(t, "create token", ts.Create(f.ctx, &tok))
		return tok
	}
	used := mk(a, mdm.TokenPurposeRegistrationPIN, 2*time.Minute)
	must(t, "use", ts.Use(f.ctx, used.Hash, f.now))
	pinA := mk(a, mdm.TokenPurposeRegistrationPIN, time.Minute)
	activationA := mk(a, mdm.TokenPurposeActivation, 0)
	pinB := mk(b, mdm.TokenPurposeRegistrationPIN, time.Minute)

	at := func(d time.Duration) time.Time { return f.now.Add(d).Truncate(time.Millisecond) }
	count := func(tenant mdm.TenantID, acc mdm.Account, purpose string, when time.Time) int {
		t.Helper()
		n, err := ts.CountFailure(f.ctx, purpose, tenant, acc.ID, 3, when)
		must(t, "CountFailure", err)
		return n
	}
	// A's account id under B's tenant id counts nothing of A's (and B has no such account).
	if n := count(f.B.ID, a, mdm.TokenPurposeRegistrationPIN, at(0)); n != 0 {
		t.Errorf("CountFailure(B, A's account) = %d, want 0", n)
	}
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN, at(time.Second)); n != 1 {
		t.Errorf("first failure on A's PIN = %d, want 1", n)
	}
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN, at(2*time.Second)); n != 2 {
		t.Errorf("second failure on A's PIN = %d, want 2", n)
	}
	if got, err := ts.Get(f.ctx, pinA.Hash); err != nil || got.FailedAttempts != 2 || got.LastFailedAt == nil ||
		!got.LastFailedAt.Equal(at(2*time.Second)) || !got.ExpiresAt.Equal(pinA.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("A's PIN after 2 failures = %+v, %v; want 2 failures, the last at %v, expiry unchanged", got, err, at(2*time.Second))
	}
	// B's PIN keeps its own count.
	if n := count(f.B.ID, b, mdm.TokenPurposeRegistrationPIN, at(3*time.Second)); n != 1 {
		t.Errorf("first failure on B's PIN = %d, want 1", n)
	}
	// The limit revokes A's unused PIN in place, and nothing else.
	lock := at(4 * time.Second)
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN, lock); n != 3 {
		t.Errorf("third failure on A's PIN = %d, want 3", n)
	}
	got, err := ts.Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, f.A.ID, a.ID)
	if err != nil || !slices.Equal(got.Hash, pinA.Hash) || got.FailedAttempts != 3 || !got.ExpiresAt.Equal(lock) ||
		got.LastFailedAt == nil || !got.LastFailedAt.Equal(lock) || got.UsedAt != nil {
		t.Errorf("A's latest PIN at the limit = %+v, %v; want it kept, 3 failures, expired at %v", got, err, lock)
	}
	for _, keep := range []mdm.OneTimeToken{used, activationA, pinB} {
		got, err := ts.Get(f.ctx, keep.Hash)
		if err != nil || !got.ExpiresAt.Equal(keep.ExpiresAt.Truncate(time.Millisecond)) {
			t.Errorf("%s token of %q after A's PIN reached the limit: %+v, %v; want it unchanged", keep.Purpose, keep.TenantID, got, err)
		}
	}
	if got, err := ts.Get(f.ctx, pinB.Hash); err != nil || got.FailedAttempts != 1 {
		t.Errorf("B's PIN = %+v, %v; want 1 failure", got, err)
	}
	// Guesses at the revoked PIN still count (and move the last failure on), but never move its expiry
	// later.
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN, at(time.Minute)); n != 4 {
		t.Errorf("failure on A's revoked PIN = %d, want 4", n)
	}
	if got, err := ts.Get(f.ctx, pinA.Hash); err != nil || !got.ExpiresAt.Equal(lock) || !got.LastFailedAt.Equal(at(time.Minute)) {
		t.Errorf("A's revoked PIN = %+v, %v; want expiry %v, last failure %v", got, err, lock, at(time.Minute))
	}
	// Revoke (an administrator's new PIN) removes it; then nothing unused is left to count on (the used
	// one does not count).
	must(t, "revoke", ts.Revoke(f.ctx, mdm.TokenPurposeRegistrationPIN, f.A.ID, a.ID))
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN, at(time.Minute)); n != 0 {
		t.Errorf("failure without an unused PIN = %d, want 0", n)
	}
	if got, err := ts.Get(f.ctx, used.Hash); err != nil || got.UsedAt == nil || got.FailedAttempts != 0 {
		t.Errorf("A's used PIN = %+v, %v; want kept, used, no failures", got, err)
	}
}

// testTokenCarriedFailures: a token created with a count and a last failure keeps both, and the next
// wrong guess counts on from there; a token created without them has none.
func testTokenCarriedFailures(t *testing.T, f *fixture) {
	ts := f.s.Tokens()
	a := f.account(t, f.A.ID, "a@example.com")
	b := f.account(t, f.B.ID, "b@example.com")
	last := f.now.Add(-time.Hour).Truncate(time.Millisecond)
	carried := mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: mdm.TokenPurposeRegistrationPIN, TenantID: a.TenantID,
		AccountID: a.ID, ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now, FailedAttempts: 7, LastFailedAt: &last}
	fresh := mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: mdm.TokenPurposeRegistrationPIN, TenantID: b.TenantID,
		AccountID: b.ID, ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now}
	must(t, "create carried", ts.Create(f.ctx, &carried))
	must(t, "create fresh", ts.Create(f.ctx, &fresh))
	got, err := ts.Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, f.A.ID, a.ID)
	if err != nil || got.FailedAttempts != 7 || got.LastFailedAt == nil || !got.LastFailedAt.Equal(last) {
		t.Errorf("A's carried PIN = %+v, %v; want 7 failures, the last at %v", got, err, last)
	}
	got, err = ts.Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, f.B.ID, b.ID)
	if err != nil || got.FailedAttempts != 0 || got.LastFailedAt != nil {
		t.Errorf("B's fresh PIN = %+v, %v; want no failures", got, err)
	}
	if n, err := ts.CountFailure(f.ctx, mdm.TokenPurposeRegistrationPIN, f.A.ID, a.ID, 10, f.now); err != nil || n != 8 {
		t.Errorf("next failure on A's carried PIN = %d, %v; want 8", n, err)
	}
	if n, err := ts.CountFailure(f.ctx, mdm.TokenPurposeRegistrationPIN, f.B.ID, b.ID, 10, f.now); err != nil || n != 1 {
		t.Errorf("first failure on B's PIN = %d, %v; want 1", n, err)
	}
}

// testTokenCountFailureConcurrent: simultaneous failures each count once.
func testTokenCountFailureConcurrent(t *testing.T, f *fixture) {
	acc := f.account(t, f.A.ID, "a@example.com")
	tok := mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: mdm.TokenPurposeRegistrationPIN, TenantID: acc.TenantID,
		AccountID: acc.ID, ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now}
	must(t, "create token", f.s.Tokens().Create(f.ctx, &tok))
	const n = 8
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.s.Tokens().CountFailure(f.ctx, mdm.TokenPurposeRegistrationPIN, acc.TenantID, acc.ID, 100, f.now)
			if err != nil {
				t.Errorf("CountFailure: %v", err)
				return
			}
			mu.Lock()
			got = append(got, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(got)
	want := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if !slices.Equal(got, want) {
		t.Errorf("concurrent counts = %v, want %v", got, want)
	}
}
