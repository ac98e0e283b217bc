package server

import (
	"fmt"
	"strings"
	"testing"
)

type groupOut struct {
	ID    int64
	Name  string
	Kind  string
	Rule  string
	Roles []string
}

// TestUserGroups: static and dynamic groups, the All Users group, and roles inherited through them.
func TestUserGroups(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Groups")
	_, other := e.createTenant("Apart")
	mk := func(auth, email, first string, roles string) accountOut {
		t.Helper()
		var p accountPage
		e.call("POST", "/api/v1/accounts", auth, fmt.Sprintf(`{"accounts":[{"emailAddress":%q,"firstName":%q,"lastName":"X",`+
			`"password":"Group-user-pw-1","roles":[%s]}]}`, email, first, roles)).must(t, 200, &p)
		return p.SearchResults[0]
	}
	hd := mk(ta, "hd@groups.example.com", "Hana", "")
	hdAuth := "hd@groups.example.com:Group-user-pw-1"
	if r := e.call("GET", "/api/v1/account", hdAuth, ""); r.Status != 403 {
		t.Fatalf("user without roles reads accounts: %d", r.Status)
	}

	var all struct{ SearchResults []groupOut }
	e.call("GET", "/api/v1/usergroups?fq=kind=ALL_USERS", ta, "").must(t, 200, &all)
	if len(all.SearchResults) != 1 || all.SearchResults[0].Name != "All Users" {
		t.Fatalf("All Users group: %+v", all)
	}
	allUsers := all.SearchResults[0]
	if r := e.call("DELETE", fmt.Sprintf("/api/v1/usergroups/%d", allUsers.ID), ta, ""); r.Status != 409 {
		t.Errorf("deleting All Users: %d, want 409", r.Status)
	}
	if r := e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d", allUsers.ID), ta, `{"name":"Some Users"}`); r.Status != 400 {
		t.Errorf("renaming All Users: %d, want 400", r.Status)
	}

	// A static group's roles reach its members, and only while they are members.
	var helpdesk groupOut
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Helpdesk","kind":"STATIC","roles":["DEVICE_READ_ONLY"]}`).must(t, 200, &helpdesk)
	members := fmt.Sprintf("/api/v1/usergroups/%d/members", helpdesk.ID)
	e.call("PUT", members, ta, fmt.Sprintf(`{"accountIds":[%d]}`, hd.ID)).must(t, 200, nil)
	e.call("GET", "/api/v1/account", hdAuth, "").must(t, 200, nil)
	e.call("DELETE", fmt.Sprintf("%s?accountIds=%d", members, hd.ID), ta, "").must(t, 200, nil)
	if r := e.call("GET", "/api/v1/account", hdAuth, ""); r.Status != 403 {
		t.Errorf("after leaving the group: %d, want 403", r.Status)
	}

	// A dynamic group matches by rule.
	var managers groupOut
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Managers","kind":"DYNAMIC","rule":"firstName=Boss*","roles":["USER_MANAGEMENT"]}`).
		must(t, 200, &managers)
	mk(ta, "boss@groups.example.com", "Bossa", "")
	e.call("POST", "/api/v1/accounts", "boss@groups.example.com:Group-user-pw-1", `{"accounts":[{"emailAddress":"new@groups.example.com"}]}`).
		must(t, 200, nil)
	if r := e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", managers.ID), ta, fmt.Sprintf(`{"accountIds":[%d]}`, hd.ID)); r.Status != 409 {
		t.Errorf("adding members to a dynamic group: %d, want 409", r.Status)
	}

	// Bad input changes nothing.
	for body, field := range map[string]string{
		`{"name":"Bad","kind":"DYNAMIC","rule":"shoeSize=9"}`: "rule",
		`{"name":"Bad","kind":"DYNAMIC"}`:                     "rule",
		`{"name":"Bad","kind":"STATIC","rule":"UID=x"}`:       "rule",
		`{"name":"Bad","kind":"SMART"}`:                       "kind",
		`{"kind":"STATIC"}`:                                   "name",
		`{"name":"helpdesk"}`:                                 "name",
		`{"name":"Bad","roles":["ROOT"]}`:                     "roles",
	} {
		if r := e.call("POST", "/api/v1/usergroups", ta, body); r.field() != field || r.Status < 400 || r.Status >= 500 {
			t.Errorf("POST %s: %d %v, want a 4xx naming %s", body, r.Status, r.fields(), field)
		}
	}

	// No escalation through groups: a User Management admin cannot hand out more than they hold.
	uma := mk(ta, "uma@groups.example.com", "Uma", `"USER_MANAGEMENT"`)
	umAuth := "uma@groups.example.com:Group-user-pw-1"
	var admins groupOut
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Admins","roles":["SYSTEM_MANAGEMENT"]}`).must(t, 200, &admins)
	var bosses groupOut
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Chiefs","kind":"DYNAMIC","rule":"firstName=Chief","roles":["SYSTEM_MANAGEMENT"]}`).must(t, 200, &bosses)
	for _, c := range []struct{ method, path, body, what string }{
		{"POST", "/api/v1/usergroups", `{"name":"Mine","roles":["SYSTEM_MANAGEMENT"]}`, "a group with more roles"},
		{"PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", admins.ID), fmt.Sprintf(`{"accountIds":[%d]}`, uma.ID), "joining a stronger group"},
		{"PUT", fmt.Sprintf("/api/v1/account/%d", hd.ID), `{"firstName":"Chief"}`, "renaming someone into a stronger dynamic group"},
		{"PUT", fmt.Sprintf("/api/v1/usergroups/%d", allUsers.ID), `{"roles":["SYSTEM_MANAGEMENT"]}`, "raising All Users"},
	} {
		if r := e.call(c.method, c.path, umAuth, c.body); r.Status != 400 || !strings.Contains(r.Body, "Forbidden") {
			t.Errorf("%s: %d %s, want 400 Forbidden", c.what, r.Status, r.Body)
		}
	}
	if r := e.call("GET", "/api/v1/account", hdAuth, ""); r.Status != 403 {
		t.Errorf("hd gained roles through a refused change: %d", r.Status)
	}

	// All Users' roles reach everyone.
	e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d", allUsers.ID), ta, `{"roles":["USER_READ_ONLY"]}`).must(t, 200, nil)
	e.call("GET", "/api/v1/account", hdAuth, "").must(t, 200, nil)

	// Another tenant sees none of it.
	for _, c := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/api/v1/usergroups/%d", helpdesk.ID), ""},
		{"PUT", fmt.Sprintf("/api/v1/usergroups/%d", helpdesk.ID), `{"description":"x"}`},
		{"DELETE", fmt.Sprintf("/api/v1/usergroups/%d", helpdesk.ID), ""},
		{"PUT", members, `{"accountIds":[1]}`},
	} {
		if r := e.call(c.method, c.path, other, c.body); r.Status != 404 {
			t.Errorf("other tenant %s %s: %d, want 404", c.method, c.path, r.Status)
		}
	}
	e.call("DELETE", fmt.Sprintf("/api/v1/usergroups/%d", helpdesk.ID), ta, "").must(t, 200, nil)
	if r := e.call("GET", fmt.Sprintf("/api/v1/usergroups/%d", helpdesk.ID), ta, ""); r.Status != 404 {
		t.Errorf("deleted group: %d", r.Status)
	}
}
