package server

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
)

var (
	mailtestInvitation = regexp.MustCompile(`(?m)^Subject: Mailtest invites you to register your device`)
	invitationPIN      = regexp.MustCompile(`one-time PIN:\s+([0-9]{4,12})\s`)
	portalLink         = regexp.MustCompile(`https?://[^\s"<>]+/go\b`)
)

// TestInvitationMailsWork follows each end-user invitation trigger over SMTP to what the mail is for:
// recipient and subject, and that its PIN signs in at /go (the PIN invitation: added with "send
// invitation now", "Invite User to Register", and every user of a multiple-users add), or that its
// portal link opens and the account's password signs in there (the password invitation).
func TestInvitationMailsWork(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Mailtest")

	pinOf := func(to string, nth int) string {
		t.Helper()
		msg := unfold(box.waitAll(t, nth, toLine(to), mailtestInvitation))
		m := invitationPIN.FindStringSubmatch(msg)
		if m == nil {
			t.Fatalf("invitation %d to %s holds no PIN:\n%s", nth, to, msg)
		}
		return m[1]
	}
	pinSignsIn := func(who, pin string) bool {
		t.Helper()
		st, _ := e.browser().signIn(who, "pin", pin)
		return st == http.StatusOK
	}

	// Added with "send invitation now".
	var one accountPage
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"ann@mailtest.example.com"}]}`).must(t, 200, &one)
	first := pinOf("ann@mailtest.example.com", 1)
	if !pinSignsIn("ann@mailtest.example.com", first) {
		t.Error("the invitation's PIN does not sign in at /go")
	}

	// "Invite User to Register": a new invitation whose PIN replaces the first one.
	e.call("PUT", fmt.Sprintf("/api/v1/account/invite?ids=%d", one.SearchResults[0].ID), ta, "").must(t, 200, nil)
	second := pinOf("ann@mailtest.example.com", 2)
	if !pinSignsIn("ann@mailtest.example.com", second) {
		t.Error("the re-invitation's PIN does not sign in at /go")
	}
	if first != second && pinSignsIn("ann@mailtest.example.com", first) {
		t.Error("the first invitation's PIN still works after the re-invitation")
	}

	// Multiple users at once: each gets the PIN invitation, even one added with a password.
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"bo@mailtest.example.com"},`+
		`{"emailAddress":"cy@mailtest.example.com","firstName":"Cy","lastName":"Full","password":"Cy-full-password-1"}]}`).must(t, 200, nil)
	for _, who := range []string{"bo@mailtest.example.com", "cy@mailtest.example.com"} {
		if !pinSignsIn(who, pinOf(who, 1)) {
			t.Errorf("%s: the multiple-users invitation's PIN does not sign in at /go", who)
		}
	}

	// A single full account: the password invitation points at the portal, where the password works.
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"di@mailtest.example.com",`+
		`"firstName":"Di","lastName":"Full","password":"Di-full-password-1"}]}`).must(t, 200, nil)
	msg := unfold(box.waitAll(t, 1, toLine("di@mailtest.example.com"), mailtestInvitation))
	link := portalLink.FindString(msg)
	if link != e.url+"/go" {
		t.Fatalf("password invitation links to %q, want %s/go:\n%s", link, e.url, msg)
	}
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("the invitation's link: %d", res.StatusCode)
	}
	if st, _ := e.browser().signIn("di@mailtest.example.com", "password", "Di-full-password-1"); st != http.StatusOK {
		t.Errorf("the invited full account cannot sign in at /go: %d", st)
	}
	if invitationPIN.MatchString(msg) {
		t.Error("the password invitation carries a PIN")
	}
}
