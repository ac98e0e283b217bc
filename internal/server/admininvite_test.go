package server

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// consoleSignIn signs in on the console form and reports whether a session began.
func consoleSignIn(t *testing.T, e *apiEnv, username, password string) bool {
	t.Helper()
	c, r := trySignIn(t, e.url, &http.Client{}, username, password)
	return r.status == http.StatusSeeOther && c.cookie != nil && r.header.Get("Location") == "/console"
}

// TestAdminInvitation: an account with roles gets the Admin Invitation besides the end-user one; its
// one-time link sets a password that signs in to the console, once; an account that has a password
// is sent to the sign-in page.
func TestAdminInvitation(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Admininv")

	var created accountPage
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"dee@admininv.example.com",`+
		`"firstName":"Dee","roles":["DEVICE_MANAGEMENT","USER_READ_ONLY"]}]}`).must(t, 200, &created)
	toDee := regexp.MustCompile("(?i)to: .*dee@admininv.example.com")
	adminSubject := regexp.MustCompile("Subject: Ta Admin invited you")
	msg := mailBody(box.waitAll(t, 1, toDee, adminSubject))
	if !strings.Contains(msg, "Subject: Ta Admin invited you to administer Admininv in Steward") {
		t.Errorf("subject of the Admin Invitation:\n%s", msg)
	}
	for _, want := range []string{"Device Management", "User Read Only", "Hi Dee,", "choose your password"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the invitation does not say %q", want)
		}
	}
	if strings.Contains(msg, "one-time PIN") || strings.Contains(msg, "/go") {
		t.Error("the Admin Invitation carries the end-user invitation's PIN or portal link")
	}
	// An administrator may register devices too: the device invitation comes as well.
	if pin := mailBody(box.waitAll(t, 1, toDee, regexp.MustCompile("Subject: .*register"))); !strings.Contains(pin, "one-time PIN") {
		t.Errorf("the administrator's device invitation:\n%s", pin)
	}
	first := activationLink.FindString(msg)
	if first == "" || !strings.HasPrefix(first, e.url) {
		t.Fatalf("no one-time link at %s in the invitation:\n%s", e.url, msg)
	}

	// Inviting again replaces the link: the first one stops working.
	e.call("PUT", fmt.Sprintf("/api/v1/account/invite?ids=%d", created.SearchResults[0].ID), ta, "").must(t, 200, nil)
	again := mailBody(box.waitAll(t, 2, toDee, adminSubject))
	link := activationLink.FindString(again)
	if link == "" || link == first || !strings.Contains(again, "Subject: Ta Admin invited you") {
		t.Fatalf("re-invitation is not a new Admin Invitation (link %q):\n%s", link, again)
	}
	token := func(l string) string { u, _ := url.Parse(l); return u.Query().Get("token") }
	activate := func(tok, password string) int {
		res, err := http.PostForm(e.url+"/activate", url.Values{"token": {tok}, "password": {password}, "confirm": {password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := activate(token(first), "Replaced-link-pw-1"); st != 404 {
		t.Errorf("the replaced link: %d, want 404", st)
	}
	if consoleSignIn(t, e, "dee@admininv.example.com", "Replaced-link-pw-1") {
		t.Error("the replaced link set a password")
	}

	// The link works once: set a password, sign in to the console; a second use is refused.
	if st := activate(token(link), "Dee-chosen-pw-1"); st != 200 {
		t.Fatalf("accepting the invitation: %d", st)
	}
	if !consoleSignIn(t, e, "dee@admininv.example.com", "Dee-chosen-pw-1") {
		t.Error("cannot sign in to the console with the chosen password")
	}
	if st := activate(token(link), "Dee-other-pw-2"); st != 409 {
		t.Errorf("second use of the link: %d, want 409", st)
	}
	if consoleSignIn(t, e, "dee@admininv.example.com", "Dee-other-pw-2") {
		t.Error("the second use changed the password")
	}

	// With a password already, the invitation points at the sign-in page and carries no one-time link.
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"pat@admininv.example.com",`+
		`"firstName":"Pat","lastName":"Doe","password":"Pat-has-a-pw-1","roles":["SYSTEM_READ_ONLY"]}]}`).must(t, 200, nil)
	pat := mailBody(box.waitAll(t, 1, regexp.MustCompile("(?i)to: .*pat@admininv.example.com"), adminSubject))
	if !strings.Contains(pat, "Subject: Ta Admin invited you") || !strings.Contains(pat, e.url+"/login") ||
		activationLink.MatchString(pat) || strings.Contains(pat, "Pat-has-a-pw-1") || !strings.Contains(pat, "System Read Only") {
		t.Errorf("invitation of an administrator with a password:\n%s", pat)
	}
	if strings.Contains(pat, "0001") {
		t.Error("the sign-in invitation shows an expiry date")
	}

	// A disabled account's link sets nothing.
	var dis accountPage
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"dis@admininv.example.com",`+
		`"firstName":"Dis","roles":["USER_READ_ONLY"]}]}`).must(t, 200, &dis)
	disLink := activationLink.FindString(mailBody(box.waitAll(t, 1, regexp.MustCompile("(?i)to: .*dis@admininv.example.com"), adminSubject)))
	e.call("PUT", fmt.Sprintf("/api/v1/account/%d", dis.SearchResults[0].ID), ta, `{"enabled":false}`).must(t, 200, nil)
	if st := activate(token(disLink), "Disabled-pw-123"); st != 404 {
		t.Errorf("a disabled account's invitation link: %d, want 404", st)
	}

	// An account without roles still gets the end-user invitation.
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"eve@admininv.example.com"}]}`).must(t, 200, nil)
	eve := mailBody(box.wait(t, regexp.MustCompile("(?i)to: .*eve@admininv.example.com")))
	if strings.Contains(eve, "invited you to administer") || !strings.Contains(eve, "one-time PIN") {
		t.Errorf("end user's invitation:\n%s", eve)
	}
}
