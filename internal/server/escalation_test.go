package server

import (
	"fmt"
	"testing"
)

// TestNoActingOnStrongerAccounts: a User Management administrator can neither create an account that a
// dynamic group makes a Tenant Admin, nor change, delete, invite or issue a PIN for a Tenant Admin, nor
// take a Tenant Admin group's roles away by changing or deleting it. Each refusal changes nothing.
func TestNoActingOnStrongerAccounts(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			tenant, ta := e.createTenant("Ladder")
			e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"um@ladder.example.com","firstName":"Uma",`+
				`"lastName":"M","password":"User-manager-pw-1","roles":["USER_MANAGEMENT"]}]}`).must(t, 200, nil)
			um := "um@ladder.example.com:User-manager-pw-1"
			var boss groupOut
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Bosses","kind":"DYNAMIC","rule":"emailAddress=*@boss.example.com",`+
				`"roles":["TENANT_ADMIN"]}`).must(t, 200, &boss)

			before := accountCount(t, e, ta)
			r := e.call("POST", "/api/v1/accounts", um, `{"accounts":[{"emailAddress":"evil@boss.example.com","firstName":"E",`+
				`"lastName":"Vil","password":"Evil-password-12"}]}`)
			if r.Status != 400 || r.field() != "accounts[0].emailAddress" {
				t.Errorf("creating an account a dynamic group makes Tenant Admin: %d %v", r.Status, r.fields())
			}
			if n := accountCount(t, e, ta); n != before {
				t.Errorf("accounts after the refused create: %d, want %d", n, before)
			}

			taID := tenant.Admin.ID
			for _, c := range []struct{ method, path, body string }{
				{"PUT", fmt.Sprintf("/api/v1/account/%d", taID), `{"roles":[]}`},
				{"PUT", fmt.Sprintf("/api/v1/account/%d", taID), `{"firstName":"Mallory"}`},
				{"DELETE", fmt.Sprintf("/api/v1/account?ids=%d", taID), ""},
				{"PUT", fmt.Sprintf("/api/v1/account/invite?ids=%d", taID), ""},
				{"POST", "/api/v1/account/regpin", fmt.Sprintf("accountId=%d", taID)},
			} {
				if r := e.call(c.method, c.path, um, c.body); r.Status != 403 {
					t.Errorf("%s %s %s on the Tenant Admin: %d, want 403", c.method, c.path, c.body, r.Status)
				}
			}
			var got accountOut
			e.call("GET", fmt.Sprintf("/api/v1/account/%d", taID), ta, "").must(t, 200, &got)
			if len(got.Roles) != 1 || got.Roles[0] != "TENANT_ADMIN" || got.FirstName != "Ta" {
				t.Errorf("the Tenant Admin after refused changes: %+v", got)
			}

			group := fmt.Sprintf("/api/v1/usergroups/%d", boss.ID)
			for _, c := range []struct{ method, body string }{{"PUT", `{"roles":[]}`}, {"PUT", `{"rule":"emailAddress=nobody@x.example.com"}`}, {"DELETE", ""}} {
				if r := e.call(c.method, group, um, c.body); r.Status != 400 {
					t.Errorf("%s %s on the Tenant Admin group: %d, want 400", c.method, c.body, r.Status)
				}
			}
			var g groupOut
			e.call("GET", group, ta, "").must(t, 200, &g)
			if len(g.Roles) != 1 || g.Roles[0] != "TENANT_ADMIN" || g.Rule != "emailAddress=*@boss.example.com" {
				t.Errorf("the Tenant Admin group after refused changes: %+v", g)
			}
		})
	}
}
