package server

import (
	"fmt"
	"strings"
	"testing"
)

// TestPortalSupportGroupAdmins: with no support administrators designated, a support request reaches
// the tenant's enabled Tenant Admins whether they hold the role themselves or through a static or
// dynamic group, never a disabled one nor another tenant's, and at most 50 of them.
func TestPortalSupportGroupAdmins(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testSupportGroupAdmins(t, db(t)) })
	}
}

func testSupportGroupAdmins(t *testing.T, dbURL string) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, dbURL, func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Gamma")
	_, tb := e.createTenant("Delta")
	user := "user@gamma.example.com:Gamma-user-pw-1"
	e.addUser(ta, "user@gamma.example.com", "Gamma-user-pw-1")
	g1 := e.addUser(ta, "g1@gamma.example.com", "")
	g2 := e.addUser(ta, "g2@gamma.example.com", "")
	e.call("PUT", fmt.Sprintf("/api/v1/account/%d", g2), ta, `{"enabled":false}`).must(t, 200, nil)
	var chiefs struct{ ID int64 }
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Chiefs","kind":"STATIC","roles":["TENANT_ADMIN"]}`).must(t, 200, &chiefs)
	e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", chiefs.ID), ta, fmt.Sprintf(`{"accountIds":[%d,%d]}`, g1, g2)).must(t, 200, nil)

	// Delta's Tenant Admins through a group never hear of Gamma's requests.
	d1 := e.addUser(tb, "d1@delta.example.com", "")
	var deltaChiefs struct{ ID int64 }
	e.call("POST", "/api/v1/usergroups", tb, `{"name":"Chiefs","kind":"STATIC","roles":["TENANT_ADMIN"]}`).must(t, 200, &deltaChiefs)
	e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", deltaChiefs.ID), tb, fmt.Sprintf(`{"accountIds":[%d]}`, d1)).must(t, 200, nil)

	var got supportResult
	e.call("POST", "/api/v1/selfservice/support", user, `{"message":"Help, please."}`).must(t, 200, &got)
	if want := []string{"g1@gamma.example.com", "ta@gamma.example.com"}; got.Recipients != 2 || fmt.Sprint(e.supportRecipients()) != fmt.Sprint(want) {
		t.Errorf("direct and static-group admins: %d recipients, %v; want %v", got.Recipients, e.supportRecipients(), want)
	}
	box.waitAll(t, 1, toLine("g1@gamma.example.com"))

	// A dynamic group granting TENANT_ADMIN to 55 bosses: the request stops at 50 recipients, the direct
	// Tenant Admin first.
	var body strings.Builder
	body.WriteString(`{"accounts":[`)
	for i := range 55 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"emailAddress":"boss%02d@gamma.example.com","firstName":"B","lastName":"L"}`, i)
	}
	body.WriteString(`]}`)
	e.call("POST", "/api/v1/accounts", ta, body.String()).must(t, 200, nil)
	e.call("POST", "/api/v1/usergroups", ta, `{"name":"Bosses","kind":"DYNAMIC","rule":"emailAddress=boss*@gamma.example.com","roles":["TENANT_ADMIN"]}`).must(t, 200, nil)
	e.srv.Store().DB().Exec(`DELETE FROM mail_outbox WHERE template='support_admins'`)
	e.call("POST", "/api/v1/selfservice/support", user, `{"message":"Help again."}`).must(t, 200, &got)
	sent := e.supportRecipients()
	if got.Recipients != 50 || len(sent) != 50 {
		t.Fatalf("with 57 Tenant Admins: %d recipients, %d mails; want 50", got.Recipients, len(sent))
	}
	bosses := 0
	for _, to := range sent {
		switch {
		case strings.HasPrefix(to, "boss"):
			bosses++
		case to != "ta@gamma.example.com" && to != "g1@gamma.example.com":
			t.Errorf("support request sent to %s", to)
		}
	}
	if bosses != 48 || !strings.Contains(strings.Join(sent, " "), "ta@gamma.example.com") {
		t.Errorf("recipients %v: want the direct Tenant Admin and 48 bosses (%d)", sent, bosses)
	}
}

// supportRecipients lists the addresses of every support_admins mail queued so far, sorted.
func (e *apiEnv) supportRecipients() []string {
	e.t.Helper()
	rows, err := e.srv.Store().DB().Query(`SELECT to_addr FROM mail_outbox WHERE template='support_admins' ORDER BY to_addr`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var to string
		if err := rows.Scan(&to); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, to)
	}
	return out
}

// TestPortalSupportFallback: when every designated support administrator is disabled, a support request
// goes to the tenant's Tenant Admins as if none were designated (never another tenant's), and back to
// the designated ones once one is enabled again.
func TestPortalSupportFallback(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testSupportFallback(t, db(t)) })
	}
}

func testSupportFallback(t *testing.T, dbURL string) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, dbURL, func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Gamma")
	_, tb := e.createTenant("Delta")
	user := "user@gamma.example.com:Gamma-user-pw-1"
	e.addUser(ta, "user@gamma.example.com", "Gamma-user-pw-1")
	s1 := e.addUser(ta, "s1@gamma.example.com", "")
	s2 := e.addUser(ta, "s2@gamma.example.com", "")
	e.call("PUT", "/api/v1/supportadmins", ta, fmt.Sprintf(`{"accountIds":[%d,%d]}`, s1, s2)).must(t, 200, nil)
	db := e.addUser(tb, "sd@delta.example.com", "")
	e.call("PUT", "/api/v1/supportadmins", tb, fmt.Sprintf(`{"accountIds":[%d]}`, db)).must(t, 200, nil)

	send := func(msg string) ([]string, int) {
		t.Helper()
		e.srv.Store().DB().Exec(`DELETE FROM mail_outbox WHERE template='support_admins'`)
		var got supportResult
		e.call("POST", "/api/v1/selfservice/support", user, `{"message":"`+msg+`"}`).must(t, 200, &got)
		return e.supportRecipients(), got.Recipients
	}
	if sent, n := send("Designated."); n != 2 || fmt.Sprint(sent) != "[s1@gamma.example.com s2@gamma.example.com]" {
		t.Errorf("designated support admins: %d, %v", n, sent)
	}
	for _, id := range []int64{s1, s2} {
		e.call("PUT", fmt.Sprintf("/api/v1/account/%d", id), ta, `{"enabled":false}`).must(t, 200, nil)
	}
	if sent, n := send("All disabled."); n != 1 || fmt.Sprint(sent) != "[ta@gamma.example.com]" {
		t.Errorf("every support admin disabled: %d, %v; want the Tenant Admin", n, sent)
	}
	e.call("PUT", fmt.Sprintf("/api/v1/account/%d", s2), ta, `{"enabled":true}`).must(t, 200, nil)
	if sent, n := send("One back."); n != 1 || fmt.Sprint(sent) != "[s2@gamma.example.com]" {
		t.Errorf("one support admin enabled again: %d, %v", n, sent)
	}
}
