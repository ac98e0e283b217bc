package server

import (
	"fmt"
	"testing"

	"steward/internal/assign"
	"steward/internal/mdm"
)

type deviceGroupOut struct {
	ID      int64
	Name    string
	Kind    string
	Rule    string
	BuiltIn bool
}

type deviceGroupPage struct {
	SearchResults []deviceGroupOut
	TotalCount    int
}

type memberPage struct {
	SearchResults []struct{ ID int64 }
	TotalCount    int
}

func memberIDs(p memberPage) []int64 {
	var out []int64
	for _, d := range p.SearchResults {
		out = append(out, d.ID)
	}
	return out
}

// TestDeviceGroups: the built-in groups, static and dynamic groups, members, validation, permissions
// and tenant isolation, on each database.
func TestDeviceGroups(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Fleet")
			_, other := e.createTenant("Apart")

			// Built-ins exist in every tenant and can be neither changed nor deleted.
			var builtIns deviceGroupPage
			e.call("GET", "/api/v1/devicegroups?fq=builtIn=true&sortFields[0].name=id", ta, "").must(t, 200, &builtIns)
			if builtIns.TotalCount != 4 || builtIns.SearchResults[0].Name != "All Devices" || builtIns.SearchResults[0].Kind != "ALL_DEVICES" {
				t.Fatalf("built-in groups: %+v", builtIns)
			}
			all, ios := builtIns.SearchResults[0], builtIns.SearchResults[1]
			if ios.Name != "iOS Devices" || ios.Rule != "platformType=IOS" {
				t.Errorf("iOS Devices = %+v", ios)
			}
			if r := e.call("DELETE", fmt.Sprintf("/api/v1/devicegroups/%d", all.ID), ta, ""); r.Status != 409 {
				t.Errorf("deleting All Devices: %d, want 409", r.Status)
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/devicegroups/%d", ios.ID), ta, `{"rule":"platformType=ANDROID"}`); r.Status != 409 {
				t.Errorf("changing iOS Devices: %d, want 409", r.Status)
			}

			// Devices: two Android phones of two users.
			ann := e.enrolled(ta, "ann@fleet.example.com", "SER-ANN")
			bob := e.enrolled(ta, "bob@fleet.example.com", "SER-BOB")
			stranger := e.enrolled(other, "sam@apart.example.com", "SER-SAM")

			// Validation: every bad field is a 400 naming it, and nothing is created.
			for body, field := range map[string]string{
				`{"kind":"STATIC"}`:                                      "name",
				`{"name":"  "}`:                                          "name",
				`{"name":"X","kind":"SMART"}`:                            "kind",
				`{"name":"X","kind":"DYNAMIC"}`:                          "rule",
				`{"name":"X","kind":"DYNAMIC","rule":"shoeSize=9"}`:      "rule",
				`{"name":"X","kind":"DYNAMIC","rule":"platformType=("}`:  "rule",
				`{"name":"X","kind":"STATIC","rule":"platformType=IOS"}`: "rule",
				`{"name":"all devices"}`:                                 "name",
			} {
				if r := e.call("POST", "/api/v1/devicegroups", ta, body); r.field() != field || r.Status < 400 || r.Status >= 500 {
					t.Errorf("POST %s: %d %v, want a 4xx naming %s", body, r.Status, r.fields(), field)
				}
			}

			// A static group: members by hand, all or none.
			var kiosks deviceGroupOut
			e.call("POST", "/api/v1/devicegroups", ta, `{"name":"Kiosks","description":"lobby"}`).must(t, 200, &kiosks)
			if kiosks.Kind != "STATIC" || kiosks.BuiltIn {
				t.Errorf("created %+v", kiosks)
			}
			members := fmt.Sprintf("/api/v1/devicegroups/%d/members", kiosks.ID)
			if r := e.call("PUT", members, ta, fmt.Sprintf(`{"deviceIds":[%d,%d]}`, ann.DeviceID, stranger.DeviceID)); r.Status != 404 {
				t.Errorf("adding another tenant's device: %d, want 404", r.Status)
			}
			if r := e.call("PUT", members, ta, `{"deviceIds":[]}`); r.Status != 400 || r.field() != "deviceIds" {
				t.Errorf("adding nobody: %d %v, want 400 deviceIds", r.Status, r.fields())
			}
			e.call("PUT", members, ta, fmt.Sprintf(`{"deviceIds":[%d]}`, ann.DeviceID)).must(t, 200, nil)
			e.call("PUT", members, ta, fmt.Sprintf("deviceIds=%d&deviceIds=%d", ann.DeviceID, bob.DeviceID)).must(t, 200, nil)
			var mp memberPage
			e.call("GET", members, ta, "").must(t, 200, &mp)
			if mp.TotalCount != 2 {
				t.Errorf("members = %v", memberIDs(mp))
			}
			e.call("DELETE", fmt.Sprintf("%s?deviceIds=%d", members, ann.DeviceID), ta, "").must(t, 200, nil)
			e.call("GET", members+"?fq=serialNumber=SER-*", ta, "").must(t, 200, &mp)
			if mp.TotalCount != 1 || mp.SearchResults[0].ID != bob.DeviceID {
				t.Errorf("members after removing ann's = %v", memberIDs(mp))
			}

			// A dynamic group lists its current matches and takes no members by hand.
			var pixels deviceGroupOut
			e.call("POST", "/api/v1/devicegroups", ta, `{"name":"Pixels","kind":"dynamic","rule":"deviceModel=Pixel* and emailAddress=ann@*"}`).
				must(t, 200, &pixels)
			e.call("GET", fmt.Sprintf("/api/v1/devicegroups/%d/members", pixels.ID), ta, "").must(t, 200, &mp)
			if mp.TotalCount != 1 || mp.SearchResults[0].ID != ann.DeviceID {
				t.Errorf("dynamic members = %v", memberIDs(mp))
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/devicegroups/%d/members", pixels.ID), ta,
				fmt.Sprintf(`{"deviceIds":[%d]}`, bob.DeviceID)); r.Status != 409 {
				t.Errorf("adding to a dynamic group: %d, want 409", r.Status)
			}
			e.call("GET", fmt.Sprintf("/api/v1/devicegroups/%d/members", all.ID), ta, "").must(t, 200, &mp)
			if mp.TotalCount != 2 {
				t.Errorf("All Devices members = %v", memberIDs(mp))
			}
			e.call("GET", fmt.Sprintf("/api/v1/devicegroups/%d/members", ios.ID), ta, "").must(t, 200, &mp)
			if mp.TotalCount != 0 {
				t.Errorf("iOS Devices members = %v", memberIDs(mp))
			}

			// Update: rule and name; kind is fixed.
			var upd deviceGroupOut
			e.call("PUT", fmt.Sprintf("/api/v1/devicegroups/%d", pixels.ID), ta, `{"name":"All Pixels","rule":"deviceModel=Pixel*"}`).
				must(t, 200, &upd)
			if upd.Name != "All Pixels" || upd.Rule != "deviceModel=Pixel*" {
				t.Errorf("updated %+v", upd)
			}
			e.call("GET", fmt.Sprintf("/api/v1/devicegroups/%d/members", pixels.ID), ta, "").must(t, 200, &mp)
			if mp.TotalCount != 2 {
				t.Errorf("members after the new rule = %v", memberIDs(mp))
			}
			for body, field := range map[string]string{`{"kind":"STATIC"}`: "kind", `{}`: "body", `{"rule":"x=1"}`: "rule",
				`{"name":"kiosks"}`: "name"} {
				if r := e.call("PUT", fmt.Sprintf("/api/v1/devicegroups/%d", pixels.ID), ta, body); r.field() != field {
					t.Errorf("PUT %s: %d %v, want an error naming %s", body, r.Status, r.fields(), field)
				}
			}

			// The list searches, filters and pages.
			var page deviceGroupPage
			e.call("GET", "/api/v1/devicegroups?q=lobby", ta, "").must(t, 200, &page)
			if page.TotalCount != 1 || page.SearchResults[0].ID != kiosks.ID {
				t.Errorf("q=lobby: %+v", page)
			}
			e.call("GET", "/api/v1/devicegroups?fq=kind=DYNAMIC&rows=2&start=2&sortFields[0].name=name", ta, "").must(t, 200, &page)
			if page.TotalCount != 4 || len(page.SearchResults) != 2 {
				t.Errorf("dynamic groups page 2: %+v", page)
			}
			if r := e.call("GET", "/api/v1/devicegroups?rows=501", ta, ""); r.Status != 400 {
				t.Errorf("rows=501: %d", r.Status)
			}

			// Another tenant sees none of it; its own list has only its built-ins.
			for _, c := range []struct{ method, path, body string }{
				{"GET", fmt.Sprintf("/api/v1/devicegroups/%d", kiosks.ID), ""},
				{"PUT", fmt.Sprintf("/api/v1/devicegroups/%d", kiosks.ID), `{"description":"x"}`},
				{"DELETE", fmt.Sprintf("/api/v1/devicegroups/%d", kiosks.ID), ""},
				{"GET", members, ""},
				{"PUT", members, fmt.Sprintf(`{"deviceIds":[%d]}`, stranger.DeviceID)},
				{"DELETE", fmt.Sprintf("%s?deviceIds=%d", members, bob.DeviceID), ""},
			} {
				if r := e.call(c.method, c.path, other, c.body); r.Status != 404 {
					t.Errorf("other tenant %s %s: %d, want 404", c.method, c.path, r.Status)
				}
			}
			e.call("GET", "/api/v1/devicegroups", other, "").must(t, 200, &page)
			if page.TotalCount != 4 {
				t.Errorf("other tenant lists %d groups", page.TotalCount)
			}

			// Permissions: Device Read Only reads, App & Content Management does not.
			e.addUserWithRoles(ta, "ro@fleet.example.com", "DEVICE_READ_ONLY")
			e.addUserWithRoles(ta, "apps@fleet.example.com", "APP_CONTENT_MANAGEMENT")
			ro, apps := "ro@fleet.example.com:Fleet-user-pw-1", "apps@fleet.example.com:Fleet-user-pw-1"
			e.call("GET", "/api/v1/devicegroups", ro, "").must(t, 200, nil)
			e.call("GET", members, ro, "").must(t, 200, nil)
			if r := e.call("POST", "/api/v1/devicegroups", ro, `{"name":"Mine"}`); r.Status != 403 {
				t.Errorf("read only creates: %d", r.Status)
			}
			if r := e.call("DELETE", fmt.Sprintf("/api/v1/devicegroups/%d", kiosks.ID), ro, ""); r.Status != 403 {
				t.Errorf("read only deletes: %d", r.Status)
			}
			if r := e.call("GET", "/api/v1/devicegroups", apps, ""); r.Status != 403 {
				t.Errorf("app admin lists device groups: %d", r.Status)
			}

			// What is distributed to a group (an item capability sets it; here through the store).
			distributeTo(t, e, kiosks.ID)
			var assigned []struct {
				ItemKind string
				ItemID   int64
				Required bool
			}
			e.call("GET", fmt.Sprintf("/api/v1/devicegroups/%d/distributions", kiosks.ID), ro, "").must(t, 200, &assigned)
			if len(assigned) != 1 || assigned[0].ItemKind != "CONFIGURATION" || assigned[0].ItemID != 77 || !assigned[0].Required {
				t.Errorf("distributions = %+v", assigned)
			}
			if r := e.call("GET", fmt.Sprintf("/api/v1/devicegroups/%d/distributions", kiosks.ID), other, ""); r.Status != 404 {
				t.Errorf("other tenant reads the distributions: %d", r.Status)
			}
			var allUsers struct{ SearchResults []struct{ ID int64 } }
			e.call("GET", "/api/v1/usergroups?fq=kind=ALL_USERS", ta, "").must(t, 200, &allUsers)
			e.call("GET", fmt.Sprintf("/api/v1/usergroups/%d/distributions", allUsers.SearchResults[0].ID), ta, "").must(t, 200, &assigned)
			if len(assigned) != 0 {
				t.Errorf("All Users distributions = %+v", assigned)
			}
			if r := e.call("GET", fmt.Sprintf("/api/v1/usergroups/%d/distributions", allUsers.SearchResults[0].ID), other, ""); r.Status != 404 {
				t.Errorf("other tenant reads a user group's distributions: %d", r.Status)
			}

			// Delete, with its audit row; the group's distributions go with it.
			e.call("DELETE", fmt.Sprintf("/api/v1/devicegroups/%d", kiosks.ID), ta, "").must(t, 200, nil)
			if r := e.call("GET", fmt.Sprintf("/api/v1/devicegroups/%d", kiosks.ID), ta, ""); r.Status != 404 {
				t.Errorf("deleted group: %d", r.Status)
			}
			if n := e.count(fmt.Sprintf("SELECT COUNT(*) FROM distributions WHERE target_kind='DEVICE_GROUP' AND target_id=%d", kiosks.ID)); n != 0 {
				t.Errorf("%d distributions name the deleted group", n)
			}
			var trail struct{ SearchResults []struct{ Action string } }
			e.call("GET", "/api/v1/audit?fq=action=devicegroup.*", ta, "").must(t, 200, &trail)
			if len(trail.SearchResults) < 5 {
				t.Errorf("audit rows: %+v", trail.SearchResults)
			}
		})
	}
}

// addUserWithRoles creates a user with a password and roles in the tenant of ta.
func (e *apiEnv) addUserWithRoles(ta, email string, roles ...string) {
	e.t.Helper()
	list := ""
	for i, r := range roles {
		if i > 0 {
			list += ","
		}
		list += fmt.Sprintf("%q", r)
	}
	e.call("POST", "/api/v1/accounts", ta, fmt.Sprintf(`{"accounts":[{"emailAddress":%q,"firstName":"U","lastName":"U",`+
		`"password":"Fleet-user-pw-1","roles":[%s]}]}`, email, list)).must(e.t, 200, nil)
}

type categoryOut struct {
	ID   int64
	Kind string
	Name string
}

// TestCategories: the two separate sets, case-insensitive names, validation, permissions and tenant
// isolation, on each database.
func TestCategories(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Shelf")
			_, other := e.createTenant("Apart")

			var games, docs categoryOut
			e.call("POST", "/api/v1/categories", ta, `{"name":"Games","kind":"APP","description":"fun"}`).must(t, 200, &games)
			e.call("POST", "/api/v1/categories?kind=CONTENT", ta, `{"name":"Games"}`).must(t, 200, &docs)
			if games.Kind != "APP" || docs.Kind != "CONTENT" {
				t.Errorf("kinds: %+v %+v", games, docs)
			}
			e.call("POST", "/api/v1/categories", ta, "name=Business&kind=app").must(t, 200, nil)
			for body, field := range map[string]string{
				`{"name":"GAMES","kind":"APP"}`:       "name",
				`{"name":"X"}`:                        "kind",
				`{"name":"X","kind":"CONFIGURATION"}`: "kind",
				`{"kind":"APP"}`:                      "name",
				`{"name":" ","kind":"APP"}`:           "name",
			} {
				if r := e.call("POST", "/api/v1/categories", ta, body); r.field() != field || r.Status < 400 || r.Status >= 500 {
					t.Errorf("POST %s: %d %v, want a 4xx naming %s", body, r.Status, r.fields(), field)
				}
			}

			var page struct {
				SearchResults []categoryOut
				TotalCount    int
			}
			e.call("GET", "/api/v1/categories?kind=app", ta, "").must(t, 200, &page)
			if page.TotalCount != 2 || page.SearchResults[0].Name != "Business" || page.SearchResults[1].Name != "Games" {
				t.Errorf("app categories: %+v", page)
			}
			e.call("GET", "/api/v1/categories?kind=CONTENT", ta, "").must(t, 200, &page)
			if page.TotalCount != 1 || page.SearchResults[0].ID != docs.ID {
				t.Errorf("content categories: %+v", page)
			}
			if r := e.call("GET", "/api/v1/categories", ta, ""); r.Status != 400 || r.field() != "kind" {
				t.Errorf("no kind: %d %v", r.Status, r.fields())
			}

			var upd categoryOut
			e.call("PUT", fmt.Sprintf("/api/v1/categories/%d", games.ID), ta, `{"name":"Fun & Games"}`).must(t, 200, &upd)
			if upd.Name != "Fun & Games" || upd.Kind != "APP" {
				t.Errorf("updated %+v", upd)
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/categories/%d", games.ID), ta, `{"name":"business"}`); r.Status != 409 {
				t.Errorf("rename to a taken name: %d", r.Status)
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/categories/%d", games.ID), ta, `{"kind":"CONTENT"}`); r.field() != "kind" {
				t.Errorf("change kind: %d %v", r.Status, r.fields())
			}

			for _, c := range []struct{ method, path, body string }{
				{"GET", fmt.Sprintf("/api/v1/categories/%d", games.ID), ""},
				{"PUT", fmt.Sprintf("/api/v1/categories/%d", games.ID), `{"name":"x"}`},
				{"DELETE", fmt.Sprintf("/api/v1/categories/%d", games.ID), ""},
			} {
				if r := e.call(c.method, c.path, other, c.body); r.Status != 404 {
					t.Errorf("other tenant %s %s: %d, want 404", c.method, c.path, r.Status)
				}
			}
			e.call("GET", "/api/v1/categories?kind=APP", other, "").must(t, 200, &page)
			if page.TotalCount != 0 {
				t.Errorf("other tenant sees %d categories", page.TotalCount)
			}

			e.addUserWithRoles(ta, "ro@shelf.example.com", "APP_CONTENT_READ_ONLY")
			e.addUserWithRoles(ta, "dev@shelf.example.com", "DEVICE_MANAGEMENT")
			ro, dev := "ro@shelf.example.com:Fleet-user-pw-1", "dev@shelf.example.com:Fleet-user-pw-1"
			e.call("GET", "/api/v1/categories?kind=APP", ro, "").must(t, 200, nil)
			if r := e.call("POST", "/api/v1/categories", ro, `{"name":"Mine","kind":"APP"}`); r.Status != 403 {
				t.Errorf("read only creates: %d", r.Status)
			}
			if r := e.call("GET", "/api/v1/categories?kind=APP", dev, ""); r.Status != 403 {
				t.Errorf("device admin lists categories: %d", r.Status)
			}

			e.call("DELETE", fmt.Sprintf("/api/v1/categories/%d", games.ID), ta, "").must(t, 200, nil)
			if r := e.call("GET", fmt.Sprintf("/api/v1/categories/%d", games.ID), ta, ""); r.Status != 404 {
				t.Errorf("deleted category: %d", r.Status)
			}
		})
	}
}

// distributeTo gives configuration 77 to device group id as required, the way an item capability does.
func distributeTo(t *testing.T, e *apiEnv, id int64) {
	t.Helper()
	var tenantID mdm.TenantID
	if err := e.srv.Store().DB().QueryRowContext(t.Context(), `SELECT tenant_id FROM device_groups WHERE id=$1`, id).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	err := e.srv.Store().InTx(t.Context(), func(tx mdm.Stores) error {
		_, err := assign.SetDistribution(t.Context(), tx, tenantID, mdm.ItemConfiguration, 77,
			[]mdm.Distribution{{Target: mdm.TargetDeviceGroup, TargetID: id, Required: true}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
