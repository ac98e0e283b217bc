package server

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// TestConsoleSupportAdmins drives /console/support: the fallback to the Tenant Admins, choosing with
// the form (search, field errors, another tenant's id), what the API then returns, who a portal
// support request then reaches, and what a read-only user and another tenant see.
func TestConsoleSupportAdmins(t *testing.T) {
	s, ts := startConsole(t)
	hooli, taPrincipal := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	raviga, _ := consoleTenant(t, s, "Raviga", "laurie@raviga.example.com")
	tenantID := hooli.Tenant.ID
	ctx := mdm.WithPrincipal(t.Context(), taPrincipal)
	ta := signIn(t, ts, "gavin@hooli.example.com", testAdminPassword)
	api := &apiEnv{t: t, srv: s, url: ts.URL}
	taAPI := "gavin@hooli.example.com:" + testAdminPassword

	people := []accounts.NewAccount{
		{EmailAddress: "ann@hooli.example.com", FirstName: "Ann", LastName: "Lee", Password: "ann password 12"},
		{EmailAddress: "bob@hooli.example.com"},
		{EmailAddress: "uma@hooli.example.com", FirstName: "Uma", LastName: "User", Password: "uma password 12"},
		{EmailAddress: "sro@hooli.example.com", FirstName: "Sys", LastName: "Reader", Password: "sro password 12",
			Roles: []string{authz.RoleSystemReadOnly}},
		{EmailAddress: "uro@hooli.example.com", FirstName: "User", LastName: "Reader", Password: "uro password 12",
			Roles: []string{authz.RoleUserReadOnly}},
		{EmailAddress: "robot@hooli.example.com", FirstName: "Ro", LastName: "Bot", Password: "robot password 12", APIUser: true},
		{EmailAddress: "gone@hooli.example.com"},
	}
	for i := range 50 { // with the others, more than the 50 a tenant may designate
		people = append(people, accounts.NewAccount{EmailAddress: fmt.Sprintf("m%02d@hooli.example.com", i)})
	}
	if _, err := s.accounts.CreateAccounts(ctx, people, false); err != nil {
		t.Fatal(err)
	}
	id := func(email string) string { return strconvI(int64(accountByEmail(t, s, tenantID, email))) }
	if _, err := s.accounts.UpdateAccount(ctx, accountByEmail(t, s, tenantID, "gone@hooli.example.com"),
		accounts.AccountUpdate{Enabled: ptrTo(false)}); err != nil {
		t.Fatal(err)
	}
	saved := func() []int64 {
		t.Helper()
		var out struct{ AccountIDs []int64 }
		api.call("GET", "/api/v1/supportadmins", taAPI, "").must(t, 200, &out)
		return out.AccountIDs
	}
	choices := func(r pageResp) []string {
		var out []string
		for _, m := range regexp.MustCompile(`name="ids" value="(\d+)"`).FindAllStringSubmatch(r.body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	recipients := func(r pageResp) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<li data-email="([^"]+)"`).FindAllStringSubmatch(r.body, -1) {
			out = append(out, m[1])
		}
		return out
	}

	t.Run("none designated: the page names the Tenant Admins", func(t *testing.T) {
		ta.do("GET", "/console", nil).expect(t, 200, "overview", `href="/console/support"`)
		r := ta.do("GET", "/console/support", nil).expect(t, 200, "support", `id="support-none"`, `id="support-fallback"`, `id="save-support"`)
		if got := recipients(r); !slices.Equal(got, []string{"gavin@hooli.example.com"}) {
			t.Errorf("recipients = %v, want the Tenant Admin", got)
		}
		got := choices(r)
		for _, want := range []string{"ann@hooli.example.com", "bob@hooli.example.com", "gavin@hooli.example.com", "m49@hooli.example.com"} {
			if !slices.Contains(got, id(want)) {
				t.Errorf("%s is not offered", want)
			}
		}
		for _, not := range []string{"robot@hooli.example.com", "gone@hooli.example.com"} { // an API user, a disabled account
			if slices.Contains(got, id(not)) {
				t.Errorf("%s is offered", not)
			}
		}
		r = ta.do("GET", "/console/support?q=ann", nil).expect(t, 200, "search")
		if got := choices(r); !slices.Equal(got, []string{id("ann@hooli.example.com")}) {
			t.Errorf("search ann offers %v", got)
		}
	})

	t.Run("refused choices change nothing", func(t *testing.T) {
		foreign := strconvI(int64(raviga.Admin.ID))
		r := ta.do("POST", "/console/support", url.Values{"ids": {id("ann@hooli.example.com"), foreign}}).expect(t, 400,
			"another tenant's account", `id="support-choices-error"`, "Every id must be an account of this tenant.")
		if !regexp.MustCompile(`value="` + id("ann@hooli.example.com") + `" checked`).MatchString(r.body) {
			t.Error("the refused form lost the checked box")
		}
		ta.do("POST", "/console/support", url.Values{"ids": {"x1"}}).expect(t, 400, "malformed id", `id="support-choices-error"`)
		var all []string
		for i := range 50 {
			all = append(all, id(fmt.Sprintf("m%02d@hooli.example.com", i)))
		}
		ta.do("POST", "/console/support", url.Values{"ids": append(all, id("ann@hooli.example.com"))}).expect(t, 400,
			"51 administrators", "At most 50 support administrators.")
		if got := saved(); len(got) != 0 {
			t.Errorf("refused forms saved %v", got)
		}
	})

	t.Run("saved choices are the API's and receive portal requests", func(t *testing.T) {
		ann, bob := accountByEmail(t, s, tenantID, "ann@hooli.example.com"), accountByEmail(t, s, tenantID, "bob@hooli.example.com")
		ta.do("POST", "/console/support", url.Values{"ids": {strconvI(int64(bob)), strconvI(int64(ann))}}).location(t, "/console/support?done=support")
		if got, want := saved(), []int64{int64(min(ann, bob)), int64(max(ann, bob))}; !slices.Equal(got, want) {
			t.Errorf("GET /api/v1/supportadmins = %v, want %v", got, want)
		}
		r := ta.do("GET", "/console/support?done=support", nil).expect(t, 200, "saved", "The support administrators were saved.",
			`<tr data-email="ann@hooli.example.com"`, `<tr data-email="bob@hooli.example.com"`)
		r.lacks(t, "saved", `id="support-fallback"`, `id="support-none"`)
		if got := recipients(r); !slices.Equal(got, []string{"ann@hooli.example.com", "bob@hooli.example.com"}) {
			t.Errorf("recipients = %v", got)
		}
		// A search that matches neither still lists both, checked: saving it keeps them.
		r = ta.do("GET", "/console/support?q=m07", nil).expect(t, 200, "search")
		if got := choices(r); !slices.Equal(got, []string{id("ann@hooli.example.com"), id("bob@hooli.example.com"), id("m07@hooli.example.com")}) &&
			!slices.Equal(got, []string{id("bob@hooli.example.com"), id("ann@hooli.example.com"), id("m07@hooli.example.com")}) {
			t.Errorf("search m07 offers %v", got)
		}

		b := api.browser()
		if st, page := b.signIn("uma@hooli.example.com", "password", "uma password 12"); st != 200 {
			t.Fatalf("portal sign-in: %d\n%s", st, page)
		}
		if st, page := b.post("/go/support", url.Values{"message": {"My phone will not enrol."}}); st != 200 {
			t.Fatalf("portal support request: %d\n%s", st, page)
		}
		for email, want := range map[string]string{"ann@hooli.example.com": "support_admins", "bob@hooli.example.com": "support_admins",
			"gavin@hooli.example.com": ""} {
			if got := templatesOf(outboxTo(t, s, tenantID, email)); got != want {
				t.Errorf("mail to %s: %q, want %q", email, got, want)
			}
		}
	})

	t.Run("a disabled support administrator is shown and receives nothing", func(t *testing.T) {
		bob := accountByEmail(t, s, tenantID, "bob@hooli.example.com")
		if _, err := s.accounts.UpdateAccount(ctx, bob, accounts.AccountUpdate{Enabled: ptrTo(false)}); err != nil {
			t.Fatal(err)
		}
		r := ta.do("GET", "/console/support", nil).expect(t, 200, "support", "Disabled: receives nothing")
		if got := recipients(r); !slices.Equal(got, []string{"ann@hooli.example.com"}) {
			t.Errorf("recipients = %v", got)
		}
	})

	t.Run("read-only users and other tenants", func(t *testing.T) {
		sro := signIn(t, ts, "sro@hooli.example.com", "sro password 12")
		sro.do("GET", "/console", nil).expect(t, 200, "overview", `href="/console/support"`)
		r := sro.do("GET", "/console/support", nil).expect(t, 200, "read-only support", `<tr data-email="ann@hooli.example.com"`)
		r.lacks(t, "read-only support", `id="save-support"`, `name="ids"`)
		sro.do("POST", "/console/support", url.Values{"ids": {id("uma@hooli.example.com")}}).expect(t, 403, "read-only save")
		sro.do("POST", "/console/support", url.Values{"ids": {"x"}}).expect(t, 403, "read-only save of a bad id")

		uro := signIn(t, ts, "uro@hooli.example.com", "uro password 12")
		uro.do("GET", "/console", nil).lacks(t, "overview without system.read", `href="/console/support"`)
		uro.do("GET", "/console/support", nil).expect(t, 403, "support without system.read")
		uro.do("POST", "/console/support", url.Values{}).expect(t, 403, "save without system.read")

		other := signIn(t, ts, "laurie@raviga.example.com", testAdminPassword)
		r = other.do("GET", "/console/support", nil).expect(t, 200, "other tenant", `id="support-fallback"`, `<li data-email="laurie@raviga.example.com"`)
		r.lacks(t, "other tenant", "hooli.example.com")
		if got := saved(); len(got) != 2 {
			t.Errorf("after the refused saves Hooli has %v", got)
		}
	})

	t.Run("clearing every box goes back to the Tenant Admins", func(t *testing.T) {
		ta.do("POST", "/console/support", url.Values{}).location(t, "/console/support?done=support")
		if got := saved(); len(got) != 0 {
			t.Errorf("after clearing: %v", got)
		}
		r := ta.do("GET", "/console/support", nil).expect(t, 200, "cleared", `id="support-fallback"`)
		if got := recipients(r); !slices.Equal(got, []string{"gavin@hooli.example.com"}) {
			t.Errorf("recipients = %v", got)
		}
	})
}
