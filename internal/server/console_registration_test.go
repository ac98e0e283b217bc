package server

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// TestConsoleGroupMembersAndRegistration drives the group page's member list (static, dynamic, All
// Users), the groups' registration settings on the registration page (add, edit, delete, reorder) and
// the effective setting on the user page, as a Tenant Admin, a read-only user and another tenant. The
// API's overview confirms what the pages changed.
func TestConsoleGroupMembersAndRegistration(t *testing.T) {
	s, ts := startConsole(t)
	hooli, taPrincipal := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	tenantID := hooli.Tenant.ID
	ctx := mdm.WithPrincipal(t.Context(), taPrincipal)
	ta := signIn(t, ts, "gavin@hooli.example.com", testAdminPassword)
	api := &apiEnv{t: t, srv: s, url: ts.URL}
	taAPI := "gavin@hooli.example.com:" + testAdminPassword

	people := []accounts.NewAccount{{EmailAddress: "ann@hooli.example.com", FirstName: "Ann", LastName: "Lee"},
		{EmailAddress: "bob@hooli.example.com"}, {EmailAddress: "cat@eng.hooli.example.com"}, {EmailAddress: "dan@eng.hooli.example.com"},
		{EmailAddress: "helpdesk@hooli.example.com", FirstName: "Help", LastName: "Desk", Password: "helpdesk password 1",
			Roles: []string{authz.RoleUserReadOnly}}}
	for i := range 26 { // enough for All Users to need a second page
		people = append(people, accounts.NewAccount{EmailAddress: fmt.Sprintf("u%02d@hooli.example.com", i)})
	}
	if _, err := s.accounts.CreateAccounts(ctx, people, false); err != nil {
		t.Fatal(err)
	}
	id := func(email string) string { return strconvI(int64(accountByEmail(t, s, tenantID, email))) }
	newGroup := func(form url.Values) string {
		t.Helper()
		return pathIDOf(t, ta.do("POST", "/console/groups", form).location(t, "/console/groups/"))
	}
	sales := newGroup(url.Values{"name": {"Sales"}, "kind": {"STATIC"}})
	eng := newGroup(url.Values{"name": {"Engineering"}, "kind": {"DYNAMIC"}, "rule": {"emailAddress=*@eng.hooli.example.com"}})
	ops := newGroup(url.Values{"name": {"Ops"}, "kind": {"STATIC"}})
	allUsers := groupIDByName(t, s, taPrincipal, "All Users")
	ta.do("POST", "/console/groups/"+sales+"/members", url.Values{"action": {"add"},
		"emails": {"ann@hooli.example.com\ndan@eng.hooli.example.com\nbob@hooli.example.com"}}).location(t, "/console/groups/"+sales)

	members := func(r pageResp) []string {
		var out []string
		for _, m := range regexp.MustCompile(`data-member="([^"]+)"`).FindAllStringSubmatch(r.body, -1) {
			out = append(out, m[1])
		}
		return out
	}

	t.Run("member lists", func(t *testing.T) {
		r := ta.do("GET", "/console/groups/"+sales, nil).expect(t, 200, "static group", `href="/console/users/`+id("ann@hooli.example.com")+`"`,
			`data-remove="ann@hooli.example.com"`, "1–3 of 3")
		if got := strings.Join(members(r), ","); got != "ann@hooli.example.com,bob@hooli.example.com,dan@eng.hooli.example.com" {
			t.Errorf("Sales members: %s", got)
		}
		// The row's Remove button posts the existing members form with that one address.
		ta.do("POST", "/console/groups/"+sales+"/members", url.Values{"action": {"remove"}, "emails": {"bob@hooli.example.com"}}).
			location(t, "/console/groups/"+sales)
		r = ta.do("GET", "/console/groups/"+sales, nil).expect(t, 200, "after remove", "1–2 of 2")
		r.lacks(t, "after remove", `data-member="bob@hooli.example.com"`)

		r = ta.do("GET", "/console/groups/"+eng, nil).expect(t, 200, "dynamic group", "1–2 of 2")
		if got := strings.Join(members(r), ","); got != "cat@eng.hooli.example.com,dan@eng.hooli.example.com" {
			t.Errorf("Engineering members: %s", got)
		}
		r.lacks(t, "dynamic group", "data-remove=")
		r = ta.do("GET", "/console/groups/"+eng+"?q=dan", nil).expect(t, 200, "search")
		if got := strings.Join(members(r), ","); got != "dan@eng.hooli.example.com" {
			t.Errorf("search dan: %s", got)
		}
		r = ta.do("GET", "/console/groups/"+eng+"?q=cat", nil, "HX-Request", "true", "HX-Target", "member-list").
			expect(t, 200, "htmx search", `data-member="cat@eng.hooli.example.com"`)
		r.lacks(t, "htmx search", "<html", `data-member="dan@eng.hooli.example.com"`)

		ta.do("GET", "/console/groups/"+ops, nil).expect(t, 200, "empty static", "No members yet.")

		// All Users: every account of the tenant (Gavin, 5 people, 26 more), 25 per page.
		r = ta.do("GET", "/console/groups/"+allUsers, nil).expect(t, 200, "All Users", "1–25 of 32",
			`href="/console/groups/`+allUsers+`?start=25"`)
		r.lacks(t, "All Users", "data-remove=")
		first := members(r)
		r = ta.do("GET", "/console/groups/"+allUsers+"?start=25", nil).expect(t, 200, "All Users page 2", "26–32 of 32")
		seen := map[string]bool{}
		for _, m := range append(first, members(r)...) {
			seen[m] = true
		}
		if len(seen) != 32 || !seen["gavin@hooli.example.com"] || !seen["cat@eng.hooli.example.com"] || !seen["u25@hooli.example.com"] {
			t.Errorf("All Users pages list %d distinct users: %v", len(seen), seen)
		}
	})

	overview := func() string {
		t.Helper()
		var ov struct {
			Overrides []registrationOut
		}
		api.call("GET", "/api/v1/registrationsettings/all", taAPI, "").must(t, 200, &ov)
		var out []string
		for _, o := range ov.Overrides {
			out = append(out, fmt.Sprintf("%d:%s:%s:%d", o.Priority, o.GroupName, o.AuthType, o.PINLength))
		}
		return strings.Join(out, ",")
	}
	source := func(c *consoleClient, email string) string {
		t.Helper()
		r := c.do("GET", "/console/users/"+id(email), nil).expect(t, 200, "user "+email, `id="effective-source"`)
		m := regexp.MustCompile(`id="effective-setting" data-source="([^"]+)"`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("%s: no effective setting shown", email)
		}
		return m[1]
	}
	setting := func(auth, lifetime, length, devices string) url.Values {
		return url.Values{"authType": {auth}, "pinLifetimeDays": {lifetime}, "pinLength": {length}, "devicesPerUser": {devices},
			"allowPinRequest": {"on"}}
	}
	with := func(v url.Values, k, val string) url.Values {
		out := url.Values{}
		for key, vals := range v {
			out[key] = vals
		}
		out.Set(k, val)
		return out
	}

	t.Run("add group settings", func(t *testing.T) {
		r := ta.do("GET", "/console/registration", nil).expect(t, 200, "no overrides", "No group has its own setting", `id="add-override"`)
		r = ta.do("GET", "/console/registration/new", nil).expect(t, 200, "new", `<option value="`+sales+`">Sales</option>`,
			`<option value="`+eng+`">Engineering</option>`, `<option value="`+ops+`">Ops</option>`, `id="auth-pin" checked`)
		r.lacks(t, "new", `<option value="`+allUsers+`"`)
		if got := source(ta, "dan@eng.hooli.example.com"); got != "default" {
			t.Errorf("dan before any override: %s", got)
		}

		good := setting("PASSWORD_ONLY", "7", "6", "2")
		for _, c := range []struct {
			form   url.Values
			status int
			want   string
		}{
			{good, 400, `id="f-groupId-error"`},
			{with(good, "groupId", "abc"), 400, "Choose a group."},
			{with(good, "groupId", "999999"), 400, "Choose one of the groups listed."},
			{with(good, "groupId", allUsers), 400, `id="f-groupId-error"`},
			{with(with(good, "groupId", sales), "pinLength", "99"), 400, `id="f-pinLength-error"`},
			{with(with(good, "groupId", sales), "devicesPerUser", "many"), 400, "Enter a whole number."},
			{with(with(good, "groupId", sales), "authType", "RETINA"), 400, `id="f-authType-error"`},
		} {
			ta.do("POST", "/console/registration/new", c.form).expect(t, c.status, fmt.Sprintf("bad new %v", c.form), c.want)
		}
		if got := overview(); got != "" {
			t.Fatalf("refused forms added overrides: %s", got)
		}

		r = ta.do("POST", "/console/registration/new", with(good, "groupId", sales))
		ta.do("GET", r.location(t, "/console/registration?done=ocreated"), nil).expect(t, 200, "added",
			"was added, at the lowest priority", `data-override="Sales" data-priority="1"`)
		ta.do("POST", "/console/registration/new", with(setting("PIN_AND_PASSWORD", "3", "8", "4"), "groupId", eng)).
			location(t, "/console/registration?done=ocreated")
		ta.do("POST", "/console/registration/new", with(setting("PIN_ONLY", "3", "5", "4"), "groupId", sales)).
			expect(t, 409, "second override for Sales", "already has its own setting")
		if got := overview(); got != "1:Sales:PASSWORD_ONLY:6,2:Engineering:PIN_AND_PASSWORD:8" {
			t.Errorf("overview: %s", got)
		}
		r = ta.do("GET", "/console/registration", nil).expect(t, 200, "two overrides", `data-override="Engineering" data-priority="2"`,
			"PIN and password", `data-move-down="Sales"`, `data-edit="Engineering"`)
		if !regexp.MustCompile(`data-move-up="Sales" aria-label="Move Sales up" disabled`).MatchString(r.body) {
			t.Errorf("the first override can be moved up")
		}
		ta.do("GET", "/console/groups/"+sales, nil).expect(t, 200, "Sales page", `id="group-registration">Its own, at priority 1: Password only.`,
			`href="/console/registration/groups/`+sales+`"`)
		ta.do("GET", "/console/groups/"+ops, nil).expect(t, 200, "Ops page", `id="group-registration">None of its own`)
		ta.do("GET", "/console/groups/"+allUsers, nil).expect(t, 200, "All Users page", `id="group-registration">The <a href="/console/registration">default setting`)
		r = ta.do("GET", "/console/registration/new", nil).expect(t, 200, "new again", `<option value="`+ops+`">Ops</option>`)
		r.lacks(t, "new again", `<option value="`+sales+`"`, `<option value="`+eng+`"`)

		// dan is in both groups (Sales first), cat only in Engineering, bob in neither.
		for email, want := range map[string]string{"dan@eng.hooli.example.com": "group:Sales", "cat@eng.hooli.example.com": "group:Engineering",
			"bob@hooli.example.com": "default"} {
			if got := source(ta, email); got != want {
				t.Errorf("%s: source %s, want %s", email, got, want)
			}
		}
		ta.do("GET", "/console/users/"+id("dan@eng.hooli.example.com"), nil).expect(t, 200, "dan", "From the setting of the group",
			`href="/console/registration/groups/`+sales+`">Sales</a> (priority 1)`, `id="pin-not-used"`)
	})

	t.Run("reorder", func(t *testing.T) {
		move := func(group, dir string) pageResp {
			return ta.do("POST", "/console/registration/groups/"+group+"/move", url.Values{"direction": {dir}})
		}
		move(sales, "up").expect(t, 400, "first up", "cannot move further up")
		move(eng, "down").expect(t, 400, "last down", "cannot move further down")
		move(eng, "sideways").expect(t, 400, "bad direction")
		move(ops, "up").expect(t, 404, "group without override")
		if got := overview(); got != "1:Sales:PASSWORD_ONLY:6,2:Engineering:PIN_AND_PASSWORD:8" {
			t.Fatalf("refused moves changed the order: %s", got)
		}
		ta.do("GET", move(eng, "up").location(t, "/console/registration?done=moved"), nil).expect(t, 200, "moved",
			"The priority was changed.", `data-override="Engineering" data-priority="1"`, `data-override="Sales" data-priority="2"`)
		if got := overview(); got != "1:Engineering:PIN_AND_PASSWORD:8,2:Sales:PASSWORD_ONLY:6" {
			t.Errorf("after moving Engineering up: %s", got)
		}
		if got := source(ta, "dan@eng.hooli.example.com"); got != "group:Engineering" {
			t.Errorf("dan after reorder: %s", got)
		}
		move(eng, "down").location(t, "/console/registration?done=moved")
		if got := overview(); got != "1:Sales:PASSWORD_ONLY:6,2:Engineering:PIN_AND_PASSWORD:8" {
			t.Errorf("after moving Engineering down: %s", got)
		}
	})

	t.Run("edit", func(t *testing.T) {
		path := "/console/registration/groups/" + sales
		ta.do("GET", path, nil).expect(t, 200, "edit page", `id="override-group">Sales`, `id="auth-password" checked`,
			`name="devicesPerUser" type="number" value="2"`, `id="save-override"`)
		ta.do("POST", path, setting("PIN_ONLY", "31", "3", "2")).expect(t, 400, "out of range", `id="f-pinLifetimeDays-error"`,
			`id="f-pinLength-error"`, `value="31"`)
		ta.do("POST", path, setting("PIN_ONLY", "7", "x", "2")).expect(t, 400, "not a number", `id="f-pinLength-error"`)
		if got := overview(); got != "1:Sales:PASSWORD_ONLY:6,2:Engineering:PIN_AND_PASSWORD:8" {
			t.Fatalf("refused edits changed a setting: %s", got)
		}
		ta.do("GET", ta.do("POST", path, setting("PIN_ONLY", "7", "10", "3")).location(t, "/console/registration?done=osaved"), nil).
			expect(t, 200, "saved", "The group&#39;s registration setting was saved.")
		if got := overview(); got != "1:Sales:PIN_ONLY:10,2:Engineering:PIN_AND_PASSWORD:8" {
			t.Errorf("after edit: %s", got)
		}
		ta.do("GET", "/console/users/"+id("ann@hooli.example.com"), nil).expect(t, 200, "ann", "PINs of 10 digits", "Up to 3 devices.")
		// A group without an override, All Users and a malformed id have no page; saving one creates nothing.
		ta.do("GET", "/console/registration/groups/"+ops, nil).expect(t, 404, "no override")
		ta.do("POST", "/console/registration/groups/"+ops, setting("PIN_ONLY", "7", "6", "1")).expect(t, 404, "save no override")
		ta.do("GET", "/console/registration/groups/"+allUsers, nil).expect(t, 404, "All Users override")
		ta.do("GET", "/console/registration/groups/x", nil).expect(t, 404, "malformed id")
		if got := overview(); strings.Contains(got, "Ops") {
			t.Errorf("a save created an override: %s", got)
		}
	})

	t.Run("a read-only user sees the list and changes nothing", func(t *testing.T) {
		c := signIn(t, ts, "helpdesk@hooli.example.com", "helpdesk password 1")
		r := c.do("GET", "/console/registration", nil).expect(t, 200, "registration", `data-override="Sales" data-priority="1"`,
			`data-override="Engineering"`)
		r.lacks(t, "registration", `id="add-override"`, "data-move-up=", "data-move-down=", "data-edit=", "data-delete=")
		r = c.do("GET", "/console/registration/groups/"+sales, nil).expect(t, 200, "override page", `<fieldset class="choice" disabled>`)
		r.lacks(t, "override page", `id="save-override"`)
		r = c.do("GET", "/console/groups/"+sales, nil).expect(t, 200, "members", `data-member="ann@hooli.example.com"`)
		r.lacks(t, "members", "data-remove=")
		if got := source(c, "dan@eng.hooli.example.com"); got != "group:Sales" {
			t.Errorf("dan as seen by helpdesk: %s", got)
		}
		for _, path := range []string{"/console/registration/new", "/console/registration/groups/" + sales + "/delete"} {
			c.do("GET", path, nil).expect(t, 403, "read-only GET "+path)
		}
		before := overview()
		for _, post := range []struct {
			path string
			form url.Values
		}{
			{"/console/registration/new", with(setting("PIN_ONLY", "7", "6", "1"), "groupId", ops)},
			{"/console/registration/new", url.Values{}},
			{"/console/registration/groups/" + sales, setting("PIN_ONLY", "7", "6", "1")},
			{"/console/registration/groups/" + sales, url.Values{"pinLength": {"x"}}},
			{"/console/registration/groups/" + eng + "/move", url.Values{"direction": {"up"}}},
			{"/console/registration/groups/" + sales + "/move", url.Values{"direction": {"up"}}},
			{"/console/registration/groups/" + sales + "/delete", url.Values{}},
		} {
			c.do("POST", post.path, post.form).expect(t, 403, "read-only POST "+post.path, "Not allowed")
		}
		if after := overview(); after != before {
			t.Errorf("a read-only user changed the overrides:\n%s\n%s", before, after)
		}
	})

	t.Run("another tenant sees none of it", func(t *testing.T) {
		consoleTenant(t, s, "Raviga", "laurie@raviga.example.com")
		other := signIn(t, ts, "laurie@raviga.example.com", testAdminPassword)
		other.do("GET", "/console/registration", nil).expect(t, 200, "own registration", "No group has its own setting").
			lacks(t, "own registration", "Sales", "Engineering")
		other.do("GET", "/console/registration/new", nil).expect(t, 200, "own new").lacks(t, "own new", "Sales", "Engineering")
		other.do("GET", "/console/groups/"+eng, nil).expect(t, 404, "foreign group")
		before := overview()
		for _, c := range []struct{ method, path string }{
			{"GET", "/console/registration/groups/" + sales},
			{"GET", "/console/registration/groups/" + sales + "/delete"},
			{"POST", "/console/registration/groups/" + sales + "/delete"},
		} {
			other.do(c.method, c.path, url.Values{}).expect(t, 404, "foreign "+c.method+" "+c.path)
		}
		other.do("POST", "/console/registration/groups/"+sales, setting("PIN_ONLY", "7", "6", "1")).expect(t, 404, "foreign edit")
		other.do("POST", "/console/registration/groups/"+sales+"/move", url.Values{"direction": {"down"}}).expect(t, 404, "foreign move")
		other.do("POST", "/console/registration/new", with(setting("PIN_ONLY", "7", "6", "1"), "groupId", ops)).
			expect(t, 400, "foreign group in the form", "Choose one of the groups listed.")
		if after := overview(); after != before {
			t.Errorf("another tenant changed the overrides:\n%s\n%s", before, after)
		}
	})

	t.Run("delete", func(t *testing.T) {
		path := "/console/registration/groups/" + sales + "/delete"
		ta.do("GET", path, nil).expect(t, 200, "confirm", "Delete the registration setting of Sales?", `action="`+path+`"`)
		ta.do("GET", ta.do("POST", path, nil).location(t, "/console/registration?done=odeleted"), nil).expect(t, 200, "deleted",
			"The group&#39;s registration setting was deleted.", `data-override="Engineering" data-priority="1"`).
			lacks(t, "deleted", `data-override="Sales"`)
		if got := overview(); got != "1:Engineering:PIN_AND_PASSWORD:8" {
			t.Errorf("after delete: %s", got)
		}
		if got := source(ta, "dan@eng.hooli.example.com"); got != "group:Engineering" {
			t.Errorf("dan after Sales lost its setting: %s", got)
		}
		if got := source(ta, "ann@hooli.example.com"); got != "default" {
			t.Errorf("ann after Sales lost its setting: %s", got)
		}
		ta.do("POST", path, nil).expect(t, 404, "delete again")
		ta.do("POST", "/console/registration/groups/"+allUsers+"/delete", nil).expect(t, 404, "delete All Users")
		ta.do("GET", "/console/registration/new", nil).expect(t, 200, "Sales free again", `<option value="`+sales+`">Sales</option>`)
	})
}
