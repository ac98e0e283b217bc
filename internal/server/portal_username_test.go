package server

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	invitationSubject = regexp.MustCompile(`(?m)^Subject: .* invites you to register your device`)
	invitedPIN        = regexp.MustCompile(`one-time PIN:\s+([0-9]{4,12})\s`)
)

// TestPortalUsernameNotEmail: an account whose username (uid) differs from its email address is mailed
// at its email address, told to sign in with its username, and signs in, asks for a PIN and resets its
// password by the username; the forms say that the address asked for is the username.
func TestPortalUsernameNotEmail(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Uid")
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"uid":"sam.login@uid.example.com",`+
		`"emailAddress":"sam@mailbox.example.com","firstName":"Sam","lastName":"L"}]}`).must(t, 200, nil)

	// The invitation goes to the mailbox and names the username.
	invitation := unfold(box.waitAll(t, 1, toLine("sam@mailbox.example.com"), invitationSubject))
	if !strings.Contains(invitation, "Sign in with your email address sam.login@uid.example.com and") ||
		strings.Contains(invitation, "address sam@mailbox.example.com") {
		t.Errorf("the invitation does not name the username to sign in with:\n%s", invitation)
	}
	pin := invitedPIN.FindStringSubmatch(invitation)[1]
	if st, page := e.browser().signIn("sam.login@uid.example.com", "pin", pin); st != 200 || !strings.Contains(page, "My devices") {
		t.Errorf("PIN sign-in with the username: %d", st)
	}
	if st, _ := e.browser().signIn("sam@mailbox.example.com", "pin", pin); st != 401 {
		t.Errorf("PIN sign-in with the mailbox address: %d, want 401", st)
	}

	// "Get a new PIN" by username: mailed to the mailbox, naming the username; it signs in.
	e.srv.Store().DB().Exec(`UPDATE one_time_tokens SET created_at = created_at - 600000`) // past the 5 minutes
	e.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"sam.login@uid.example.com"}`).must(t, 202, nil)
	newPIN := waitPIN(t, box, "sam@mailbox.example.com", 1)
	if requested := unfold(box.waitAll(t, 1, toLine("sam@mailbox.example.com"), pinRequestSubject)); !strings.Contains(requested,
		"sign in with your email address sam.login@uid.example.com") {
		t.Errorf("the PIN mail does not name the username:\n%s", requested)
	}
	if st, _ := e.browser().signIn("sam.login@uid.example.com", "pin", newPIN); st != 200 {
		t.Errorf("sign-in with the requested PIN: %d", st)
	}

	// "Forgot password" by username: the link goes to the mailbox and sets a password for the username.
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"uid":"rob.login@uid.example.com","emailAddress":"rob@mailbox.example.com",`+
		`"firstName":"Rob","lastName":"L","password":"Rob-password-123"}]}`).must(t, 200, nil)
	if st, page := e.browser().post("/go/forgot", url.Values{"kind": {"password"}, "email": {"rob.login@uid.example.com"}}); st != 200 {
		t.Fatalf("forgot password form: %d\n%s", st, page)
	}
	link := resetLink.FindString(unfold(box.waitAll(t, 1, toLine("rob@mailbox.example.com"))))
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("reset link %q: %v", link, err)
	}
	b := e.browser()
	if st, page := b.get(u.RequestURI()); st != 200 || !strings.Contains(page, `value="rob.login@uid.example.com"`) {
		t.Fatalf("reset page: %d\n%s", st, page)
	}
	if st, page := b.post("/go/reset", url.Values{"token": {u.Query().Get("token")}, "password": {"Rob-new-password-1"},
		"confirm": {"Rob-new-password-1"}}); st != 200 {
		t.Fatalf("setting the new password: %d\n%s", st, page)
	}
	if st, _ := e.browser().signIn("rob.login@uid.example.com", "password", "Rob-new-password-1"); st != 200 {
		t.Errorf("sign-in with the new password: %d", st)
	}

	// The forms ask for the username.
	for _, path := range []string{"/go", "/go/forgot?kind=pin"} {
		if _, page := e.browser().get(path); !strings.Contains(page, "Email address (your username)") {
			t.Errorf("%s does not say the address is the username", path)
		}
	}
}
