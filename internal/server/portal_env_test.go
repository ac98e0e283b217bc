package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// portalUser is a browser at /go: its own cookie jar.
type portalUser struct {
	t      *testing.T
	e      *apiEnv
	client *http.Client
}

func (e *apiEnv) browser() *portalUser {
	jar, _ := cookiejar.New(nil)
	return &portalUser{t: e.t, e: e, client: &http.Client{Jar: jar}}
}

// post submits a form (following redirects) and returns the status and page.
func (b *portalUser) post(path string, form url.Values, header ...string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.e.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

func (b *portalUser) get(path string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.e.url+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *portalUser) do(req *http.Request) (int, string) {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// signIn signs in at /go with a password, or a PIN when method is "pin".
func (b *portalUser) signIn(email, method, secret string, header ...string) (int, string) {
	b.t.Helper()
	f := url.Values{"email": {email}, "method": {method}}
	if method == "pin" {
		f.Set("pin", secret)
	} else {
		f.Set("password", secret)
	}
	return b.post("/go/login", f, header...)
}

// cookie is the browser's value of cookie name for the server, "" when it has none.
func (b *portalUser) cookie(name string) string {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// addUser creates an account in the tenant of admin (no invitation) and returns its id; password "" makes
// a half account.
func (e *apiEnv) addUser(admin, email, password string) int64 {
	e.t.Helper()
	body := `{"accounts":[{"emailAddress":"` + email + `","firstName":"F","lastName":"L"`
	if password != "" {
		body += `,"password":"` + password + `"`
	}
	var created accountPage
	e.call("POST", "/api/v1/accounts", admin, body+`}]}`).must(e.t, 200, &created)
	return created.SearchResults[0].ID
}

// outboxCount counts queued or sent messages of template to address (any address when to is "").
func (e *apiEnv) outboxCount(template, to string) int {
	e.t.Helper()
	var n int
	if err := e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE template=$1 AND ($2 = '' OR to_addr=$2)`,
		template, to).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// unfold undoes quoted-printable soft breaks and the = escape.
func unfold(msg string) string {
	return strings.ReplaceAll(strings.ReplaceAll(msg, "=\r\n", ""), "=3D", "=")
}

var (
	mailedPIN         = regexp.MustCompile(`Here it is:\s+([0-9]{4,12})\s`)
	pinRequestSubject = regexp.MustCompile(`(?m)^Subject: Your new registration PIN for `)
)

// waitPIN returns the PIN of the nth pin_request mail to address.
func waitPIN(t *testing.T, box *inbox, to string, nth int) string {
	t.Helper()
	msg := unfold(box.waitAll(t, nth, toLine(to), pinRequestSubject))
	p := mailedPIN.FindStringSubmatch(msg)
	if p == nil {
		t.Fatalf("no PIN in PIN mail number %d to %s:\n%s", nth, to, msg)
	}
	return p[1]
}

// toLine matches a message's To header naming address.
func toLine(address string) *regexp.Regexp {
	return regexp.MustCompile(`(?im)^to: .*` + regexp.QuoteMeta(address))
}

// callPortal is call with a /go portal session cookie instead of credentials.
func (e *apiEnv) callPortal(method, path, cookie, body string) *response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: "steward_portal", Value: cookie})
	return e.send(req)
}
