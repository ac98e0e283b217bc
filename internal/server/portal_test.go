package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"steward/internal/httpx"
)

// TestPortalPINRequest: "Get a new PIN" mails a PIN (recipient, subject) that signs in at /go without
// being used up; it is refused when the setting uses no PIN or PIN requests are off, and signed-out
// requests answer the same whatever the address.
func TestPortalPINRequest(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Portal")
	e.addUser(ta, "pat@portal.example.com", "Pat-password-123")
	halfID := e.addUser(ta, "hal@portal.example.com", "")

	// Signed out, by address: 202 for a user, for nobody, and nothing sent for nobody.
	var neutral string
	e.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"pat@portal.example.com"}`).must(t, 202, &neutral)
	var other string
	e.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"nobody@portal.example.com"}`).must(t, 202, &other)
	if neutral != other || neutral == "" {
		t.Errorf("answers differ: %q vs %q", neutral, other)
	}
	if r := e.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"not an address"}`); r.Status != 400 || r.field() != "emailAddress" {
		t.Errorf("malformed address: %d %s", r.Status, r.Body)
	}
	pin := waitPIN(t, box, "pat@portal.example.com", 1)
	msg := box.wait(t, toLine("pat@portal.example.com"))
	if !strings.Contains(msg, "Subject: Your new registration PIN for Portal") {
		t.Errorf("subject of the PIN mail:\n%s", msg)
	}
	if n := e.outboxCount("pin_request", ""); n != 1 {
		t.Errorf("%d PIN mails queued, want 1 (none for the unknown address)", n)
	}

	// The mailed PIN signs in, and again: the portal does not use it up, as it is for registering a device.
	b := e.browser()
	if st, page := b.signIn("pat@portal.example.com", "pin", pin); st != 200 || !strings.Contains(page, "My devices") {
		t.Fatalf("PIN sign-in: %d\n%s", st, page)
	}
	if st, _ := e.browser().signIn("pat@portal.example.com", "pin", pin); st != 200 {
		t.Errorf("second sign-in with the PIN: %d, want 200", st)
	}
	var unused int
	e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM one_time_tokens WHERE purpose='regpin' AND used_at IS NULL`).Scan(&unused)
	if unused != 1 {
		t.Errorf("%d unused PINs after portal sign-ins, want the mailed one (1)", unused)
	}
	// A second request at once sends nothing (one per 5 minutes), and says so when signed in.
	e.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"pat@portal.example.com"}`).must(t, 202, nil)
	if st, page := b.post("/go/pin", nil); st != 429 || !strings.Contains(page, "less than 5 minutes ago") {
		t.Errorf("second signed-in request: %d", st)
	}
	if n := e.outboxCount("pin_request", ""); n != 1 {
		t.Errorf("%d PIN mails after the repeated requests, want 1", n)
	}

	// PIN requests off: a clear refusal signed in, the neutral answer signed out, nothing sent.
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"allowPinRequest":false}`).must(t, 200, nil)
	pw := e.browser()
	if st, _ := pw.signIn("pat@portal.example.com", "password", "Pat-password-123"); st != 200 {
		t.Fatalf("password sign-in: %d", st)
	}
	e.srv.Store().DB().Exec(`UPDATE one_time_tokens SET created_at = created_at - 600000`) // past the 5 minutes
	if st, page := pw.post("/go/pin", nil); st != 403 || !strings.Contains(page, "does not let users request a PIN") {
		t.Errorf("request with PIN requests off: %d", st)
	}
	// PASSWORD_ONLY: no PIN to request.
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"allowPinRequest":true,"authType":"PASSWORD_ONLY"}`).must(t, 200, nil)
	if st, page := pw.post("/go/pin", nil); st != 400 || !strings.Contains(page, "uses no PIN") {
		t.Errorf("request under PASSWORD_ONLY: %d", st)
	}
	e.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"pat@portal.example.com"}`).must(t, 202, nil)
	if n := e.outboxCount("pin_request", ""); n != 1 {
		t.Errorf("%d PIN mails after refused requests, want 1", n)
	}

	// A PIN issued under PIN_ONLY does not sign a full account in under PASSWORD_ONLY, and is not used up
	// by the refusal; a half account's PIN (its only credential) still signs it in.
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"authType":"PIN_ONLY"}`).must(t, 200, nil)
	var issued struct{ PIN string }
	patID := e.accountID(ta, "pat@portal.example.com")
	e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf(`{"accountId":%d}`, patID)).must(t, 200, &issued)
	var halfPIN struct{ PIN string }
	e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf(`{"accountId":%d}`, halfID)).must(t, 200, &halfPIN)
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"authType":"PASSWORD_ONLY"}`).must(t, 200, nil)
	usePassword := "signs in to the portal with its password"
	if st, page := e.browser().signIn("pat@portal.example.com", "pin", issued.PIN); st != 403 || !strings.Contains(page, usePassword) ||
		!strings.Contains(page, `name="password"`) {
		t.Errorf("PIN sign-in under PASSWORD_ONLY: %d, want 403 saying to use the password, with the password form", st)
	}
	if st, _ := e.browser().signIn("hal@portal.example.com", "pin", halfPIN.PIN); st != 200 {
		t.Errorf("half account's PIN under PASSWORD_ONLY: %d, want 200", st)
	}
	// Under PIN_AND_PASSWORD the PIN is half a credential: a full account signs in with its password.
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"authType":"PIN_AND_PASSWORD"}`).must(t, 200, nil)
	if st, page := e.browser().signIn("pat@portal.example.com", "pin", issued.PIN); st != 403 || !strings.Contains(page, usePassword) {
		t.Errorf("PIN alone under PIN_AND_PASSWORD: %d, want 403 saying to use the password", st)
	}
	if st, _ := e.browser().signIn("pat@portal.example.com", "pin", "99999999"); st != 401 {
		t.Errorf("wrong PIN under PIN_AND_PASSWORD: %d, want 401", st)
	}
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"authType":"PIN_ONLY"}`).must(t, 200, nil)
	if st, _ := e.browser().signIn("pat@portal.example.com", "pin", issued.PIN); st != 200 {
		t.Errorf("the PIN after the setting allows it again: %d, want 200", st)
	}
}

// accountID finds an account's id by address.
func (e *apiEnv) accountID(admin, email string) int64 {
	e.t.Helper()
	var p accountPage
	e.call("GET", "/api/v1/account?fq="+url.QueryEscape("emailAddress="+email), admin, "").must(e.t, 200, &p)
	if len(p.SearchResults) != 1 {
		e.t.Fatalf("account %s: %+v", email, p)
	}
	return p.SearchResults[0].ID
}

var resetLink = regexp.MustCompile(`https?://[^\s"<>]+/go/reset\?token=[A-Za-z0-9_%=-]+`)

// TestPortalPasswordReset: "Reset Password" mails a one-time link; the new password signs in; a second
// request within 15 minutes sends nothing (judged from the database); a half account gets no link.
func TestPortalPasswordReset(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testPasswordReset(t, db(t)) })
	}
}

func testPasswordReset(t *testing.T, dbURL string) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, dbURL, func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Reset")
	e.addUser(ta, "rita@reset.example.com", "Rita-password-123")
	e.addUser(ta, "hal@reset.example.com", "")

	e.call("POST", "/api/v1/selfservice/password", "", `{"emailAddress":"rita@reset.example.com"}`).must(t, 202, nil)
	e.call("POST", "/api/v1/selfservice/password", "", `{"emailAddress":"hal@reset.example.com"}`).must(t, 202, nil)
	msg := unfold(box.wait(t, toLine("rita@reset.example.com")))
	if !strings.Contains(msg, "Subject: Reset your password for Reset") {
		t.Errorf("subject:\n%s", msg)
	}
	link := resetLink.FindString(msg)
	if !strings.HasPrefix(link, e.url+"/go/reset?token=") {
		t.Fatalf("no reset link to %s in:\n%s", e.url, msg)
	}
	u, _ := url.Parse(link)
	token := u.Query().Get("token")

	// Within 15 minutes: signed out, the same 202 and nothing sent; signed in, told so.
	e.call("POST", "/api/v1/selfservice/password", "", `{"emailAddress":"rita@reset.example.com"}`).must(t, 202, nil)
	b := e.browser()
	if st, _ := b.signIn("rita@reset.example.com", "password", "Rita-password-123"); st != 200 {
		t.Fatalf("sign-in: %d", st)
	}
	if st, page := b.post("/go/password", nil); st != 429 || !strings.Contains(page, "less than 15 minutes ago") {
		t.Errorf("second signed-in request: %d", st)
	}
	if n := e.outboxCount("password_request", ""); n != 1 {
		t.Errorf("%d reset mails, want 1 (none for the half account, none for the repeats)", n)
	}

	// The link: the form, the policy, then the new password; it works once.
	if st, page := b.get("/go/reset?token=" + url.QueryEscape(token)); st != 200 || !strings.Contains(page, "rita@reset.example.com") {
		t.Fatalf("reset page: %d", st)
	}
	reset := func(pw, confirm string) int {
		st, _ := e.browser().post("/go/reset", url.Values{"token": {token}, "password": {pw}, "confirm": {confirm}})
		return st
	}
	if st := reset("short", "short"); st != 400 {
		t.Errorf("short password: %d, want 400", st)
	}
	if st := reset("Rita-new-password-1", "different"); st != 400 {
		t.Errorf("different confirmation: %d, want 400", st)
	}
	rita := b.cookie(httpx.PortalCookie)
	e.callPortal("GET", "/api/v1/selfservice/devices", rita, "").must(t, 200, nil)
	if st := reset("Rita-new-password-1", "Rita-new-password-1"); st != 200 {
		t.Fatalf("reset: %d, want 200", st)
	}
	// The reset signs out the session opened with the old password.
	e.callPortal("GET", "/api/v1/selfservice/devices", rita, "").must(t, 401, nil)
	if st := reset("Rita-third-password-1", "Rita-third-password-1"); st != 409 {
		t.Errorf("second use of the link: %d, want 409", st)
	}
	if st, _ := e.browser().signIn("rita@reset.example.com", "password", "Rita-new-password-1"); st != 200 {
		t.Errorf("new password at /go: %d", st)
	}
	if st, _ := e.browser().signIn("rita@reset.example.com", "password", "Rita-password-123"); st != 401 {
		t.Errorf("old password at /go: %d, want 401", st)
	}
	if st, _ := e.browser().get("/go/reset?token=" + url.QueryEscape(token)); st != 409 {
		t.Errorf("used link page: %d, want 409", st)
	}
	if st, _ := e.browser().get("/go/reset?token=forged"); st != 404 {
		t.Errorf("forged link page: %d, want 404", st)
	}

	// 15 minutes later (as the database sees it), a new request sends a new link.
	e.srv.Store().DB().Exec(`UPDATE one_time_tokens SET created_at = created_at - 16*60000 WHERE purpose='pwreset'`)
	b = e.browser()
	if st, _ := b.signIn("rita@reset.example.com", "password", "Rita-new-password-1"); st != 200 {
		t.Fatalf("sign-in with the new password: %d", st)
	}
	if st, page := b.post("/go/password", nil); st != 200 || !strings.Contains(page, "on its way") {
		t.Errorf("request after 15 minutes: %d", st)
	}
	if n := e.outboxCount("password_request", "rita@reset.example.com"); n != 2 {
		t.Errorf("%d reset mails after 15 minutes, want 2", n)
	}
	// The link is stored only as a keyed hash.
	var n int
	e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE CAST(sealed_body AS TEXT) LIKE '%' || $1 || '%'`, token).Scan(&n)
	if n != 0 {
		t.Error("the reset token is in the outbox in the clear")
	}
}

type supportResult struct{ Recipients int }

// TestPortalSupport: a support request reaches exactly the designated support administrators, or the
// Tenant Admins when there are none, and never another tenant's; it is bounded and rate limited.
func TestPortalSupport(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testSupport(t, db(t)) })
	}
}

func testSupport(t *testing.T, dbURL string) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, dbURL, func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, taA := e.createTenant("Alpha")
	_, taB := e.createTenant("Beta")
	s1 := e.addUser(taA, "s1@alpha.example.com", "Support-one-pw-1")
	s2 := e.addUser(taA, "s2@alpha.example.com", "Support-two-pw-1")
	e.addUser(taA, "user@alpha.example.com", "Alpha-user-pw-1")
	sb := e.addUser(taB, "sb@beta.example.com", "Support-beta-pw-1")
	e.addUser(taB, "user@beta.example.com", "Beta-user-pw-1")
	userA, userB := "user@alpha.example.com:Alpha-user-pw-1", "user@beta.example.com:Beta-user-pw-1"

	recipients := func(tenantName string) map[string]int {
		rows, err := e.srv.Store().DB().Query(`SELECT o.to_addr FROM mail_outbox o JOIN tenants t ON t.id = o.tenant_id
			WHERE o.template='support_admins' AND t.name=$1`, tenantName)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var to string
			rows.Scan(&to)
			out[to]++
		}
		return out
	}

	// None designated: Alpha's Tenant Admin receives it.
	var got supportResult
	e.call("POST", "/api/v1/selfservice/support", userA, `{"message":"My phone will not enrol."}`).must(t, 200, &got)
	if got.Recipients != 1 || fmt.Sprint(recipients("Alpha")) != "map[ta@alpha.example.com:1]" {
		t.Errorf("without support admins: %+v, %v", got, recipients("Alpha"))
	}
	msg := box.wait(t, toLine("ta@alpha.example.com"))
	if !strings.Contains(msg, "Subject: Support request from F L") || !strings.Contains(unfold(msg), "My phone will not enrol.") {
		t.Errorf("support mail:\n%s", msg)
	}

	// Designating: accounts of the tenant only; B's account in A's list changes nothing.
	if r := e.call("PUT", "/api/v1/supportadmins", taA, fmt.Sprintf(`{"accountIds":[%d,%d]}`, s1, sb)); r.Status != 400 || r.field() != "accountIds" {
		t.Errorf("B's account as A's support admin: %d %s", r.Status, r.Body)
	}
	var list struct{ AccountIDs []int64 }
	e.call("GET", "/api/v1/supportadmins", taA, "").must(t, 200, &list)
	if len(list.AccountIDs) != 0 {
		t.Errorf("a refused PUT left %v", list.AccountIDs)
	}
	e.call("PUT", "/api/v1/supportadmins", taA, fmt.Sprintf(`{"accountIds":[%d,%d]}`, s2, s1)).must(t, 200, &list)
	e.call("PUT", "/api/v1/supportadmins", taB, fmt.Sprintf(`{"accountIds":[%d]}`, sb)).must(t, 200, nil)
	e.call("GET", "/api/v1/supportadmins", taA, "").must(t, 200, &list)
	if fmt.Sprint(list.AccountIDs) != fmt.Sprint([]int64{min(s1, s2), max(s1, s2)}) {
		t.Errorf("A's support admins = %v", list.AccountIDs)
	}
	if r := e.call("PUT", "/api/v1/supportadmins", userA, `{"accountIds":[]}`); r.Status != 403 {
		t.Errorf("a user without roles designating: %d", r.Status)
	}

	// Now exactly s1 and s2 for Alpha (from the portal form), exactly sb for Beta (from the API).
	b := e.browser()
	if st, _ := b.signIn("user@alpha.example.com", "password", "Alpha-user-pw-1"); st != 200 {
		t.Fatal("sign-in")
	}
	if st, page := b.post("/go/support", url.Values{"message": {"Second request <b>bold</b>"}}); st != 200 || !strings.Contains(page, "was sent") {
		t.Errorf("portal support form: %d", st)
	}
	e.call("POST", "/api/v1/selfservice/support", userB, `{"message":"Beta needs help"}`).must(t, 200, &got)
	if got.Recipients != 1 {
		t.Errorf("Beta's request reached %d", got.Recipients)
	}
	wantA := "map[s1@alpha.example.com:1 s2@alpha.example.com:1 ta@alpha.example.com:1]"
	if a, bb := fmt.Sprint(recipients("Alpha")), fmt.Sprint(recipients("Beta")); a != wantA || bb != "map[sb@beta.example.com:1]" {
		t.Errorf("recipients: Alpha %s, Beta %s", a, bb)
	}
	box.wait(t, toLine("s2@alpha.example.com"))
	sbMsg := unfold(box.wait(t, toLine("sb@beta.example.com")))
	if strings.Contains(sbMsg, "Second request") || !strings.Contains(sbMsg, "Beta needs help") {
		t.Error("Beta's support admin got Alpha's request")
	}
	html := unfold(box.wait(t, toLine("s1@alpha.example.com")))
	if !strings.Contains(html, "&lt;b&gt;bold&lt;/b&gt;") {
		t.Error("the message is not escaped in the HTML part")
	}

	// Bounds: empty, too long; then the rate limit (5 an hour; 2 sent so far).
	for _, body := range []string{`{"message":"  "}`, `{"message":"` + strings.Repeat("x", 2001) + `"}`, `{}`} {
		if r := e.call("POST", "/api/v1/selfservice/support", userA, body); r.Status != 400 || r.field() != "message" {
			t.Errorf("message %.20s: %d %s", body, r.Status, r.Body)
		}
	}
	for i := 3; i <= 5; i++ {
		e.call("POST", "/api/v1/selfservice/support", userA, fmt.Sprintf(`{"message":"request %d"}`, i)).must(t, 200, nil)
	}
	if r := e.call("POST", "/api/v1/selfservice/support", userA, `{"message":"sixth"}`); r.Status != 429 {
		t.Errorf("sixth request in an hour: %d, want 429", r.Status)
	}
	e.call("POST", "/api/v1/selfservice/support", userB, `{"message":"Beta is not limited by Alpha"}`).must(t, 200, nil)
}

// TestPortalSession: a portal sign-in is its own cookie that opens neither the console nor any API call
// beyond self-service, even for a Tenant Admin; it lists the user's own devices only, and signs out.
func TestPortalSession(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	tn, ta := e.createTenant("Session")
	_, other := e.createTenant("Other")
	userID := e.addUser(ta, "dev@session.example.com", "Device-user-pw-1")
	otherID := e.addUser(other, "dev@other.example.com", "Other-user-pw-1")
	for _, d := range []struct {
		tenant   string
		account  int64
		platform string
	}{{tn.ID, userID, "iOS"}, {tn.ID, userID + 1000, "macOS"}, {tn.ID, otherID, "WINDOWS"}} {
		if _, err := e.srv.Store().DB().Exec(`INSERT INTO devices (tenant_id, account_id, platform, registration_state, created_at)
			VALUES ($1,$2,$3,'ACTIVE',$4)`, d.tenant, d.account, d.platform, time.Now().UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}

	// The Tenant Admin signs in at /go: the portal cookie only, with the console's flags.
	req, _ := http.NewRequest("POST", e.url+"/go/login", strings.NewReader(url.Values{"email": {"ta@session.example.com"},
		"password": {"Tenant-admin-pw-1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	set := res.Header.Get("Set-Cookie")
	if res.StatusCode != 303 || !strings.HasPrefix(set, "steward_portal=") || !strings.Contains(set, "HttpOnly") ||
		!strings.Contains(set, "SameSite=Lax") {
		t.Fatalf("portal sign-in: %d, Set-Cookie %q", res.StatusCode, set)
	}
	portal := res.Cookies()[0].Value
	withCookie := func(method, path, name, value string) *http.Response {
		req, _ := http.NewRequest(method, e.url+path, nil)
		req.AddCookie(&http.Cookie{Name: name, Value: value})
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, path := range []string{"/api/v1/metadata/tenant", "/api/v1/account", "/api/v1/supportadmins", "/api/v1/tenants"} {
		if st := withCookie("GET", path, "steward_portal", portal).StatusCode; st != 401 && st != 403 {
			t.Errorf("portal cookie on %s: %d, want 401 or 403", path, st)
		}
	}
	if r := withCookie("GET", "/console", "steward_portal", portal); r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("portal cookie on /console: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := withCookie("GET", "/console/audit", "steward_session", portal); r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("portal token as the console cookie: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if st := withCookie("GET", "/api/v1/selfservice/devices", "steward_portal", portal).StatusCode; st != 200 {
		t.Errorf("portal cookie on self-service devices: %d", st)
	}

	// A console session does not sign in to the portal.
	console := e.browser()
	if st, _ := console.post("/login", url.Values{"username": {"ta@session.example.com"}, "password": {"Tenant-admin-pw-1"}}); st != 200 {
		t.Fatalf("console sign-in: %d", st)
	}
	if st, page := console.get("/go"); st != 200 || !strings.Contains(page, `data-portal="signin"`) {
		t.Errorf("/go with only a console session: %d", st)
	}
	if st := withCookie("GET", "/go/reset", "steward_portal", console.cookie("steward_session")).StatusCode; st == 500 {
		t.Error("console token as the portal cookie: 500")
	}

	// Own devices only, in the portal and the API (Basic with the user's own password).
	u := e.browser()
	if st, page := u.signIn("dev@session.example.com", "password", "Device-user-pw-1"); st != 200 || !strings.Contains(page, "iOS") ||
		strings.Contains(page, "macOS") || strings.Contains(page, "WINDOWS") {
		t.Errorf("home: %d, devices wrong:\n%s", st, page)
	}
	var devices []struct{ Platform string }
	e.call("GET", "/api/v1/selfservice/devices", "dev@session.example.com:Device-user-pw-1", "").must(t, 200, &devices)
	if len(devices) != 1 || devices[0].Platform != "iOS" {
		t.Errorf("API devices = %+v", devices)
	}
	if r := e.call("GET", "/api/v1/selfservice/devices", e.admin(), ""); r.Status != 403 {
		t.Errorf("System Admin on self-service: %d, want 403", r.Status)
	}
	if r := e.call("GET", "/api/v1/metadata/tenant", "dev@session.example.com:Device-user-pw-1", ""); r.Status != 403 {
		t.Errorf("a user without roles on the tenant API: %d, want 403", r.Status)
	}

	// Sign out: the cookie no longer works.
	if r := withCookie("POST", "/go/logout", "steward_portal", portal); r.StatusCode != 303 {
		t.Errorf("sign out: %d", r.StatusCode)
	}
	if st := withCookie("GET", "/api/v1/selfservice/devices", "steward_portal", portal).StatusCode; st != 401 {
		t.Errorf("after sign-out: %d, want 401", st)
	}
	// A System Admin's username never signs in to the portal.
	if st, _ := e.browser().signIn("admin", "password", e.adminPW); st != 401 {
		t.Errorf("System Admin at /go: %d, want 401", st)
	}
}

// TestPortalPINAttempts: wrong PINs are limited per user and address; a user's PIN takes at most 10
// wrong guesses from all addresses together, after which it is revoked; every failure looks the same.
func TestPortalPINAttempts(t *testing.T) {
	e := newAPIEnv(t, "", func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	_, ta := e.createTenant("Guess")
	id := e.addUser(ta, "gus@guess.example.com", "")
	var issued struct{ PIN string }
	e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf(`{"accountId":%d}`, id)).must(t, 200, &issued)
	wrong := "000000"
	if issued.PIN == wrong {
		wrong = "111111"
	}
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }

	// The same message for an unknown user, a wrong PIN and a malformed one.
	_, unknown := e.browser().signIn("nobody@guess.example.com", "pin", wrong, from("192.0.2.9")...)
	_, bad := e.browser().signIn("gus@guess.example.com", "pin", wrong, from("192.0.2.9")...)
	errText := regexp.MustCompile(`id="go-login-error">([^<]*)<`)
	if m1, m2 := errText.FindStringSubmatch(unknown), errText.FindStringSubmatch(bad); m1 == nil || m2 == nil || m1[1] != m2[1] {
		t.Errorf("unknown user and wrong PIN answer differently: %v vs %v", m1, m2)
	}
	for i := 0; i < 4; i++ {
		if st, _ := e.browser().signIn("gus@guess.example.com", "pin", wrong, from("192.0.2.9")...); st != 401 {
			t.Fatalf("wrong PIN %d: %d, want 401", i+1, st)
		}
	}
	// One address: 5 failures for this user, then refused even with the right PIN.
	if st, _ := e.browser().signIn("gus@guess.example.com", "pin", issued.PIN, from("192.0.2.9")...); st != 429 {
		t.Errorf("6th attempt from one address: %d, want 429", st)
	}
	// Another address: the user's remaining budget (10 in all), after which the PIN is revoked.
	for i := 0; i < 5; i++ {
		if st, _ := e.browser().signIn("gus@guess.example.com", "pin", wrong, from(fmt.Sprintf("198.51.100.%d", i+1))...); st != 401 {
			t.Fatalf("wrong PIN from a new address %d: %d, want 401", i, st)
		}
	}
	if st, _ := e.browser().signIn("gus@guess.example.com", "pin", issued.PIN, from("203.0.113.7")...); st != 429 {
		t.Errorf("right PIN after 10 failures: %d, want 429", st)
	}
	var n int
	e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM one_time_tokens WHERE purpose='regpin' AND account_id=$1 AND used_at IS NULL
		AND expires_at > $2`, id, time.Now().UnixMilli()).Scan(&n)
	if n != 0 {
		t.Errorf("the PIN survived 10 wrong guesses (%d live PINs)", n)
	}
	// Until the window ends, PIN sign-in stays closed for this user, even with a new PIN.
	e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf(`{"accountId":%d}`, id)).must(t, 200, &issued)
	if st, _ := e.browser().signIn("gus@guess.example.com", "pin", issued.PIN, from("203.0.113.7")...); st != 429 {
		t.Errorf("within the window the user stays limited: %d, want 429", st)
	}
}

// TestPortalResetAcrossReplicas: two replicas on one database agree on "one reset link per 15 minutes":
// simultaneous requests spread over both send exactly one.
func TestPortalResetAcrossReplicas(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			box := startInbox(t, "127.0.0.1:0")
			dir, dbURL := t.TempDir(), db(t)
			shared := func(c *Config) { c.DataDir, c.SMTPURL = dir, "smtp://"+box.addr }
			e1 := newAPIEnv(t, dbURL, shared)
			e2 := newAPIEnv(t, dbURL, shared)
			_, ta := e1.createTenant("Replica")
			e1.addUser(ta, "rae@replica.example.com", "Rae-password-123")

			done := make(chan int, 8)
			for i := range 8 {
				e := []*apiEnv{e1, e2}[i%2]
				go func() {
					req, _ := http.NewRequest("POST", e.url+"/api/v1/selfservice/password",
						strings.NewReader(`{"emailAddress":"rae@replica.example.com"}`))
					req.Header.Set("Content-Type", "application/json")
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						done <- 0
						return
					}
					res.Body.Close()
					done <- res.StatusCode
				}()
			}
			for range 8 {
				if st := <-done; st != 202 {
					t.Errorf("concurrent request: %d, want 202", st)
				}
			}
			if n := e1.outboxCount("password_request", "rae@replica.example.com"); n != 1 {
				t.Errorf("%d reset mails from 8 simultaneous requests on 2 replicas, want 1", n)
			}
			box.wait(t, toLine("rae@replica.example.com"))
		})
	}
}
