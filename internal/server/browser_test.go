package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"steward/internal/accounts"
	"steward/internal/httpx"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/tenants"
)

const testAdminPassword = "correct horse battery staple"

// startConsole runs the real server (SQLite in a temp dir, no SMTP) under httptest.
func startConsole(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := New(ctx, Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminPassword: testAdminPassword,
		LogFormat: "text", BaseURL: "http://" + ts.Listener.Addr().String()}, log)
	if err != nil {
		ts.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return s, ts
}

// TestConsoleInChromium drives the console in headless Chromium: sign in, create a tenant through the
// htmx form, suspend it, read the report, sign out. Set STEWARD_SCREENSHOTS to a directory to keep
// screenshots of the pages.
func TestConsoleInChromium(t *testing.T) {
	ctx := chromium(t)
	s, ts := startConsole(t)

	// settled waits until htmx has started and has no request, swap or settle under way, so that the
	// next click lands on processed elements (a click before that would submit the plain form).
	settled := chromedp.Poll(`!!window.htmx && document.readyState === "complete" && `+
		`document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null`, nil,
		chromedp.WithPollingTimeout(10*time.Second))
	run := steps(t, ctx)

	run("open the sign-in page",
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		screenshot("steward-login.png"),
	)

	var location string
	run("sign in as the System Admin",
		chromedp.SendKeys(`#f-username`, "admin", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tenant-create`, chromedp.ByQuery),
		settled,
		chromedp.Location(&location),
	)
	if !strings.HasSuffix(location, "/console/tenants") {
		t.Fatalf("after sign-in the browser is at %s, want /console/tenants", location)
	}
	var who string
	run("see who is signed in", chromedp.Text(`[data-testid=whoami]`, &who, chromedp.ByQuery))
	if who != "admin" {
		t.Errorf("navigation bar shows %q signed in, want admin", who)
	}

	// A marker on window survives htmx swaps but not a page load.
	run("mark the page", chromedp.Evaluate(`window.stewardMarker = "same page"`, nil))
	var emailErr, passwordErr string
	run("submit the new tenant form with mistakes",
		chromedp.SendKeys(`#f-name`, "Acme Corp", chromedp.ByQuery),
		chromedp.SendKeys(`#f-adminEmail`, "not-an-email", chromedp.ByQuery),
		chromedp.SendKeys(`#f-adminFirstName`, "Ada", chromedp.ByQuery),
		chromedp.SendKeys(`#f-adminLastName`, "Lovelace", chromedp.ByQuery),
		chromedp.Click(`#access-password`, chromedp.ByQuery),
		chromedp.WaitVisible(`#f-adminPassword`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-adminPassword`, "short", chromedp.ByQuery),
		chromedp.Click(`#create-tenant`, chromedp.ByQuery),
		chromedp.WaitVisible(`#f-adminEmail-error`, chromedp.ByQuery),
		settled,
		chromedp.Text(`#f-adminEmail-error`, &emailErr, chromedp.ByQuery),
		chromedp.Text(`#f-adminPassword-error`, &passwordErr, chromedp.ByQuery),
	)
	if !strings.Contains(emailErr, "email address") || !strings.Contains(passwordErr, "12 characters") {
		t.Errorf("field errors: email %q, password %q", emailErr, passwordErr)
	}

	run("correct the form and create the tenant",
		chromedp.SetValue(`#f-adminEmail`, "ada@acme.example.com", chromedp.ByQuery),
		chromedp.SetValue(`#f-adminPassword`, "a long enough password", chromedp.ByQuery),
		chromedp.Click(`#create-tenant`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tenant-created`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tenant-list tr[data-name="Acme Corp"][data-state="ACTIVE"]`, chromedp.ByQuery),
		settled,
	)
	assertSamePage := func(when string) {
		t.Helper()
		var marker string
		run("read the marker", chromedp.Evaluate(`window.stewardMarker || ""`, &marker))
		if marker != "same page" {
			t.Fatalf("%s: the page was reloaded; want an htmx swap", when)
		}
	}
	assertSamePage("after creating the tenant")
	var nameValue string
	run("the form is empty again", chromedp.Value(`#f-name`, &nameValue, chromedp.ByQuery))
	if nameValue != "" {
		t.Errorf("after success the name field still holds %q", nameValue)
	}

	run("create a second tenant that gets an activation email",
		chromedp.SendKeys(`#f-name`, "Globex", chromedp.ByQuery),
		chromedp.SendKeys(`#f-adminEmail`, "hank@globex.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-adminFirstName`, "Hank", chromedp.ByQuery),
		chromedp.SendKeys(`#f-adminLastName`, "Scorpio", chromedp.ByQuery),
		chromedp.Click(`#create-tenant`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tenant-list tr[data-name="Globex"]`, chromedp.ByQuery),
		settled,
		screenshot("steward-tenants.png"),
	)

	run("suspend Acme Corp",
		chromedp.Click(`tr[data-name="Acme Corp"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`tr[data-name="Acme Corp"][data-state="SUSPENDED"]`, chromedp.ByQuery),
		settled,
	)
	assertSamePage("after suspending")
	var stateText string
	run("read the state", chromedp.Text(`tr[data-name="Acme Corp"] .badge`, &stateText, chromedp.ByQuery))
	if stateText != "Suspended" {
		t.Errorf("state cell shows %q, want Suspended", stateText)
	}

	run("search narrows the list in place",
		chromedp.SendKeys(`input[name=q]`, "glob", chromedp.ByQuery),
		chromedp.WaitNotPresent(`#tenant-list tr[data-name="Acme Corp"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tenant-list tr[data-name="Globex"]`, chromedp.ByQuery),
	)
	assertSamePage("after searching")

	var reportRow string
	run("open the site report",
		chromedp.Click(`a[href="/console/report"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#report tr[data-tenant="Acme Corp"]`, chromedp.ByQuery),
		chromedp.Text(`#report tr[data-tenant="Acme Corp"]`, &reportRow, chromedp.ByQuery),
		screenshot("steward-report.png"),
	)
	if !strings.Contains(reportRow, "Suspended") || !strings.Contains(reportRow, "100") {
		t.Errorf("report row for Acme Corp: %q", reportRow)
	}

	var mailText string
	run("read the activation email in the outbox",
		chromedp.Click(`a[href="/console/mail"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#outbox`, chromedp.ByQuery),
		screenshot("steward-mail.png"),
		chromedp.Click(`#outbox a`, chromedp.ByQuery),
		chromedp.WaitVisible(`iframe.mail-frame[sandbox=""]`, chromedp.ByQuery),
		chromedp.Text(`#mail-text`, &mailText, chromedp.ByQuery),
		chromedp.Sleep(300*time.Millisecond), // let the frame paint for the screenshot
		screenshot("steward-mail-message.png"),
	)
	if !strings.Contains(mailText, "/activate?token=") {
		t.Errorf("the activation email's text part has no link:\n%s", mailText)
	}

	run("open the audit trail",
		chromedp.Click(`a[href="/console/audit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#audit`, chromedp.ByQuery),
		screenshot("steward-audit.png"),
	)

	run("sign out",
		chromedp.Click(`#logout`, chromedp.ByQuery),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.Navigate(ts.URL+"/console"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if u, err := url.Parse(location); err != nil || u.Path != "/login" {
		t.Fatalf("after sign-out /console led to %s, want /login", location)
	}

	tenantAdminFlow(t, s, ts.URL, run, settled, screenshot)
}

// tenantAdminFlow is the Tenant Admin's part of the Chromium test: sign in, add a user with "Send
// invitation now", invite again from the list, generate a PIN and read its status, and find the PIN
// invitations in the outbox.
func tenantAdminFlow(t *testing.T, s *Server, base string, run func(string, ...chromedp.Action), settled chromedp.Action, shot func(string) chromedp.Action) {
	t.Helper()
	_, richard := consoleTenant(t, s, "Pied Piper", "richard@piedpiper.example.com")
	const user = "dana@piedpiper.example.com"
	row := `#user-list tr[data-email="` + user + `"]`

	var role string
	run("sign in as the Tenant Admin",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "richard@piedpiper.example.com", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, testAdminPassword, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tenant-name`, chromedp.ByQuery),
		chromedp.Text(`[data-testid=who-role]`, &role, chromedp.ByQuery),
		screenshot("steward-overview.png"),
	)
	if role != "Tenant Admin" {
		t.Errorf("the top bar shows the role %q, want Tenant Admin", role)
	}

	var flashText string
	run("add a user with Send invitation now",
		chromedp.Click(`nav a[href="/console/users"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#user-add`, chromedp.ByQuery),
		settled,
		chromedp.SendKeys(`#f-emailAddress`, user, chromedp.ByQuery),
		chromedp.SendKeys(`#f-firstName`, "Dana", chromedp.ByQuery),
		chromedp.Click(`#add-roles input[value="USER_READ_ONLY"]`, chromedp.ByQuery),
		chromedp.Click(`#add-user`, chromedp.ByQuery),
		chromedp.WaitVisible(`#pin-status`, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flashText, chromedp.ByQuery),
	)
	if !strings.Contains(flashText, "The invitation was queued.") {
		t.Errorf("after adding: flash %q", flashText)
	}

	run("invite again from the list",
		chromedp.Click(`a.back`, chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		settled,
		chromedp.SendKeys(`#user-search`, "dana", chromedp.ByQuery),
		chromedp.WaitNotPresent(`#user-list tr[data-email="richard@piedpiper.example.com"]`, chromedp.ByQuery),
		chromedp.WaitVisible(row, chromedp.ByQuery),
		settled,
		chromedp.Click(row+` input[name=ids]`, chromedp.ByQuery),
		chromedp.Click(`#invite-selected`, chromedp.ByQuery),
		chromedp.WaitVisible(`#flash .alert-success`, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flashText, chromedp.ByQuery),
		screenshot("steward-users.png"),
	)
	if !strings.Contains(flashText, "The invitation was queued.") {
		t.Errorf("after inviting: flash %q", flashText)
	}

	var pin, status, expires string
	run("generate a PIN and see its status",
		chromedp.Click(row+` a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#generate-pin`, chromedp.ByQuery),
		chromedp.Click(`#generate-pin`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-pin-value`, chromedp.ByQuery),
		chromedp.Text(`#new-pin-value`, &pin, chromedp.ByQuery),
		chromedp.Text(`#pin-status`, &status, chromedp.ByQuery),
		chromedp.Text(`#pin-expires`, &expires, chromedp.ByQuery),
		screenshot("steward-user.png"),
	)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(pin) || status != "Active" || !strings.HasSuffix(expires, "UTC") {
		t.Errorf("PIN %q, status %q, expires %q", pin, status, expires)
	}

	var outbox string
	run("find the PIN invitations in the outbox",
		chromedp.Click(`nav a[href="/console/mail"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#outbox`, chromedp.ByQuery),
		chromedp.Text(`#outbox tbody`, &outbox, chromedp.ByQuery),
	)
	// The user holds a role, so each invitation also brought the Admin Invitation.
	if n := strings.Count(outbox, user); n != 4 || strings.Count(outbox, mail.TemplateInvitationPIN) != 2 ||
		strings.Count(outbox, mail.TemplateAdminInvitation) != 2 {
		t.Errorf("outbox holds %d mails to %s, want 2 PIN invitations and 2 Admin Invitations:\n%s", n, user, outbox)
	}
	if strings.Contains(outbox, pin) {
		t.Errorf("the outbox list shows the PIN")
	}

	// Two groups with their own registration setting, Sales first; Dana is in both.
	ctx := mdm.WithPrincipal(t.Context(), richard)
	var groups []mdm.GroupID
	for _, in := range []accounts.GroupInput{{Name: ptrTo("Sales"), Kind: ptrTo("STATIC")},
		{Name: ptrTo("Piper staff"), Kind: ptrTo("DYNAMIC"), Rule: ptrTo("emailAddress=*@piedpiper.example.com")}} {
		g, err := s.accounts.CreateGroup(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g.ID)
		if _, err := s.accounts.SetRegistrationSettings(ctx, accounts.RegistrationInput{GroupID: &g.ID,
			AuthType: ptrTo("PIN_AND_PASSWORD"), PINLength: ptrTo(8)}); err != nil {
			t.Fatal(err)
		}
	}
	dana, err := s.store.Accounts().ByUsername(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.accounts.ChangeMembers(ctx, groups[0], []mdm.AccountID{dana.ID}, true); err != nil {
		t.Fatal(err)
	}
	var first, source string
	run("move a group's registration setting down and see the user's setting follow",
		chromedp.Click(`nav a[href="/console/registration"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#overrides`, chromedp.ByQuery),
		chromedp.Click(`button[data-move-down="Sales"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#flash .alert-success`, chromedp.ByQuery),
		chromedp.Text(`#overrides tbody tr:first-child`, &first, chromedp.ByQuery),
		screenshot("steward-registration-groups.png"),
		chromedp.Click(`#overrides a[href="/console/groups/`+strconvI(int64(groups[0]))+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#member-list tr[data-member="`+user+`"]`, chromedp.ByQuery),
		screenshot("steward-group-members.png"),
		chromedp.Click(`#member-list a[href="/console/users/`+strconvI(int64(dana.ID))+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#effective-source`, chromedp.ByQuery),
		chromedp.Text(`#effective-source`, &source, chromedp.ByQuery),
		screenshot("steward-user-effective.png"),
		chromedp.Navigate(base+"/console/registration/new"),
		chromedp.WaitVisible(`#f-groupId`, chromedp.ByQuery),
		screenshot("steward-registration-new.png"),
	)
	if !strings.Contains(first, "Piper staff") || !strings.Contains(source, "Piper staff") {
		t.Errorf("after moving Sales down: first row %q, Dana's setting %q", first, source)
	}

	run("visit the other new pages",
		chromedp.Click(`nav a[href="/console/groups"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#group-list`, chromedp.ByQuery),
		screenshot("steward-groups.png"),
		chromedp.Click(`#group-list a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#group-name`, chromedp.ByQuery),
		screenshot("steward-group.png"),
		chromedp.Click(`nav a[href="/console/roles"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#roles`, chromedp.ByQuery),
		screenshot("steward-roles.png"),
		chromedp.Click(`nav a[href="/console/registration"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#registration`, chromedp.ByQuery),
		screenshot("steward-registration.png"),
	)

	var designated int
	run("designate a support administrator",
		chromedp.Click(`nav a[href="/console/support"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#support-fallback`, chromedp.ByQuery),
		chromedp.Click(`#support-choices input[name=ids]`, chromedp.ByQuery),
		chromedp.Click(`#save-support`, chromedp.ByQuery),
		chromedp.WaitVisible(`#flash .alert-success`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#support-designated tr[data-email]").length`, &designated),
		screenshot("steward-support.png"),
	)
	if designated != 1 {
		t.Errorf("after saving one box the page lists %d support administrators", designated)
	}
}

// TestConsoleHTTP checks the console's rules with a plain HTTP client: sign-in failures, redirects,
// cookie flags, cross-origin refusal, activation links that work once, and the System Admin / Tenant
// Admin split.
func TestConsoleHTTP(t *testing.T) {
	s, ts := startConsole(t)
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	type resp struct {
		status int
		header http.Header
		body   string
		cookie *http.Cookie
	}
	do := func(method, path string, form url.Values, cookie *http.Cookie, headers ...string) resp {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		r := resp{status: res.StatusCode, header: res.Header, body: string(b)}
		for _, c := range res.Cookies() {
			if c.Name == httpx.SessionCookie {
				r.cookie = c
			}
		}
		return r
	}
	expect := func(r resp, status int, what string, contains ...string) {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
		}
		for _, c := range contains {
			if !strings.Contains(r.body, c) {
				t.Errorf("%s: body lacks %q\n%s", what, c, r.body)
			}
		}
	}
	login := func(username, password string) *http.Cookie {
		t.Helper()
		r := do("POST", "/login", url.Values{"username": {username}, "password": {password}}, nil)
		expect(r, http.StatusSeeOther, "sign in as "+username)
		if r.cookie == nil || r.cookie.Value == "" {
			t.Fatalf("sign in as %s set no session cookie", username)
		}
		return r.cookie
	}

	t.Run("anonymous visitors go to the sign-in page", func(t *testing.T) {
		r := do("GET", "/console", nil, nil)
		expect(r, http.StatusSeeOther, "GET /console")
		if got := r.header.Get("Location"); got != "/login" {
			t.Errorf("Location %q, want /login", got)
		}
		r = do("GET", "/console/report", nil, nil)
		expect(r, http.StatusSeeOther, "GET /console/report")
		if got := r.header.Get("Location"); got != "/login?next=%2Fconsole%2Freport" {
			t.Errorf("Location %q", got)
		}
		r = do("GET", "/console/tenants", nil, nil, "HX-Request", "true")
		if r.header.Get("HX-Redirect") == "" || r.status != http.StatusUnauthorized {
			t.Errorf("htmx request: status %d, HX-Redirect %q", r.status, r.header.Get("HX-Redirect"))
		}
		r = do("GET", "/", nil, nil)
		expect(r, http.StatusSeeOther, "GET /")
		if got := r.header.Get("Location"); got != "/login" {
			t.Errorf("GET / Location %q, want /login", got)
		}
		expect(do("GET", "/no/such/page", nil, nil), http.StatusNotFound, "unknown page", "Not found")
	})

	t.Run("wrong credentials", func(t *testing.T) {
		for _, creds := range [][2]string{{"admin", "wrong password!!"}, {"nobody@example.com", testAdminPassword}} {
			r := do("POST", "/login", url.Values{"username": {creds[0]}, "password": {creds[1]}}, nil)
			expect(r, http.StatusUnauthorized, "sign in as "+creds[0], "Wrong username or password.")
			if r.cookie != nil {
				t.Errorf("a failed sign-in set a cookie")
			}
			if strings.Contains(r.body, creds[1]) {
				t.Errorf("the form echoes the password")
			}
		}
	})

	t.Run("a cross-origin sign-in is refused", func(t *testing.T) {
		r := do("POST", "/login", url.Values{"username": {"admin"}, "password": {testAdminPassword}}, nil,
			"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site")
		if r.status != http.StatusForbidden || r.cookie != nil {
			t.Fatalf("cross-origin POST /login: status %d, cookie %v", r.status, r.cookie)
		}
		r = do("POST", "/login", url.Values{"username": {"admin"}, "password": {testAdminPassword}}, nil,
			"Origin", ts.URL, "Sec-Fetch-Site", "same-origin")
		expect(r, http.StatusSeeOther, "same-origin POST /login")
	})

	admin := login("admin", testAdminPassword)
	t.Run("session cookie flags", func(t *testing.T) {
		r := do("POST", "/login", url.Values{"username": {"admin"}, "password": {testAdminPassword}, "next": {"//evil.example/x"}}, nil)
		expect(r, http.StatusSeeOther, "sign in")
		if got := r.header.Get("Location"); got != "/console" {
			t.Errorf("Location %q, want /console (an off-site next is dropped)", got)
		}
		c := r.cookie
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure ||
			c.MaxAge != int((12*time.Hour).Seconds()) {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, MaxAge 12h, not Secure over http", c)
		}
		r = do("GET", "/console", nil, admin)
		expect(r, http.StatusSeeOther, "System Admin GET /console")
		if got := r.header.Get("Location"); got != "/console/tenants" {
			t.Errorf("Location %q", got)
		}
		r = do("GET", "/console/tenants", nil, admin)
		expect(r, http.StatusOK, "tenants page", "New tenant", "Sign out", "admin")
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
			if r.header.Get(h) == "" {
				t.Errorf("tenants page lacks %s", h)
			}
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("page Cache-Control %q", cc)
		}
	})

	t.Run("static assets are cached", func(t *testing.T) {
		page := do("GET", "/login", nil, nil).body
		m := regexp.MustCompile(`/static/htmx\.min\.js\?v=[0-9a-f]+`).FindString(page)
		if m == "" {
			t.Fatalf("no versioned htmx URL in the sign-in page")
		}
		r := do("GET", m, nil, nil)
		expect(r, http.StatusOK, m, "htmx")
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("Cache-Control %q", cc)
		}
		if r2 := do("GET", m, nil, nil, "If-None-Match", r.header.Get("ETag")); r2.status != http.StatusNotModified {
			t.Errorf("revalidation: status %d, want 304", r2.status)
		}
	})

	t.Run("new tenant form", func(t *testing.T) {
		bad := url.Values{"name": {"Initech"}, "adminEmail": {"bill@"}, "adminFirstName": {"Bill"},
			"adminLastName": {"Lumbergh"}, "licenseDevices": {"ten"}, "access": {"password"}, "adminPassword": {"x"}}
		r := do("POST", "/console/tenants", bad, admin)
		expect(r, http.StatusBadRequest, "plain POST with a bad seat count", "Enter a whole number.", "<html")
		bad.Set("licenseDevices", "10")
		r = do("POST", "/console/tenants", bad, admin, "HX-Request", "true", "HX-Target", "tenant-create")
		expect(r, http.StatusBadRequest, "htmx POST with a bad email", `id="f-adminEmail-error"`, `id="f-adminPassword-error"`,
			`value="Initech"`)
		if strings.Contains(r.body, "<html") {
			t.Errorf("htmx answer is a whole page")
		}
		good := url.Values{"name": {"Initech"}, "adminEmail": {"bill@initech.example.com"}, "adminFirstName": {"Bill"},
			"adminLastName": {"Lumbergh"}, "licenseDevices": {"10"}, "access": {"password"}, "adminPassword": {"a long enough password"}}
		r = do("POST", "/console/tenants", good, admin)
		expect(r, http.StatusSeeOther, "plain POST")
		if !strings.HasPrefix(r.header.Get("Location"), "/console/tenants?created=") {
			t.Errorf("Location %q", r.header.Get("Location"))
		}
		expect(do("GET", r.header.Get("Location"), nil, admin), http.StatusOK, "after creation", "Tenant Initech was created.")
		r = do("POST", "/console/tenants", good, admin, "HX-Request", "true", "HX-Target", "tenant-create")
		expect(r, http.StatusConflict, "the same name again", "tenant with this name already exists")
		good.Set("name", "Initrode")
		good.Set("adminEmail", "peter@initrode.example.com")
		r = do("POST", "/console/tenants", good, admin, "HX-Request", "true", "HX-Target", "tenant-create")
		expect(r, http.StatusOK, "htmx POST", `id="tenant-created"`, `hx-swap-oob="true"`, `data-name="Initrode"`,
			`id="tenant-search" value=""`)
		r = do("GET", "/console/tenants?q=initr", nil, admin, "HX-Request", "true", "HX-Target", "tenant-list")
		expect(r, http.StatusOK, "search", `data-name="Initrode"`)
		if strings.Contains(r.body, `data-name="Initech"`) || strings.Contains(r.body, "<html") {
			t.Errorf("search answer:\n%s", r.body)
		}
	})

	// A tenant whose admin gets an activation email.
	sys := mdm.WithPrincipal(t.Context(), &mdm.Principal{Kind: mdm.SystemAdminPrincipal, ID: 1, Username: "admin"})
	send := true
	created, err := s.tenants.Create(sys, tenants.CreateInput{Name: "Umbrella", AdminEmail: "alice@umbrella.example.com",
		AdminFirstName: "Alice", AdminLastName: "Abernathy", SendActivation: &send})
	if err != nil {
		t.Fatal(err)
	}
	outbox := mail.NewOutbox(s.store, mail.NewMailer(s.keys, time.Now))
	msgs, err := outbox.List(sys, mdm.ListOptions{Rows: 50})
	if err != nil {
		t.Fatal(err)
	}
	var msgID int64
	for _, m := range msgs.Items {
		if m.To == created.Admin.Email {
			msgID = m.ID
		}
	}
	_, rendered, err := outbox.Read(sys, msgID)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`/activate\?token=[^\s"<]+`).FindString(rendered.Text)
	if link == "" {
		t.Fatalf("no activation link in:\n%s", rendered.Text)
	}

	t.Run("mail can be read in the console without SMTP", func(t *testing.T) {
		expect(do("GET", "/console/mail", nil, admin), http.StatusOK, "outbox", "No SMTP server is configured",
			created.Admin.Email, "/console/mail/")
		r := do("GET", "/console/mail/"+strconvI(msgID), nil, admin)
		expect(r, http.StatusOK, "message", `sandbox=""`, "srcdoc=", "activate?token=")
		expect(do("GET", "/console/mail/999999", nil, admin), http.StatusNotFound, "unknown message")
	})

	t.Run("activation link works once", func(t *testing.T) {
		r := do("GET", link, nil, nil)
		expect(r, http.StatusOK, "activation page", "Set your password", created.Admin.Email)
		if r.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("activation page Referrer-Policy %q", r.header.Get("Referrer-Policy"))
		}
		token := strings.TrimPrefix(link, "/activate?token=")
		token, _ = url.QueryUnescape(token)
		r = do("POST", "/activate", url.Values{"token": {token}, "password": {"short"}, "confirm": {"short"}}, nil)
		expect(r, http.StatusBadRequest, "short password", `id="f-password-error"`, "at least 12 characters")
		r = do("POST", "/activate", url.Values{"token": {token}, "password": {"a long enough password"}, "confirm": {"another one"}}, nil)
		expect(r, http.StatusBadRequest, "passwords differ", `id="f-confirm-error"`)
		r = do("POST", "/activate", url.Values{"token": {token}, "password": {"umbrella password 1"}, "confirm": {"umbrella password 1"}}, nil)
		expect(r, http.StatusOK, "activate", "Your password is set — sign in")
		expect(do("GET", link, nil, nil), http.StatusConflict, "used link", "This activation link was already used")
		r = do("POST", "/activate", url.Values{"token": {token}, "password": {"umbrella password 2"}, "confirm": {"umbrella password 2"}}, nil)
		expect(r, http.StatusConflict, "used link again", "This activation link was already used")
		expect(do("GET", "/activate?token=nonsense", nil, nil), http.StatusNotFound, "unknown link", "not valid")
		login(created.Admin.Email, "umbrella password 1")
	})

	t.Run("a Tenant Admin sees their tenant and not the System Admin pages", func(t *testing.T) {
		ta := login(created.Admin.Email, "umbrella password 1")
		r := do("GET", "/console", nil, ta)
		expect(r, http.StatusOK, "Tenant Admin landing", "Umbrella", "Licensed seats",
			`id="dm-partition">`+strconvI(int64(created.Tenant.DefaultDmPartitionID))+"<", "/console/audit", "/console/mail")
		for _, path := range []string{"/console/tenants", "/console/report", "/console/mail/" + strconvI(msgID)} {
			expect(do("GET", path, nil, ta), http.StatusForbidden, "Tenant Admin GET "+path)
		}
		expect(do("POST", "/console/tenants", url.Values{"name": {"Mine"}}, ta), http.StatusForbidden, "Tenant Admin creates a tenant")
		r = do("GET", "/console/audit", nil, ta)
		expect(r, http.StatusOK, "Tenant Admin audit", "account.activate")
		if strings.Contains(r.body, "Initech") {
			t.Errorf("a Tenant Admin sees another tenant's audit records")
		}
		expect(do("GET", "/console/mail", nil, ta), http.StatusOK, "Tenant Admin mail", created.Admin.Email)

		// Suspending the tenant ends the session; the refusal clears the cookie.
		r = do("POST", "/console/tenants/"+string(created.Tenant.ID)+"/state", url.Values{"state": {"SUSPENDED"}}, admin,
			"HX-Request", "true", "HX-Target", "tenant-"+string(created.Tenant.ID))
		expect(r, http.StatusOK, "suspend", `data-state="SUSPENDED"`, "Resume")
		r = do("GET", "/console", nil, ta)
		expect(r, http.StatusForbidden, "suspended tenant's admin", "suspended")
		if r.cookie == nil || r.cookie.MaxAge >= 0 {
			t.Errorf("the refused session's cookie was not cleared: %+v", r.cookie)
		}
		r = do("POST", "/login", url.Values{"username": {created.Admin.Email}, "password": {"umbrella password 1"}}, nil)
		expect(r, http.StatusForbidden, "suspended tenant's sign-in", "suspended")
	})

	t.Run("sign out ends the session", func(t *testing.T) {
		r := do("POST", "/logout", url.Values{}, admin)
		expect(r, http.StatusSeeOther, "logout")
		if r.header.Get("Location") != "/login" || r.cookie == nil || r.cookie.MaxAge >= 0 {
			t.Errorf("logout: Location %q, cookie %+v", r.header.Get("Location"), r.cookie)
		}
		r = do("GET", "/console/tenants", nil, admin)
		expect(r, http.StatusSeeOther, "old cookie after logout")
	})
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

func ptrTo[T any](v T) *T { return &v }

// removeEventually removes dir, retrying for a few seconds while a just-closed browser's helper
// processes finish writing to it.
func removeEventually(t *testing.T, dir string) {
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
	}
	t.Errorf("remove the browser profile: %v", err)
}
