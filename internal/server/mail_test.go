package server

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// inbox is an in-process SMTP server on loopback that keeps what it receives.
type inbox struct {
	mu       sync.Mutex
	messages []string
	addr     string
	srv      *smtp.Server
}

func (b *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &inboxSession{box: b}, nil }

type inboxSession struct{ box *inbox }

func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *inboxSession) Reset()                               {}
func (s *inboxSession) Logout() error                        { return nil }
func (s *inboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.messages = append(s.box.messages, string(b))
	s.box.mu.Unlock()
	return nil
}

// startInbox listens on addr ("127.0.0.1:0" for any port).
func startInbox(t *testing.T, addr string) *inbox {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b := &inbox{addr: ln.Addr().String()}
	b.srv = smtp.NewServer(b)
	b.srv.Domain = "localhost"
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

// wait returns the first message matching re, failing after a deadline.
func (b *inbox) wait(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, m := range b.messages {
			if re.MatchString(m) {
				b.mu.Unlock()
				return m
			}
		}
		b.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message matching %s arrived", re)
	return ""
}

// waitAll returns the n-th (1-based) message matching every one of res, failing after a deadline.
func (b *inbox) waitAll(t *testing.T, n int, res ...*regexp.Regexp) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if found := b.matching(res...); len(found) >= n {
			return found[n-1]
		}
	}
	t.Fatalf("no message number %d matching all of %v arrived", n, res)
	return ""
}

// matching lists the messages so far that match every one of res.
func (b *inbox) matching(res ...*regexp.Regexp) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
next:
	for _, m := range b.messages {
		for _, re := range res {
			if !re.MatchString(m) {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func (b *inbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.messages)
}

var activationLink = regexp.MustCompile(`https?://[^\s"<>]+/activate\?token=[A-Za-z0-9_%=-]+`)

// TestAdminActivation follows the Admin Activation email end to end: over SMTP while the SMTP server is
// down at first, then the one-time link sets the password, and works only once.
func TestAdminActivation(t *testing.T) {
	// Reserve a port for the SMTP server but keep it closed: mail must wait in the outbox.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := ln.Addr().String()
	ln.Close()
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + smtpAddr })

	var c createdTenant
	e.call("POST", "/api/v1/tenants", e.admin(), `{"name":"Activate","adminEmail":"owner@activate.example.com",`+
		`"adminFirstName":"Olive","adminLastName":"Owner","sendActivation":true}`).must(t, 200, &c)
	if !c.ActivationSent {
		t.Fatalf("activationSent = false: %+v", c)
	}
	// Not activated yet: no password works.
	if r := e.call("GET", "/api/v1/metadata/tenant", "owner@activate.example.com:anything-at-all", ""); r.Status != 401 {
		t.Errorf("before activation: %d, want 401", r.Status)
	}
	// The message waits in the outbox with a failed attempt recorded.
	var outbox struct {
		SearchResults []struct {
			Status    string
			Attempts  int
			LastError string
			To        string
			Template  string
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.call("GET", "/api/v1/mail/outbox", e.admin(), "").must(t, 200, &outbox)
		if len(outbox.SearchResults) == 1 && outbox.SearchResults[0].Attempts > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(outbox.SearchResults) != 1 || outbox.SearchResults[0].Status == "SENT" || outbox.SearchResults[0].Attempts == 0 {
		t.Fatalf("outbox while SMTP is down: %+v", outbox.SearchResults)
	}
	if m := outbox.SearchResults[0]; m.To != "owner@activate.example.com" || m.Template != "admin_activation" {
		t.Errorf("outbox message = %+v", m)
	}

	box := startInbox(t, smtpAddr)
	msg := box.wait(t, regexp.MustCompile("owner@activate.example.com"))
	link := activationLink.FindString(strings.ReplaceAll(msg, "=\r\n", ""))
	if link == "" {
		t.Fatalf("no activation link in the message:\n%s", msg)
	}
	link = strings.ReplaceAll(link, "=3D", "=")
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, e.url) {
		t.Fatalf("link %q does not point at the base URL %s", link, e.url)
	}
	token := u.Query().Get("token")

	activate := func(password string) int {
		res, err := http.PostForm(e.url+"/activate", url.Values{"token": {token}, "password": {password},
			"confirm": {password}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := activate("short"); st != 400 {
		t.Errorf("activation with a short password: %d, want 400", st)
	}
	if st := activate("Chosen-password-1"); st != 200 {
		t.Fatalf("activation: %d, want 200", st)
	}
	e.call("GET", "/api/v1/metadata/tenant", "owner@activate.example.com:Chosen-password-1", "").must(t, 200, nil)
	if st := activate("Another-password-2"); st != 409 {
		t.Errorf("second use of the link: %d, want 409", st)
	}
	if r := e.call("GET", "/api/v1/metadata/tenant", "owner@activate.example.com:Another-password-2", ""); r.Status != 401 {
		t.Errorf("the second use changed the password: %d", r.Status)
	}
	// Delivered once, and the outbox says so.
	time.Sleep(100 * time.Millisecond)
	if n := box.count(); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
	e.call("GET", "/api/v1/mail/outbox", e.admin(), "").must(t, 200, &outbox)
	if outbox.SearchResults[0].Status != "SENT" {
		t.Errorf("outbox status %s, want SENT", outbox.SearchResults[0].Status)
	}
	// The link is stored only as a keyed hash, and the mail body only sealed.
	var n int
	if err := e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE CAST(sealed_body AS TEXT) LIKE '%' || $1 || '%'`, token).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the activation token is stored in the clear in the outbox")
	}
}
