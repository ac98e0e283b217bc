package accounts

import (
	"fmt"
	"testing"
	"time"

	"steward/internal/mdm"
)

// Wrong passwords for one user spread over many addresses lock that user out everywhere, the right
// password included, until the window has passed; other users are not affected.
func TestPasswordGuessesFromManyAddressesLockTheAccount(t *testing.T) {
	f := setup(t)
	if f.svc.limits.perUserAnywhere != signInFailuresPerUser {
		t.Fatalf("per-user limit %d, want %d", f.svc.limits.perUserAnywhere, signInFailuresPerUser)
	}
	// A smaller limit keeps the test quick: each wrong guess costs a password hash.
	limit := 4
	f.svc.limits.perUserAnywhere = limit
	for i := range limit {
		// One guess from each address: far under the per-address limit.
		ctx := mdm.WithClientAddr(f.ctx, fmt.Sprintf("198.51.100.%d", i))
		if _, err := f.svc.Authenticate(ctx, f.admin.Username, "wrong-password"); !mdm.IsCode(err, mdm.Unauthenticated) {
			t.Fatalf("guess %d: %v, want unauthenticated", i+1, err)
		}
	}
	fresh := mdm.WithClientAddr(f.ctx, "203.0.113.50")
	if _, err := f.svc.Authenticate(fresh, f.admin.Username, adminPW); !mdm.IsCode(err, mdm.RateLimited) {
		t.Fatalf("right password from a new address after %d failures: %v, want rate_limited", limit, err)
	}
	if _, err := f.svc.Authenticate(fresh, "admin", "System-admin-pw-1"); err != nil {
		t.Errorf("another user from the same address: %v", err)
	}
	f.clock.add(signInWindow - time.Second)
	if _, err := f.svc.Authenticate(fresh, f.admin.Username, adminPW); !mdm.IsCode(err, mdm.RateLimited) {
		t.Errorf("just inside the window: %v, want rate_limited", err)
	}
	f.clock.add(2 * time.Second)
	if _, err := f.svc.Authenticate(fresh, f.admin.Username, adminPW); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
