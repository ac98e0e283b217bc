package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/httpx"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/tenants"
)

// consoleClient is one signed-in browser without JavaScript: plain forms, no redirects followed.
type consoleClient struct {
	t      *testing.T
	base   string
	client *http.Client
	cookie *http.Cookie
}

type pageResp struct {
	status int
	header http.Header
	body   string
}

func signIn(t *testing.T, ts *httptest.Server, username, password string) *consoleClient {
	t.Helper()
	return signInAt(t, ts.URL, ts.Client(), username, password)
}

// signInAt signs in to the console at base with client (whose redirects it stops following).
func signInAt(t *testing.T, base string, client *http.Client, username, password string) *consoleClient {
	t.Helper()
	c, r := trySignIn(t, base, client, username, password)
	if r.status != http.StatusSeeOther || c.cookie == nil {
		t.Fatalf("sign in as %s: %d\n%s", username, r.status, r.body)
	}
	return c
}

// trySignIn posts the console sign-in form; the client has a session when the answer is 303 with a cookie.
func trySignIn(t *testing.T, base string, client *http.Client, username, password string) (*consoleClient, pageResp) {
	t.Helper()
	c := &consoleClient{t: t, base: base, client: client}
	c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, c.do("POST", "/login", url.Values{"username": {username}, "password": {password}})
}

func (c *consoleClient) do(method, path string, form url.Values, headers ...string) pageResp {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.Name == httpx.SessionCookie && ck.Value != "" {
			c.cookie = ck
		}
	}
	return pageResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// expect fails unless r has status and every one of contains.
func (r pageResp) expect(t *testing.T, status int, what string, contains ...string) pageResp {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	for _, s := range contains {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s: page lacks %q\n%s", what, s, r.body)
		}
	}
	return r
}

// expect is pageResp.expect for tests that keep the client at hand.
func (c *consoleClient) expect(r pageResp, status int, what string, contains ...string) {
	c.t.Helper()
	r.expect(c.t, status, what, contains...)
}

// lacks fails if r shows any of texts.
func (r pageResp) lacks(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(r.body, s) {
			t.Errorf("%s: page shows %q", what, s)
		}
	}
}

// location is where a 303 sends the browser.
func (r pageResp) location(t *testing.T, prefix string) string {
	t.Helper()
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("want a redirect to %s…, got %d %q\n%s", prefix, r.status, loc, r.body)
	}
	return loc
}

var idInPath = regexp.MustCompile(`/(\d+)(?:\?|$)`)

func pathIDOf(t *testing.T, loc string) string {
	t.Helper()
	m := idInPath.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("no id in %q", loc)
	}
	return m[1]
}

// consoleTenant makes a tenant whose Tenant Admin has a password, and returns it with that admin's
// service context.
func consoleTenant(t *testing.T, s *Server, name, email string) (*tenants.Created, *mdm.Principal) {
	t.Helper()
	sys := mdm.WithPrincipal(t.Context(), &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: 1, Username: "admin"})
	no := false
	created, err := s.tenants.Create(sys, tenants.CreateInput{Name: name, AdminEmail: email, AdminFirstName: "Gavin",
		AdminLastName: "Belson", AdminPassword: testAdminPassword, SendActivation: &no})
	if err != nil {
		t.Fatal(err)
	}
	return created, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(created.Admin.ID), Username: created.Admin.Username,
		TenantID: created.Tenant.ID, Roles: []string{mdm.RoleTenantAdmin}}
}

// templatesOf names the templates of msgs, sorted and space-separated.
func templatesOf(msgs []mdm.MailMessage) string {
	names := make([]string, len(msgs))
	for i, m := range msgs {
		names[i] = m.Template
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func outboxTo(t *testing.T, s *Server, tenant mdm.TenantID, to string) []mdm.MailMessage {
	t.Helper()
	ctx := mdm.WithPrincipal(t.Context(), &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: 1, Username: "admin"})
	pg, err := mail.NewOutbox(s.store, mail.NewMailer(s.keys, nil)).List(ctx, mdm.ListOptions{Rows: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []mdm.MailMessage
	for _, m := range pg.Items {
		if m.To == to && m.TenantID == tenant {
			out = append(out, m)
		}
	}
	return out
}

// TestConsoleUsersAndGroups drives the tenant administrators' pages with plain forms: users (add one,
// add many, invite, PIN, edit, delete), groups, roles and the registration setting, as a Tenant Admin,
// as a read-only helpdesk user and from another tenant.
func TestConsoleUsersAndGroups(t *testing.T) {
	s, ts := startConsole(t)
	hooli, taPrincipal := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	ta := signIn(t, ts, "gavin@hooli.example.com", testAdminPassword)
	tenantID := hooli.Tenant.ID

	t.Run("a cross-origin form is refused", func(t *testing.T) {
		ta.do("POST", "/console/users", url.Values{"emailAddress": {"csrf@hooli.example.com"}},
			"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site").expect(t, 403, "cross-origin add user")
		if _, err := s.store.Accounts().ByUsername(t.Context(), "csrf@hooli.example.com"); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("a cross-origin form added a user: %v", err)
		}
	})

	t.Run("navigation and role label", func(t *testing.T) {
		r := ta.do("GET", "/console", nil).expect(t, 200, "overview", `href="/console/users"`, `href="/console/groups"`,
			`href="/console/roles"`, `href="/console/registration"`, `href="/console/mail"`, `href="/console/audit"`)
		if !regexp.MustCompile(`data-testid="who-role">Tenant Admin<`).MatchString(r.body) {
			t.Errorf("who-role is not Tenant Admin:\n%s", r.body)
		}
		r.lacks(t, "overview", `href="/console/tenants"`)
	})

	var patID string
	t.Run("add one user", func(t *testing.T) {
		r := ta.do("GET", "/console/users", nil).expect(t, 200, "users page", `id="add-user"`, `id="add-users"`,
			`id="invite-selected"`, "gavin@hooli.example.com", `value="USER_READ_ONLY"`)
		r.lacks(t, "users page", "System Admin")

		r = ta.do("POST", "/console/users", url.Values{"emailAddress": {"pat..x@hooli.example.com"}, "invite": {"on"}})
		r.expect(t, 400, "bad email", `id="f-emailAddress-error"`, `value="pat..x@hooli.example.com"`)
		r = ta.do("POST", "/console/users", url.Values{"emailAddress": {"full@hooli.example.com"}, "password": {"a long enough password"}})
		r.expect(t, 400, "full account without names", `id="f-firstName-error"`, `id="f-lastName-error"`)
		r = ta.do("POST", "/console/users", url.Values{"emailAddress": {"pat@hooli.example.com"}, "roles": {"NO_SUCH_ROLE"}})
		r.expect(t, 400, "unknown role", `id="add-roles-error"`, "Unknown role NO_SUCH_ROLE")
		if got := outboxTo(t, s, tenantID, "pat@hooli.example.com"); len(got) != 0 {
			t.Fatalf("refused forms queued mail: %+v", got)
		}
		ta.do("GET", "/console/users?q=pat", nil).expect(t, 200, "search before", "No user matches")

		r = ta.do("POST", "/console/users", url.Values{"emailAddress": {"pat@hooli.example.com"}, "firstName": {"Pat"},
			"roles": {"USER_READ_ONLY"}, "invite": {"on"}})
		loc := r.location(t, "/console/users/")
		patID = pathIDOf(t, loc)
		ta.do("GET", loc, nil).expect(t, 200, "new user", "The invitation was queued.", `data-status="active"`,
			"Half account", "User Read Only", `id="generate-pin"`)
		// Pat holds a role: the Admin Invitation comes with the PIN invitation.
		if got := templatesOf(outboxTo(t, s, tenantID, "pat@hooli.example.com")); got != "admin_invitation invitation_pin" {
			t.Fatalf("invitation mail: %s", got)
		}
		r = ta.do("POST", "/console/users", url.Values{"emailAddress": {"PAT@hooli.example.com"}})
		r.expect(t, 409, "taken address", `id="f-emailAddress-error"`)
		r = ta.do("GET", "/console/users?q=pat", nil, "HX-Request", "true", "HX-Target", "user-list")
		r.expect(t, 200, "htmx search", `data-email="pat@hooli.example.com"`)
		r.lacks(t, "htmx search", "<html", "gavin@hooli.example.com")
	})

	t.Run("add multiple users", func(t *testing.T) {
		r := ta.do("POST", "/console/users/bulk", url.Values{"emails": {"ann@hooli.example.com\nbad@\n\nbob@hooli.example.com\nann@hooli.example.com"}})
		r.expect(t, 400, "bulk with bad lines", `id="bulk-errors"`, "Line 2 (bad@)", "Line 5 (ann@hooli.example.com): repeats line 1.", "Nobody was added")
		r.lacks(t, "bulk with bad lines", "Line 1 ", "Line 4 ")
		r = ta.do("POST", "/console/users/bulk", url.Values{"emails": {"ann@hooli.example.com\npat@hooli.example.com"}})
		r.expect(t, 409, "bulk with a taken address", "Line 2 (pat@hooli.example.com): username pat@hooli.example.com is already taken.", "Nobody was added")
		ta.do("GET", "/console/users?q=ann", nil).expect(t, 200, "all or none", "No user matches")
		ta.do("POST", "/console/users/bulk", url.Values{"emails": {"  \n"}}).expect(t, 400, "empty bulk", `id="f-emails-error"`)

		r = ta.do("POST", "/console/users/bulk", url.Values{"emails": {"ann@hooli.example.com\r\nbob@hooli.example.com\n"},
			"roles": {"USER_READ_ONLY"}})
		loc := r.location(t, "/console/users?done=bulk&n=2")
		ta.do("GET", loc, nil).expect(t, 200, "after bulk", "2 users were added", `data-email="ann@hooli.example.com"`,
			`data-email="bob@hooli.example.com"`)
		for _, to := range []string{"ann@hooli.example.com", "bob@hooli.example.com"} {
			if got := templatesOf(outboxTo(t, s, tenantID, to)); got != "admin_invitation invitation_pin" {
				t.Errorf("%s: %s", to, got)
			}
		}
	})

	t.Run("invite selected users", func(t *testing.T) {
		ta.do("POST", "/console/users/invite", url.Values{}).expect(t, 400, "nobody selected", "Select at least one user to invite.")
		ta.do("POST", "/console/users/invite", url.Values{"ids": {"999999"}}).expect(t, 404, "unknown id")
		ta.do("POST", "/console/users/invite", url.Values{"ids": {"x"}}).expect(t, 404, "malformed id")
		r := ta.do("POST", "/console/users/invite", url.Values{"ids": {patID, strconvI(int64(hooli.Admin.ID))}})
		ta.do("GET", r.location(t, "/console/users?done=invitedn&n=2"), nil).expect(t, 200, "after invite", "2 invitations were queued.")
		if got := outboxTo(t, s, tenantID, "pat@hooli.example.com"); len(got) != 4 {
			t.Errorf("pat has %d mails, want 4 (two invitations, each with its Admin Invitation)", len(got))
		}
	})

	t.Run("generate a PIN", func(t *testing.T) {
		r := ta.do("POST", "/console/users/"+patID+"/pin", nil).expect(t, 200, "generate", `id="new-pin-value"`, `data-status="active"`)
		pin := regexp.MustCompile(`id="new-pin-value">(\d+)<`).FindStringSubmatch(r.body)
		if pin == nil || len(pin[1]) != 6 {
			t.Fatalf("no 6-digit PIN shown:\n%s", r.body)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("the PIN page may be cached: %q", r.header.Get("Cache-Control"))
		}
		r = ta.do("GET", "/console/users/"+patID, nil).expect(t, 200, "later", `data-status="active"`)
		r.lacks(t, "later", pin[1], `id="new-pin-value"`)
		if m := regexp.MustCompile(`id="pin-expires">([^<]+)<`).FindStringSubmatch(r.body); m == nil || !strings.HasSuffix(m[1], "UTC") {
			t.Errorf("no expiry shown: %v", m)
		}
	})

	t.Run("registration setting", func(t *testing.T) {
		ta.do("GET", "/console/registration", nil).expect(t, 200, "page", `id="auth-pin" checked`, `id="save-registration"`,
			`name="pinLength" type="number" value="6"`)
		bad := url.Values{"authType": {"PIN_ONLY"}, "pinLifetimeDays": {"31"}, "pinLength": {"3"}, "devicesPerUser": {"ten"}}
		r := ta.do("POST", "/console/registration", bad).expect(t, 400, "bad numbers", `id="f-devicesPerUser-error"`, "Enter a whole number.")
		bad.Set("devicesPerUser", "5")
		r = ta.do("POST", "/console/registration", bad).expect(t, 400, "out of range", `id="f-pinLifetimeDays-error"`, `id="f-pinLength-error"`,
			"Must be between 4 and 12.")
		bad.Set("authType", "SMOKE_SIGNALS")
		bad.Set("pinLifetimeDays", "7")
		bad.Set("pinLength", "8")
		ta.do("POST", "/console/registration", bad).expect(t, 400, "bad type", `id="f-authType-error"`)
		set, err := s.accounts.RegistrationSettings(mdm.WithPrincipal(t.Context(), taPrincipal))
		if err != nil || set.PINLength != 6 || set.AuthType != mdm.PINOnly {
			t.Fatalf("refused forms changed the setting: %+v %v", set, err)
		}
		good := url.Values{"authType": {"PASSWORD_ONLY"}, "pinLifetimeDays": {"3"}, "pinLength": {"8"}, "devicesPerUser": {"2"}}
		r = ta.do("POST", "/console/registration", good)
		ta.do("GET", r.location(t, "/console/registration?done=saved"), nil).expect(t, 200, "saved",
			"The registration setting was saved.", `id="auth-password" checked`, `name="pinLength" type="number" value="8"`)
		r = ta.do("GET", "/console/users/"+patID, nil).expect(t, 200, "no PIN setting", `id="pin-not-used"`)
		r.lacks(t, "no PIN setting", `id="generate-pin"`)
		ta.do("POST", "/console/users/"+patID+"/pin", nil).expect(t, 400, "PIN under PASSWORD_ONLY", "asks for no PIN")
		good.Set("authType", "PIN_AND_PASSWORD")
		ta.do("POST", "/console/registration", good).location(t, "/console/registration")
		r = ta.do("POST", "/console/users/"+patID+"/pin", nil).expect(t, 200, "PIN of 8", `data-status="active"`)
		if !regexp.MustCompile(`id="new-pin-value">\d{8}<`).MatchString(r.body) {
			t.Errorf("the PIN does not follow the new length")
		}
	})

	t.Run("edit and delete a user", func(t *testing.T) {
		r := ta.do("POST", "/console/users/"+patID, url.Values{"firstName": {"Pat\u0007"}, "lastName": {"Doe"}, "enabled": {"on"}})
		r.expect(t, 400, "control character", `id="f-firstName-error"`)
		r = ta.do("POST", "/console/users/"+patID, url.Values{"firstName": {"Patricia"}, "lastName": {"Doe"},
			"roles": {"USER_MANAGEMENT"}})
		ta.do("GET", r.location(t, "/console/users/"+patID), nil).expect(t, 200, "edited", "Patricia Doe",
			"User Management", `badge-warn">Disabled`)
		// One's own page: no roles or enabled box, and saving names works.
		self := strconvI(int64(hooli.Admin.ID))
		r = ta.do("GET", "/console/users/"+self, nil).expect(t, 200, "own page", "You cannot change your own roles")
		r.lacks(t, "own page", `id="edit-enabled"`, `id="delete-user"`)
		ta.do("POST", "/console/users/"+self, url.Values{"firstName": {"Gav"}, "lastName": {"Belson"}}).location(t, "/console/users/"+self)
		ta.do("POST", "/console/users/"+self+"/delete", nil).expect(t, 400, "delete oneself", "You cannot delete your own account.")

		ta.do("GET", "/console/users/"+patID+"/delete", nil).expect(t, 200, "confirm", "Delete pat@hooli.example.com?",
			`action="/console/users/`+patID+`/delete"`)
		ta.do("POST", "/console/users/"+patID+"/delete", nil).location(t, "/console/users?done=deleted")
		ta.do("GET", "/console/users/"+patID, nil).expect(t, 404, "deleted user")
		ta.do("GET", "/console/users/abc", nil).expect(t, 404, "malformed id")
	})

	var salesID string
	t.Run("groups", func(t *testing.T) {
		ta.do("GET", "/console/groups", nil).expect(t, 200, "groups", `data-name="All Users"`, `id="create-group"`)
		ta.do("POST", "/console/groups", url.Values{"name": {"Robots"}, "kind": {"DYNAMIC"}}).expect(t, 400, "dynamic without rule",
			`id="f-rule-error"`, `value="Robots"`)
		ta.do("POST", "/console/groups", url.Values{"name": {"Robots"}, "kind": {"DYNAMIC"}, "rule": {"emailAddress=("}}).expect(t, 400,
			"bad rule", `id="f-rule-error"`)
		ta.do("POST", "/console/groups", url.Values{"name": {"all users"}, "kind": {"STATIC"}}).expect(t, 409, "taken name", `id="f-name-error"`)
		r := ta.do("POST", "/console/groups", url.Values{"name": {"Sales"}, "kind": {"STATIC"}, "rule": {""}, "roles": {"DEVICE_READ_ONLY"}})
		loc := r.location(t, "/console/groups/")
		salesID = pathIDOf(t, loc)
		ta.do("GET", loc, nil).expect(t, 200, "group page", "The group was created.", "Device Read Only", `id="add-members"`)

		members := "/console/groups/" + salesID + "/members"
		r = ta.do("POST", members, url.Values{"action": {"add"}, "emails": {"ann@hooli.example.com\nnobody@hooli.example.com"}})
		r.expect(t, 400, "unknown member", "Line 2 (nobody@hooli.example.com)", `id="member-errors"`)
		ann := accountByEmail(t, s, tenantID, "ann@hooli.example.com")
		if inGroup(t, s, tenantID, ann, "Sales") {
			t.Fatal("a refused member form added ann")
		}
		ta.do("POST", members, url.Values{"action": {"add"}, "emails": {"ann@hooli.example.com\nbob@hooli.example.com"}}).location(t, "/console/groups/"+salesID)
		if !inGroup(t, s, tenantID, ann, "Sales") {
			t.Fatal("ann was not added")
		}
		ta.do("POST", members, url.Values{"action": {"remove"}, "emails": {"ann@hooli.example.com"}}).location(t, "/console/groups/"+salesID)
		if inGroup(t, s, tenantID, ann, "Sales") {
			t.Fatal("ann was not removed")
		}

		r = ta.do("POST", "/console/groups", url.Values{"name": {"Hooli staff"}, "kind": {"DYNAMIC"}, "rule": {"emailAddress=*@hooli.example.com"}})
		dyn := pathIDOf(t, r.location(t, "/console/groups/"))
		ta.do("GET", "/console/groups/"+dyn, nil).expect(t, 200, "dynamic group", `id="group-rule">emailAddress=*@hooli.example.com<`).
			lacks(t, "dynamic group", `id="add-members"`)
		ta.do("POST", "/console/groups/"+dyn, url.Values{"name": {"Hooli staff"}, "rule": {"firstName=("}}).expect(t, 400, "bad rule edit", `id="f-rule-error"`)
		r = ta.do("POST", "/console/groups/"+dyn, url.Values{"name": {"Everyone at Hooli"}, "description": {"all of us"},
			"rule": {"emailAddress=*@hooli.example.com"}, "roles": {"APP_CONTENT_READ_ONLY"}})
		ta.do("GET", r.location(t, "/console/groups/"+dyn), nil).expect(t, 200, "edited group", "Everyone at Hooli", "all of us",
			"App &amp; Content Read Only")

		allUsers := groupIDByName(t, s, taPrincipal, "All Users")
		r = ta.do("GET", "/console/groups/"+allUsers, nil).expect(t, 200, "All Users page")
		r.lacks(t, "All Users page", `id="delete-group"`, `id="f-name"`)
		ta.do("GET", "/console/groups/"+allUsers+"/delete", nil).expect(t, 409, "delete All Users")
		ta.do("POST", "/console/groups/"+allUsers+"/delete", nil).expect(t, 409, "delete All Users")
		ta.do("GET", "/console/groups/"+dyn+"/delete", nil).expect(t, 200, "confirm", "Delete the group Everyone at Hooli?")
		ta.do("POST", "/console/groups/"+dyn+"/delete", nil).location(t, "/console/groups?done=gdeleted")
		ta.do("GET", "/console/groups/"+dyn, nil).expect(t, 404, "deleted group")
	})

	t.Run("roles", func(t *testing.T) {
		r := ta.do("GET", "/console/roles", nil).expect(t, 200, "roles", `data-role="TENANT_ADMIN"`, `data-role="DEVICE_ACTIONS"`,
			"<code>user.manage</code>", "App &amp; Content Management")
		r.lacks(t, "roles", "btn-primary", `method="post" action="/console/roles"`)
	})

	t.Run("a read-only user sees no write buttons and is refused every change", func(t *testing.T) {
		ctx := mdm.WithPrincipal(t.Context(), taPrincipal)
		ro, err := s.accounts.CreateAccounts(ctx, []accounts.NewAccount{{EmailAddress: "helpdesk@hooli.example.com",
			FirstName: "Help", LastName: "Desk", Password: "helpdesk password 1", Roles: []string{authz.RoleUserReadOnly}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		c := signIn(t, ts, "helpdesk@hooli.example.com", "helpdesk password 1")
		r := c.do("GET", "/console", nil).expect(t, 200, "overview", `href="/console/users"`, `data-testid="who-role">User Read Only<`)
		r.lacks(t, "overview", `href="/console/mail"`, `href="/console/audit"`)
		r = c.do("GET", "/console/users", nil).expect(t, 200, "users", "ann@hooli.example.com")
		r.lacks(t, "users", `id="add-user"`, `id="add-users"`, `id="invite-selected"`, `name="ids"`)
		annID := strconvI(int64(accountByEmail(t, s, tenantID, "ann@hooli.example.com")))
		r = c.do("GET", "/console/users/"+annID, nil).expect(t, 200, "user", `id="pin-status"`)
		r.lacks(t, "user", `id="generate-pin"`, `id="save-user"`, `id="delete-user"`, `id="invite-user"`)
		r = c.do("GET", "/console/groups/"+salesID, nil).expect(t, 200, "group")
		r.lacks(t, "group", `id="save-group"`, `id="add-members"`, `id="delete-group"`)
		c.do("GET", "/console/groups", nil).lacks(t, "groups", `id="create-group"`)
		r = c.do("GET", "/console/registration", nil).expect(t, 200, "registration", "<fieldset class=\"choice\" disabled>")
		r.lacks(t, "registration", `id="save-registration"`)
		c.do("GET", "/console/roles", nil).expect(t, 200, "roles")

		for _, post := range []struct {
			path string
			form url.Values
		}{
			{"/console/users", url.Values{"emailAddress": {"x@hooli.example.com"}}},
			{"/console/users", url.Values{"emailAddress": {"not an email"}}},
			{"/console/users/bulk", url.Values{"emails": {"y@hooli.example.com"}}},
			{"/console/users/invite", url.Values{"ids": {annID}}},
			{"/console/users/invite", url.Values{}},
			{"/console/users/" + annID, url.Values{"firstName": {"Mallory"}}},
			{"/console/users/" + annID + "/pin", url.Values{}},
			{"/console/users/" + annID + "/delete", url.Values{}},
			{"/console/groups", url.Values{"name": {"Mine"}}},
			{"/console/groups/" + salesID, url.Values{"name": {"Mine"}}},
			{"/console/groups/" + salesID + "/members", url.Values{"emails": {"helpdesk@hooli.example.com"}}},
			{"/console/groups/" + salesID + "/delete", url.Values{}},
			{"/console/registration", url.Values{"authType": {"PIN_ONLY"}, "pinLifetimeDays": {"1"}, "pinLength": {"4"}, "devicesPerUser": {"1"}}},
			{"/console/registration", url.Values{"pinLength": {"four"}}},
		} {
			c.do("POST", post.path, post.form).expect(t, 403, "read-only POST "+post.path, "Not allowed")
		}
		for _, path := range []string{"/console/users/" + annID + "/delete", "/console/groups/" + salesID + "/delete", "/console/mail", "/console/audit"} {
			c.do("GET", path, nil).expect(t, 403, "read-only GET "+path)
		}
		if got := outboxTo(t, s, tenantID, "ann@hooli.example.com"); len(got) != 2 {
			t.Errorf("refused invitations queued mail: %d, want the 2 of ann's creation", len(got))
		}
		if _, err := s.accounts.GetAccount(ctx, ro[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.accounts.GetAccount(ctx, mdm.AccountID(accountByEmail(t, s, tenantID, "ann@hooli.example.com"))); err != nil {
			t.Errorf("ann is gone: %v", err)
		}
	})

	t.Run("a User Management admin grants only what it holds", func(t *testing.T) {
		ctx := mdm.WithPrincipal(t.Context(), taPrincipal)
		if _, err := s.accounts.CreateAccounts(ctx, []accounts.NewAccount{{EmailAddress: "um@hooli.example.com",
			FirstName: "Una", LastName: "Manager", Password: "usermanager password", Roles: []string{authz.RoleUserManagement}}}, false); err != nil {
			t.Fatal(err)
		}
		c := signIn(t, ts, "um@hooli.example.com", "usermanager password")
		r := c.do("GET", "/console/users", nil).expect(t, 200, "users", `id="add-user"`, `value="USER_MANAGEMENT"`, `value="USER_READ_ONLY"`,
			`data-testid="who-role">User Management<`)
		r.lacks(t, "users", `value="TENANT_ADMIN"`, `value="DEVICE_READ_ONLY"`, `href="/console/mail"`)
		gavin := strconvI(int64(hooli.Admin.ID))
		c.do("GET", "/console/users/"+gavin, nil).expect(t, 200, "Tenant Admin's page", `value="TENANT_ADMIN" checked disabled`)
		c.do("POST", "/console/users", url.Values{"emailAddress": {"forged@hooli.example.com"}, "roles": {"TENANT_ADMIN"}}).expect(t, 400,
			"forged role", "You cannot grant TENANT_ADMIN")
		// The service refuses a weaker administrator acting on a stronger account at all.
		c.do("POST", "/console/users/"+gavin, url.Values{"firstName": {"Mallory"}, "lastName": {"Belson"}, "enabled": {"on"}}).expect(t, 403,
			"edit a Tenant Admin", "holds TENANT_ADMIN")
		c.do("POST", "/console/users/"+gavin+"/pin", nil).expect(t, 403, "a PIN for the Tenant Admin", "holds TENANT_ADMIN")
		c.do("POST", "/console/users/"+gavin+"/delete", nil).expect(t, 403, "delete the Tenant Admin", "holds TENANT_ADMIN")
		a, err := s.accounts.GetAccount(ctx, hooli.Admin.ID)
		if err != nil || !slices.Equal(a.Roles, []string{mdm.RoleTenantAdmin}) || a.FirstName == "Mallory" {
			t.Errorf("a User Management admin changed the Tenant Admin: %+v %v", a, err)
		}
		annID := strconvI(int64(accountByEmail(t, s, tenantID, "ann@hooli.example.com")))
		c.do("POST", "/console/users/"+annID, url.Values{"firstName": {"Ann"}, "lastName": {"Lee"}, "enabled": {"on"},
			"roles": {"USER_READ_ONLY"}}).location(t, "/console/users/"+annID)
	})

	t.Run("another tenant sees none of it", func(t *testing.T) {
		consoleTenant(t, s, "Raviga", "laurie@raviga.example.com")
		other := signIn(t, ts, "laurie@raviga.example.com", testAdminPassword)
		annID := strconvI(int64(accountByEmail(t, s, tenantID, "ann@hooli.example.com")))
		other.do("GET", "/console/users", nil).expect(t, 200, "users").lacks(t, "users", "hooli.example.com")
		other.do("GET", "/console/users/"+annID, nil).expect(t, 404, "foreign user")
		other.do("POST", "/console/users/"+annID+"/pin", nil).expect(t, 404, "foreign PIN")
		other.do("POST", "/console/users/invite", url.Values{"ids": {annID}}).expect(t, 404, "foreign invite")
		other.do("POST", "/console/users/"+annID+"/delete", nil).expect(t, 404, "foreign delete")
		other.do("GET", "/console/groups/"+salesID, nil).expect(t, 404, "foreign group")
		other.do("POST", "/console/groups/"+salesID+"/members", url.Values{"emails": {"laurie@raviga.example.com"}}).expect(t, 404, "foreign members")
		r := other.do("POST", "/console/groups/"+salesID+"/delete", nil)
		r.expect(t, 404, "foreign group delete")
	})
}

func accountByEmail(t *testing.T, s *Server, tenant mdm.TenantID, email string) mdm.AccountID {
	t.Helper()
	a, err := s.store.Accounts().ByUsername(t.Context(), email)
	if err != nil || a.TenantID != tenant {
		t.Fatalf("%s: %v", email, err)
	}
	return a.ID
}

func inGroup(t *testing.T, s *Server, tenant mdm.TenantID, id mdm.AccountID, name string) bool {
	t.Helper()
	groups, err := s.store.Groups().GroupsFor(t.Context(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(groups, func(g mdm.UserGroup) bool { return g.Name == name })
}

func groupIDByName(t *testing.T, s *Server, p *mdm.Principal, name string) string {
	t.Helper()
	pg, err := s.accounts.ListGroups(mdm.WithPrincipal(t.Context(), p), mdm.ListOptions{Rows: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range pg.Items {
		if g.Name == name {
			return strconvI(int64(g.ID))
		}
	}
	t.Fatalf("no group %s", name)
	return ""
}
