package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/oauth2/clientcredentials"

	"steward/internal/android"
	"steward/internal/apps/appstest"
	"steward/internal/authz"
	"steward/internal/httpx"
	"steward/internal/secret"
	"steward/internal/sim/ios"
)

// lockedBuffer is a log destination that handlers write to from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// anyJar keeps cookies by name and sends them all back, Secure or not: the test talks plain HTTP to a
// server whose base URL is https.
type anyJar struct {
	mu sync.Mutex
	m  map[string]*http.Cookie
}

func (j *anyJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j.m, c.Name)
		} else {
			j.m[c.Name] = c
		}
	}
}

func (j *anyJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.m {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// startAuthInbox is startInbox for a server that requires AUTH PLAIN with user and pass.
func startAuthInbox(t *testing.T, user, pass string) *inbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &inbox{addr: ln.Addr().String()}
	b.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &authSession{inboxSession: inboxSession{box: b}, user: user, pass: pass}, nil
	}))
	b.srv.Domain = "localhost"
	b.srv.AllowInsecureAuth = true
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

type authSession struct {
	inboxSession
	user, pass string
	authed     bool
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.user || pass != s.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *authSession) Mail(from string, o *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

// secretSet is every secret a scenario used, by what it is.
type secretSet map[string]string

func (s secretSet) add(what, value string) {
	if value == "" {
		panic("empty secret: " + what)
	}
	s[what] = value
}

// encodings are the forms in which a leaked secret would show: as is and in the usual encodings.
func encodings(v string) map[string]string {
	b := []byte(v)
	return map[string]string{
		"clear":         v,
		"base64":        base64.StdEncoding.EncodeToString(b),
		"base64 raw":    base64.RawStdEncoding.EncodeToString(b),
		"base64url":     base64.URLEncoding.EncodeToString(b),
		"base64url raw": base64.RawURLEncoding.EncodeToString(b),
		"hex":           hex.EncodeToString(b),
		"HEX":           strings.ToUpper(hex.EncodeToString(b)),
		"url-encoded":   url.QueryEscape(v),
	}
}

// findLeaks names each secret found in haystack, with the encoding it showed in.
func findLeaks(secrets secretSet, haystack []byte) []string {
	var out []string
	for what, v := range secrets {
		for enc, form := range encodings(v) {
			if bytes.Contains(haystack, []byte(form)) {
				out = append(out, fmt.Sprintf("%s (%s)", what, enc))
			}
		}
	}
	sort.Strings(out)
	return out
}

// dumpDatabase is every value of every table, as text, each line naming its table.
func dumpDatabase(t *testing.T, e *apiEnv) []byte {
	t.Helper()
	db := e.srv.Store().DB()
	list := `SELECT name FROM sqlite_master WHERE type='table'`
	if e.srv.Store().Dialect() == "postgres" {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema='public' AND table_type='BASE TABLE'`
	}
	rows, err := db.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	var out bytes.Buffer
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			fmt.Fprintf(&out, "%s:", table)
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out.WriteByte(' ')
					out.Write(v)
				default:
					fmt.Fprintf(&out, " %v", v)
				}
			}
			out.WriteByte('\n')
		}
		rows.Close()
		if e.srv.Store().Dialect() == "postgres" { // the database's own text form of each row as well
			rows, err := db.Query(`SELECT t::text FROM "` + table + `" t`)
			if err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "%s: %s\n", table, s)
			}
			rows.Close()
		}
	}
	return out.Bytes()
}

// readTree is the raw bytes of every file under dir (the SQLite database and its journal, blobs).
func readTree(t *testing.T, dir string) []byte {
	t.Helper()
	var out bytes.Buffer
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSecretsNeverInTheClear runs a scenario that uses every kind of secret through the HTTP surface,
// then looks for each secret, in the clear or in a usual encoding, in everything the server logged (at
// debug level), in every value of every table and, on SQLite, in the database files' bytes.
func TestSecretsNeverInTheClear(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { testSecretsScan(t, db(t)) })
	}
}

func testSecretsScan(t *testing.T, dbURL string) {
	secrets := secretSet{}
	fresh := func(prefix string) string { return prefix + "-" + rand.Text() }

	smtpUser, smtpPW := "relay", fresh("Smtp-pw")
	secrets.add("SMTP password", smtpPW)
	box := startAuthInbox(t, smtpUser, smtpPW)
	key := secret.RandomKey()
	secrets.add("server key (base64)", base64.StdEncoding.EncodeToString(key))
	secrets.add("server key (raw)", string(key))
	adminPW := fresh("System-admin-pw")
	secrets.add("System Admin password", adminPW)

	// The server sits behind an https front, as in-house app delivery requires; the test itself talks
	// plain HTTP to the server.
	front := httptest.NewUnstartedServer(nil)
	base := "https://" + front.Listener.Addr().String()
	dataDir := t.TempDir()
	logs := &lockedBuffer{}
	ts := httptest.NewUnstartedServer(nil)
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dataDir, DatabaseURL: dbURL, BaseURL: base, AdminPassword: adminPW,
		LogFormat: "json", SecretKey: base64.StdEncoding.EncodeToString(key),
		SMTPURL: "smtp://" + smtpUser + ":" + url.QueryEscape(smtpPW) + "@" + box.addr}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop := s.Background()
	ts.Config.Handler = s.Handler()
	ts.Start()
	t.Cleanup(func() { ts.Close(); stop(); s.Close() })
	e := &apiEnv{t: t, srv: s, url: ts.URL, adminPW: adminPW}
	back, _ := url.Parse(e.url)
	front.Config.Handler = httputil.NewSingleHostReverseProxy(back)
	front.StartTLS()
	t.Cleanup(front.Close)
	ctx := context.Background()

	// System Admin: Basic and a console session.
	taPW := fresh("Tenant-admin-pw")
	secrets.add("tenant admin password", taPW)
	e.call("POST", "/api/v1/tenants", e.admin(), `{"name":"Vault","adminEmail":"ta@vault.example.com","adminFirstName":"Ta",`+
		`"adminLastName":"Admin","adminPassword":"`+taPW+`","licenseDevices":20}`).must(t, 200, nil)
	ta := "ta@vault.example.com:" + taPW
	sys := signInAt(t, e.url, &http.Client{}, "admin", adminPW)
	secrets.add("System Admin console session", sys.cookie.Value)
	sys.do("GET", "/console/tenants", nil).expect(t, 200, "tenants page")
	tac := signInAt(t, e.url, &http.Client{}, "ta@vault.example.com", taPW)
	secrets.add("tenant admin console session", tac.cookie.Value)
	tac.do("GET", "/console/users", nil).expect(t, 200, "users page")

	// A second tenant whose admin activates by email link.
	e.call("POST", "/api/v1/tenants", e.admin(), `{"name":"Keyring","adminEmail":"owner@keyring.example.com",`+
		`"adminFirstName":"Olive","adminLastName":"Owner","sendActivation":true}`).must(t, 200, nil)
	msg := unfold(box.wait(t, toLine("owner@keyring.example.com")))
	link, err := url.Parse(activationLink.FindString(msg))
	if err != nil || link.Query().Get("token") == "" {
		t.Fatalf("no activation link in:\n%s", msg)
	}
	secrets.add("admin activation token", link.Query().Get("token"))
	ownerPW := fresh("Owner-pw")
	secrets.add("activated admin password", ownerPW)
	if res, err := http.PostForm(e.url+"/activate", url.Values{"token": {link.Query().Get("token")}, "password": {ownerPW},
		"confirm": {ownerPW}}); err != nil || res.StatusCode != 200 {
		t.Fatalf("activation: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	e.call("GET", "/api/v1/metadata/tenant", "owner@keyring.example.com:"+ownerPW, "").must(t, 200, nil)

	// Users: a half account invited with a PIN, a full account with a password, a PIN request and a
	// password reset by email, and portal sign-ins with each.
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"hal@vault.example.com","firstName":"Hal"}]}`).
		must(t, 200, nil)
	inv := regexp.MustCompile(`one-time PIN:\s+([0-9]+)\s`).FindStringSubmatch(unfold(box.wait(t, toLine("hal@vault.example.com"))))
	if inv == nil {
		t.Fatal("no PIN in the invitation")
	}
	secrets.add("invitation PIN", inv[1])
	userPW := fresh("User-pw")
	secrets.add("user password", userPW)
	e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"pat@vault.example.com",`+
		`"firstName":"Pat","lastName":"User","password":"`+userPW+`"}]}`).must(t, 200, nil)
	e.call("POST", "/api/v1/selfservice/pin", "", `{"emailAddress":"pat@vault.example.com"}`).must(t, 202, nil)
	mailedPIN := waitPIN(t, box, "pat@vault.example.com", 1)
	secrets.add("requested PIN", mailedPIN)
	portal := &portalUser{t: t, e: e, client: &http.Client{Jar: &anyJar{m: map[string]*http.Cookie{}}}}
	if st, page := portal.signIn("pat@vault.example.com", "pin", mailedPIN); st != 200 {
		t.Fatalf("portal PIN sign-in: %d\n%s", st, page)
	}
	secrets.add("portal session (PIN)", portal.cookie(httpx.PortalCookie))
	e.call("POST", "/api/v1/selfservice/password", "", `{"emailAddress":"pat@vault.example.com"}`).must(t, 202, nil)
	reset, err := url.Parse(resetLink.FindString(unfold(box.wait(t, regexp.MustCompile(`Subject: Reset your password`)))))
	if err != nil || reset.Query().Get("token") == "" {
		t.Fatal("no reset link")
	}
	secrets.add("password reset token", reset.Query().Get("token"))
	newPW := fresh("Reset-pw")
	secrets.add("password set by reset", newPW)
	if st, _ := portal.post("/go/reset", url.Values{"token": {reset.Query().Get("token")}, "password": {newPW}, "confirm": {newPW}}); st != 200 {
		t.Fatalf("reset: %d", st)
	}
	pw := &portalUser{t: t, e: e, client: &http.Client{Jar: &anyJar{m: map[string]*http.Cookie{}}}}
	if st, _ := pw.signIn("pat@vault.example.com", "password", newPW); st != 200 {
		t.Fatalf("portal password sign-in: %d", st)
	}
	secrets.add("portal session (password)", pw.cookie(httpx.PortalCookie))
	pw.get("/go")

	// Devices: an Android device registered with a PIN, an iPhone enrolled with another (the simulator),
	// and a profile downloaded for its SCEP challenge.
	e.uploadPushCertificate(ta)
	pemData, _, err := ios.PushCertificate()
	if err != nil {
		t.Fatal(err)
	}
	for rest := pemData; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			secrets.add("push certificate private key", base64.StdEncoding.EncodeToString(b.Bytes))
		}
	}
	_, androidPIN := e.deviceUser(ta, "ann@vault.example.com")
	secrets.add("Android registration PIN", androidPIN)
	reg := e.registerDevice("ann@vault.example.com", androidPIN, sampleFacts("VAULT-A1"), nil)
	secrets.add("Android device credential", reg.Credential)
	e.checkin(reg.Credential, android.CheckinRequest{})

	_, iosPIN := e.deviceUser(ta, "ivy@vault.example.com")
	secrets.add("iOS registration PIN", iosPIN)
	phone := ios.NewDevice(front.Client(), 44, ios.DeviceOptions{Model: 1})
	if err := phone.Enroll(ctx, e.url, "ivy@vault.example.com", iosPIN, ""); err != nil {
		t.Fatal(err)
	}
	if err := phone.CheckIn(ctx); err != nil {
		t.Fatal(err)
	}
	_, profilePIN := e.deviceUser(ta, "iris@vault.example.com")
	secrets.add("profile registration PIN", profilePIN)
	prof := e.downloadProfile("iris@vault.example.com", profilePIN, "")
	secrets.add("SCEP challenge", prof.Challenge)

	// The iPhone's push magic and unlock token, read back with the server key from their sealed form.
	var sealedMagic string
	var sealedUnlock []byte
	if err := e.srv.Store().DB().QueryRow(`SELECT push_magic, unlock_token FROM apple_devices`).Scan(&sealedMagic, &sealedUnlock); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	rawMagic, err := base64.StdEncoding.DecodeString(sealedMagic)
	if err != nil {
		t.Fatalf("push magic is not stored sealed: %v", err)
	}
	magic, err := keys.Open(rawMagic)
	if err != nil {
		t.Fatalf("push magic is not stored sealed: %v", err)
	}
	secrets.add("push magic", string(magic))
	unlock, err := keys.Open(sealedUnlock)
	if err != nil {
		t.Fatalf("unlock token is not stored sealed: %v", err)
	}
	secrets.add("unlock token", string(unlock))

	// An in-house app: the iPhone fetches its manifest and .ipa by the token in the URL.
	e.uploadApp(ta, "vault.ipa", appstest.IPA("com.steward.vault", "Vault", "1.0", "100"), map[string]string{"name": "Vault",
		"targets[0].type": "ALL_USERS", "targets[0].required": "true"}).must(t, 200, nil)
	for range 2 {
		if err := phone.CheckIn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	manifest := ""
	for _, c := range e.history(ta, e.appleDeviceID(ta, phone.State().SerialNumber)) {
		if u := c.Payload["manifestUrl"]; u != "" {
			manifest = openSealedPayload(t, keys, u)
		}
	}
	token := strings.TrimSuffix(strings.TrimPrefix(manifest, base+"/mdm/apple/apps/"), "/manifest.plist")
	if token == "" || token == manifest {
		t.Fatalf("no manifest URL among the iPhone's commands (%q)", manifest)
	}
	secrets.add("in-house manifest token", token)

	// A Wi-Fi configuration's password, delivered to both devices.
	wifiPW := fresh("Wifi-pw")
	secrets.add("Wi-Fi configuration password", wifiPW)
	wifi := e.createConfig(ta, `{"name":"Corp Wi-Fi","type":"WIFI","attributes":{"ssid":"Corp","securityType":"WPA2","password":"`+wifiPW+`"}}`)
	e.call("PUT", fmt.Sprintf("/api/v1/configurations/%d/distribution", wifi.ID), ta, `{"targets":[{"type":"ALL_USERS"}]}`).must(t, 200, nil)
	e.checkin(reg.Credential, android.CheckinRequest{})
	if err := phone.CheckIn(ctx); err != nil {
		t.Fatal(err)
	}

	// App Registrations: a client secret and the access token it gets.
	ar := e.createAppReg(ta, `{"appType":"`+authz.AppTypeCSM+`","description":"CMDB"}`)
	secrets.add("App Registration client secret", ar.ClientSecret)
	cc := clientcredentials.Config{ClientID: ar.ClientID, ClientSecret: ar.ClientSecret, TokenURL: e.url + "/" + tenantOf(t, ar.TokenURL) + "/connect/token"}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secrets.add("access token", tok.AccessToken)
	req, _ := http.NewRequest("GET", e.url+"/api/apigatewaydataservices/v1/devices", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	e.send(req).must(t, 200, nil)

	// A wrong password and a wrong PIN are secrets too (a user's typo is often the real one).
	wrongPW := fresh("Typo-pw")
	secrets.add("wrong password", wrongPW)
	if r := e.call("GET", "/api/v1/device", "ta@vault.example.com:"+wrongPW, ""); r.Status != 401 {
		t.Errorf("wrong password: %d", r.Status)
	}
	if st, _ := e.browser().signIn("pat@vault.example.com", "password", wrongPW); st != 401 {
		t.Errorf("wrong portal password: %d", st)
	}

	// Let background work (mail delivery, coalesced writes) settle before looking.
	e.srv.appReg.Flush(ctx)
	eventually(t, "every mail delivered", func() bool {
		var n int
		e.srv.Store().DB().QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE status <> 'SENT'`).Scan(&n)
		return n == 0
	})

	logText := logs.String()
	if !strings.Contains(logText, `"msg":"http request"`) {
		t.Fatalf("the log captured no access log lines:\n%.2000s", logText)
	}
	inLogs := secrets
	if leaks := findLeaks(inLogs, []byte(logText)); len(leaks) > 0 {
		t.Errorf("secrets in the log: %v", leaks)
		for _, line := range strings.Split(logText, "\n") {
			if len(findLeaks(inLogs, []byte(line))) > 0 {
				t.Logf("log line: %.400s", line)
			}
		}
	}
	dump := dumpDatabase(t, e)
	if leaks := findLeaks(secrets, dump); len(leaks) > 0 {
		t.Errorf("secrets in the database: %v", leaks)
		for _, line := range bytes.Split(dump, []byte("\n")) {
			if len(findLeaks(secrets, line)) > 0 {
				t.Logf("row: %.300s", line)
			}
		}
	}
	if dbURL == "" {
		if leaks := findLeaks(secrets, readTree(t, dataDir)); len(leaks) > 0 {
			t.Errorf("secrets in the data directory's files: %v", leaks)
		}
	}
	t.Logf("%d secrets checked in %d bytes of log and %d bytes of database values", len(inLogs), len(logText), len(dump))
}

// openSealedPayload opens a command payload value the queue keeps sealed ("sealed:" and base64).
func openSealedPayload(t *testing.T, keys *secret.Keys, v string) string {
	t.Helper()
	b64, ok := strings.CutPrefix(v, "sealed:")
	if !ok {
		t.Fatalf("payload value %.60q is not sealed", v)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err == nil {
		raw, err = keys.Open(raw)
	}
	if err != nil {
		t.Fatalf("sealed payload value: %v", err)
	}
	return string(raw)
}

// tenantOf is the tenant id in an App Registration's token URL (…/{tenant}/connect/token).
func tenantOf(t *testing.T, tokenURL string) string {
	t.Helper()
	u, err := url.Parse(tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 {
		t.Fatalf("token URL %q", tokenURL)
	}
	return parts[len(parts)-3]
}
