package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

type accountOut struct {
	ID           int64    `json:"id"`
	UID          string   `json:"uid"`
	EmailAddress string   `json:"emailAddress"`
	FirstName    string   `json:"firstName"`
	Roles        []string `json:"roles"`
	Enabled      bool     `json:"enabled"`
	HasPassword  bool     `json:"hasPassword"`
}

type accountPage struct {
	SearchResults []accountOut
	TotalCount    int
}

func TestAccountsAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Users")
			_, other := e.createTenant("Others")

			// One full account with a role and one half account, as an Ivanti client sends them.
			var created accountPage
			e.call("POST", "/api/v1/accounts", ta, "accounts[0].emailAddress=helen%40users.example.com&accounts[0].firstName=Helen"+
				"&accounts[0].lastName=Desk&accounts[0].password=Helpdesk-pw-123&accounts[0].roles=USER_READ_ONLY"+
				"&accounts[1].emailAddress=pat%40users.example.com&accounts[1].accountSource=LOCAL").must(t, 200, &created)
			if created.TotalCount != 2 || !created.SearchResults[0].HasPassword || created.SearchResults[1].HasPassword ||
				!slices.Equal(created.SearchResults[0].Roles, []string{"USER_READ_ONLY"}) {
				t.Fatalf("created = %+v", created)
			}
			helen, pat := created.SearchResults[0], created.SearchResults[1]
			helenAuth := "helen@users.example.com:Helpdesk-pw-123"

			var page accountPage
			e.call("GET", "/api/v1/account?fq=UID=pat@users.example.com", ta, "").must(t, 200, &page)
			if page.TotalCount != 1 || page.SearchResults[0].ID != pat.ID {
				t.Errorf("fq=UID=: %+v", page)
			}
			// The read-only helpdesk user reads but cannot create; the half account cannot sign in.
			e.call("GET", fmt.Sprintf("/api/v1/account/%d", pat.ID), helenAuth, "").must(t, 200, nil)
			if r := e.call("POST", "/api/v1/accounts", helenAuth, `{"accounts":[{"emailAddress":"x@users.example.com"}]}`); r.Status != 403 {
				t.Errorf("User Read Only creates: %d, want 403", r.Status)
			}
			if r := e.call("GET", "/api/v1/account", "pat@users.example.com:anything-at-all", ""); r.Status != 401 {
				t.Errorf("half account signs in: %d, want 401", r.Status)
			}

			before := accountCount(t, e, ta)
			for _, c := range []struct {
				name, body string
				status     int
				field      string
			}{
				{"bad email in the second", `{"accounts":[{"emailAddress":"ok@users.example.com"},{"emailAddress":"a..b@users.example.com"}]}`, 400, "accounts[1].emailAddress"},
				{"password without names", `{"accounts":[{"emailAddress":"n@users.example.com","password":"Long-enough-pw-1"}]}`, 400, "accounts[0].firstName"},
				{"unknown role", `{"accounts":[{"emailAddress":"r@users.example.com","roles":["GOD"]}]}`, 400, "accounts[0].roles"},
				{"repeated in one request", `{"accounts":[{"emailAddress":"d@users.example.com"},{"emailAddress":"D@users.example.com"}]}`, 400, "accounts[1].emailAddress"},
				{"taken in another tenant", `{"accounts":[{"emailAddress":"ok2@users.example.com"},{"emailAddress":"TA@others.example.com"}]}`, 409, "accounts[1].emailAddress"},
				{"none", `{"accounts":[]}`, 400, "accounts"},
			} {
				r := e.call("POST", "/api/v1/accounts", ta, c.body)
				if r.Status != c.status || !slices.Contains(r.fields(), c.field) {
					t.Errorf("%s: %d %v, want %d naming %s", c.name, r.Status, r.fields(), c.status, c.field)
				}
			}
			if r := e.call("POST", "/api/v1/accounts?sendInvite=maybe", ta, `{"accounts":[{"emailAddress":"i@users.example.com"}]}`); r.Status != 400 || r.field() != "sendInvite" {
				t.Errorf("sendInvite=maybe: %d %s", r.Status, r.Body)
			}
			if after := accountCount(t, e, ta); after != before {
				t.Errorf("refused creates changed the account count from %d to %d", before, after)
			}

			// No escalation: a User Management admin cannot grant more than they hold.
			var um accountPage
			e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"uma@users.example.com","firstName":"U","lastName":"M",`+
				`"password":"User-manager-pw-1","roles":["USER_MANAGEMENT"]}]}`).must(t, 200, &um)
			umAuth := "uma@users.example.com:User-manager-pw-1"
			if r := e.call("POST", "/api/v1/accounts", umAuth, `{"accounts":[{"emailAddress":"sys@users.example.com","roles":["SYSTEM_MANAGEMENT"]}]}`); r.Status != 400 || r.Env.Errors.FieldErrors[0].Code != "Forbidden" {
				t.Errorf("escalating grant: %d %s", r.Status, r.Body)
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/account/%d", um.SearchResults[0].ID), umAuth, `{"roles":["USER_READ_ONLY"]}`); r.Status != 400 || r.field() != "roles" {
				t.Errorf("changing own roles: %d %s", r.Status, r.Body)
			}

			var upd accountOut
			e.call("PUT", fmt.Sprintf("/api/v1/account/%d", pat.ID), umAuth, `{"firstName":"Pat","roles":["USER_READ_ONLY"]}`).must(t, 200, &upd)
			if upd.FirstName != "Pat" || !slices.Equal(upd.Roles, []string{"USER_READ_ONLY"}) {
				t.Errorf("updated = %+v", upd)
			}

			// Another tenant sees none of it.
			for _, c := range []struct{ method, path, body string }{
				{"GET", fmt.Sprintf("/api/v1/account/%d", pat.ID), ""},
				{"PUT", fmt.Sprintf("/api/v1/account/%d", pat.ID), `{"firstName":"Mallory"}`},
				{"DELETE", fmt.Sprintf("/api/v1/account?ids=%d", pat.ID), ""},
			} {
				if r := e.call(c.method, c.path, other, c.body); r.Status != 404 {
					t.Errorf("other tenant %s %s: %d, want 404", c.method, c.path, r.Status)
				}
			}
			e.call("GET", "/api/v1/account?rows=500", other, "").must(t, 200, &page)
			for _, a := range page.SearchResults {
				if strings.HasSuffix(a.UID, "@users.example.com") {
					t.Errorf("other tenant lists %s", a.UID)
				}
			}

			// Delete: all or nothing, never yourself, and the username becomes free.
			if r := e.call("DELETE", fmt.Sprintf("/api/v1/account?ids=%d,999999", pat.ID), ta, ""); r.Status != 404 {
				t.Errorf("delete with an unknown id: %d", r.Status)
			}
			e.call("GET", fmt.Sprintf("/api/v1/account/%d", pat.ID), ta, "").must(t, 200, nil)
			if r := e.call("DELETE", fmt.Sprintf("/api/v1/account?ids=%d", um.SearchResults[0].ID), umAuth, ""); r.Status != 400 {
				t.Errorf("deleting yourself: %d", r.Status)
			}
			if r := e.call("DELETE", "/api/v1/account?ids=abc", ta, ""); r.Status != 400 {
				t.Errorf("ids=abc: %d", r.Status)
			}
			e.call("DELETE", fmt.Sprintf("/api/v1/account?ids=%d&ids=%d", pat.ID, helen.ID), ta, "").must(t, 200, nil)
			if r := e.call("GET", fmt.Sprintf("/api/v1/account/%d", pat.ID), ta, ""); r.Status != 404 {
				t.Errorf("deleted account: %d", r.Status)
			}
			if r := e.call("GET", "/api/v1/account", helenAuth, ""); r.Status != 401 {
				t.Errorf("deleted user's credentials: %d, want 401", r.Status)
			}
			e.call("POST", "/api/v1/accounts", other, `{"accounts":[{"emailAddress":"pat@users.example.com"}]}`).must(t, 200, nil)
		})
	}
}

func accountCount(t *testing.T, e *apiEnv, auth string) int {
	t.Helper()
	var p accountPage
	e.call("GET", "/api/v1/account", auth, "").must(t, 200, &p)
	return p.TotalCount
}
