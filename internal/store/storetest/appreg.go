package storetest

import (
	"fmt"
	"testing"
	"time"

	"steward/internal/mdm"
)

var appRegTests = []test{
	{"CreateList", testAppRegCreateList},
	{"TenantsApart", testAppRegTenantsApart},
	{"DuplicateClientID", testAppRegDuplicateClientID},
	{"GetByClientID", testAppRegGetByClientID},
	{"TouchAuthenticated", testAppRegTouchAuthenticated},
	{"Invalid", testAppRegInvalid},
}

// appReg stores a registration of tenant with a fresh client id and secret hash.
func (f *fixture) appReg(t *testing.T, tenant mdm.TenantID, appType string, scopes ...string) mdm.AppRegistration {
	t.Helper()
	r := mdm.AppRegistration{TenantID: tenant, ClientID: fmt.Sprintf("AppReg_test_%x", randomBytes(t, 8)),
		SecretHash: randomBytes(t, 32), AppType: appType, Scopes: scopes, Description: "for " + appType,
		CreatedBy: "admin@example.com", CreatedAt: f.now}
	must(t, "Create app registration", f.s.AppRegistrations().Create(f.ctx, &r))
	if r.ID == 0 {
		t.Fatal("Create left the app registration's ID zero")
	}
	return r
}

// testAppRegCreateList: every field comes back as stored, oldest first, each tenant's list its own.
func testAppRegCreateList(t *testing.T, f *fixture) {
	a1 := f.appReg(t, f.A.ID, "CUSTOM", "read", "device.action")
	a2 := f.appReg(t, f.A.ID, "CSM", "dataservices.read")
	b1 := f.appReg(t, f.B.ID, "UWM")
	if a1.ID == a2.ID || a2.ID == b1.ID {
		t.Fatalf("ids %d, %d, %d are not distinct", a1.ID, a2.ID, b1.ID)
	}
	gotA, err := f.s.AppRegistrations().List(f.ctx, f.A.ID)
	must(t, "List A", err)
	if d := diff([]mdm.AppRegistration{a1, a2}, gotA); d != "" {
		t.Errorf("List(A) (-want +got):\n%s", d)
	}
	for _, r := range gotA {
		wantUTC(t, "List(A)", r.CreatedAt)
		if !r.LastAuthenticatedAt.IsZero() {
			t.Errorf("a new registration's LastAuthenticatedAt = %v, want zero", r.LastAuthenticatedAt)
		}
	}
	gotB, err := f.s.AppRegistrations().List(f.ctx, f.B.ID)
	must(t, "List B", err)
	if d := diff([]mdm.AppRegistration{b1}, gotB); d != "" {
		t.Errorf("List(B) (-want +got):\n%s", d)
	}
	got, err := f.s.AppRegistrations().Get(f.ctx, f.A.ID, a1.ID)
	must(t, "Get", err)
	if d := diff(a1, got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
}

// testAppRegTenantsApart: B can neither read nor delete A's registration; A deletes it for good.
func testAppRegTenantsApart(t *testing.T, f *fixture) {
	st := f.s.AppRegistrations()
	a := f.appReg(t, f.A.ID, "CUSTOM", "read")
	_, err := st.Get(f.ctx, f.B.ID, a.ID)
	wantCode(t, "Get of A's registration as B", err, mdm.NotFound)
	wantCode(t, "Delete of A's registration as B", st.Delete(f.ctx, f.B.ID, a.ID), mdm.NotFound)
	if _, err := st.Get(f.ctx, f.A.ID, a.ID); err != nil {
		t.Fatalf("A's registration after B's delete: %v", err)
	}
	_, err = st.Get(f.ctx, f.A.ID, a.ID+1000)
	wantCode(t, "Get of an unknown id", err, mdm.NotFound)

	must(t, "Delete", st.Delete(f.ctx, f.A.ID, a.ID))
	_, err = st.Get(f.ctx, f.A.ID, a.ID)
	wantCode(t, "Get after Delete", err, mdm.NotFound)
	_, err = st.GetByClientID(f.ctx, a.ClientID)
	wantCode(t, "GetByClientID after Delete", err, mdm.NotFound)
	wantCode(t, "second Delete", st.Delete(f.ctx, f.A.ID, a.ID), mdm.NotFound)
	if got, err := st.List(f.ctx, f.A.ID); err != nil || len(got) != 0 {
		t.Errorf("List(A) after Delete = %v, %v; want none", got, err)
	}
	// A new registration never gets a deleted one's id.
	if n := f.appReg(t, f.A.ID, "CUSTOM"); n.ID == a.ID {
		t.Errorf("a new registration reused the deleted id %d", a.ID)
	}
}

// testAppRegDuplicateClientID: client ids are unique across tenants; the refused create stores nothing.
func testAppRegDuplicateClientID(t *testing.T, f *fixture) {
	a := f.appReg(t, f.A.ID, "CUSTOM")
	for _, tenant := range []mdm.TenantID{f.A.ID, f.B.ID} {
		dup := mdm.AppRegistration{TenantID: tenant, ClientID: a.ClientID, SecretHash: randomBytes(t, 32), AppType: "CSM",
			CreatedBy: "x", CreatedAt: f.now}
		wantCode(t, "Create with a taken client id in "+string(tenant), f.s.AppRegistrations().Create(f.ctx, &dup), mdm.Conflict)
	}
	if got, _ := f.s.AppRegistrations().List(f.ctx, f.B.ID); len(got) != 0 {
		t.Errorf("List(B) after the refused create = %v, want none", got)
	}
	if got, _ := f.s.AppRegistrations().List(f.ctx, f.A.ID); len(got) != 1 {
		t.Errorf("List(A) after the refused creates has %d registrations, want 1", len(got))
	}
}

// testAppRegGetByClientID finds a registration with its tenant by client id alone.
func testAppRegGetByClientID(t *testing.T, f *fixture) {
	a := f.appReg(t, f.A.ID, "PATCH_GROUP_ADMIN", "patchgroup.reader", "patchgroup.admin")
	b := f.appReg(t, f.B.ID, "CSM")
	for _, want := range []mdm.AppRegistration{a, b} {
		got, err := f.s.AppRegistrations().GetByClientID(f.ctx, want.ClientID)
		must(t, "GetByClientID", err)
		if d := diff(want, got); d != "" {
			t.Errorf("GetByClientID(%s) (-want +got):\n%s", want.ClientID, d)
		}
	}
	_, err := f.s.AppRegistrations().GetByClientID(f.ctx, "AppReg_nobody")
	wantCode(t, "GetByClientID of an unknown client", err, mdm.NotFound)
}

// testAppRegTouchAuthenticated: the last authentication only moves forward, many clients at once,
// across tenants, and clients that are gone are skipped without failing the others.
func testAppRegTouchAuthenticated(t *testing.T, f *fixture) {
	st := f.s.AppRegistrations()
	a := f.appReg(t, f.A.ID, "CUSTOM")
	b := f.appReg(t, f.B.ID, "CSM")
	gone := f.appReg(t, f.A.ID, "UWM")
	must(t, "Delete", st.Delete(f.ctx, f.A.ID, gone.ID))
	last := func(r mdm.AppRegistration) time.Time {
		t.Helper()
		got, err := st.Get(f.ctx, r.TenantID, r.ID)
		must(t, "Get", err)
		wantUTC(t, "LastAuthenticatedAt", got.LastAuthenticatedAt)
		return got.LastAuthenticatedAt
	}
	t1, t2 := f.now.Add(time.Minute), f.now.Add(2*time.Minute)
	must(t, "Touch", st.TouchAuthenticated(f.ctx, map[string]time.Time{a.ClientID: t2, b.ClientID: t1,
		gone.ClientID: t2, "AppReg_unknown": t2}))
	if got := last(a); !got.Equal(t2) {
		t.Errorf("A's last authentication = %v, want %v", got, t2)
	}
	if got := last(b); !got.Equal(t1) {
		t.Errorf("B's last authentication = %v, want %v", got, t1)
	}
	// An older time (a slow replica's flush) never moves it back; a newer one moves it on.
	must(t, "Touch older", st.TouchAuthenticated(f.ctx, map[string]time.Time{a.ClientID: t1, b.ClientID: t2}))
	if got := last(a); !got.Equal(t2) {
		t.Errorf("A's last authentication after an older touch = %v, want %v kept", got, t2)
	}
	if got := last(b); !got.Equal(t2) {
		t.Errorf("B's last authentication after a newer touch = %v, want %v", got, t2)
	}
	_, err := st.GetByClientID(f.ctx, gone.ClientID)
	wantCode(t, "the deleted client after a touch", err, mdm.NotFound)
	must(t, "Touch nothing", st.TouchAuthenticated(f.ctx, map[string]time.Time{}))
	if got, _ := st.List(f.ctx, f.A.ID); len(got) != 1 || !got[0].LastAuthenticatedAt.Equal(t2) {
		t.Errorf("List(A) = %+v, want A's one registration last authenticated at %v", got, t2)
	}
}

// testAppRegInvalid: a registration without tenant, client id, secret hash or type is refused.
func testAppRegInvalid(t *testing.T, f *fixture) {
	ok := mdm.AppRegistration{TenantID: f.A.ID, ClientID: "AppReg_x", SecretHash: randomBytes(t, 32), AppType: "CSM",
		CreatedBy: "x", CreatedAt: f.now}
	for name, mutate := range map[string]func(*mdm.AppRegistration){
		"no tenant":      func(r *mdm.AppRegistration) { r.TenantID = "" },
		"no client id":   func(r *mdm.AppRegistration) { r.ClientID = "" },
		"no secret hash": func(r *mdm.AppRegistration) { r.SecretHash = nil },
		"no type":        func(r *mdm.AppRegistration) { r.AppType = "" },
	} {
		r := ok
		mutate(&r)
		wantCode(t, name, f.s.AppRegistrations().Create(f.ctx, &r), mdm.Invalid)
	}
	unknown := ok
	unknown.TenantID = newTenantID(t)
	wantCode(t, "unknown tenant", f.s.AppRegistrations().Create(f.ctx, &unknown), mdm.NotFound)
	if got, _ := f.s.AppRegistrations().List(f.ctx, f.A.ID); len(got) != 0 {
		t.Errorf("List(A) after refused creates = %v, want none", got)
	}
}
