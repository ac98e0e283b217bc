package ios

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/micromdm/plist"

	"steward/internal/apple"
	"steward/internal/apple/enroll"
	"steward/internal/apple/identity"
)

// mdmServer speaks the server side of the protocol with the real enrollment, SCEP and signature
// code: it hands out a signed profile, issues the identity over SCEP, checks every message's
// Mdm-Signature against its CA and answers connects from a queue of commands.
type mdmServer struct {
	t   *testing.T
	ca  *enroll.CA
	srv *httptest.Server

	mu       sync.Mutex
	checkins []apple.Checkin
	reports  []*apple.Report
	queue    [][]byte // command plists, answered in order
	fail     int      // answer this many command reports with a 503 (the report is lost)
	pkcs12   bool     // hand out a server-made PKCS#12 identity instead of SCEP
}

func newMDMServer(t *testing.T) *mdmServer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test device CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	m := &mdmServer{t: t, ca: &enroll.CA{Cert: cert, Key: key}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+EnrollPath, func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("username") != "ann@example.com" || r.FormValue("pin") != "123456" {
			http.Error(w, "wrong credentials", http.StatusUnauthorized)
			return
		}
		prof := enroll.Profile{Organization: "Acme", ServerURL: m.srv.URL + "/connect",
			CheckInURL: m.srv.URL + "/checkin", Topic: "com.apple.mgmt.External.test", AccessRights: 8191, CACert: cert}
		m.mu.Lock()
		withPKCS12 := m.pkcs12
		m.mu.Unlock()
		if withPKCS12 {
			p12, err := m.ca.PKCS12Identity("enrollment-1", "p12-password", time.Now(), time.Hour)
			if err != nil {
				t.Error(err)
			}
			prof.PKCS12, prof.Password = p12, "p12-password"
		} else {
			prof.SCEPURL, prof.Challenge, prof.Subject = m.srv.URL+"/scep", "challenge-1", "enrollment-1"
		}
		p, err := enroll.BuildProfile(prof)
		if err != nil {
			t.Error(err)
		}
		signed, err := m.ca.Sign(p)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/x-apple-aspen-config")
		w.Write(signed)
	})
	mux.Handle("/scep", &enroll.SCEPServer{CA: m.ca, Check: func(_ context.Context, challenge string, _ *x509.CertificateRequest) (string, error) {
		if challenge != "challenge-1" {
			return "", errors.New("wrong challenge")
		}
		return "enrollment-1", nil
	}})
	mux.HandleFunc("PUT /checkin", func(w http.ResponseWriter, r *http.Request) {
		body := m.verified(w, r)
		if body == nil {
			return
		}
		c, err := apple.DecodeCheckin(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		m.checkins = append(m.checkins, c)
		m.mu.Unlock()
	})
	mux.HandleFunc("PUT /connect", func(w http.ResponseWriter, r *http.Request) {
		body := m.verified(w, r)
		if body == nil {
			return
		}
		rep, err := apple.DecodeReport(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if rep.Status != "Idle" && m.fail > 0 {
			m.fail--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		m.reports = append(m.reports, rep)
		if len(m.queue) > 0 {
			w.Write(m.queue[0])
			m.queue = m.queue[1:]
		}
	})
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

// verified returns the body when its Mdm-Signature is by a certificate of the CA for enrollment-1.
func (m *mdmServer) verified(w http.ResponseWriter, r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	cert, err := identity.Source{}.Certificate(r, body)
	if err == nil {
		err = m.ca.Verify(cert, time.Now())
	}
	if err == nil && cert.Subject.CommonName != "enrollment-1" {
		err = errors.New("not enrollment-1's certificate")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return nil
	}
	return body
}

func (m *mdmServer) enqueue(uuid string, command map[string]any) {
	b, err := plist.Marshal(map[string]any{"CommandUUID": uuid, "Command": command})
	if err != nil {
		m.t.Fatal(err)
	}
	m.mu.Lock()
	m.queue = append(m.queue, b)
	m.mu.Unlock()
}

// recorder is an Observer that keeps what it hears.
type recorder struct {
	mu       sync.Mutex
	ops      []string
	commands []string
}

func (r *recorder) Request(op string, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		op += " error"
	}
	r.ops = append(r.ops, op)
}

func (r *recorder) Command(typ, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commands = append(r.commands, typ+" "+status)
}

var testKeys = sync.OnceValue(func() *KeyPool {
	p, err := NewKeyPool(1)
	if err != nil {
		panic(err)
	}
	return p
})

func enrolled(t *testing.T, m *mdmServer, model int) (*Device, *recorder) {
	t.Helper()
	rec := &recorder{}
	d := NewDevice(m.srv.Client(), 7, DeviceOptions{Model: model, Key: testKeys().Key(), Observer: rec})
	if err := d.Enroll(context.Background(), m.srv.URL, "ann@example.com", "123456", ""); err != nil {
		t.Fatal(err)
	}
	return d, rec
}

func TestEnrollChecksInWithSignedMessages(t *testing.T) {
	m := newMDMServer(t)
	d, rec := enrolled(t, m, 1)
	st := d.State()
	if !st.Enrolled || st.Topic != "com.apple.mgmt.External.test" || st.ProductName != "iPhone15,2" {
		t.Errorf("state after enrolling: %+v", st)
	}
	if diff := cmp.Diff([]string{"profile", "scep", "authenticate", "tokenupdate", "enroll"}, rec.ops); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if len(m.checkins) != 2 {
		t.Fatalf("%d check-ins, want Authenticate and TokenUpdate", len(m.checkins))
	}
	auth, ok := m.checkins[0].(*apple.Authenticate)
	if !ok || auth.UDID != st.UDID || auth.SerialNumber != st.SerialNumber || auth.ProductName != "iPhone15,2" ||
		auth.Topic != st.Topic || auth.IMEI == "" {
		t.Errorf("Authenticate: %#v", m.checkins[0])
	}
	tu, ok := m.checkins[1].(*apple.TokenUpdate)
	if !ok || hex.EncodeToString(tu.Token) != d.PushToken() || len(tu.Token) != 32 || tu.PushMagic == "" || len(tu.UnlockToken) == 0 {
		t.Errorf("TokenUpdate: %v", m.checkins[1])
	}
}

// TestEnrollWithPKCS12Identity: a profile that carries the identity (no SCEP) gives the device its key
// and certificate, and its messages are signed with them.
func TestEnrollWithPKCS12Identity(t *testing.T) {
	m := newMDMServer(t)
	m.pkcs12 = true
	d, rec := enrolled(t, m, 1)
	if diff := cmp.Diff([]string{"profile", "authenticate", "tokenupdate", "enroll"}, rec.ops); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if len(m.checkins) != 2 || !d.State().Enrolled {
		t.Fatalf("%d check-ins (want Authenticate and TokenUpdate, each verified as enrollment-1's), state %+v",
			len(m.checkins), d.State())
	}
}

func TestEnrollRefused(t *testing.T) {
	m := newMDMServer(t)
	d := NewDevice(m.srv.Client(), 7, DeviceOptions{Key: testKeys().Key()})
	err := d.Enroll(context.Background(), m.srv.URL, "ann@example.com", "000000", "")
	var he *HTTPError
	if !errors.As(err, &he) || he.HTTPStatus() != http.StatusUnauthorized || d.Registered() {
		t.Errorf("wrong PIN: %v (registered %v), want a 401", err, d.Registered())
	}
	if err := d.CheckIn(context.Background()); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("CheckIn before enrolling: %v", err)
	}
}

func TestConnectCarriesOutCommands(t *testing.T) {
	m := newMDMServer(t)
	d, rec := enrolled(t, m, 5) // an iPad: no IMEI
	m.enqueue("1", map[string]any{"RequestType": "DeviceInformation", "Queries": []string{"SerialNumber", "ProductName", "DeviceCapacity", "IMEI"}})
	m.enqueue("2", map[string]any{"RequestType": "InstalledApplicationList"})
	m.enqueue("3", map[string]any{"RequestType": "DeviceLock", "Message": "Call IT"})
	m.enqueue("4", map[string]any{"RequestType": "Settings"})
	profile, _ := plist.MarshalIndent(map[string]any{"PayloadType": "Configuration", "PayloadIdentifier": "com.example.wifi",
		"PayloadUUID": "A-B", "PayloadContent": []map[string]any{{"PayloadType": "com.apple.wifi.managed"}}}, "\t")
	m.enqueue("5", map[string]any{"RequestType": "InstallProfile", "Payload": profile})
	m.enqueue("6", map[string]any{"RequestType": "ClearPasscode", "UnlockToken": []byte("x")})
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := d.State()
	if len(m.reports) != 7 {
		t.Fatalf("%d reports, want Idle and six answers", len(m.reports))
	}
	if r := m.reports[0]; r.Status != "Idle" || r.UDID != st.UDID {
		t.Errorf("first report %+v, want Idle", r)
	}
	info, err := apple.ParseDeviceInformation(m.reports[1].Raw)
	if err != nil {
		t.Fatal(err)
	}
	if info.Facts.SerialNumber != st.SerialNumber || info.Facts.Model != "iPad13,18" || info.Facts.TotalCapacityMB != 64*1024 ||
		info.Facts.OSVersion != "" || info.Facts.IMEI != "" {
		t.Errorf("DeviceInformation answered %+v: want only the keys asked for", info.Facts)
	}
	apps, err := apple.ParseInstalledApplicationList(m.reports[2].Raw)
	if err != nil || len(apps) != len(st.Apps) || apps[0].AppID != st.Apps[0].Identifier {
		t.Errorf("InstalledApplicationList: %v, %v; want %v", apps, err, st.Apps)
	}
	statuses := []string{}
	for _, r := range m.reports[1:] {
		statuses = append(statuses, r.CommandUUID+" "+r.Status)
	}
	if diff := cmp.Diff([]string{"1 Acknowledged", "2 Acknowledged", "3 Acknowledged", "4 Error", "5 Acknowledged", "6 Acknowledged"}, statuses); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if chain := m.reports[4].ErrorChain; len(chain) != 1 || !strings.Contains(chain[0].LocalizedDescription, "Settings") {
		t.Errorf("unknown command's error chain: %+v", chain)
	}
	if st.Locked || st.LockMessage != "Call IT" || st.Acknowledged != 5 || st.Executed["DeviceLock"] != 1 ||
		st.Profiles["com.example.wifi"] != "A-B" {
		t.Errorf("state: %+v (the passcode clear comes after the lock)", st)
	}
	if len(rec.commands) != 6 || rec.commands[3] != "Settings Error" {
		t.Errorf("observed commands: %v", rec.commands)
	}
	// Nothing queued: one Idle, nothing else.
	if err := d.CheckIn(context.Background()); err != nil || len(m.reports) != 8 {
		t.Errorf("idle connect: %v, %d reports", err, len(m.reports))
	}
}

func TestScheduleOSUpdateInstallsTheVersion(t *testing.T) {
	m := newMDMServer(t)
	d, _ := enrolled(t, m, 1)
	m.enqueue("9", map[string]any{"RequestType": "ScheduleOSUpdate",
		"Updates": []map[string]any{{"ProductVersion": "99.1.2", "InstallAction": "InstallASAP"}}})
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(m.reports) != 2 || m.reports[1].Status != "Acknowledged" || m.reports[1].CommandUUID != "9" {
		t.Fatalf("reports: %+v", m.reports)
	}
	if st := d.State(); st.OSVersion != "99.1.2" || st.Executed["ScheduleOSUpdate"] != 1 {
		t.Errorf("after ScheduleOSUpdate: OS %s, executed %v", st.OSVersion, st.Executed)
	}
}

func TestEraseAndRemoveProfileStopTheDevice(t *testing.T) {
	for _, tc := range []struct {
		command  map[string]any
		checkout bool
	}{
		{map[string]any{"RequestType": "EraseDevice", "PIN": ""}, false},
		{map[string]any{"RequestType": "RemoveProfile", "Identifier": enroll.ProfileIdentifier}, true},
	} {
		t.Run(tc.command["RequestType"].(string), func(t *testing.T) {
			m := newMDMServer(t)
			d, _ := enrolled(t, m, 2)
			m.enqueue("9", tc.command)
			m.enqueue("10", map[string]any{"RequestType": "DeviceLock"}) // never carried out
			if err := d.CheckIn(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(m.reports) != 2 || m.reports[1].Status != "Acknowledged" || m.reports[1].CommandUUID != "9" {
				t.Errorf("reports %+v, want Idle and the acknowledgement", m.reports)
			}
			_, checkedOut := m.checkins[len(m.checkins)-1].(*apple.CheckOut)
			if checkedOut != tc.checkout {
				t.Errorf("checked out %v, want %v", checkedOut, tc.checkout)
			}
			if st := d.State(); !st.Stopped || st.Locked {
				t.Errorf("state %+v, want stopped", st)
			}
			if err := d.CheckIn(context.Background()); !errors.Is(err, ErrStopped) {
				t.Errorf("CheckIn after stopping: %v", err)
			}
		})
	}
	// Removing another profile is only acknowledged.
	m := newMDMServer(t)
	d, _ := enrolled(t, m, 2)
	m.enqueue("11", map[string]any{"RequestType": "RemoveProfile", "Identifier": "com.example.wifi"})
	if err := d.CheckIn(context.Background()); err != nil || d.Stopped() {
		t.Errorf("removing another profile: %v, stopped %v", err, d.Stopped())
	}
}

func TestALostAnswerIsSentAgain(t *testing.T) {
	m := newMDMServer(t)
	d, _ := enrolled(t, m, 1)
	m.enqueue("21", map[string]any{"RequestType": "EraseDevice"})
	m.fail = 1
	var he *HTTPError
	if err := d.CheckIn(context.Background()); !errors.As(err, &he) || he.Status != 503 || d.Stopped() {
		t.Fatalf("connect whose answer failed: %v, stopped %v", err, d.Stopped())
	}
	if err := d.CheckIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(m.reports) != 2 || m.reports[1].CommandUUID != "21" || m.reports[1].Status != "Acknowledged" || !d.Stopped() {
		t.Errorf("reports %+v, stopped %v: want the erase's answer delivered next, then the device stopped", m.reports, d.Stopped())
	}
	if n := d.State().Executed["EraseDevice"]; n != 1 {
		t.Errorf("erase carried out %d times", n)
	}
}

func TestAPNsWakesKnownTokens(t *testing.T) {
	var mu sync.Mutex
	woken := []string{}
	caFile := t.TempDir() + "/ca.pem"
	a, err := StartAPNs("127.0.0.1:0", caFile, func(token string) bool {
		mu.Lock()
		defer mu.Unlock()
		woken = append(woken, token)
		return token == "abcd"
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(a.CAPEM) {
		t.Fatal("no CA PEM")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	push := func(token, topic, body string) (int, int) {
		req, _ := http.NewRequest("POST", a.URL()+"/3/device/"+token, strings.NewReader(body))
		if topic != "" {
			req.Header.Set("apns-topic", topic)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.ProtoMajor
	}
	if code, proto := push("ABCD", "com.apple.mgmt.External.x", `{"mdm":"magic"}`); code != 200 || proto != 2 {
		t.Errorf("known token: %d over HTTP/%d, want 200 over HTTP/2", code, proto)
	}
	if code, _ := push("ffff", "com.apple.mgmt.External.x", `{"mdm":"magic"}`); code != http.StatusGone {
		t.Errorf("unknown token: %d, want 410", code)
	}
	if code, _ := push("abcd", "", `{"mdm":"magic"}`); code != http.StatusBadRequest {
		t.Errorf("no topic: %d, want 400", code)
	}
	if code, _ := push("abcd", "t", `{"aps":{}}`); code != http.StatusBadRequest {
		t.Errorf("no mdm key: %d, want 400", code)
	}
	if a.Pushes() != 1 || len(woken) != 2 || woken[0] != "abcd" {
		t.Errorf("pushes %d, woken %v", a.Pushes(), woken)
	}
	// A second stand-in with the same file keeps the CA, so a server started with it trusts both.
	b, err := StartAPNs("127.0.0.1:0", caFile, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if string(b.CAPEM) != string(a.CAPEM) {
		t.Error("the CA was not reused")
	}
	if code, _ := push("abcd", "t", `{"mdm":"m"}`); code != 200 {
		t.Errorf("push: %d", code)
	}
}

func TestPushCertificateCarriesTheTopic(t *testing.T) {
	pemData, topic, err := PushCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(topic, "com.apple.mgmt.External.") || len(topic) != len("com.apple.mgmt.External.")+36 {
		t.Errorf("topic %q", topic)
	}
	cert, err := tls.X509KeyPair(pemData, pemData)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	found := false
	for _, n := range leaf.Subject.Names {
		if n.Type.Equal(oidUID) && n.Value == topic {
			found = true
		}
	}
	if !found {
		t.Errorf("subject %v lacks UID %s", leaf.Subject, topic)
	}
}
