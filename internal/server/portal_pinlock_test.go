package server

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// TestPortalPINLock: 10 wrong PINs spread over two replicas (neither process limit reached) lock the
// account: the right PIN is refused, a signed-out PIN request sends nothing, a signed-in one says why,
// and no new PIN is made; another tenant's user is not affected. An administrator's PIN unlocks.
func TestPortalPINLock(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testPINLock(t, db(t)) })
	}
}

func testPINLock(t *testing.T, dbURL string) {
	box := startInbox(t, "127.0.0.1:0")
	dir := t.TempDir()
	shared := func(c *Config) {
		c.DataDir, c.SMTPURL = dir, "smtp://"+box.addr
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	e1, e2 := newAPIEnv(t, dbURL, shared), newAPIEnv(t, dbURL, shared)
	_, ta := e1.createTenant("Locked")
	_, tb := e1.createTenant("Other")
	patID := e1.addUser(ta, "pat@locked.example.com", "Pat-password-123")
	e1.addUser(tb, "oli@other.example.com", "")
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
	age := func() { // past the 5 minutes between PIN requests, so that only the lock can refuse one
		t.Helper()
		if _, err := e1.srv.Store().DB().Exec(`UPDATE one_time_tokens SET created_at = created_at - 600000`); err != nil {
			t.Fatal(err)
		}
	}
	regpin := func() string {
		t.Helper()
		var issued struct{ PIN string }
		e1.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf(`{"accountId":%d}`, patID)).must(t, 200, &issued)
		return issued.PIN
	}
	first := regpin()
	for i := range 10 {
		e, addr := e1, "192.0.2.1"
		if i%2 == 1 {
			e, addr = e2, "198.51.100.1"
		}
		if st, _ := e.browser().signIn("pat@locked.example.com", "pin", "99999999", from(addr)...); st != 401 {
			t.Fatalf("wrong PIN %d: %d, want 401", i+1, st)
		}
	}
	if st, _ := e1.browser().signIn("pat@locked.example.com", "pin", first, from("203.0.113.1")...); st != 401 {
		t.Errorf("the right PIN after 10 wrong ones: %d, want 401", st)
	}

	age()
	e2.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"pat@locked.example.com"}`).must(t, 202, nil)
	e1.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"oli@other.example.com"}`).must(t, 202, nil)
	if n := e1.outboxCount("pin_request", "pat@locked.example.com"); n != 0 {
		t.Errorf("%d PIN mails to the locked account, want 0", n)
	}
	if n := e1.outboxCount("pin_request", "oli@other.example.com"); n != 1 {
		t.Errorf("%d PIN mails to the other tenant's user, want 1", n)
	}
	pw := e1.browser()
	if st, _ := pw.signIn("pat@locked.example.com", "password", "Pat-password-123", from("203.0.113.2")...); st != 200 {
		t.Fatalf("password sign-in: %d", st)
	}
	if st, page := pw.post("/go/pin", nil); st != 403 || !strings.Contains(page, "Too many wrong PINs: ask your administrator for a new one.") {
		t.Errorf("signed-in request when locked: %d, want 403 with the reason:\n%s", st, page)
	}
	var pins int
	e1.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM one_time_tokens WHERE purpose='regpin' AND account_id=$1`, patID).Scan(&pins)
	if pins != 1 {
		t.Errorf("%d PINs for the locked account, want the locked one only", pins)
	}
	if st, _ := e2.browser().signIn("pat@locked.example.com", "pin", first, from("203.0.113.3")...); st != 401 {
		t.Errorf("the locked PIN on the other replica: %d, want 401", st)
	}

	// The administrator's PIN unlocks: it signs in, and PIN requests work again.
	second := regpin()
	if st, _ := e2.browser().signIn("pat@locked.example.com", "pin", second, from("203.0.113.4")...); st != 200 {
		t.Errorf("administrator's PIN after the lock: %d, want 200", st)
	}
	age()
	e1.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"pat@locked.example.com"}`).must(t, 202, nil)
	mailed := waitPIN(t, box, "pat@locked.example.com", 1)
	if st, _ := e1.browser().signIn("pat@locked.example.com", "pin", mailed, from("203.0.113.5")...); st != 200 {
		t.Errorf("requested PIN after the unlock: %d, want 200", st)
	}
}
