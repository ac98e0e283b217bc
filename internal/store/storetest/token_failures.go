package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
)

// testTokenCountFailure: wrong guesses count on the account's current unused token of the purpose only,
// never across tenants, and the token is gone at the limit.
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

	count := func(tenant mdm.TenantID, acc mdm.Account, purpose string) int {
		t.Helper()
		n, err := ts.CountFailure(f.ctx, purpose, tenant, acc.ID, 3)
		must(t, "CountFailure", err)
		return n
	}
	// A's account id under B's tenant id counts nothing of A's (and B has no such account).
	if n := count(f.B.ID, a, mdm.TokenPurposeRegistrationPIN); n != 0 {
		t.Errorf("CountFailure(B, A's account) = %d, want 0", n)
	}
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN); n != 1 {
		t.Errorf("first failure on A's PIN = %d, want 1", n)
	}
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN); n != 2 {
		t.Errorf("second failure on A's PIN = %d, want 2", n)
	}
	// B's PIN keeps its own count.
	if n := count(f.B.ID, b, mdm.TokenPurposeRegistrationPIN); n != 1 {
		t.Errorf("first failure on B's PIN = %d, want 1", n)
	}
	// The limit deletes A's unused PIN, and nothing else.
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN); n != 3 {
		t.Errorf("third failure on A's PIN = %d, want 3", n)
	}
	_, err := ts.Get(f.ctx, pinA.Hash)
	wantCode(t, "A's PIN at the limit", err, mdm.NotFound)
	for _, keep := range []mdm.OneTimeToken{used, activationA, pinB} {
		if _, err := ts.Get(f.ctx, keep.Hash); err != nil {
			t.Errorf("%s token of %q after A's PIN reached the limit: %v", keep.Purpose, keep.TenantID, err)
		}
	}
	// No unused PIN left: nothing to count (the used one does not count).
	if n := count(f.A.ID, a, mdm.TokenPurposeRegistrationPIN); n != 0 {
		t.Errorf("failure without an unused PIN = %d, want 0", n)
	}
	if got, err := ts.Get(f.ctx, used.Hash); err != nil || got.UsedAt == nil {
		t.Errorf("A's used PIN = %+v, %v; want kept, used", got, err)
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
			c, err := f.s.Tokens().CountFailure(f.ctx, mdm.TokenPurposeRegistrationPIN, acc.TenantID, acc.ID, 100)
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
