package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"steward/internal/httpx"
)

type registrationOut struct {
	GroupID         int64
	GroupName       string
	Priority        int
	AuthType        string
	PINLength       int
	PINLifetimeDays int
}

type effectiveOut struct {
	AccountID int64
	Source    string
	Setting   registrationOut
}

// TestGroupRegistrationSettings: group overrides decide which users get a registration PIN, by priority
// and by dynamic rule; reordering and deleting change the outcome; bad input and other tenants change
// nothing.
func TestGroupRegistrationSettings(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Reg")
			_, other := e.createTenant("Foreign")
			half := func(email string) int64 {
				t.Helper()
				var p accountPage
				e.call("POST", "/api/v1/accounts", ta, fmt.Sprintf(`{"accounts":[{"emailAddress":%q}]}`, email)).must(t, 200, &p)
				return p.SearchResults[0].ID
			}
			dora := half("dora@reg.example.com")   // in no group: the default
			sam := half("sam@reg.example.com")     // static Sales
			eve := half("eve@eng.reg.example.com") // dynamic Engineering
			bo := half("bo@eng.reg.example.com")   // both
			var sales, eng, ops, all groupOut
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Sales","kind":"STATIC"}`).must(t, 200, &sales)
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Engineering","kind":"DYNAMIC","rule":"emailAddress=*@eng.reg.example.com"}`).
				must(t, 200, &eng)
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Ops"}`).must(t, 200, &ops)
			var allPage struct{ SearchResults []groupOut }
			e.call("GET", "/api/v1/usergroups?fq=kind=ALL_USERS", ta, "").must(t, 200, &allPage)
			all = allPage.SearchResults[0]
			e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", sales.ID), ta, fmt.Sprintf(`{"accountIds":[%d,%d]}`, sam, bo)).
				must(t, 200, nil)

			var o registrationOut
			e.call("PUT", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), ta, `{"authType":"PASSWORD_ONLY"}`).must(t, 200, &o)
			if o.GroupID != sales.ID || o.GroupName != "Sales" || o.Priority != 1 || o.AuthType != "PASSWORD_ONLY" || o.PINLength != 6 {
				t.Errorf("Sales override = %+v", o)
			}
			e.call("PUT", "/api/v1/registrationsettings", ta, fmt.Sprintf(`{"groupId":%d,"authType":"PIN_AND_PASSWORD","pinLength":10}`, eng.ID)).
				must(t, 200, &o)
			if o.GroupID != eng.ID || o.Priority != 2 || o.PINLength != 10 {
				t.Errorf("Engineering override = %+v", o)
			}
			var def registrationOut
			e.call("GET", "/api/v1/registrationsettings", ta, "").must(t, 200, &def)
			if def.AuthType != "PIN_ONLY" || def.GroupID != 0 || def.PINLength != 6 {
				t.Errorf("the default changed with the overrides: %+v", def)
			}

			// regpin follows each user's effective setting.
			pinLen := func(id int64) int {
				t.Helper()
				r := e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf(`{"accountId":%d}`, id))
				if r.Status == 400 {
					if r.field() != "accountId" || !strings.Contains(r.Body, "PASSWORD_ONLY") {
						t.Errorf("regpin refusal does not say why: %s", r.Body)
					}
					return 0
				}
				var pin struct{ PIN string }
				r.must(t, 200, &pin)
				return len(pin.PIN)
			}
			effective := func(id int64) effectiveOut {
				t.Helper()
				var out effectiveOut
				e.call("GET", fmt.Sprintf("/api/v1/account/%d/registrationsettings", id), ta, "").must(t, 200, &out)
				return out
			}
			for _, c := range []struct {
				who    string
				id     int64
				pinLen int
				source string
				group  string
			}{
				{"dora (default)", dora, 6, "DEFAULT", ""},
				{"sam (Sales, PASSWORD_ONLY)", sam, 0, "GROUP", "Sales"},
				{"eve (Engineering by rule)", eve, 10, "GROUP", "Engineering"},
				{"bo (Sales above Engineering)", bo, 0, "GROUP", "Sales"},
			} {
				if got := pinLen(c.id); got != c.pinLen {
					t.Errorf("%s: PIN length %d, want %d (0: refused)", c.who, got, c.pinLen)
				}
				if got := effective(c.id); got.Source != c.source || got.Setting.GroupName != c.group || got.AccountID != c.id {
					t.Errorf("%s: effective %+v, want %s %q", c.who, got, c.source, c.group)
				}
			}

			// The overview lists the overrides by priority.
			type overview struct {
				Default   registrationOut
				Overrides []registrationOut
			}
			order := func() string {
				t.Helper()
				var ov overview
				e.call("GET", "/api/v1/registrationsettings/all", ta, "").must(t, 200, &ov)
				var s []string
				for _, o := range ov.Overrides {
					s = append(s, fmt.Sprintf("%d:%s", o.Priority, o.GroupName))
				}
				return strings.Join(s, ",")
			}
			if got := order(); got != "1:Sales,2:Engineering" {
				t.Errorf("overview order %q", got)
			}

			// Bad input: a 4xx naming the field, and nothing changes.
			snapshot := func() string {
				t.Helper()
				return string(e.call("GET", "/api/v1/registrationsettings/all", ta, "").must(t, 200, nil).Env.Result)
			}
			before := snapshot()
			for _, c := range []struct {
				method, path, body string
				status             int
				field              string
			}{
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), `{"pinLength":99}`, 400, "pinLength"},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), `{"authType":"RETINA"}`, 400, "authType"},
				{"PUT", "/api/v1/registrationsettings?groupId=x", `{"pinLength":8}`, 400, "groupId"},
				{"PUT", "/api/v1/registrationsettings", `{"groupId":-3,"pinLength":8}`, 400, "groupId"},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", all.ID), `{"pinLength":8}`, 400, "groupId"},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), fmt.Sprintf(`{"groupId":%d}`, eng.ID), 400, "groupId"},
				{"PUT", "/api/v1/registrationsettings?groupId=999999", `{"pinLength":8}`, 404, ""},
				{"GET", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", all.ID), "", 400, "groupId"},
				{"GET", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", ops.ID), "", 404, ""},
				{"DELETE", "/api/v1/registrationsettings", "", 400, "groupId"},
				{"DELETE", "/api/v1/registrationsettings?groupId=0", "", 400, "groupId"},
				{"DELETE", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", ops.ID), "", 404, ""},
				{"DELETE", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", all.ID), "", 400, "groupId"},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings/priority?groupIds=%d", eng.ID), "", 400, "groupIds"},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings/priority?groupIds=%d,%d", eng.ID, eng.ID), "", 400, "groupIds"},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings/priority?groupIds=%d,%d,%d", eng.ID, sales.ID, ops.ID), "", 400, "groupIds"},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings/priority?groupIds=%d,%d,999999", eng.ID, sales.ID), "", 400, "groupIds"},
				{"PUT", "/api/v1/registrationsettings/priority", "groupIds=abc", 400, "groupIds"},
				{"PUT", "/api/v1/registrationsettings/priority", `{"groupIds":[]}`, 400, "groupIds"},
				{"PUT", "/api/v1/registrationsettings/priority", `{"groupIds":"all"}`, 400, "groupIds"},
				{"PUT", "/api/v1/registrationsettings/priority", fmt.Sprintf(`{"groupIds":[%d,0]}`, eng.ID), 400, "groupIds"},
				{"GET", "/api/v1/account/abc/registrationsettings", "", 404, ""},
				{"GET", "/api/v1/account/999999/registrationsettings", "", 404, ""},
				{"GET", "/api/v1/usergroups/999999/members", "", 404, ""},
				{"GET", fmt.Sprintf("/api/v1/usergroups/%d/members?rows=0", sales.ID), "", 400, "rows"},
				{"GET", fmt.Sprintf("/api/v1/usergroups/%d/members?fq=shoeSize=9", sales.ID), "", 400, "fq"},
			} {
				r := e.call(c.method, c.path, ta, c.body)
				if r.Status != c.status || r.field() != c.field {
					t.Errorf("%s %s %s: %d %v, want %d naming %q: %s", c.method, c.path, c.body, r.Status, r.fields(), c.status, c.field, r.Body)
				}
			}
			if after := snapshot(); after != before {
				t.Errorf("bad input changed the settings:\n%s\n%s", before, after)
			}

			// Another tenant sees and changes none of it.
			for _, c := range []struct{ method, path, body string }{
				{"GET", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), ""},
				{"PUT", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), `{"authType":"PIN_ONLY"}`},
				{"DELETE", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), ""},
				{"GET", fmt.Sprintf("/api/v1/account/%d/registrationsettings", bo), ""},
				{"GET", fmt.Sprintf("/api/v1/usergroups/%d/members", sales.ID), ""},
			} {
				if r := e.call(c.method, c.path, other, c.body); r.Status != 404 {
					t.Errorf("other tenant %s %s: %d, want 404", c.method, c.path, r.Status)
				}
			}
			if r := e.call("PUT", fmt.Sprintf("/api/v1/registrationsettings/priority?groupIds=%d,%d", eng.ID, sales.ID), other, ""); r.Status != 400 {
				t.Errorf("other tenant reorders A's overrides: %d", r.Status)
			}
			var theirs overview
			e.call("GET", "/api/v1/registrationsettings/all", other, "").must(t, 200, &theirs)
			if len(theirs.Overrides) != 0 {
				t.Errorf("the other tenant lists %+v", theirs.Overrides)
			}
			if after := snapshot(); after != before {
				t.Errorf("the other tenant changed the settings:\n%s\n%s", before, after)
			}

			// Reordering changes the outcome for a user in both groups (form, then JSON).
			e.call("PUT", "/api/v1/registrationsettings/priority", ta, fmt.Sprintf("groupIds=%d,%d", eng.ID, sales.ID)).must(t, 200, nil)
			if got := order(); got != "1:Engineering,2:Sales" {
				t.Errorf("after reorder %q", got)
			}
			if got := pinLen(bo); got != 10 {
				t.Errorf("bo after reorder: PIN length %d, want 10", got)
			}
			if got := effective(bo); got.Setting.GroupName != "Engineering" || got.Setting.Priority != 1 {
				t.Errorf("bo after reorder: %+v", got)
			}
			e.call("PUT", "/api/v1/registrationsettings/priority", ta, fmt.Sprintf(`{"groupIds":[%d,%d]}`, sales.ID, eng.ID)).must(t, 200, nil)
			if got := pinLen(bo); got != 0 {
				t.Errorf("bo after reordering back: PIN length %d, want refused", got)
			}

			// Deleting an override moves the rest up; deleting a group deletes its override.
			e.call("DELETE", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", sales.ID), ta, "").must(t, 200, nil)
			if got := order(); got != "1:Engineering" {
				t.Errorf("after deleting Sales' override %q", got)
			}
			if got := pinLen(sam); got != 6 {
				t.Errorf("sam without Sales' override: PIN length %d, want the default 6", got)
			}
			e.call("DELETE", fmt.Sprintf("/api/v1/usergroups/%d", eng.ID), ta, "").must(t, 200, nil)
			if got := order(); got != "" {
				t.Errorf("after deleting Engineering %q", got)
			}
			if got := effective(eve); got.Source != "DEFAULT" {
				t.Errorf("eve after deleting her group: %+v", got)
			}
			if r := e.call("GET", fmt.Sprintf("/api/v1/registrationsettings?groupId=%d", eng.ID), ta, ""); r.Status != 404 {
				t.Errorf("override of a deleted group: %d", r.Status)
			}
		})
	}
}

// TestGroupMembers: the member list of a static, a dynamic and the All Users group.
func TestGroupMembers(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Crew")
	_, other := e.createTenant("Strangers")
	e.call("POST", "/api/v1/accounts", other, `{"accounts":[{"emailAddress":"x@eng.crew.example.com"}]}`).must(t, 200, nil)
	var created accountPage
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"ann@eng.crew.example.com"},`+
		`{"emailAddress":"ben@eng.crew.example.com"},{"emailAddress":"cy@crew.example.com"}]}`).must(t, 200, &created)
	ann, cy := created.SearchResults[0], created.SearchResults[2]
	var static, dynamic groupOut
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Picked"}`).must(t, 200, &static)
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Eng","kind":"DYNAMIC","rule":"emailAddress=*@eng.crew.example.com"}`).must(t, 200, &dynamic)
	e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", static.ID), ta, fmt.Sprintf(`{"accountIds":[%d,%d]}`, ann.ID, cy.ID)).
		must(t, 200, nil)
	var allPage struct{ SearchResults []groupOut }
	e.call("GET", "/api/v1/usergroups?fq=kind=ALL_USERS", ta, "").must(t, 200, &allPage)

	members := func(id int64, query string) (int, []string) {
		t.Helper()
		var p accountPage
		e.call("GET", fmt.Sprintf("/api/v1/usergroups/%d/members?sortFields[0].name=UID%s", id, query), ta, "").must(t, 200, &p)
		var uids []string
		for _, a := range p.SearchResults {
			uids = append(uids, a.UID)
		}
		return p.TotalCount, uids
	}
	for _, c := range []struct {
		what  string
		id    int64
		query string
		total int
		uids  string
	}{
		{"static", static.ID, "", 2, "ann@eng.crew.example.com,cy@crew.example.com"},
		{"static, paged", static.ID, "&rows=1&start=1", 2, "cy@crew.example.com"},
		{"dynamic", dynamic.ID, "", 2, "ann@eng.crew.example.com,ben@eng.crew.example.com"},
		{"dynamic, filtered", dynamic.ID, "&fq=" + url.QueryEscape("UID=b*"), 1, "ben@eng.crew.example.com"},
		{"All Users", allPage.SearchResults[0].ID, "", 4, "ann@eng.crew.example.com,ben@eng.crew.example.com,cy@crew.example.com,ta@crew.example.com"},
	} {
		total, uids := members(c.id, c.query)
		if total != c.total || strings.Join(uids, ",") != c.uids {
			t.Errorf("%s members: %d %v, want %d %s", c.what, total, uids, c.total, c.uids)
		}
	}
	// A new account matching the rule is a member at once.
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"dee@eng.crew.example.com"}]}`).must(t, 200, nil)
	if total, _ := members(dynamic.ID, ""); total != 3 {
		t.Errorf("dynamic members after a new match: %d, want 3", total)
	}
}

// TestAPIUsersAndConsoleSignIn: an API user works over HTTP Basic but never gets a console session, nor
// does an account without an administrative role.
func TestAPIUsersAndConsoleSignIn(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Robots")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(username, password string) (int, string, *http.Cookie) {
		t.Helper()
		res, err := client.PostForm(e.url+"/login", url.Values{"username": {username}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		for _, c := range res.Cookies() {
			if c.Name == httpx.SessionCookie && c.Value != "" {
				return res.StatusCode, string(body), c
			}
		}
		return res.StatusCode, string(body), nil
	}
	withSession := func(c *http.Cookie, path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.AddCookie(c)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	const pw = "Robot-account-pw-1"
	var created struct {
		SearchResults []struct {
			ID      int64
			APIUser bool
		}
	}
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"bot@robots.example.com","firstName":"Bot","lastName":"One",`+
		`"password":"`+pw+`","roles":["USER_READ_ONLY"],"apiUser":true}]}`).must(t, 200, &created)
	bot := created.SearchResults[0]
	if !bot.APIUser {
		t.Fatalf("the account JSON does not show apiUser: %+v", bot)
	}
	e.call("GET", "/api/v1/account", "bot@robots.example.com:"+pw, "").must(t, 200, nil)
	status, body, cookie := login("bot@robots.example.com", pw)
	if status != http.StatusForbidden || cookie != nil || !strings.Contains(body, "API user") {
		t.Errorf("API user console sign-in: %d, cookie %v, body lacks the reason:\n%s", status, cookie, body)
	}
	// Nor do its Basic credentials open a console page: the console is sessions only.
	for _, auth := range []string{"bot@robots.example.com:" + pw, ta} {
		user, password, _ := strings.Cut(auth, ":")
		req, _ := http.NewRequest("GET", e.url+"/console/users", nil)
		req.SetBasicAuth(user, password)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("console page with Basic credentials of %s: %d to %q, want the sign-in page", user, res.StatusCode, res.Header.Get("Location"))
		}
	}
	var listed accountPage
	e.call("GET", "/api/v1/account?fq=apiUser=true", ta, "").must(t, 200, &listed)
	if listed.TotalCount != 1 || listed.SearchResults[0].ID != bot.ID {
		t.Errorf("fq=apiUser=true: %+v", listed)
	}

	// An end user with a password but no role: no console, no API.
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"eu@robots.example.com","firstName":"End","lastName":"User",`+
		`"password":"`+pw+`"}]}`).must(t, 200, nil)
	status, body, cookie = login("eu@robots.example.com", pw)
	if status != http.StatusForbidden || cookie != nil || !strings.Contains(body, "/go") {
		t.Errorf("roleless console sign-in: %d, cookie %v, body does not point to /go:\n%s", status, cookie, body)
	}
	if r := e.call("GET", "/api/v1/account", "eu@robots.example.com:"+pw, ""); r.Status != 403 {
		t.Errorf("roleless API call: %d, want 403", r.Status)
	}

	// An administrator signs in; made an API user, their session ends.
	var adm accountPage
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"adm@robots.example.com","firstName":"Ad","lastName":"Min",`+
		`"password":"`+pw+`","roles":["USER_READ_ONLY"]}]}`).must(t, 200, &adm)
	status, _, cookie = login("adm@robots.example.com", pw)
	if status != http.StatusSeeOther || cookie == nil {
		t.Fatalf("administrator sign-in: %d, cookie %v", status, cookie)
	}
	if got := withSession(cookie, "/api/v1/account"); got != 200 {
		t.Fatalf("administrator session: %d", got)
	}
	var updated struct{ APIUser bool }
	e.call("PUT", fmt.Sprintf("/api/v1/account/%d", adm.SearchResults[0].ID), ta, `{"apiUser":true}`).must(t, 200, &updated)
	if !updated.APIUser {
		t.Errorf("update did not set apiUser")
	}
	if got := withSession(cookie, "/api/v1/account"); got != 401 {
		t.Errorf("an API user's old session: %d, want 401", got)
	}
	e.call("GET", "/api/v1/account", "adm@robots.example.com:"+pw, "").must(t, 200, nil)

	// Bad input changes nothing.
	count := accountCount(t, e, ta)
	if r := e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"nopw@robots.example.com","apiUser":true}]}`); r.Status != 400 ||
		r.field() != "accounts[0].apiUser" {
		t.Errorf("API user without a password: %d %v", r.Status, r.fields())
	}
	if r := e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"nopw@robots.example.com","apiUser":"yes"}]}`); r.Status != 400 {
		t.Errorf("apiUser=yes: %d", r.Status)
	}
	var halfAcct accountPage
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"half@robots.example.com"}]}`).must(t, 200, &halfAcct)
	if r := e.call("PUT", fmt.Sprintf("/api/v1/account/%d", halfAcct.SearchResults[0].ID), ta, `{"apiUser":true}`); r.Status != 400 || r.field() != "apiUser" {
		t.Errorf("half account made API user: %d %v", r.Status, r.fields())
	}
	var still struct{ APIUser bool }
	e.call("GET", fmt.Sprintf("/api/v1/account/%d", halfAcct.SearchResults[0].ID), ta, "").must(t, 200, &still)
	if still.APIUser {
		t.Error("a refused update set apiUser")
	}
	var me accountPage
	e.call("GET", "/api/v1/account?fq="+url.QueryEscape("UID=ta@robots.example.com"), ta, "").must(t, 200, &me)
	if r := e.call("PUT", fmt.Sprintf("/api/v1/account/%d", me.SearchResults[0].ID), ta, `{"apiUser":true}`); r.Status != 400 || r.field() != "apiUser" {
		t.Errorf("making oneself an API user: %d %v", r.Status, r.fields())
	}
	if n := accountCount(t, e, ta); n != count+1 {
		t.Errorf("%d accounts, want %d (only the half account added)", n, count+1)
	}
	// The Tenant Admin still signs in to the console.
	if status, _, cookie := login("ta@robots.example.com", "Tenant-admin-pw-1"); status != http.StatusSeeOther || cookie == nil {
		t.Errorf("Tenant Admin sign-in: %d", status)
	}
}
