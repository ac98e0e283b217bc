package server

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestInvitationsAndPINs: invitation emails over SMTP, registration PINs under each registration setting.
func TestInvitationsAndPINs(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Invite")
	_, other := e.createTenant("Elsewhere")

	var set struct {
		AuthType  string
		PINLength int
	}
	e.call("GET", "/api/v1/registrationsettings", ta, "").must(t, 200, &set)
	if set.AuthType != "PIN_ONLY" || set.PINLength != 6 {
		t.Errorf("defaults = %+v", set)
	}
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"authType":"pin_only","pinLength":8,"pinLifetimeDays":3}`).must(t, 200, &set)
	if set.AuthType != "PIN_ONLY" || set.PINLength != 8 {
		t.Errorf("after PUT = %+v", set)
	}
	for body, field := range map[string]string{`{"pinLength":3}`: "pinLength", `{"pinLifetimeDays":31}`: "pinLifetimeDays",
		`{"authType":"FACE_ID"}`: "authType", `{"devicesPerUser":0}`: "devicesPerUser"} {
		if r := e.call("PUT", "/api/v1/registrationsettings", ta, body); r.Status != 400 || r.field() != field {
			t.Errorf("PUT %s: %d %s", body, r.Status, r.Body)
		}
	}
	if r := e.call("GET", "/api/v1/registrationsettings?groupId=999999", ta, ""); r.Status != 404 {
		t.Errorf("unknown groupId: %d %s", r.Status, r.Body)
	}
	if r := e.call("GET", "/api/v1/registrationsettings?groupId=x", ta, ""); r.Status != 400 || r.field() != "groupId" {
		t.Errorf("groupId=x: %d %s", r.Status, r.Body)
	}

	// A half account gets the PIN invitation with an 8-digit PIN.
	var created accountPage
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, "accounts[0].emailAddress=half%40invite.example.com&accounts[0].firstName=Hal").
		must(t, 200, &created)
	half := created.SearchResults[0]
	msg := box.wait(t, regexp.MustCompile("(?i)to: .*half@invite.example.com"))
	// The text part says "… this one-time PIN:" and then the PIN (quoted-printable soft breaks removed).
	invitePIN := regexp.MustCompile(`one-time PIN:\s+([0-9]{8})\s`).FindStringSubmatch(strings.ReplaceAll(msg, "=\r\n", ""))
	if invitePIN == nil {
		t.Fatalf("no 8-digit PIN in the invitation:\n%s", msg)
	}
	// A single full account gets the password invitation, which never holds the password.
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"full@invite.example.com",`+
		`"firstName":"Fay","lastName":"Full","password":"Full-account-pw-1"}]}`).must(t, 200, nil)
	full := box.wait(t, regexp.MustCompile("(?i)to: .*full@invite.example.com"))
	full = strings.ReplaceAll(full, "=\r\n", "")
	if strings.Contains(full, "Full-account-pw-1") || strings.Contains(full, "one-time PIN") {
		t.Error("the password invitation holds the password or a PIN")
	}

	// Inviting again sends a new PIN invitation; an unknown id invites nobody.
	before := box.count()
	e.call("PUT", fmt.Sprintf("/api/v1/account/invite?ids=%d", half.ID), ta, "").must(t, 200, nil)
	for deadline := time.Now().Add(20 * time.Second); box.count() < before+1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if r := e.call("PUT", fmt.Sprintf("/api/v1/account/invite?ids=%d,999999", half.ID), ta, ""); r.Status != 404 {
		t.Errorf("invite with an unknown id: %d", r.Status)
	}
	if r := e.call("PUT", fmt.Sprintf("/api/v1/account/invite?ids=%d", half.ID), other, ""); r.Status != 404 {
		t.Errorf("invite from another tenant: %d, want 404", r.Status)
	}
	time.Sleep(100 * time.Millisecond) // a wrongly queued message would be delivered by now
	if n := box.count(); n != before+1 {
		t.Errorf("%d messages after one re-invitation, want %d", n, before+1)
	}

	// regpin: a fresh PIN, shown once, replacing the earlier one.
	var pin struct {
		AccountID int64
		PIN       string
		ExpiresAt int64
	}
	e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf("accountId=%d", half.ID)).must(t, 200, &pin)
	if len(pin.PIN) != 8 || pin.AccountID != half.ID || pin.ExpiresAt == 0 {
		t.Errorf("regpin = %+v", pin)
	}
	var live int
	e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM one_time_tokens WHERE purpose='regpin' AND account_id=$1`, half.ID).Scan(&live)
	if live != 1 {
		t.Errorf("%d live PINs for the account, want 1 (the new one replaces the invitation's)", live)
	}
	var clear int
	e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM one_time_tokens WHERE CAST(hash AS TEXT) LIKE '%' || $1 || '%'`, pin.PIN).Scan(&clear)
	if clear != 0 {
		t.Error("the PIN is stored in the clear")
	}
	if r := e.call("POST", "/api/v1/account/regpin", other, fmt.Sprintf("accountId=%d", half.ID)); r.Status != 404 {
		t.Errorf("regpin from another tenant: %d, want 404", r.Status)
	}
	if r := e.call("POST", "/api/v1/account/regpin", ta, "accountId=0"); r.Status != 400 {
		t.Errorf("regpin without an account: %d, want 400", r.Status)
	}

	// Under PASSWORD_ONLY no PIN is issued, and the answer says why.
	e.call("PUT", "/api/v1/registrationsettings", ta, `{"authType":"PASSWORD_ONLY"}`).must(t, 200, nil)
	r := e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf("accountId=%d", half.ID))
	if r.Status != 400 || !strings.Contains(r.Body, "PASSWORD_ONLY") {
		t.Errorf("regpin under PASSWORD_ONLY: %d %s", r.Status, r.Body)
	}
	// Another tenant's setting is its own.
	e.call("GET", "/api/v1/registrationsettings", other, "").must(t, 200, &set)
	if set.AuthType != "PIN_ONLY" {
		t.Errorf("other tenant's setting = %+v", set)
	}
}
