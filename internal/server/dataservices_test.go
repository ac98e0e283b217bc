package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/authz"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

const dsPath = "/api/apigatewaydataservices/v1"

// odataResponse is a Data Services page.
type odataResponse struct {
	Context  string                       `json:"@odata.context"`
	Count    *int                         `json:"@odata.count"`
	Value    []map[string]json.RawMessage `json:"value"`
	NextLink string                       `json:"@odata.nextLink"`
}

// odata GETs a Data Services URL (a path, or an absolute next link) as auth and decodes the page.
func (e *apiEnv) odata(auth, pathOrURL string) (odataResponse, *response) {
	e.t.Helper()
	u := pathOrURL
	if !strings.HasPrefix(u, "http") {
		u = e.url + u
	}
	req := newRequest(e.t, "GET", u, "")
	if user, pw, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(user, pw)
	}
	r := e.send(req)
	var p odataResponse
	if r.Status == 200 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			e.t.Fatalf("%s: %v: %s", pathOrURL, err, r.Body)
		}
	}
	return p, r
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a string: %v", raw, err)
	}
	return s
}

// ids lists the DiscoveryId of every row, sorted.
func (p odataResponse) ids(t *testing.T) []string {
	out := []string{}
	for _, v := range p.Value {
		out = append(out, str(t, v["DiscoveryId"]))
	}
	slices.Sort(out)
	return out
}

func q(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// TestDataServices: the Data Services device inventory and people on both databases: paging through the
// next links, $filter, $select, $orderby, bad input, tenant isolation and permissions.
func TestDataServices(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("DsA")
			_, tb := e.createTenant("DsB")
			guids := map[string]string{} // serial → GUID
			for i := range 7 {
				serial := fmt.Sprintf("DSA-%02d", i)
				reg := e.enrolled(ta, fmt.Sprintf("user%d@dsa.example.com", i), serial)
				guids[serial] = e.getDevice(ta, reg.DeviceID).GUID
			}
			bDev := e.enrolled(tb, "only@dsb.example.com", "DSB-00")
			bGUID := e.getDevice(tb, bDev.DeviceID).GUID
			var all []string
			for _, g := range guids {
				all = append(all, g)
			}
			slices.Sort(all)

			// Paging: follow the next links; every device once, the count on every page.
			seen := map[string]int{}
			link, pages := q(dsPath+"/devices", "$top", "3", "$orderby", "DeviceName desc"), 0
			var prevName string
			for link != "" {
				p, r := e.odata(ta, link)
				if r.Status != 200 {
					t.Fatalf("%s: %d %s", link, r.Status, r.Body)
				}
				if p.Count == nil || *p.Count != 7 {
					t.Fatalf("page %d: count %v", pages, p.Count)
				}
				for _, v := range p.Value {
					seen[str(t, v["DiscoveryId"])]++
					name := str(t, v["DeviceName"])
					if prevName != "" && name > prevName {
						t.Errorf("$orderby DeviceName desc: %s after %s", name, prevName)
					}
					prevName = name
				}
				if p.NextLink != "" && !strings.HasPrefix(p.NextLink, e.url+dsPath+"/devices?") {
					t.Fatalf("next link %q is not absolute under %s", p.NextLink, e.url)
				}
				link = p.NextLink
				if pages++; pages > 5 {
					t.Fatal("next links never end")
				}
			}
			if pages != 3 || len(seen) != 7 {
				t.Errorf("%d pages, %d devices seen", pages, len(seen))
			}
			for g, n := range seen {
				if n != 1 || !slices.Contains(all, g) {
					t.Errorf("device %s seen %d times (of tenant A: %v)", g, n, slices.Contains(all, g))
				}
			}

			// One device in full: the shape, and nothing secret.
			p, _ := e.odata(ta, q(dsPath+"/devices", "$filter", "System/SerialNumber eq 'dsa-03'"))
			if len(p.Value) != 1 {
				t.Fatalf("serial filter: %+v", p)
			}
			var dev struct {
				DiscoveryId, DisplayName, DeviceName, DeviceType, Platform, RegistrationState string
				OS                                                                            struct{ Name, Version, Build string }
				System                                                                        struct{ Manufacturer, Model, SerialNumber string }
				Network                                                                       struct{ WiFiMacAddress, IMEI string }
				Owner                                                                         struct{ Email, Name, UserName string }
				LastSeen                                                                      *string
				Compliant, Quarantined                                                        bool
			}
			raw, _ := json.Marshal(p.Value[0])
			if err := json.Unmarshal(raw, &dev); err != nil {
				t.Fatal(err)
			}
			if dev.DiscoveryId != guids["DSA-03"] || dev.DeviceName != "Pixel of DSA-03" || dev.Platform != "ANDROID" ||
				dev.OS.Name != "Android" || dev.OS.Version != "15" || dev.OS.Build == "" || dev.System.Manufacturer != "Google" ||
				dev.System.SerialNumber != "DSA-03" || dev.Network.WiFiMacAddress != "02:00:00:aa:bb:cc" ||
				dev.Owner.Email != "user3@dsa.example.com" || dev.Owner.Name != "Dee Vice" || dev.RegistrationState != "ACTIVE" {
				t.Errorf("device: %s", raw)
			}
			if dev.LastSeen != nil {
				if _, err := time.Parse(time.RFC3339, *dev.LastSeen); err != nil {
					t.Errorf("LastSeen %q: %v", *dev.LastSeen, err)
				}
			}
			for _, secretish := range []string{"ush", "redential", "ash", "assword"} {
				if strings.Contains(string(raw), secretish) {
					t.Errorf("device record mentions %q: %s", secretish, raw)
				}
			}

			// Filters.
			for _, c := range []struct {
				filter string
				want   []string
			}{
				{"contains(DeviceName,'dsa-0')", all},
				{"contains(DeviceName,'DSA-01') or System/SerialNumber eq 'DSA-02'", []string{guids["DSA-01"], guids["DSA-02"]}},
				{"startswith(Owner/Email,'user4@') and Platform eq 'ANDROID'", []string{guids["DSA-04"]}},
				{"not (contains(DeviceName,'0') and DeviceName ne 'Pixel of DSA-05')", []string{guids["DSA-05"]}},
				{"DiscoveryId eq '" + guids["DSA-06"] + "'", []string{guids["DSA-06"]}},
				{"Compliant eq true and Quarantined eq true", []string{}},
				{"contains(DeviceName,'DSB')", []string{}}, // tenant B's device, never here
				{"contains(DeviceName,'%') or contains(DeviceName,'_')", []string{}},
				{"RegisteredAt ge 2020-01-01T00:00:00Z and Owner/Email ne null", all},
			} {
				p, r := e.odata(ta, q(dsPath+"/devices", "$filter", c.filter, "$top", "100"))
				if r.Status != 200 {
					t.Errorf("%s: %d %s", c.filter, r.Status, r.Body)
					continue
				}
				want := slices.Clone(c.want)
				slices.Sort(want)
				if diff := cmp.Diff(want, p.ids(t)); diff != "" {
					t.Errorf("$filter %s (-want +got):\n%s", c.filter, diff)
				}
				if *p.Count != len(want) {
					t.Errorf("$filter %s: count %d", c.filter, *p.Count)
				}
			}

			// $select trims; nested objects come whole.
			p, _ = e.odata(ta, q(dsPath+"/devices", "$select", "DiscoveryId,os", "$top", "2"))
			for _, v := range p.Value {
				keys := []string{}
				for k := range v {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if diff := cmp.Diff([]string{"DiscoveryId", "OS"}, keys); diff != "" || !strings.Contains(string(v["OS"]), `"Version":"15"`) {
					t.Errorf("$select (-want +got):\n%s %s", diff, v["OS"])
				}
			}
			if !strings.Contains(p.NextLink, "%24select=") && !strings.Contains(p.NextLink, "$select=") {
				t.Errorf("the next link lost $select: %s", p.NextLink)
			}

			// Bad input: 400 with a field error naming the option (and the position).
			for _, c := range []struct{ query, field, msg string }{
				{q(dsPath+"/devices", "$filter", "(DeviceName eq 'x'"), "$filter", "$filter: at 19: expected ')'"},
				{q(dsPath+"/devices", "$filter", "Secret eq 'x'"), "$filter", `$filter: at 1: unknown property "Secret"`},
				{q(dsPath+"/devices", "$top", "101"), "$top", "$top: must be a whole number from 1 to 100"},
				{q(dsPath+"/devices", "$select", "Password"), "$select", `$select: unknown property "Password"`},
				{q(dsPath+"/devices", "$orderby", "PushToken"), "$orderby", `$orderby: unknown property "PushToken"`},
				{q(dsPath+"/people", "$filter", "contains(FullName,'x')"), "$filter", `$filter: at 10: unknown property "FullName"`},
				{q(dsPath+"/people", "$skip", "-3"), "$skip", "$skip: must be"},
			} {
				r := e.call("GET", c.query, ta, "")
				if r.Status != 400 || r.field() != c.field || !strings.HasPrefix(r.Env.Errors.FieldErrors[0].Message, c.msg) {
					t.Errorf("%s: %d %s, want 400 %s: %s", c.query, r.Status, r.Body, c.field, c.msg)
				}
			}

			// $count=false leaves the count out; the next link still comes.
			p, _ = e.odata(ta, q(dsPath+"/devices", "$count", "false", "$top", "5"))
			if p.Count != nil || len(p.Value) != 5 || !strings.Contains(p.NextLink, "$count=false") {
				t.Errorf("$count=false: count %v, %d rows, next %q", p.Count, len(p.Value), p.NextLink)
			}

			// Past the end: an empty page, no next link.
			p, _ = e.odata(ta, q(dsPath+"/devices", "$skip", "50"))
			if len(p.Value) != 0 || p.NextLink != "" || *p.Count != 7 {
				t.Errorf("past the end: %+v", p)
			}

			// People: the tenant's users (its admin and the device owners).
			p, _ = e.odata(ta, q(dsPath+"/people", "$top", "100", "$orderby", "UserName"))
			if *p.Count != 8 || len(p.Value) != 8 {
				t.Fatalf("people: count %v, %d rows", *p.Count, len(p.Value))
			}
			var person struct {
				DiscoveryId, FullName, FirstName, LastName, UserName string
				Emails                                               []struct{ Email string }
			}
			raw, _ = json.Marshal(p.Value[0])
			json.Unmarshal(raw, &person)
			if person.UserName != "ta@dsa.example.com" || person.FullName != "Ta Admin" || len(person.Emails) != 1 ||
				person.Emails[0].Email != "ta@dsa.example.com" || person.DiscoveryId == "" {
				t.Errorf("person: %s", raw)
			}
			if strings.Contains(string(raw), "assword") || strings.Contains(string(raw), "argon") {
				t.Errorf("person record carries a secret: %s", raw)
			}
			for _, c := range []struct {
				filter string
				want   int
			}{
				{"contains(Emails/Email,'@dsa.example.com')", 8},
				{"startswith(UserName,'user') and (LastName eq 'vice' or FirstName eq 'nobody')", 7},
				{"DiscoveryId eq " + person.DiscoveryId, 1},
				{"UserName eq 'only@dsb.example.com'", 0},
			} {
				p, r := e.odata(ta, q(dsPath+"/people", "$filter", c.filter))
				if r.Status != 200 || *p.Count != c.want {
					t.Errorf("people $filter %s: %d %s, want %d", c.filter, r.Status, r.Body, c.want)
				}
			}
			p, _ = e.odata(ta, q(dsPath+"/people", "$filter", "UserName eq 'user3@dsa.example.com'", "$select", "DeviceCount,UserName,DiscoveryId"))
			if len(p.Value) != 1 || string(p.Value[0]["DeviceCount"]) != "1" {
				t.Errorf("user3's device count: %+v", p.Value)
			}
			// Groups: All Users, the static groups a person is in, the dynamic groups whose rule matches.
			var group struct {
				ID int64 `json:"id"`
			}
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Helpdesk","kind":"STATIC"}`).must(t, 200, &group)
			user3 := str(t, p.Value[0]["DiscoveryId"])
			e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", group.ID), ta, `{"accountIds":[`+user3+`]}`).must(t, 200, nil)
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Tees","kind":"DYNAMIC","rule":"firstName=Ta"}`).must(t, 200, nil)
			p, _ = e.odata(ta, q(dsPath+"/people", "$filter", "UserName eq 'user3@dsa.example.com' or FirstName eq 'Ta'",
				"$select", "UserName,Groups", "$orderby", "UserName"))
			if len(p.Value) != 2 || string(p.Value[0]["Groups"]) != `["All Users","Tees"]` || string(p.Value[1]["Groups"]) != `["All Users","Helpdesk"]` {
				t.Errorf("groups: %+v", p.Value)
			}

			p, _ = e.odata(ta, q(dsPath+"/people", "$select", "FullName", "$top", "1"))
			if len(p.Value) != 1 || len(p.Value[0]) != 1 || p.NextLink == "" {
				t.Errorf("people $select: %+v", p)
			}

			// Tenant B sees its own only.
			p, _ = e.odata(tb, dsPath+"/devices")
			if diff := cmp.Diff([]string{bGUID}, p.ids(t)); diff != "" {
				t.Errorf("tenant B devices (-want +got):\n%s", diff)
			}
			p, _ = e.odata(tb, q(dsPath+"/people", "$top", "100"))
			for _, v := range p.Value {
				if u := str(t, v["UserName"]); !strings.HasSuffix(u, "@dsb.example.com") {
					t.Errorf("tenant B sees person %s", u)
				}
			}

			// Metadata.
			for _, m := range []string{"/devicesMetadata", "/peopleMetadata"} {
				r := e.call("GET", dsPath+m, ta, "")
				if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/xml") || !strings.Contains(r.Body, "<edmx:Edmx") {
					t.Errorf("%s: %d %s", m, r.Status, r.Header.Get("Content-Type"))
				}
			}

			// Permissions: a role without DataRead is refused, Device Read Only is let in, anonymous is 401.
			tenantA := mdm.TenantID(accountTenant(t, e, "ta@dsa.example.com"))
			users := roleUser(t, e, tenantA, "ur@dsa.example.com", authz.RoleUserReadOnly)
			devro := roleUser(t, e, tenantA, "dr@dsa.example.com", authz.RoleDeviceReadOnly)
			for _, path := range []string{"/devices", "/people", "/devicesMetadata", "/peopleMetadata"} {
				if _, r := e.odata(users, dsPath+path); r.Status != 403 {
					t.Errorf("%s as User Read Only: %d, want 403", path, r.Status)
				}
				if _, r := e.odata(devro, dsPath+path); r.Status != 200 {
					t.Errorf("%s as Device Read Only: %d, want 200", path, r.Status)
				}
				if _, r := e.odata("", dsPath+path); r.Status != 401 {
					t.Errorf("%s anonymous: %d, want 401", path, r.Status)
				}
			}

			// An App Registration's token: dataservices.read reaches both lists, patchgroup.reader neither.
			ctx := context.Background()
			client := func(scopes ...string) context.Context {
				return mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.ClientPrincipal, TenantID: tenantA, ClientID: "cmdb", Scopes: scopes})
			}
			opts := mdm.ListOptions{Rows: 100}
			if pg, err := e.srv.devices.Inventory(client(authz.ScopeDataServicesRead), opts); err != nil || pg.TotalCount != 7 {
				t.Errorf("devices with dataservices.read: %d, %v", pg.TotalCount, err)
			}
			if pg, err := e.srv.accounts.People(client(authz.ScopeDataServicesRead), opts); err != nil || pg.TotalCount != 10 {
				t.Errorf("people with dataservices.read: %d, %v", pg.TotalCount, err)
			}
			if _, err := e.srv.devices.Inventory(client(authz.ScopePatchGroupReader), opts); !mdm.IsCode(err, mdm.Forbidden) {
				t.Errorf("devices with patchgroup.reader: %v, want forbidden", err)
			}
			if _, err := e.srv.accounts.People(client(authz.ScopePatchGroupReader), opts); !mdm.IsCode(err, mdm.Forbidden) {
				t.Errorf("people with patchgroup.reader: %v, want forbidden", err)
			}
			if _, err := e.srv.devices.List(client(authz.ScopeDataServicesRead), opts); !mdm.IsCode(err, mdm.Forbidden) {
				t.Errorf("the MDM device list with dataservices.read only: %v, want forbidden", err)
			}
		})
	}
}

// accountTenant is the tenant of the account with username.
func accountTenant(t *testing.T, e *apiEnv, username string) string {
	t.Helper()
	a, err := e.srv.Store().Accounts().ByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return string(a.TenantID)
}

// TestDataServicesBearer: an App Registration's token reaches Data Services through the HTTP stack with
// the dataservices.read scope only. The token server lives elsewhere, so the test resolves its own
// opaque tokens into the ClientPrincipal the authenticator would produce.
func TestDataServicesBearer(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	tenant, ta := e.createTenant("DsBearer")
	e.enrolled(ta, "owner@dsbearer.example.com", "DSBR-1")
	other, tb := e.createTenant("DsOther")
	e.enrolled(tb, "owner@dsother.example.com", "DSOT-1")
	tokens := map[string]*mdm.Principal{
		"ds":    {Kind: mdm.ClientPrincipal, TenantID: mdm.TenantID(tenant.ID), ClientID: "cmdb", Scopes: []string{authz.ScopeDataServicesRead}},
		"other": {Kind: mdm.ClientPrincipal, TenantID: mdm.TenantID(other.ID), ClientID: "cmdb2", Scopes: []string{authz.ScopeDataServicesRead}},
		"patch": {Kind: mdm.ClientPrincipal, TenantID: mdm.TenantID(tenant.ID), ClientID: "patcher", Scopes: []string{authz.ScopePatchGroupReader}},
		"read":  {Kind: mdm.ClientPrincipal, TenantID: mdm.TenantID(tenant.ID), ClientID: "reader", Scopes: []string{authz.ScopeRead}},
	}
	auth := authenticator{Service: e.srv.accounts, bearer: func(_ context.Context, token string) (*mdm.Principal, error) {
		if p, ok := tokens[token]; ok {
			return p, nil
		}
		return nil, mdm.Errorf(mdm.Unauthenticated, "unknown token")
	}}
	srv := httptest.NewServer(httpx.Authenticate(auth, e.srv.writeError, e.srv.api))
	t.Cleanup(srv.Close)
	get := func(token, path string) (int, odataResponse) {
		req := newRequest(t, "GET", srv.URL+path, "")
		req.Header.Set("Authorization", "Bearer "+token)
		r := e.send(req)
		var p odataResponse
		if r.Status == 200 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			json.Unmarshal([]byte(r.Body), &p)
		}
		return r.Status, p
	}
	for _, c := range []struct {
		token, path string
		status      int
		count       int
	}{
		{"ds", dsPath + "/devices", 200, 1},
		{"ds", dsPath + "/people", 200, 2}, // the admin and the device owner
		{"ds", dsPath + "/devicesMetadata", 200, -1},
		{"other", dsPath + "/devices", 200, 1},
		{"patch", dsPath + "/devices", 403, -1},
		{"patch", dsPath + "/people", 403, -1},
		{"read", dsPath + "/devices", 403, -1},
		{"ds", "/api/v1/device", 403, -1}, // Data Services only: not the MDM device list
		{"nope", dsPath + "/devices", 401, -1},
	} {
		status, p := get(c.token, c.path)
		if status != c.status || c.count >= 0 && (p.Count == nil || *p.Count != c.count) {
			t.Errorf("%s %s: %d %v, want %d with %d rows", c.token, c.path, status, p.Count, c.status, c.count)
		}
	}
	_, p := get("other", dsPath+"/devices")
	if len(p.Value) != 1 || !strings.Contains(string(p.Value[0]["Owner"]), "dsother.example.com") {
		t.Errorf("tenant B's token sees %+v", p.Value)
	}
}
