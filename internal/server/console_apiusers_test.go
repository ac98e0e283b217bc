package server

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// TestConsoleAPIUsers drives the API user checkbox of the Add user form and the user page, the users
// list's badge, and the service's refusals shown as field errors: an API user needs a password, and
// nobody changes their own flag.
func TestConsoleAPIUsers(t *testing.T) {
	s, ts := startConsole(t)
	hooli, taPrincipal := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	tenantID := hooli.Tenant.ID
	ctx := mdm.WithPrincipal(t.Context(), taPrincipal)
	ta := signIn(t, ts, "gavin@hooli.example.com", testAdminPassword)
	api := &apiEnv{t: t, srv: s, url: ts.URL}
	if _, err := s.accounts.CreateAccounts(ctx, []accounts.NewAccount{
		{EmailAddress: "ann@hooli.example.com", FirstName: "Ann", LastName: "Lee", Password: "ann password 12"},
		{EmailAddress: "bob@hooli.example.com"},
		{EmailAddress: "uro@hooli.example.com", FirstName: "User", LastName: "Reader", Password: "uro password 12",
			Roles: []string{authz.RoleUserReadOnly}},
	}, false); err != nil {
		t.Fatal(err)
	}
	account := func(email string) *mdm.Account {
		t.Helper()
		a, err := s.store.Accounts().Get(t.Context(), tenantID, accountByEmail(t, s, tenantID, email))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	id := func(email string) string { return strconvI(int64(accountByEmail(t, s, tenantID, email))) }
	badge := func(r pageResp, email string) bool {
		row := regexp.MustCompile(`(?s)<tr data-email="` + regexp.QuoteMeta(email) + `".*?</tr>`).FindString(r.body)
		return strings.Contains(row, `data-testid="api-user"`)
	}

	t.Run("add an API user", func(t *testing.T) {
		ta.do("GET", "/console/users", nil).expect(t, 200, "users", `name="apiUser"`,
			"API user (calls the API, never signs in to the console)")
		r := ta.do("POST", "/console/users", url.Values{"emailAddress": {"robot@hooli.example.com"}, "apiUser": {"on"}}).expect(t, 400,
			"API user without a password", `id="f-apiUser-error"`, "An API user signs in with HTTP Basic: give it a password.")
		if !regexp.MustCompile(`id="f-apiUser" checked`).MatchString(r.body) {
			t.Error("the refused form lost the API user box")
		}
		if _, err := s.store.Accounts().ByUsername(t.Context(), "robot@hooli.example.com"); !mdm.IsCode(err, mdm.NotFound) {
			t.Errorf("a refused API user was added: %v", err)
		}
		loc := ta.do("POST", "/console/users", url.Values{"emailAddress": {"robot@hooli.example.com"}, "firstName": {"Ro"},
			"lastName": {"Bot"}, "password": {"robot password 12"}, "apiUser": {"on"}, "roles": {authz.RoleUserReadOnly}}).location(t, "/console/users/")
		if !account("robot@hooli.example.com").APIUser {
			t.Fatal("the added account is not an API user")
		}
		ta.do("GET", loc, nil).expect(t, 200, "API user page", `id="user-api"`, "never signs in to the console",
			`id="f-apiUser" checked`)
		r = ta.do("GET", "/console/users", nil).expect(t, 200, "users")
		if !badge(r, "robot@hooli.example.com") || badge(r, "ann@hooli.example.com") {
			t.Errorf("the API user badge is on the wrong rows:\n%s", r.body)
		}
		// It calls the API with HTTP Basic, and cannot sign in to the console.
		api.call("GET", "/api/v1/account", "robot@hooli.example.com:robot password 12", "").must(t, 200, nil)
		anon := &consoleClient{t: t, base: ts.URL, client: ts.Client()}
		anon.do("POST", "/login", url.Values{"username": {"robot@hooli.example.com"}, "password": {"robot password 12"}}).expect(t, 403,
			"API user console sign-in", "is an API user")
		if anon.cookie != nil {
			t.Error("an API user got a console session")
		}
	})

	t.Run("change the flag on the user page", func(t *testing.T) {
		edit := func(apiUser bool) url.Values {
			f := url.Values{"firstName": {"Bob"}, "lastName": {"Builder"}, "enabled": {"on"}}
			if apiUser {
				f.Set("apiUser", "on")
			}
			return f
		}
		ta.do("GET", "/console/users/"+id("bob@hooli.example.com"), nil).expect(t, 200, "half account", `name="apiUser"`)
		ta.do("POST", "/console/users/"+id("bob@hooli.example.com"), edit(true)).expect(t, 400, "half account as API user",
			`id="f-apiUser-error"`, "An API user signs in with HTTP Basic, and this account has no password.")
		if b := account("bob@hooli.example.com"); b.APIUser || b.FirstName != "" {
			t.Errorf("a refused edit changed bob: %+v", b)
		}
		ta.do("POST", "/console/users/"+id("ann@hooli.example.com"), edit(true)).location(t, "/console/users/"+id("ann@hooli.example.com"))
		if !account("ann@hooli.example.com").APIUser {
			t.Error("ann is not an API user after checking the box")
		}
		ta.do("POST", "/console/users/"+id("ann@hooli.example.com"), edit(false)).location(t, "/console/users/"+id("ann@hooli.example.com"))
		if account("ann@hooli.example.com").APIUser {
			t.Error("ann is still an API user after clearing the box")
		}
	})

	t.Run("nobody changes their own flag", func(t *testing.T) {
		self := id("gavin@hooli.example.com")
		ta.do("GET", "/console/users/"+self, nil).expect(t, 200, "own page", "make it an API user").lacks(t, "own page", `name="apiUser"`)
		ta.do("POST", "/console/users/"+self, url.Values{"firstName": {"Gavin"}, "lastName": {"Belson"}, "apiUser": {"on"}}).expect(t, 400,
			"own flag", `class="alert alert-error"`, "ApiUser: you cannot change whether you are an API user.")
		if account("gavin@hooli.example.com").APIUser {
			t.Error("the Tenant Admin made itself an API user")
		}
	})

	t.Run("a read-only user sees the badge and cannot change the flag", func(t *testing.T) {
		uro := signIn(t, ts, "uro@hooli.example.com", "uro password 12")
		r := uro.do("GET", "/console/users", nil).expect(t, 200, "users")
		if !badge(r, "robot@hooli.example.com") {
			t.Error("the read-only list lacks the API user badge")
		}
		uro.do("GET", "/console/users/"+id("ann@hooli.example.com"), nil).lacks(t, "read-only user page", `name="apiUser"`)
		uro.do("POST", "/console/users/"+id("ann@hooli.example.com"), url.Values{"firstName": {"Ann"}, "lastName": {"Lee"},
			"apiUser": {"on"}}).expect(t, 403, "read-only flag change")
		uro.do("POST", "/console/users", url.Values{"emailAddress": {"r2@hooli.example.com"}, "password": {"r2 password 1234"},
			"apiUser": {"on"}}).expect(t, 403, "read-only add")
		if account("ann@hooli.example.com").APIUser {
			t.Error("a read-only user changed the flag")
		}
	})
}
