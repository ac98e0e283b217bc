package applemdm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/micromdm/plist"

	"steward/internal/accounts"
	"steward/internal/apple"
	"steward/internal/apple/enroll"
	"steward/internal/apple/identity"
	"steward/internal/applemdm"
	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/pgtest"
	"steward/internal/store/sqlstore"
)

const topic = "com.apple.mgmt.External.test-topic"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t      testing.TB
	ctx    context.Context
	store  *sqlstore.Store
	keys   *secret.Keys
	clock  *clock
	acc    *accounts.Service
	devs   *devices.Service
	svc    *applemdm.Service
	url    string
	admin  context.Context // tenant t-1's admin
	counts *counts         // store calls of the devices and Apple services
	wakes  *wakes          // the devices the devices service asked to wake
}

// wakes records wake requests: the push sender is an edge that cannot run here.
type wakes struct {
	mu  sync.Mutex
	ids []mdm.DeviceID
}

func (w *wakes) Wake(_ context.Context, targets []devices.WakeTarget) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range targets {
		w.ids = append(w.ids, t.DeviceID)
	}
}

// take returns the devices woken so far and starts over.
func (w *wakes) take() []mdm.DeviceID {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.ids
	w.ids = nil
	return out
}

// eachDB runs fn on SQLite and, when STEWARD_TEST_POSTGRES is set (required in CI), on PostgreSQL.
func eachDB(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Run("sqlite", func(t *testing.T) {
		store, err := sqlstore.Open(t.Context(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		fn(t, newFixture(t, store))
	})
	switch raw := os.Getenv("STEWARD_TEST_POSTGRES"); {
	case raw != "":
		t.Run("postgres", func(t *testing.T) { fn(t, newFixture(t, freshPostgres(t, raw))) })
	case os.Getenv("CI") == "true":
		t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
	}
}

func freshPostgres(t *testing.T, _ string) *sqlstore.Store {
	return pgtest.Store(t, "steward_applemdm")
}

func newFixture(t testing.TB, store *sqlstore.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{t: t, ctx: ctx, store: store, keys: keys, clock: c, counts: &counts{n: map[string]int{}}, wakes: &wakes{}}
	counted := countingStore{store, f.counts}
	f.acc = accounts.New(store, keys, log, accounts.WithClock(c.now))
	f.devs = devices.New(counted, keys, f.acc, log, devices.WithClock(c.now), devices.WithWaker(f.wakes))
	ca, err := enroll.LoadCA(ctx, store.Apple(), keys, c.now())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewUnstartedServer(mux)
	f.url = "http://" + ts.Listener.Addr().String()
	f.svc = applemdm.New(applemdm.Deps{Store: counted, Keys: keys, Devices: f.devs, Registrar: f.acc, CA: ca,
		Identity: identity.Source{}, BaseURL: f.url, Log: log, Now: c.now, InventoryInterval: 24 * time.Hour})
	f.svc.Register(mux)
	ts.Start()
	t.Cleanup(ts.Close)
	f.admin = f.tenant("t-1", "Acme", true)
	f.tenant("t-2", "Globex", true)
	return f
}

// tenant creates an active tenant with an admin (and a push certificate when push) and returns a
// context carrying the admin.
func (f *fixture) tenant(id mdm.TenantID, name string, push bool) context.Context {
	f.t.Helper()
	now := f.clock.now()
	tn := mdm.Tenant{ID: id, Name: name, State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
	a := mdm.Account{TenantID: id, Username: "admin@" + string(id) + ".example.com", Email: "admin@" + string(id) + ".example.com",
		Roles: []string{mdm.RoleTenantAdmin}, Enabled: true, CreatedAt: now, ModifiedAt: now}
	err := f.store.InTx(f.ctx, func(tx mdm.Stores) error {
		if err := tx.Tenants().Create(f.ctx, &tn); err != nil {
			return err
		}
		if err := tx.Accounts().Create(f.ctx, &a); err != nil {
			return err
		}
		if !push {
			return nil
		}
		return tx.Apple().PutPushCertificate(f.ctx, mdm.ApplePushCertificate{TenantID: id, CertPEM: []byte("-"),
			KeySealed: f.keys.Seal([]byte("-")), Topic: topic, NotAfter: now.Add(365 * 24 * time.Hour),
			UploadedBy: a.Username, UploadedAt: now})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return mdm.WithPrincipal(f.ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID), Username: a.Username,
		TenantID: a.TenantID, Roles: []string{mdm.RoleTenantAdmin}})
}

// user creates a half account in t-1 and returns its username and a registration PIN.
func (f *fixture) user(email string) (string, string) {
	f.t.Helper()
	now := f.clock.now()
	a := mdm.Account{TenantID: "t-1", Username: email, Email: email, FirstName: "Sam", Enabled: true, CreatedAt: now, ModifiedAt: now}
	if err := f.store.Accounts().Create(f.ctx, &a); err != nil {
		f.t.Fatal(err)
	}
	p, err := f.acc.IssueRegistrationPIN(f.admin, a.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return email, p.PIN
}

// post submits the enrollment form.
func (f *fixture) post(form url.Values) (int, http.Header, []byte) {
	f.t.Helper()
	res, err := http.PostForm(f.url+applemdm.EnrollPath, form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, body
}

// profile is what a test device needs from its profile.
type profile struct{ scepURL, challenge, subject, topic string }

func (f *fixture) profile(email, pin string) profile {
	f.t.Helper()
	status, h, body := f.post(url.Values{"username": {email}, "pin": {pin}})
	if status != 200 || h.Get("Content-Type") != applemdm.ProfileContentType {
		f.t.Fatalf("profile: %d %s %.300s", status, h.Get("Content-Type"), body)
	}
	inner, _, err := enroll.ReadSignedProfile(body)
	if err != nil {
		f.t.Fatal(err)
	}
	var top struct {
		PayloadContent []struct {
			PayloadType    string `plist:"PayloadType"`
			PayloadContent any    `plist:"PayloadContent"`
			Topic          string `plist:"Topic"`
		} `plist:"PayloadContent"`
	}
	if err := plist.Unmarshal(inner, &top); err != nil {
		f.t.Fatal(err)
	}
	var p profile
	for _, pl := range top.PayloadContent {
		switch pl.PayloadType {
		case "com.apple.security.scep":
			c, _ := pl.PayloadContent.(map[string]any)
			p.scepURL, _ = c["URL"].(string)
			p.challenge, _ = c["Challenge"].(string)
			if rdns, ok := c["Subject"].([]any); ok && len(rdns) > 0 {
				if atvs, ok := rdns[0].([]any); ok && len(atvs) > 0 {
					if pair, ok := atvs[0].([]any); ok && len(pair) == 2 {
						p.subject, _ = pair[1].(string)
					}
				}
			}
		case "com.apple.mdm":
			p.topic = pl.Topic
		}
	}
	if p.scepURL == "" || p.challenge == "" || p.subject == "" || p.topic == "" {
		f.t.Fatalf("profile lacks settings: %+v", p)
	}
	return p
}

// dev is a test device speaking the protocol with Mdm-Signature.
type dev struct {
	f    *fixture
	udid string
	key  *rsa.PrivateKey
	cert *x509.Certificate
	p    profile
}

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// newDev enrolls a user's device up to its certificate.
func (f *fixture) newDev(email, pin, udid string) *dev {
	f.t.Helper()
	p := f.profile(email, pin)
	cert, err := enroll.RequestCertificate(f.ctx, http.DefaultClient, p.scepURL, p.challenge, p.subject, testKey())
	if err != nil {
		f.t.Fatal(err)
	}
	return &dev{f: f, udid: udid, key: testKey(), cert: cert, p: p}
}

func (d *dev) put(path, ct string, body []byte) (int, []byte) {
	d.f.t.Helper()
	req, err := http.NewRequest("PUT", d.f.url+path, bytes.NewReader(body))
	if err != nil {
		d.f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	sig, err := identity.Sign(body, d.cert, d.key)
	if err != nil {
		d.f.t.Fatal(err)
	}
	req.Header.Set(identity.SignatureHeader, sig)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.f.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (d *dev) checkin(msg map[string]any) int {
	d.f.t.Helper()
	if _, ok := msg["UDID"]; !ok {
		msg["UDID"] = d.udid
	}
	body, err := plist.Marshal(msg)
	if err != nil {
		d.f.t.Fatal(err)
	}
	s, out := d.put(applemdm.CheckinPath, apple.CheckinContentType, body)
	if s != 200 {
		d.f.t.Logf("check-in %v: %d %s", msg["MessageType"], s, out)
	}
	return s
}

func (d *dev) authenticate() int {
	return d.checkin(map[string]any{"MessageType": "Authenticate", "Topic": d.p.topic, "ProductName": "iPhone15,2",
		"SerialNumber": "SN-" + d.udid, "DeviceName": "Sam's iPhone", "OSVersion": "18.2", "BuildVersion": "22C152"})
}

func (d *dev) tokenUpdate(unlock []byte) int {
	msg := map[string]any{"MessageType": "TokenUpdate", "Topic": d.p.topic, "Token": []byte{1, 2, 3, 4},
		"PushMagic": "magic-" + d.udid}
	if unlock != nil {
		msg["UnlockToken"] = unlock
	}
	return d.checkin(msg)
}

// connect sends a report and returns the status and the command answered (nil for none).
func (d *dev) connect(msg map[string]any) (int, map[string]any) {
	d.f.t.Helper()
	msg["UDID"] = d.udid
	body, err := plist.Marshal(msg)
	if err != nil {
		d.f.t.Fatal(err)
	}
	s, out := d.put(applemdm.ConnectPath, "application/x-apple-aspen-mdm", body)
	if s != 200 || len(out) == 0 {
		return s, nil
	}
	var cmd map[string]any
	if err := plist.Unmarshal(out, &cmd); err != nil {
		d.f.t.Fatalf("answer is not a plist: %v", err)
	}
	return s, cmd
}

func requestType(cmd map[string]any) string {
	c, _ := cmd["Command"].(map[string]any)
	s, _ := c["RequestType"].(string)
	return s
}

// enrolled enrolls a device through Authenticate and TokenUpdate and returns it with its record.
func (f *fixture) enrolled(email, udid string, unlock []byte) (*dev, *mdm.Device) {
	f.t.Helper()
	u, pin := f.user(email)
	d := f.newDev(u, pin, udid)
	if s := d.authenticate(); s != 200 {
		f.t.Fatalf("Authenticate: %d", s)
	}
	if s := d.tokenUpdate(unlock); s != 200 {
		f.t.Fatalf("TokenUpdate: %d", s)
	}
	rec, err := f.devs.AuthenticateDevice(f.ctx, devices.CertificateCredential(d.cert))
	if err != nil {
		f.t.Fatal(err)
	}
	return d, rec
}

// commands lists a device's commands, oldest first.
func (f *fixture) commands(id mdm.DeviceID) []mdm.Command {
	f.t.Helper()
	p, err := f.store.Commands().History(f.ctx, "t-1", id, mdm.ListOptions{Rows: 100,
		Sort: []mdm.SortField{{Field: "id"}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return p.Items
}

// enrollAgain asks for a second certificate with d's challenge.
func enrollAgain(f *fixture, d *dev) (*x509.Certificate, error) {
	return enroll.RequestCertificate(f.ctx, http.DefaultClient, d.p.scepURL, d.p.challenge, d.p.subject, testKey())
}

// pin issues another registration PIN to an existing user of t-1.
func (f *fixture) pin(email string) string {
	f.t.Helper()
	a, err := f.store.Accounts().ByUsername(f.ctx, email)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.acc.IssueRegistrationPIN(f.admin, a.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.PIN
}

// replica starts a second server on the same database (its own devices and Apple services, caches
// and all) and returns its URL.
func (f *fixture) replica() string {
	f.t.Helper()
	log := slog.New(slog.DiscardHandler)
	devs := devices.New(f.store, f.keys, f.acc, log, devices.WithClock(f.clock.now), devices.WithWaker(f.wakes))
	ca, err := enroll.LoadCA(f.ctx, f.store.Apple(), f.keys, f.clock.now())
	if err != nil {
		f.t.Fatal(err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	f.t.Cleanup(ts.Close)
	svc := applemdm.New(applemdm.Deps{Store: f.store, Keys: f.keys, Devices: devs, Registrar: f.acc, CA: ca,
		Identity: identity.Source{}, BaseURL: ts.URL, Log: log, Now: f.clock.now, InventoryInterval: 24 * time.Hour})
	svc.Register(mux)
	return ts.URL
}

// at runs fn with the test devices speaking to the server at url.
func (f *fixture) at(url string, fn func()) {
	old := f.url
	f.url = url
	defer func() { f.url = old }()
	fn()
}
