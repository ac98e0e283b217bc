package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/micromdm/plist"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"steward/internal/apple/enroll"
	"steward/internal/applemdm"
	"steward/internal/mdm"
	"steward/internal/sim/ios"
)

// TestAppleEnrollment drives Apple enrollment end to end over a real server: refusals before any
// profile is handed out, simulated devices of every kind enrolling and reporting their inventory, a
// lock carried out, and what the protocol refuses.
func TestAppleEnrollment(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Applco")
			_, tb := e.createTenant("Otherco")
			ctx := context.Background()

			// Refusals store nothing.
			_, pin0 := e.deviceUser(ta, "u0@applco.example.com")
			if status, _, body := e.enrollPost(url.Values{"username": {"u0@applco.example.com"}, "pin": {pin0}}); status != 409 ||
				!strings.Contains(string(body), "push certificate") {
				t.Fatalf("enrollment without a push certificate: %d %.300s, want 409 naming the push certificate", status, body)
			}
			if status, ct, body := e.enrollPost(url.Values{"username": {"u0@applco.example.com"}, "pin": {"00000000"}}); status != 401 ||
				!strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "<form") {
				t.Fatalf("wrong PIN: %d %s, want 401 and the form again", status, ct)
			}
			if n := e.count("SELECT COUNT(*) FROM apple_enrollments"); n != 0 {
				t.Fatalf("refused enrollments stored %d rows", n)
			}
			page, err := http.Get(e.url + applemdm.EnrollPath)
			if err != nil {
				t.Fatal(err)
			}
			page.Body.Close()
			if page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("sign-in page: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
			}

			topic := e.uploadPushCertificate(ta)
			if topic == "" {
				t.Fatal("push certificate without a topic")
			}

			// Simulated devices of every kind enroll and report their inventory.
			kinds := []struct {
				model int
				kind  string
			}{{1, mdm.KindIPhone}, {5, mdm.KindIPad}, {7, mdm.KindIPadMini}, {8, mdm.KindAppleTV}}
			var phone *ios.Device
			var phoneID int64
			for i, k := range kinds {
				email := "sim" + strconvI(int64(i)) + "@applco.example.com"
				_, pin := e.deviceUser(ta, email)
				dev := ios.NewDevice(http.DefaultClient, uint64(100+i), ios.DeviceOptions{Model: k.model})
				if err := dev.Enroll(ctx, e.url, email, pin, ""); err != nil {
					t.Fatalf("%s: enroll: %v", k.kind, err)
				}
				if err := dev.CheckIn(ctx); err != nil {
					t.Fatalf("%s: connect: %v", k.kind, err)
				}
				st := dev.State()
				id := e.appleDeviceID(ta, st.SerialNumber)
				v := e.getDevice(ta, id)
				if v.PlatformType != mdm.PlatformIOS || v.DeviceKind != k.kind || v.DeviceModel != st.ProductName ||
					v.RegistrationState != mdm.StateActive || v.EmailAddress != email || v.AppCount != len(st.Apps) ||
					v.DeviceName != st.DeviceName {
					t.Fatalf("%s: device %+v, simulator %+v", k.kind, v, st)
				}
				if st.Executed["DeviceInformation"] == 0 || st.Executed["InstalledApplicationList"] == 0 {
					t.Fatalf("%s: inventory not asked for: %v", k.kind, st.Executed)
				}
				if i == 0 {
					phone, phoneID = dev, id
				}
			}

			// Lock: queued by the API, carried out at the next connect, acknowledged.
			e.act(ta, "lock", phoneID)
			if err := phone.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			if !phone.State().Locked {
				t.Fatal("the device was not locked")
			}
			if !slices.ContainsFunc(e.history(ta, phoneID), func(c commandView) bool {
				return c.Type == mdm.CmdLock && c.Status == mdm.CmdAcknowledged
			}) {
				t.Fatalf("no acknowledged LOCK in %+v", e.history(ta, phoneID))
			}

			// The other tenant sees none of it.
			if ids := e.listDevices(tb, ""); len(ids) != 0 {
				t.Fatalf("another tenant lists %v", ids)
			}
			e.call("GET", "/api/v1/device/"+strconvI(phoneID), tb, "").must(t, 404, nil)

			// A hand-made device: Authenticate, TokenUpdate, the inventory queries answered by hand.
			_, pin1 := e.deviceUser(ta, "raw1@applco.example.com")
			d1 := e.newAppleDevice("raw1@applco.example.com", pin1, "", hexUDID(1))
			if s := d1.authenticate(); s != 200 {
				t.Fatalf("Authenticate: %d", s)
			}
			if s := d1.authenticate(); s != 200 {
				t.Fatalf("repeated Authenticate: %d", s)
			}
			if s := d1.tokenUpdate(); s != 200 {
				t.Fatalf("TokenUpdate: %d", s)
			}
			status, cmd := d1.connect(map[string]any{"Status": "Idle"})
			if status != 200 || requestType(cmd) != "DeviceInformation" {
				t.Fatalf("first connect: %d %v, want DeviceInformation", status, cmd)
			}
			status, cmd = d1.ack(cmd, map[string]any{"QueryResponses": map[string]any{"SerialNumber": "RAW1SERIAL",
				"ProductName": "iPad14,1", "ModelName": "iPad mini", "DeviceName": "Raw mini", "OSVersion": "18.3.1"}})
			if status != 200 || requestType(cmd) != "InstalledApplicationList" {
				t.Fatalf("after DeviceInformation: %d %v, want InstalledApplicationList", status, cmd)
			}
			status, cmd = d1.ack(cmd, map[string]any{"InstalledApplicationList": []any{
				map[string]any{"Identifier": "com.example.one", "Name": "One", "ShortVersion": "1.0"},
				map[string]any{"Identifier": "com.example.two", "Name": "Two", "ShortVersion": "2.0"}}})
			if status != 200 || cmd != nil {
				t.Fatalf("after the app list: %d %v, want an empty answer", status, cmd)
			}
			id1 := e.appleDeviceID(ta, "RAW1SERIAL")
			if v := e.getDevice(ta, id1); v.DeviceKind != mdm.KindIPadMini || v.DeviceModel != "iPad14,1" || v.AppCount != 2 ||
				v.DeviceName != "Raw mini" {
				t.Fatalf("inventory not stored: %+v", v)
			}

			// What the protocol refuses.
			_, pin2 := e.deviceUser(ta, "raw2@applco.example.com")
			d2 := e.newAppleDevice("raw2@applco.example.com", pin2, "", hexUDID(2))
			if s := d2.authenticate(); s != 200 {
				t.Fatalf("second device Authenticate: %d", s)
			}
			thief := *d2
			thief.udid = d1.udid
			if status, _ := thief.connect(map[string]any{"Status": "Idle"}); status != 403 {
				t.Fatalf("another device's certificate with my UDID: %d, want 403", status)
			}
			if s := thief.tokenUpdate(); s != 403 {
				t.Fatalf("TokenUpdate with another device's certificate: %d, want 403", s)
			}
			stranger := *d2
			stranger.cert, stranger.key = foreignCert(t)
			if status, _ := stranger.connect(map[string]any{"Status": "Idle"}); status != 401 {
				t.Fatalf("a certificate of another CA: %d, want 401", status)
			}
			if status, _ := d2.put(applemdm.CheckinPath, "application/x-apple-aspen-mdm-checkin", []byte("<plist>garbage")); status != 400 {
				t.Fatalf("garbage check-in: %d, want 400", status)
			}
			if status, _ := d2.put(applemdm.CheckinPath, "application/json", []byte("{}")); status != 415 {
				t.Fatalf("check-in of the wrong type: %d, want 415", status)
			}
			unsigned, err := http.NewRequest("PUT", e.url+applemdm.ConnectPath, strings.NewReader("<plist/>"))
			if err != nil {
				t.Fatal(err)
			}
			if res, err := http.DefaultClient.Do(unsigned); err != nil || res.StatusCode != 401 {
				t.Fatalf("connect without any identity: %v %v, want 401", res, err)
			}

			// CheckOut ends the device's management.
			if s := d2.checkOut(); s != 200 {
				t.Fatalf("CheckOut: %d", s)
			}
			id2 := e.appleDeviceID(ta, "SN"+d2.udid[:8])
			if v := e.getDevice(ta, id2); v.RegistrationState != mdm.StateRetired {
				t.Fatalf("after CheckOut: %s, want RETIRED", v.RegistrationState)
			}
			if status, _ := d2.connect(map[string]any{"Status": "Idle"}); status != 401 {
				t.Fatalf("connect after CheckOut: %d, want 401", status)
			}

			// Retire: RemoveProfile at the next connect, acknowledged, and the certificate stops working.
			e.act(ta, "retire", id1)
			status, cmd = d1.connect(map[string]any{"Status": "Idle"})
			if status != 200 || requestType(cmd) != "RemoveProfile" {
				t.Fatalf("connect after retire: %d %v, want RemoveProfile", status, cmd)
			}
			if c, _ := cmd["Command"].(map[string]any); c["Identifier"] != enroll.ProfileIdentifier {
				t.Fatalf("RemoveProfile of %v, want the enrollment profile %s", c["Identifier"], enroll.ProfileIdentifier)
			}
			if status, next := d1.ack(cmd, nil); status != 200 || next != nil {
				t.Fatalf("acknowledging RemoveProfile: %d %v", status, next)
			}
			if v := e.getDevice(ta, id1); v.RegistrationState != mdm.StateRetired {
				t.Fatalf("after retire: %s, want RETIRED", v.RegistrationState)
			}
			if status, _ := d1.connect(map[string]any{"Status": "Idle"}); status != 401 {
				t.Fatalf("connect after retire: %d, want 401", status)
			}
		})
	}
}

// TestAppleIdentityPaths checks the two other ways a device's certificate arrives: the TLS client
// certificate on a TLS listener, and a TLS-terminating proxy's header (only when configured, and only
// from a trusted proxy: a device certificate is public, so the header from anyone else proves nothing).
func TestAppleIdentityPaths(t *testing.T) {
	// The test client connects from loopback: here that is the trusted proxy.
	e := newAPIEnv(t, "", func(c *Config) {
		c.AppleCertHeader = "Client-Cert"
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	_, ta := e.createTenant("Idco")
	e.uploadPushCertificate(ta)

	// The proxy header.
	_, pin := e.deviceUser(ta, "proxy@idco.example.com")
	d := e.newAppleDevice("proxy@idco.example.com", pin, "", hexUDID(10))
	d.how = "Client-Cert"
	if s := d.authenticate(); s != 200 {
		t.Fatalf("Authenticate through the proxy header: %d", s)
	}
	if s := d.tokenUpdate(); s != 200 {
		t.Fatalf("TokenUpdate through the proxy header: %d", s)
	}
	if status, cmd := d.connect(map[string]any{"Status": "Idle"}); status != 200 || requestType(cmd) != "DeviceInformation" {
		t.Fatalf("connect through the proxy header: %d %v", status, cmd)
	}
	d.how = "Other-Header"
	if status, _ := d.connect(map[string]any{"Status": "Idle"}); status != 401 {
		t.Fatalf("a header that is not the configured one: %d, want 401", status)
	}

	// The TLS client certificate, on a listener configured as serve configures it.
	cert, err := selfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(e.srv.Handler())
	ts.TLS = serverTLS(cert)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	_, pin = e.deviceUser(ta, "tls@idco.example.com")
	d = e.newAppleDevice("tls@idco.example.com", pin, "", hexUDID(11))
	d.how, d.base, d.client = "tls", ts.URL, d.tlsClient()
	if s := d.authenticate(); s != 200 {
		t.Fatalf("Authenticate with the TLS client certificate: %d", s)
	}
	if s := d.tokenUpdate(); s != 200 {
		t.Fatalf("TokenUpdate with the TLS client certificate: %d", s)
	}
	if status, cmd := d.connect(map[string]any{"Status": "Idle"}); status != 200 || requestType(cmd) != "DeviceInformation" {
		t.Fatalf("connect with the TLS client certificate: %d %v", status, cmd)
	}
	// A client without a certificate still gets through TLS (browsers, API clients).
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: d.tlsClient().Transport.(*http.Transport).TLSClientConfig.Clone()}}
	anon.Transport.(*http.Transport).TLSClientConfig.Certificates = nil
	res, err := anon.Get(ts.URL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("TLS without a client certificate: %v %v", res, err)
	}
	res.Body.Close()
	d.client = anon
	if status, _ := d.connect(map[string]any{"Status": "Idle"}); status != 401 {
		t.Fatalf("connect over TLS without a certificate: %d, want 401", status)
	}
}

// TestAppleCertHeaderUntrustedPeer: with the proxy header configured, a client that is not a trusted
// proxy cannot identify itself with it, not even when it names a trusted proxy in X-Forwarded-For;
// such a client still enrolls with its own Mdm-Signature.
func TestAppleCertHeaderUntrustedPeer(t *testing.T) {
	e := newAPIEnv(t, "", func(c *Config) {
		c.AppleCertHeader = "Client-Cert"
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} // not the test client
	})
	_, ta := e.createTenant("Untrustco")
	e.uploadPushCertificate(ta)
	_, pin := e.deviceUser(ta, "victim@untrustco.example.com")
	d := e.newAppleDevice("victim@untrustco.example.com", pin, "", hexUDID(20))
	d.how = "Client-Cert"
	if s := d.authenticate(); s != 401 {
		t.Fatalf("Authenticate through the proxy header from an untrusted peer: %d, want 401", s)
	}
	// Claiming to come through the trusted proxy changes nothing: the TCP peer decides.
	body, err := plist.MarshalIndent(map[string]any{"MessageType": "Authenticate", "UDID": d.udid, "Topic": d.topic,
		"ProductName": "iPhone15,2", "SerialNumber": "SN" + d.udid[:8], "DeviceName": "Test iPhone",
		"OSVersion": "18.2", "BuildVersion": "22C152"}, "  ")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("PUT", e.url+applemdm.CheckinPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-apple-aspen-mdm-checkin")
	req.Header.Set("Client-Cert", ":"+base64.StdEncoding.EncodeToString(d.cert.Raw)+":")
	req.Header.Set("X-Forwarded-For", "192.0.2.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("proxy header with a forged X-Forwarded-For: %d, want 401", res.StatusCode)
	}
	if n := e.count("SELECT COUNT(*) FROM apple_devices"); n != 0 {
		t.Fatalf("refused Authenticates stored %d Apple devices", n)
	}
	// The device's own signature works from anywhere.
	d.how = "sign"
	if s := d.authenticate(); s != 200 {
		t.Fatalf("Authenticate with Mdm-Signature: %d", s)
	}
}

// TestApplePKCS12Identity: with --apple-identity pkcs12 the profile carries the device's key and
// certificate (no SCEP), the enrollment's certificate counts as issued, and a device using the key
// and certificate it took from the PKCS#12 file enrolls and is served.
func TestApplePKCS12Identity(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), func(c *Config) { c.AppleIdentity = "pkcs12" })
			_, ta := e.createTenant("P12co")
			topic := e.uploadPushCertificate(ta)
			_, pin := e.deviceUser(ta, "p12@p12co.example.com")
			status, ct, signed := e.enrollPost(url.Values{"username": {"p12@p12co.example.com"}, "pin": {pin}})
			if status != 200 || ct != applemdm.ProfileContentType {
				t.Fatalf("enrollment: %d %s: %.300s", status, ct, signed)
			}
			inner, signer, err := enroll.ReadSignedProfile(signed)
			if err != nil {
				t.Fatal(err)
			}
			var top struct {
				PayloadContent []map[string]any `plist:"PayloadContent"`
			}
			if err := plist.Unmarshal(inner, &top); err != nil {
				t.Fatal(err)
			}
			var (
				p12      []byte
				password string
				identUID string
				mdmIdent string
			)
			for _, pl := range top.PayloadContent {
				switch pl["PayloadType"] {
				case "com.apple.security.scep":
					t.Fatal("a PKCS#12 profile carries a SCEP payload")
				case "com.apple.security.pkcs12":
					p12, _ = pl["PayloadContent"].([]byte)
					password, _ = pl["Password"].(string)
					identUID, _ = pl["PayloadUUID"].(string)
				case "com.apple.mdm":
					mdmIdent, _ = pl["IdentityCertificateUUID"].(string)
				}
			}
			if len(p12) == 0 || password == "" || identUID == "" || mdmIdent != identUID {
				t.Fatalf("PKCS#12 payload: %d bytes, password set %v, UUID %q, MDM payload's identity %q",
					len(p12), password != "", identUID, mdmIdent)
			}
			if _, _, _, err := pkcs12.DecodeChain(p12, password+"x"); err == nil {
				t.Fatal("the PKCS#12 file opens with a wrong password")
			}
			key, cert, chain, err := pkcs12.DecodeChain(p12, password)
			if err != nil {
				t.Fatalf("DecodeChain: %v", err)
			}
			rsaKey, ok := key.(*rsa.PrivateKey)
			if !ok || !rsaKey.PublicKey.Equal(cert.PublicKey) {
				t.Fatalf("the PKCS#12 key (%T) does not match its certificate", key)
			}
			if len(chain) != 1 || !chain[0].Equal(signer) || cert.CheckSignatureFrom(chain[0]) != nil {
				t.Fatalf("the identity is not issued by the CA that signs the profile (chain of %d)", len(chain))
			}
			var issued int
			if err := e.srv.Store().DB().QueryRow("SELECT COUNT(*) FROM apple_enrollments WHERE id = $1 AND cert_issued_at IS NOT NULL",
				cert.Subject.CommonName).Scan(&issued); err != nil || issued != 1 {
				t.Fatalf("the enrollment %q is not marked issued: %d, %v", cert.Subject.CommonName, issued, err)
			}

			d := &appleDevice{e: e, udid: hexUDID(30), topic: topic, key: rsaKey, cert: cert, base: e.url, how: "sign"}
			if s := d.authenticate(); s != 200 {
				t.Fatalf("Authenticate with the PKCS#12 identity: %d", s)
			}
			if s := d.tokenUpdate(); s != 200 {
				t.Fatalf("TokenUpdate with the PKCS#12 identity: %d", s)
			}
			if status, cmd := d.connect(map[string]any{"Status": "Idle"}); status != 200 || requestType(cmd) != "DeviceInformation" {
				t.Fatalf("connect with the PKCS#12 identity: %d %v, want DeviceInformation", status, cmd)
			}
			if v := e.getDevice(ta, e.appleDeviceID(ta, "SN"+d.udid[:8])); v.RegistrationState != mdm.StateActive ||
				v.EmailAddress != "p12@p12co.example.com" {
				t.Fatalf("device %+v", v)
			}
		})
	}
}

// foreignCert is a certificate and key no Steward CA issued.
func foreignCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "not-ours"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// count runs a COUNT query.
func (e *apiEnv) count(query string) int {
	e.t.Helper()
	var n int
	if err := e.srv.Store().DB().QueryRow(query).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
