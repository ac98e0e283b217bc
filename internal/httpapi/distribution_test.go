package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/assign"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// TestDecodeDistribution: the shared body of every item's PUT …/distribution, JSON and form-encoded,
// with its field errors and the check that groups exist in the caller's tenant.
func TestDecodeDistribution(t *testing.T) {
	ctx := t.Context()
	store, err := sqlstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, id := range []mdm.TenantID{"t-1", "t-2"} {
		tn := mdm.Tenant{ID: id, Name: string(id), State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
		if err := store.Tenants().Create(ctx, &tn); err != nil {
			t.Fatal(err)
		}
	}
	mine := &mdm.UserGroup{TenantID: "t-1", Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: now, ModifiedAt: now}
	theirs := &mdm.UserGroup{TenantID: "t-2", Name: "Sales", Kind: mdm.StaticGroup, CreatedAt: now, ModifiedAt: now}
	for _, g := range []*mdm.UserGroup{mine, theirs} {
		if err := store.Groups().Create(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	dgs, err := store.DeviceGroups().All(ctx, "t-1")
	if err != nil {
		t.Fatal(err)
	}
	a := &API{assign: assign.New(store, nil)}
	as := func(roles ...string) *mdm.Principal {
		return &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, TenantID: "t-1", Roles: roles}
	}
	appAdmin := as(authz.RoleAppContentManagement)

	for _, tc := range []struct {
		name, contentType, body string
		who                     *mdm.Principal
		kind                    mdm.ItemKind
		want                    []mdm.Distribution
		code                    mdm.Code
		fields                  []string
	}{
		{name: "json", contentType: "application/json", who: appAdmin, kind: mdm.ItemApp,
			body: `{"targets":[{"type":"ALL_USERS"},{"type":"user_group","id":` + itoa(int64(mine.ID)) + `,"required":true},` +
				`{"type":"DEVICE_GROUP","id":` + itoa(int64(dgs[0].ID)) + `}]}`,
			want: []mdm.Distribution{{TenantID: "t-1", ItemKind: mdm.ItemApp, Target: mdm.TargetAllUsers},
				{TenantID: "t-1", ItemKind: mdm.ItemApp, Target: mdm.TargetUserGroup, TargetID: int64(mine.ID), Required: true},
				{TenantID: "t-1", ItemKind: mdm.ItemApp, Target: mdm.TargetDeviceGroup, TargetID: int64(dgs[0].ID)}}},
		{name: "form", contentType: "application/x-www-form-urlencoded", who: appAdmin, kind: mdm.ItemContent,
			body: "targets[0].type=DEVICE_GROUP&targets[0].id=" + itoa(int64(dgs[1].ID)) + "&targets[0].required=true",
			want: []mdm.Distribution{{TenantID: "t-1", ItemKind: mdm.ItemContent, Target: mdm.TargetDeviceGroup,
				TargetID: int64(dgs[1].ID), Required: true}}},
		{name: "nobody", contentType: "application/json", who: appAdmin, kind: mdm.ItemApp, body: `{"targets":[]}`,
			want: []mdm.Distribution{}},
		{name: "syntax", contentType: "application/json", who: appAdmin, kind: mdm.ItemApp,
			body: `{"targets":[{"type":"EVERYONE"},{"type":"USER_GROUP"},{"type":"DEVICE_GROUP","id":-3}]}`,
			code: mdm.Invalid, fields: []string{"targets[0].type", "targets[1].id", "targets[2].id"}},
		{name: "groups of another tenant or none", contentType: "application/json", who: appAdmin, kind: mdm.ItemApp,
			body: `{"targets":[{"type":"ALL_USERS","id":4},{"type":"USER_GROUP","id":` + itoa(int64(theirs.ID)) + `},` +
				`{"type":"DEVICE_GROUP","id":999999}]}`,
			code: mdm.Invalid, fields: []string{"targets[0].id", "targets[1].id", "targets[2].id"}},
		{name: "bad json", contentType: "application/json", who: appAdmin, kind: mdm.ItemApp, body: `{"targets":{}}`,
			code: mdm.Invalid},
		{name: "configurations need Config Manage", contentType: "application/json", who: appAdmin,
			kind: mdm.ItemConfiguration, body: `{"targets":[{"type":"ALL_USERS"}]}`, code: mdm.Forbidden},
		{name: "device admin distributes a configuration", contentType: "application/json", who: as(authz.RoleDeviceManagement),
			kind: mdm.ItemConfiguration, body: `{"targets":[{"type":"ALL_USERS"}]}`,
			want: []mdm.Distribution{{TenantID: "t-1", ItemKind: mdm.ItemConfiguration, Target: mdm.TargetAllUsers}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "/api/v1/apps/1/distribution", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			r = r.WithContext(mdm.WithPrincipal(ctx, tc.who))
			got, err := a.decodeDistribution(httptest.NewRecorder(), r, tc.kind)
			if tc.code != "" {
				if !mdm.IsCode(err, tc.code) {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				if tc.fields != nil {
					var fields []string
					for _, f := range err.(*mdm.Error).Fields {
						fields = append(fields, f.Field)
					}
					if d := cmp.Diff(tc.fields, fields); d != "" {
						t.Errorf("fields (-want +got):\n%s", d)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}

	out := distributionOut([]mdm.Distribution{{Target: mdm.TargetUserGroup, TargetID: 4, Required: true}})
	if d := cmp.Diff(distributionJSON{Targets: []targetJSON{{Type: "USER_GROUP", ID: 4, Required: true}}}, out); d != "" {
		t.Errorf("distributionOut (-want +got):\n%s", d)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDistributionRoutes mounts the distribution routes of a pretend item kind and drives them over
// HTTP: the edge permission check, the body checks, and what Get and Set see and return.
func TestDistributionRoutes(t *testing.T) {
	ctx := t.Context()
	store, err := sqlstore.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tn := mdm.Tenant{ID: "t-1", Name: "t-1", State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
	if err := store.Tenants().Create(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	dgs, err := store.DeviceGroups().All(ctx, "t-1")
	if err != nil {
		t.Fatal(err)
	}
	a := &API{assign: assign.New(store, nil), mux: http.NewServeMux(), log: slog.New(slog.DiscardHandler)}
	items := map[int64][]mdm.Distribution{7: {}}
	a.distributionRoutes(itemDistribution{Base: "/api/v1/things", Tag: "Things", What: "thing", Kind: mdm.ItemApp,
		Read: authz.AppRead, Manage: authz.AppManage,
		Get: func(ctx context.Context, id int64) ([]mdm.Distribution, error) {
			ds, ok := items[id]
			if !ok {
				return nil, mdm.Errorf(mdm.NotFound, "thing not found")
			}
			return ds, nil
		},
		Set: func(ctx context.Context, id int64, ds []mdm.Distribution) ([]mdm.Distribution, error) {
			if _, ok := items[id]; !ok {
				return nil, mdm.Errorf(mdm.NotFound, "thing not found")
			}
			items[id] = ds
			return ds, nil
		}})
	call := func(method, path, body string, roles ...string) (int, string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r = r.WithContext(mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, TenantID: "t-1", Roles: roles}))
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	body := `{"targets":[{"type":"DEVICE_GROUP","id":` + itoa(int64(dgs[0].ID)) + `,"required":true},{"type":"ALL_USERS"}]}`
	if code, _ := call("PUT", "/api/v1/things/7/distribution", body, authz.RoleAppContentReadOnly); code != 403 {
		t.Errorf("read only PUT: %d", code)
	}
	if code, out := call("PUT", "/api/v1/things/7/distribution", `{"targets":[{"type":"USER_GROUP","id":99}]}`, authz.RoleAppContentManagement); code != 400 || !strings.Contains(out, "targets[0].id") {
		t.Errorf("unknown group: %d %s", code, out)
	}
	if code, out := call("PUT", "/api/v1/things/8/distribution", body, authz.RoleAppContentManagement); code != 404 {
		t.Errorf("unknown thing: %d %s", code, out)
	}
	code, out := call("PUT", "/api/v1/things/7/distribution", body, authz.RoleAppContentManagement)
	want := `{"errors":null,"result":{"targets":[{"type":"DEVICE_GROUP","id":` + itoa(int64(dgs[0].ID)) + `,"required":true},{"type":"ALL_USERS","id":0,"required":false}]}}`
	if code != 200 || strings.TrimSpace(out) != want {
		t.Errorf("PUT: %d %s\nwant %s", code, out, want)
	}
	code, out = call("GET", "/api/v1/things/7/distribution", "", authz.RoleAppContentReadOnly)
	if code != 200 || strings.TrimSpace(out) != want {
		t.Errorf("GET: %d %s", code, out)
	}
	if code, _ := call("GET", "/api/v1/things/7/distribution", "", authz.RoleDeviceManagement); code != 403 {
		t.Errorf("device admin GET: %d", code)
	}
}
