package server

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// testAgent is an Android agent in process: it registers and checks in through the devices service,
// carries out every command it is given and answers it at its next check-in, as the agent does.
type testAgent struct {
	s          *Server
	credential string
	id         mdm.DeviceID
	name       string
	answers    []mdm.CommandResult
	done       []string // command types carried out
}

// newTestAgent registers a device named name for a new half account email of admin's tenant (with a
// registration PIN, as the default setting asks) and checks it in once.
func newTestAgent(t *testing.T, s *Server, admin *mdm.Principal, email, name string) *testAgent {
	t.Helper()
	ctx := mdm.WithPrincipal(t.Context(), admin)
	created, err := s.accounts.CreateAccounts(ctx, []accounts.NewAccount{{EmailAddress: email}}, false)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := s.accounts.IssueRegistrationPIN(ctx, created[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := s.devices.Register(t.Context(), devices.Registration{Username: email, PIN: pin.PIN, Platform: mdm.PlatformAndroid,
		Facts: mdm.DeviceFacts{DeviceName: name, Model: "GKWS6", PrettyModel: "Pixel 8", Manufacturer: "Google",
			OSVersion: "14", SerialNumber: "SN-" + strings.ToUpper(strings.Split(email, "@")[0]), FormFactor: "phone",
			WifiMAC: "02:00:00:00:00:01", PasscodeCompliant: true, Encrypted: true, ClientVersion: "1.0.0"},
		Apps: []mdm.InstalledApp{{AppID: "com.example.mail", Name: "Mail", Version: "3.2"}}})
	if err != nil {
		t.Fatalf("register a device for %s: %v", email, err)
	}
	a := &testAgent{s: s, credential: reg.Credential, id: reg.Device.ID, name: name}
	a.checkIn(t)
	return a
}

// checkIn reports the answers due, carries out the commands returned and, when there were some, checks
// in again at once to deliver their answers.
func (a *testAgent) checkIn(t *testing.T) {
	t.Helper()
	for round := 0; round < 3; round++ {
		d, err := a.s.devices.AuthenticateDevice(t.Context(), a.credential)
		if err != nil {
			t.Fatalf("authenticate %s: %v", a.name, err)
		}
		reply, err := a.s.devices.CheckIn(t.Context(), d, devices.CheckIn{Results: a.answers})
		if err != nil {
			t.Fatalf("check in %s: %v", a.name, err)
		}
		a.answers = nil
		for _, c := range reply.Commands {
			a.done = append(a.done, c.Type)
			a.answers = append(a.answers, mdm.CommandResult{ID: c.ID, Status: mdm.CmdAcknowledged})
		}
		if len(a.answers) == 0 {
			return
		}
	}
}

// consoleUserWithRoles adds a full account of admin's tenant with roles, signs it in and returns its client.
func consoleUserWithRoles(t *testing.T, s *Server, base string, admin *mdm.Principal, email string, roles ...string) *consoleClient {
	t.Helper()
	ctx := mdm.WithPrincipal(t.Context(), admin)
	if _, err := s.accounts.CreateAccounts(ctx, []accounts.NewAccount{{EmailAddress: email, FirstName: "Test", LastName: "User",
		Password: testAdminPassword, Roles: roles}}, false); err != nil {
		t.Fatal(err)
	}
	return signInAt(t, base, &http.Client{}, email, testAdminPassword)
}

var commandRow = regexp.MustCompile(`<tr data-command-id="\d+" data-type="(\w+)" data-status="(\w+)">`)

// commandsOf lists "TYPE STATUS" of a device page's command history, newest first.
func commandsOf(body string) []string {
	var out []string
	for _, m := range commandRow.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+" "+m[2])
	}
	return out
}

// TestConsoleDevices drives the Devices pages without JavaScript: the list and its filters, the device
// page, every action with its confirmation, what a Device Read Only user is refused, and tenant
// isolation.
func TestConsoleDevices(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testConsoleDevices(t, db(t)) })
	}
}

func testConsoleDevices(t *testing.T, databaseURL string) {
	e := newAPIEnv(t, databaseURL, nil)
	s, base := e.srv, e.url
	_, hooli := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	_, other := consoleTenant(t, s, "Endframe", "kevin@endframe.example.com")
	ann := newTestAgent(t, s, hooli, "ann@hooli.example.com", "Ann's <Pixel>")
	bob := newTestAgent(t, s, other, "bob@endframe.example.com", "Bob's Pixel")
	annPath := "/console/devices/" + strconv.FormatInt(int64(ann.id), 10)
	annName := html.EscapeString(ann.name) // as the pages show it

	admin := signInAt(t, base, &http.Client{}, "gavin@hooli.example.com", testAdminPassword)
	list := admin.do("GET", "/console/devices", nil).expect(t, http.StatusOK, "the Devices list",
		`href="`+annPath+`"`, "ann@hooli.example.com", `href="/console/devices" aria-current="page"`)
	list.lacks(t, "the Devices list", "bob@endframe.example.com")

	t.Run("filters", func(t *testing.T) {
		admin.do("GET", "/console/devices?state=ACTIVE&platform=ANDROID", nil).expect(t, http.StatusOK, "active Android",
			`href="`+annPath+`"`, "registrationState=ACTIVE and platformType=ANDROID")
		admin.do("GET", "/console/devices?state=WIPED", nil).expect(t, http.StatusOK, "wiped", `id="device-empty"`).
			lacks(t, "wiped", `href="`+annPath+`"`)
		admin.do("GET", "/console/devices?q="+url.QueryEscape("ann@hooli"), nil).expect(t, http.StatusOK, "search by owner",
			`href="`+annPath+`"`)
		admin.do("GET", "/console/devices?q=nobody-has-this", nil).expect(t, http.StatusOK, "search misses",
			"No device matches “nobody-has-this”")
		// Unknown filter values and sorts are ignored rather than passed to the database.
		admin.do("GET", "/console/devices?state=x'%20or%201=1&sort=credential_hash", nil).expect(t, http.StatusOK,
			"bad filter values", `href="`+annPath+`"`)
		admin.do("GET", "/console/devices?sort=-lastCheckin", nil, "HX-Request", "true", "HX-Target", "device-list").
			expect(t, http.StatusOK, "the list fragment", `id="device-list"`, `aria-sort="descending"`).
			lacks(t, "the list fragment", "<html")
	})

	t.Run("the owner sees the device in the portal", func(t *testing.T) {
		ctx := mdm.WithPrincipal(t.Context(), hooli)
		pg, err := s.accounts.ListAccounts(ctx, mdm.ListOptions{Rows: 1,
			Filter: mdm.Compare{Field: "emailAddress", Op: mdm.Eq, Value: "ann@hooli.example.com"}})
		if err != nil || len(pg.Items) != 1 {
			t.Fatalf("find ann: %v %v", pg.Items, err)
		}
		pin, err := s.accounts.IssueRegistrationPIN(ctx, pg.Items[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		portal := &consoleClient{t: t, base: base, client: &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		r := portal.do("POST", "/go/login", url.Values{"email": {"ann@hooli.example.com"}, "method": {"pin"}, "pin": {pin.PIN}})
		var cookie *http.Cookie
		for _, c := range r.header.Values("Set-Cookie") {
			if name, value, ok := strings.Cut(strings.Split(c, ";")[0], "="); ok && name == "steward_portal" {
				cookie = &http.Cookie{Name: name, Value: value}
			}
		}
		if r.status != http.StatusSeeOther || cookie == nil {
			t.Fatalf("portal sign-in with a PIN: %d\n%s", r.status, r.body)
		}
		// The portal reads stored check-in times, which the service writes in batches.
		if err := s.devices.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/go", nil)
		req.AddCookie(cookie)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		body := string(b)
		for _, want := range []string{`id="go-devices"`, annName, "Android phone", "Pixel 8", `data-state="ACTIVE"`, "just now"} {
			if !strings.Contains(body, want) {
				t.Errorf("the portal lacks %q\n%s", want, body)
			}
		}
	})

	t.Run("other tenants' devices are not found", func(t *testing.T) {
		bobPath := "/console/devices/" + strconv.FormatInt(int64(bob.id), 10)
		admin.do("GET", bobPath, nil).expect(t, http.StatusNotFound, "another tenant's device")
		admin.do("POST", bobPath+"/actions/lock", url.Values{}).expect(t, http.StatusNotFound, "lock another tenant's device")
		admin.do("POST", bobPath+"/delete", url.Values{}).expect(t, http.StatusNotFound, "delete another tenant's device")
		admin.do("GET", "/console/devices/abc", nil).expect(t, http.StatusNotFound, "a malformed id")
	})

	t.Run("read only sees no actions and is refused them", func(t *testing.T) {
		reader := consoleUserWithRoles(t, s, base, hooli, "rita@hooli.example.com", authz.RoleDeviceReadOnly)
		page := reader.do("GET", annPath, nil).expect(t, http.StatusOK, "the device page for a reader",
			annName, "ann@hooli.example.com", `id="device-commands"`)
		page.lacks(t, "the device page for a reader", `id="action-`, `id="change-owner"`, `id="save-attributes"`,
			`action="`+annPath+`/actions/`)
		for _, post := range []struct{ path string }{
			{annPath + "/actions/lock"}, {annPath + "/actions/wipe"}, {annPath + "/actions/unlock"},
			{annPath + "/message"}, {annPath + "/owner"}, {annPath + "/attributes"}, {annPath + "/delete"},
		} {
			reader.do("POST", post.path, url.Values{"message": {"x"}, "push": {"on"}, "pushText": {"x"},
				"email": {"rita@hooli.example.com"}, "attributes": {"a = 1"}}).expect(t, http.StatusForbidden, post.path)
		}
		for _, get := range []string{annPath + "/actions/wipe", annPath + "/actions/retire", annPath + "/delete"} {
			reader.do("GET", get, nil).expect(t, http.StatusForbidden, get)
		}
		if got := commandsOf(admin.do("GET", annPath, nil).body); len(got) != 0 {
			t.Errorf("refused actions queued commands: %v", got)
		}
		// The user page lists the user's devices for a reader too.
		usersPage := reader.do("GET", "/console/users?q=ann", nil).expect(t, http.StatusOK, "users")
		m := regexp.MustCompile(`href="/console/users/(\d+)"`).FindStringSubmatch(usersPage.body)
		if m == nil {
			t.Fatalf("no user link for ann:\n%s", usersPage.body)
		}
		reader.do("GET", "/console/users/"+m[1], nil).expect(t, http.StatusOK, "ann's user page", `id="user-devices"`, `href="`+annPath+`"`)
	})

	t.Run("a user without device roles sees no Devices", func(t *testing.T) {
		u := consoleUserWithRoles(t, s, base, hooli, "uma@hooli.example.com", authz.RoleUserReadOnly)
		u.do("GET", "/console/users", nil).expect(t, http.StatusOK, "users").lacks(t, "users", `href="/console/devices"`)
		u.do("GET", "/console/devices", nil).expect(t, http.StatusForbidden, "the Devices list")
		u.do("GET", annPath, nil).expect(t, http.StatusForbidden, "the device page")
	})

	t.Run("lock, acknowledged at the next check-in", func(t *testing.T) {
		r := admin.do("POST", annPath+"/actions/lock", url.Values{"message": {"Call IT"}, "phoneNumber": {"+49 30 1234"}})
		loc := r.location(t, annPath+"?done=lock")
		page := admin.do("GET", loc, nil).expect(t, http.StatusOK, "after lock", "Lock queued for "+annName+".",
			`hx-trigger="every 2s"`, "“Call IT”")
		if got := commandsOf(page.body); len(got) != 1 || got[0] != "LOCK PENDING" {
			t.Fatalf("history %v, want LOCK PENDING", got)
		}
		ann.checkIn(t)
		frag := admin.do("GET", annPath+"/commands", nil, "HX-Request", "true").expect(t, http.StatusOK, "the history fragment")
		frag.lacks(t, "the history fragment", `hx-trigger`, "<html")
		if got := commandsOf(frag.body); len(got) != 1 || got[0] != "LOCK ACKNOWLEDGED" {
			t.Errorf("history %v, want LOCK ACKNOWLEDGED", got)
		}
		if !slices.Contains(ann.done, mdm.CmdLock) {
			t.Errorf("the device was not given the lock; it carried out %v", ann.done)
		}
	})

	t.Run("message needs a text", func(t *testing.T) {
		admin.do("POST", annPath+"/message", url.Values{"push": {"on"}}).expect(t, http.StatusBadRequest, "empty push",
			"Give the message to push.")
		admin.do("POST", annPath+"/message", url.Values{}).expect(t, http.StatusBadRequest, "neither push nor email",
			"Choose a push notification, an email or both.")
		r := admin.do("POST", annPath+"/message", url.Values{"push": {"on"}, "pushText": {"Please update"}})
		admin.do("GET", r.location(t, annPath+"?done=message"), nil).expect(t, http.StatusOK, "after message",
			"Message sent to the owner of "+annName+".", "“Please update”")

		before := len(outboxTo(t, s, hooli.TenantID, "ann@hooli.example.com"))
		admin.do("POST", annPath+"/message", url.Values{"email": {"on"}, "subject": {"Hello"}}).
			expect(t, http.StatusBadRequest, "an email without a body", `id="f-body-error"`)
		r = admin.do("POST", annPath+"/message", url.Values{"email": {"on"}, "subject": {"Your phone"}, "body": {"Please bring it to IT."}})
		r.location(t, annPath+"?done=message")
		if got := len(outboxTo(t, s, hooli.TenantID, "ann@hooli.example.com")); got != before+1 {
			t.Errorf("ann has %d messages in the outbox, want %d", got, before+1)
		}
	})

	t.Run("attributes and owner", func(t *testing.T) {
		admin.do("POST", annPath+"/attributes", url.Values{"attributes": {"cost_center = 42\nnot a pair"}}).
			expect(t, http.StatusBadRequest, "a bad attribute line", "Line 2 is not")
		r := admin.do("POST", annPath+"/attributes", url.Values{"attributes": {"cost_center = 42\nsite = Berlin"}})
		admin.do("GET", r.location(t, annPath+"?done=attributes"), nil).expect(t, http.StatusOK, "after saving attributes",
			"<dt>cost_center</dt><dd>42</dd>", "<dt>site</dt><dd>Berlin</dd>")

		admin.do("POST", annPath+"/owner", url.Values{"email": {"bob@endframe.example.com"}}).
			expect(t, http.StatusNotFound, "another tenant's user as owner", "No user of this tenant has this email address.")
		if _, err := s.accounts.CreateAccounts(mdm.WithPrincipal(t.Context(), hooli),
			[]accounts.NewAccount{{EmailAddress: "carla@hooli.example.com"}}, false); err != nil {
			t.Fatal(err)
		}
		admin.do("GET", "/console/devices/owners?email=carla", nil, "HX-Request", "true").expect(t, http.StatusOK,
			"the owner picker", `<option value="carla@hooli.example.com">`).lacks(t, "the owner picker", "<html")
		admin.do("GET", "/console/devices/owners?email=bob", nil, "HX-Request", "true").expect(t, http.StatusOK,
			"the owner picker").lacks(t, "the owner picker", "bob@endframe.example.com")
		r = admin.do("POST", annPath+"/owner", url.Values{"email": {"carla@hooli.example.com"}})
		admin.do("GET", r.location(t, annPath+"?done=owner"), nil).expect(t, http.StatusOK, "after changing the owner",
			`id="owner-link"`, "carla@hooli.example.com")
	})

	t.Run("wipe, cancelled; retire", func(t *testing.T) {
		admin.do("GET", annPath+"/actions/wipe", nil).expect(t, http.StatusOK, "confirm wipe",
			"factory settings", `action="`+annPath+`/actions/wipe"`)
		admin.do("GET", annPath+"/actions/lock", nil).expect(t, http.StatusNotFound, "no confirmation for lock")
		r := admin.do("POST", annPath+"/actions/wipe", url.Values{})
		page := admin.do("GET", r.location(t, annPath+"?done=wipe"), nil).expect(t, http.StatusOK, "after wipe",
			`data-state="WIPE_PENDING"`, `id="action-wipeCancel"`)
		page.lacks(t, "after wipe", `id="action-lock"`, `id="action-wipe"`)
		r = admin.do("POST", annPath+"/actions/wipeCancel", url.Values{})
		page = admin.do("GET", r.location(t, annPath+"?done=wipeCancel"), nil).expect(t, http.StatusOK, "after cancel",
			`data-state="ACTIVE"`, `id="action-lock"`)
		if got := commandsOf(page.body); len(got) == 0 || got[0] != "WIPE CANCELLED" {
			t.Errorf("history %v, want the WIPE cancelled first", got)
		}
		admin.do("POST", annPath+"/actions/wipeCancel", url.Values{}).expect(t, http.StatusConflict, "cancel with no wipe")
		admin.do("POST", annPath+"/actions/explode", url.Values{}).expect(t, http.StatusNotFound, "an unknown action")

		admin.do("GET", annPath+"/actions/retire", nil).expect(t, http.StatusOK, "confirm retire", "own data stays")
		r = admin.do("POST", annPath+"/actions/retire", url.Values{})
		admin.do("GET", r.location(t, annPath+"?done=retire"), nil).expect(t, http.StatusOK, "after retire",
			`data-state="RETIRE_PENDING"`, "Retire queued for "+annName+".")
		ann.checkIn(t)
		admin.do("GET", annPath, nil).expect(t, http.StatusOK, "retired", `data-state="RETIRED"`)
	})

	t.Run("delete the record", func(t *testing.T) {
		admin.do("GET", annPath+"/delete", nil).expect(t, http.StatusOK, "confirm delete", "credential stops working")
		r := admin.do("POST", annPath+"/delete", url.Values{})
		admin.do("GET", r.location(t, "/console/devices?done=deleted"), nil).expect(t, http.StatusOK, "after delete",
			"The device record was deleted.").lacks(t, "after delete", `href="`+annPath+`"`)
		admin.do("GET", annPath, nil).expect(t, http.StatusNotFound, "the deleted device")
	})
}
