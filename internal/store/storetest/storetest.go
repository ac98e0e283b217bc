// Package storetest is the conformance suite that every mdm.Store implementation passes.
//
// Each test runs on a freshly opened, migrated store with two tenants, A and B, and checks that B never
// sees, reads, updates or lists A's data. Backends call Run from their own tests.
package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"steward/internal/mdm"
)

// Run runs the whole suite. open must return a migrated store that no other test uses; it is called
// once per subtest with that subtest's t, so it can register its own cleanup.
func Run(t *testing.T, open func(t *testing.T) mdm.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Tenants", tenantTests},
		{"Accounts", accountTests},
		{"SystemAdmins", systemAdminTests},
		{"Tokens", tokenTests},
		{"Sessions", sessionTests},
		{"Audit", auditTests},
		{"Outbox", outboxTests},
		{"Groups", groupTests},
		{"Registration", registrationTests},
		{"SelfService", selfServiceTests},
		{"EmailTemplates", emailTemplateTests},
		{"InTx", txTests},
		{"Devices", deviceTests},
		{"Commands", commandTests},
		{"Apple", appleTests},
		{"AppRegistrations", appRegTests},
		{"Patch", patchTests},
		{"OAuth", oauthTests},
		{"Configurations", configurationTests},
		{"Distribution", distributionTests},
		{"Content", contentTests},
		{"Apps", appTests},
		{"Policies", policyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, setup(t, open(t)))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, f *fixture)
}

// epoch is the suite's clock. It is a whole millisecond in UTC because the store keeps epoch
// milliseconds; a test that wants to see truncation says so.
var epoch = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// fixture is one fresh store with tenants A and B.
type fixture struct {
	ctx  context.Context
	s    mdm.Store
	now  time.Time
	A, B mdm.Tenant
}

func setup(t *testing.T, s mdm.Store) *fixture {
	t.Helper()
	f := &fixture{ctx: t.Context(), s: s, now: epoch}
	// open promises a migrated store; Ready is how the server checks that.
	if err := s.Ready(f.ctx); err != nil {
		t.Fatalf("Ready on a migrated store: %v", err)
	}
	f.A = f.tenant(t, "Tenant A", 10)
	f.B = f.tenant(t, "Tenant B", 20)
	return f
}

// tenant creates a tenant the way the tenants service does: inside InTx.
func (f *fixture) tenant(t *testing.T, name string, seats int) mdm.Tenant {
	t.Helper()
	tn := mdm.Tenant{
		ID: newTenantID(t), Name: name, State: mdm.TenantActive, LicenseDevices: seats,
		CreatedAt: f.now, ModifiedAt: f.now,
	}
	err := f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(f.ctx, &tn) })
	if err != nil {
		t.Fatalf("create tenant %q: %v", name, err)
	}
	return tn
}

// account creates an enabled account in tenant with the given username.
func (f *fixture) account(t *testing.T, tenant mdm.TenantID, username string) mdm.Account {
	t.Helper()
	a := mdm.Account{
		TenantID: tenant, Username: username, Email: username, FirstName: "First", LastName: "Last",
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Roles: []string{mdm.RoleTenantAdmin},
		Enabled: true, CreatedAt: f.now, ModifiedAt: f.now, CreatedBy: "storetest",
	}
	if err := f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Accounts().Create(f.ctx, &a) }); err != nil {
		t.Fatalf("create account %q: %v", username, err)
	}
	return a
}

// newTenantID returns a random UUID, the form tenant ids take.
func newTenantID(t *testing.T) mdm.TenantID {
	t.Helper()
	b := randomBytes(t, 16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return mdm.TenantID(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code mdm.Code) {
	t.Helper()
	if !mdm.IsCode(err, code) {
		t.Errorf("%s: got error %v (code %q), want code %q", what, err, mdm.ErrorCode(err), code)
	}
}

// must fails the test now when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantUTC fails the test unless every time is in UTC: callers compare and format them without
// converting.
func wantUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for _, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time %v is in %v, want UTC", what, tm, tm.Location())
		}
	}
}

// equate treats nil and empty slices and maps alike: a store may return either for "none".
var equate = cmpopts.EquateEmpty()

func diff(want, got any) string { return cmp.Diff(want, got, equate) }

// exactlyOneWins runs fn from several goroutines at once and checks that exactly one call succeeds and
// every other one fails with conflict.
func exactlyOneWins(t *testing.T, what string, workers int, fn func(i int) error) {
	t.Helper()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !mdm.IsCode(err, mdm.Conflict):
			t.Errorf("concurrent %s, call %d: %v (code %q), want nil or conflict", what, i, err, mdm.ErrorCode(err))
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent calls (%s) succeeded, want exactly 1", wins, workers, what)
	}
}
