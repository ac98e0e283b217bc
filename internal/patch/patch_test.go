package patch_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/patch"
	"steward/internal/store/sqlstore"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Catalog ids of the shipped sample used below.
const (
	ios174  = "5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f06" // CVE-2024-23225, CVE-2024-23296
	ios1741 = "5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f07" // CVE-2024-1580
	ios166  = "5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f02" // CVE-2023-38606, CVE-2023-32434
	ios1651 = "5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f01" // CVE-2023-32434, CVE-2023-32439
	and2403 = "7a4c2e10-6d3b-4c8a-b5e2-9f0a1b2c3d03" // CVE-2024-0039, CVE-2024-23717
)

type fixture struct {
	t     *testing.T
	store *sqlstore.Store
	svc   *patch.Service
	woken []mdm.DeviceID
	// admin, editor and reader are App Registration principals of tenant A; other is an admin of B.
	admin, editor, reader, other, sysadmin, basic context.Context
}

const tenantA, tenantB mdm.TenantID = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"

func client(tenant mdm.TenantID, scopes ...string) context.Context {
	return mdm.WithPrincipal(context.Background(), &mdm.Principal{Kind: mdm.ClientPrincipal, TenantID: tenant,
		Username: "client-" + strings.Join(scopes, "+"), ClientID: "client", Scopes: scopes})
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := sqlstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: store}
	f.svc = patch.New(store, slog.New(slog.NewTextHandler(io.Discard, nil)), patch.WithClock(func() time.Time { return epoch }),
		patch.WithWake(func(_ context.Context, _ mdm.TenantID, ids []mdm.DeviceID) { f.woken = append(f.woken, ids...) }))
	for _, id := range []mdm.TenantID{tenantA, tenantB} {
		tn := mdm.Tenant{ID: id, Name: string(id), State: mdm.TenantActive, LicenseDevices: 100, CreatedAt: epoch, ModifiedAt: epoch}
		if err := store.InTx(t.Context(), func(tx mdm.Stores) error { return tx.Tenants().Create(t.Context(), &tn) }); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.svc.EnsureCatalog(t.Context()); err != nil || n < 10 {
		t.Fatalf("EnsureCatalog = %d, %v", n, err)
	}
	if n, err := f.svc.EnsureCatalog(t.Context()); err != nil || n != 0 {
		t.Fatalf("EnsureCatalog again = %d, %v; want 0 (the catalog is not empty)", n, err)
	}
	f.admin = client(tenantA, authz.ScopePatchGroupReader, authz.ScopePatchGroupAdmin)
	f.editor = client(tenantA, authz.ScopePatchGroupReader, authz.ScopePatchGroupEditor)
	f.reader = client(tenantA, authz.ScopePatchGroupReader)
	f.other = client(tenantB, authz.ScopePatchGroupAdmin)
	f.sysadmin = mdm.WithPrincipal(context.Background(), &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: 1, Username: "admin"})
	f.basic = mdm.WithPrincipal(context.Background(), &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, TenantID: tenantA,
		Username: "dm@a.example.com", Roles: []string{authz.RoleDeviceManagement}})
	return f
}

func wantCode(t *testing.T, what string, err error, code mdm.Code) {
	t.Helper()
	if !mdm.IsCode(err, code) {
		t.Errorf("%s: error %v (code %q), want %q", what, err, mdm.ErrorCode(err), code)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCreateFromCVEs(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		ctx      context.Context
		behalf   string
		in       patch.CVERequest
		want     map[string][]string
		patches  []string
		code     mdm.Code // "" for success
		errField string
	}{
		{name: "admin, known CVEs", ctx: f.admin, behalf: "ann@soc.example.com",
			in:   patch.CVERequest{CVEIDs: []string{"cve-2024-23225", "CVE-2023-32434", "CVE-2024-23225"}, PatchGroupName: ptr("Critical")},
			want: map[string][]string{"CVE-2024-23225": {ios174}, "CVE-2023-32434": {ios1651, ios166}}, patches: []string{ios1651, ios166, ios174}},
		{name: "omit unknown (default)", ctx: f.admin, behalf: "soc",
			in:   patch.CVERequest{CVEIDs: []string{"CVE-2024-1580", "CVE-1999-0001"}},
			want: map[string][]string{"CVE-2024-1580": {ios1741}}, patches: []string{ios1741}},
		{name: "include unknown", ctx: f.admin, behalf: "soc",
			in:   patch.CVERequest{CVEIDs: []string{"CVE-2024-1580", "CVE-1999-0001"}, DataUpdateErrorPolicy: "Include"},
			want: map[string][]string{"CVE-2024-1580": {ios1741}, "CVE-1999-0001": {}}, patches: []string{ios1741}},
		{name: "fail on unknown", ctx: f.admin, behalf: "soc",
			in:   patch.CVERequest{CVEIDs: []string{"CVE-2024-1580", "CVE-1999-0001"}, DataUpdateErrorPolicy: "Fail"},
			code: mdm.Invalid, errField: "cveIds"},
		{name: "Device Management role (Basic)", ctx: f.basic, behalf: "helpdesk",
			in:   patch.CVERequest{CVEIDs: []string{"CVE-2024-0039"}},
			want: map[string][]string{"CVE-2024-0039": {and2403}}, patches: []string{and2403}},
		{name: "editor cannot create", ctx: f.editor, behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}}, code: mdm.Forbidden},
		{name: "reader cannot create", ctx: f.reader, behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}}, code: mdm.Forbidden},
		{name: "System Admin is no tenant", ctx: f.sysadmin, behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}}, code: mdm.Forbidden},
		{name: "anonymous", ctx: context.Background(), behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}}, code: mdm.Unauthenticated},
		{name: "no X-On-Behalf-Of", ctx: f.admin, behalf: "  ", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}},
			code: mdm.Invalid, errField: "X-On-Behalf-Of"},
		{name: "X-On-Behalf-Of too long", ctx: f.admin, behalf: strings.Repeat("a", 256), in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}},
			code: mdm.Invalid, errField: "X-On-Behalf-Of"},
		{name: "no CVEs", ctx: f.admin, behalf: "soc", in: patch.CVERequest{}, code: mdm.Invalid, errField: "cveIds"},
		{name: "not a CVE", ctx: f.admin, behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-24-1"}}, code: mdm.Invalid, errField: "cveIds"},
		{name: "bad policy", ctx: f.admin, behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}, DataUpdateErrorPolicy: "Ignore"},
			code: mdm.Invalid, errField: "dataUpdateErrorPolicy"},
		{name: "blank name", ctx: f.admin, behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}, PatchGroupName: ptr(" ")},
			code: mdm.Invalid, errField: "patchGroupName"},
		{name: "name taken", ctx: f.admin, behalf: "soc", in: patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}, PatchGroupName: ptr("CRITICAL")},
			code: mdm.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.groupCount(tenantA)
			m, err := f.svc.CreateFromCVEs(tt.ctx, tt.behalf, tt.in)
			if tt.code != "" {
				wantCode(t, "CreateFromCVEs", err, tt.code)
				if tt.errField != "" {
					if e, ok := err.(*mdm.Error); !ok || len(e.Fields) == 0 || e.Fields[0].Field != tt.errField {
						t.Errorf("error %v, want a field error on %s", err, tt.errField)
					}
				}
				if n := f.groupCount(tenantA); n != before {
					t.Errorf("a refused request changed the group count from %d to %d", before, n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, m.CVEsToPatches); d != "" {
				t.Errorf("cvesToPatches (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.patches, m.Group.PatchIDs); d != "" {
				t.Errorf("group patches (-want +got):\n%s", d)
			}
			if m.Group.Version != 1 || m.Group.TenantID != tenantA {
				t.Errorf("group = %+v", m.Group)
			}
			got, err := f.svc.GroupCVEs(f.reader, m.Group.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("GroupCVEs (-want +got):\n%s", d)
			}
		})
	}
}

func (f *fixture) groupCount(tenant mdm.TenantID) int {
	f.t.Helper()
	p, err := f.store.Patches().ListGroups(f.t.Context(), tenant, mdm.ListOptions{Rows: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	return p.TotalCount
}

func (f *fixture) auditActions(ctx context.Context, groupID string) []string {
	f.t.Helper()
	p, err := f.svc.ListGroupAudit(ctx, mdm.ListOptions{Rows: 100, Sort: []mdm.SortField{{Field: "id"}},
		Filter: mdm.Compare{Field: "patchGroupId", Op: mdm.Eq, Value: groupID}})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, a := range p.Items {
		out = append(out, fmt.Sprintf("%s v%d %s %s", a.Action, a.GroupVersion, a.PatchID, a.EditedBy))
	}
	return out
}

func TestUpdateFromCVEs(t *testing.T) {
	f := newFixture(t)
	m, err := f.svc.CreateFromCVEs(f.admin, "ann", patch.CVERequest{CVEIDs: []string{"CVE-2024-23225"}, PatchGroupName: ptr("Kernel")})
	if err != nil {
		t.Fatal(err)
	}
	id := m.Group.ID
	want := []string{"Created v1  ann", "PatchAdded v1 " + ios174 + " ann"}
	if d := cmp.Diff(want, f.auditActions(f.reader, id)); d != "" {
		t.Fatalf("audit after create (-want +got):\n%s", d)
	}

	// The editor replaces the patches: one added, one removed, version 2.
	m, err = f.svc.UpdateFromCVEs(f.editor, strings.ToUpper(id), "bob", patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Group.Version != 2 || m.Group.Name != "Kernel" || !slices.Equal(m.Group.PatchIDs, []string{ios1741}) {
		t.Errorf("after update: %+v", m.Group)
	}
	want = append(want, "PatchAdded v2 "+ios1741+" bob", "PatchRemoved v2 "+ios174+" bob")
	if d := cmp.Diff(want, f.auditActions(f.reader, id)); d != "" {
		t.Errorf("audit after update (-want +got):\n%s", d)
	}
	// The same CVEs again: nothing but the version changes, and the history says so.
	if m, err = f.svc.UpdateFromCVEs(f.admin, id, "carl", patch.CVERequest{CVEIDs: []string{"CVE-2024-1580"}, PatchGroupName: ptr("Media")}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "Renamed v3  carl")
	if d := cmp.Diff(want, f.auditActions(f.reader, id)); d != "" || m.Group.Version != 3 {
		t.Errorf("audit after rename (-want +got):\n%s", d)
	}

	refused := []struct {
		name   string
		ctx    context.Context
		id     string
		behalf string
		code   mdm.Code
	}{
		{"reader", f.reader, id, "x", mdm.Forbidden},
		{"other tenant", f.other, id, "x", mdm.NotFound},
		{"unknown group", f.admin, "00000000-0000-4000-8000-000000000000", "x", mdm.NotFound},
		{"not a GUID", f.admin, "42", "x", mdm.Invalid},
		{"no X-On-Behalf-Of", f.editor, id, "", mdm.Invalid},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.UpdateFromCVEs(tt.ctx, tt.id, tt.behalf, patch.CVERequest{CVEIDs: []string{"CVE-2024-0039"}})
			wantCode(t, "UpdateFromCVEs", err, tt.code)
		})
	}
	if got := f.auditActions(f.reader, id); len(got) != len(want) {
		t.Errorf("refused updates wrote history: %v", got)
	}
	_, err = f.svc.GroupCVEs(f.other, id)
	wantCode(t, "GroupCVEs(other tenant)", err, mdm.NotFound)
	if p, err := f.svc.ListGroups(f.other, mdm.ListOptions{Rows: 10}); err != nil || p.TotalCount != 0 {
		t.Errorf("B lists %d groups, %v", p.TotalCount, err)
	}
	if p, err := f.svc.ListGroupAudit(f.other, mdm.ListOptions{Rows: 10}); err != nil || p.TotalCount != 0 {
		t.Errorf("B lists %d audit rows, %v", p.TotalCount, err)
	}
	// The audit trail has one record per change, naming the requester.
	trail, err := f.store.Audit().List(t.Context(), tenantA, mdm.ListOptions{Rows: 10, Sort: []mdm.SortField{{Field: "id"}}})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range trail.Items {
		actions = append(actions, fmt.Sprintf("%s %v", r.Action, r.Details["onBehalfOf"]))
	}
	if d := cmp.Diff([]string{"patch.group.create ann", "patch.group.update bob", "patch.group.update carl"}, actions); d != "" {
		t.Errorf("audit trail (-want +got):\n%s", d)
	}
}

func TestImportCatalog(t *testing.T) {
	f := newFixture(t)
	good := patch.CatalogPatch{ID: "11111111-2222-4333-8444-555555555555", Name: "iOS 18.4.1", OperatingSystem: "ios",
		OSVersion: "18.4.1", PublishedDate: "2025-04-16", KBNumber: "122282", CVEIDs: []string{"CVE-2025-31200", "cve-2025-31201"}}
	tests := []struct {
		name  string
		ctx   context.Context
		in    patch.Catalog
		code  mdm.Code
		field string
	}{
		{"tenant admin", f.basic, patch.Catalog{Patches: []patch.CatalogPatch{good}}, mdm.Forbidden, ""},
		{"empty", f.sysadmin, patch.Catalog{}, mdm.Invalid, "patches"},
		{"bad id", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.ID = "x" })}}, mdm.Invalid, "patches[0].id"},
		{"bad os", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.OperatingSystem = "Symbian" })}}, mdm.Invalid, "patches[0].operatingSystem"},
		{"iOS with a patch level", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.OSVersion = "2024-03-01" })}}, mdm.Invalid, "patches[0].osVersion"},
		{"Android with a version", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.OperatingSystem, p.OSVersion = "Android", "14" })}}, mdm.Invalid, "patches[0].osVersion"},
		{"bad date", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.PublishedDate = "16/04/2025" })}}, mdm.Invalid, "patches[0].publishedDate"},
		{"no name", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.Name = "" })}}, mdm.Invalid, "patches[0].name"},
		{"bad CVE", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.CVEIDs = []string{"CVE-1"} })}}, mdm.Invalid, "patches[0].cveIds"},
		{"duplicate", f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{good, good}}, mdm.Invalid, "patches[1].id"},
		{"bad CVE entry", f.sysadmin, patch.Catalog{CVEs: []patch.CatalogCVE{{ID: "nope"}}, Patches: []patch.CatalogPatch{good}}, mdm.Invalid, "cves[0].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.ImportCatalog(tt.ctx, tt.in)
			wantCode(t, "ImportCatalog", err, tt.code)
			if tt.field != "" {
				if e, ok := err.(*mdm.Error); !ok || len(e.Fields) == 0 || e.Fields[0].Field != tt.field {
					t.Errorf("error %v, want a field error on %s", err, tt.field)
				}
			}
		})
	}
	before, _ := f.store.Patches().CountPatches(t.Context())
	res, err := f.svc.ImportCatalog(f.sysadmin, patch.Catalog{CVEs: []patch.CatalogCVE{{ID: "CVE-2025-31200", Description: "CoreAudio"}},
		Patches: []patch.CatalogPatch{good}})
	if err != nil || res.Patches != 1 || res.CVEs != 1 {
		t.Fatalf("ImportCatalog = %+v, %v", res, err)
	}
	// Upsert by id: importing it again replaces it.
	if _, err := f.svc.ImportCatalog(f.sysadmin, patch.Catalog{Patches: []patch.CatalogPatch{with(good, func(p *patch.CatalogPatch) { p.Name = "iOS 18.4.1 (b)" })}}); err != nil {
		t.Fatal(err)
	}
	if after, _ := f.store.Patches().CountPatches(t.Context()); after != before+1 {
		t.Errorf("patches %d → %d, want one more", before, after)
	}
	m, err := f.svc.CreateFromCVEs(f.admin, "soc", patch.CVERequest{CVEIDs: []string{"CVE-2025-31201"}, DataUpdateErrorPolicy: "Fail"})
	if err != nil || !slices.Equal(m.Group.PatchIDs, []string{good.ID}) {
		t.Errorf("group from an imported CVE = %+v, %v", m, err)
	}
	p, err := f.svc.ListPatches(f.reader, mdm.ListOptions{Rows: 1, Query: "(b)"})
	if err != nil || p.TotalCount != 1 || p.Items[0].Name != "iOS 18.4.1 (b)" || p.Items[0].OperatingSystem != mdm.PatchOSiOS {
		t.Errorf("imported patch = %+v, %v", p.Items, err)
	}
}

func with(p patch.CatalogPatch, fn func(*patch.CatalogPatch)) patch.CatalogPatch {
	p.CVEIDs = slices.Clone(p.CVEIDs)
	fn(&p)
	return p
}

func TestSampleCatalogIsValid(t *testing.T) {
	c, err := patch.SampleCatalog()
	if err != nil {
		t.Fatal(err)
	}
	os := map[string]int{}
	known := map[string]bool{}
	for _, cve := range c.CVEs {
		known[cve.ID] = true
	}
	for _, p := range c.Patches {
		os[p.OperatingSystem]++
		for _, id := range p.CVEIDs {
			if !known[id] {
				t.Errorf("patch %s names %s, which has no description in the sample", p.Name, id)
			}
		}
	}
	if os["iOS"] < 5 || os["Android"] < 5 {
		t.Errorf("sample catalog by OS = %v", os)
	}
}

// device registers a device of owner with platform and OS version, in state.
func (f *fixture) device(owner mdm.AccountID, platform, version, state string) mdm.DeviceID {
	f.t.Helper()
	ctx := f.t.Context()
	kind := mdm.KindIPhone
	if platform == mdm.PlatformAndroid {
		kind = mdm.KindAndroidPhone
	}
	d, err := f.store.Devices().Create(ctx, mdm.NewDevice{TenantID: tenantA, AccountID: owner, GUID: fmt.Sprintf("guid-%d-%s-%s", owner, version, state),
		Platform: platform, Kind: kind, Facts: mdm.DeviceFacts{OSVersion: version, DeviceName: "d"},
		CredentialHash: []byte(fmt.Sprintf("cred-%d-%s-%s-%s", owner, platform, version, state))}, epoch)
	if err != nil {
		f.t.Fatal(err)
	}
	if state != mdm.StateActive {
		if _, err := f.store.Devices().SetState(ctx, tenantA, []mdm.DeviceID{d.ID}, []string{mdm.StateActive}, state, epoch); err != nil {
			f.t.Fatal(err)
		}
	}
	return d.ID
}

func (f *fixture) account(name string) mdm.AccountID {
	f.t.Helper()
	a := mdm.Account{TenantID: tenantA, Username: name, Email: name, FirstName: "F", LastName: "L",
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Enabled: true, CreatedAt: epoch, ModifiedAt: epoch}
	if err := f.store.Accounts().Create(f.t.Context(), &a); err != nil {
		f.t.Fatal(err)
	}
	return a.ID
}

func TestDeploy(t *testing.T) {
	f := newFixture(t)
	ann, bob := f.account("ann@a.example.com"), f.account("bob@a.example.com")
	old := f.device(ann, mdm.PlatformIOS, "17.3", mdm.StateActive)
	current := f.device(ann, mdm.PlatformIOS, "17.4.1", mdm.StateActive)
	droid := f.device(ann, mdm.PlatformAndroid, "14", mdm.StateActive)
	retired := f.device(ann, mdm.PlatformIOS, "16.0", mdm.StateRetired)
	bobs := f.device(bob, mdm.PlatformIOS, "16.6", mdm.StateActive)
	g := mdm.UserGroup{TenantID: tenantA, Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: epoch, ModifiedAt: epoch}
	if err := f.store.Groups().Create(t.Context(), &g); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Groups().AddMembers(t.Context(), tenantA, g.ID, []mdm.AccountID{ann}); err != nil {
		t.Fatal(err)
	}
	m, err := f.svc.CreateFromCVEs(f.admin, "soc", patch.CVERequest{CVEIDs: []string{"CVE-2024-23225", "CVE-2024-1580", "CVE-2024-0039"}})
	if err != nil {
		t.Fatal(err)
	}
	id := m.Group.ID

	refused := []struct {
		name    string
		ctx     context.Context
		id      string
		targets patch.Targets
		code    mdm.Code
	}{
		{"editor", f.editor, id, patch.Targets{UserGroupIDs: []int64{int64(g.ID)}}, mdm.Forbidden},
		{"other tenant's group", f.other, id, patch.Targets{FQ: "platformType=IOS"}, mdm.NotFound},
		{"no targets", f.admin, id, patch.Targets{}, mdm.Invalid},
		{"bad filter", f.admin, id, patch.Targets{FQ: "nosuchfield=1"}, mdm.Invalid},
		{"unknown user group", f.admin, id, patch.Targets{UserGroupIDs: []int64{999}}, mdm.NotFound},
		{"bad group id", f.admin, "nope", patch.Targets{FQ: "platformType=IOS"}, mdm.Invalid},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Deploy(tt.ctx, tt.id, tt.targets)
			wantCode(t, "Deploy", err, tt.code)
		})
	}

	// Ann's group: her old iPhone gets 17.4.1 (the newest iOS patch of the group), her Android the
	// 2024-03-01 level; the current iPhone is up to date and the retired one is skipped. The filter adds
	// Bob's iPhone.
	d, err := f.svc.Deploy(f.basic, id, patch.Targets{UserGroupIDs: []int64{int64(g.ID)}, FQ: "uid=bob@a.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want := &patch.Deployment{PatchGroupID: id, Targeted: 5, Queued: 3, UpToDate: 1, Skipped: 1}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("deployment (-want +got):\n%s", diff)
	}
	wantCmd := map[mdm.DeviceID]string{old: "17.4.1 " + ios1741, droid: "2024-03-01 " + and2403, bobs: "17.4.1 " + ios1741}
	for _, dev := range []mdm.DeviceID{old, current, droid, retired, bobs} {
		due, err := f.store.Commands().Due(t.Context(), tenantA, dev, epoch, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, c := range due {
			if c.Type == mdm.CmdOSUpdate {
				got = c.Payload["productVersion"] + " " + c.Payload["patchId"]
			}
		}
		if got != wantCmd[dev] {
			t.Errorf("device %d: OS update %q, want %q", dev, got, wantCmd[dev])
		}
	}
	slices.Sort(f.woken)
	wantWoken := []mdm.DeviceID{old, droid, bobs}
	slices.Sort(wantWoken)
	if !slices.Equal(f.woken, wantWoken) {
		t.Errorf("woken %v, want %v", f.woken, wantWoken)
	}
	// Deploying again while the commands wait queues nothing more.
	d, err = f.svc.Deploy(f.admin, id, patch.Targets{FQ: "registrationState=ACTIVE"})
	if err != nil || d.Targeted != 4 || d.Queued != 0 || d.UpToDate != 1 {
		t.Errorf("second deployment = %+v, %v", d, err)
	}
	if got := f.auditActions(f.reader, id); len(got) != 6 || !strings.HasPrefix(got[4], "Deployed v1") {
		t.Errorf("history = %v", got)
	}
}
