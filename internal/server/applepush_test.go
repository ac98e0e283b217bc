package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"steward/internal/applemdm"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// testPush is a self-signed stand-in for an Apple MDM push certificate: its subject's UID is the topic.
type testPush struct {
	Topic string
	Leaf  *x509.Certificate
	PEM   []byte // certificate and PKCS#8 key
	P12   []byte // the same in PKCS#12 (3DES), password P12Password
}

const p12Password = "p12-fixture-pw"

var oidUserID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

func newTestTopic() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return "com.apple.mgmt.External." + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// makePushCert makes a push-like certificate with topic (none when empty) valid until notAfter.
func makePushCert(t *testing.T, topic string, notAfter time.Time) testPush {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "APSP:test", Country: []string{"US"}}
	if topic != "" {
		subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidUserID, Value: topic}}
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: notAfter.Add(-2 * 365 * 24 * time.Hour),
		NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := gopkcs12.LegacyDES.Encode(key, leaf, nil, p12Password)
	if err != nil {
		t.Fatal(err)
	}
	return testPush{Topic: topic, Leaf: leaf, P12: p12,
		PEM: append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)}
}

func yearFromNow() time.Time { return time.Now().Add(365 * 24 * time.Hour).Truncate(time.Second) }

// uploadBody is the JSON of PUT /api/v1/apple/pushcertificate.
func uploadBody(file []byte, password string, allowTopicChange bool) string {
	b, _ := json.Marshal(map[string]any{"certificate": base64.StdEncoding.EncodeToString(file), "password": password,
		"allowTopicChange": allowTopicChange})
	return string(b)
}

type pushCertView struct {
	Topic        string `json:"topic"`
	NotAfter     int64  `json:"notAfter"`
	UploadedAt   int64  `json:"uploadedAt"`
	UploadedBy   string `json:"uploadedBy"`
	DaysLeft     int    `json:"daysLeft"`
	ExpiringSoon bool   `json:"expiringSoon"`
	Expired      bool   `json:"expired"`
}

const pushPath = "/api/v1/apple/pushcertificate"

// createIOSDevice registers an iOS device of tenant directly in the store (the Apple enrollment flow
// is not needed here): ACTIVE, with an Apple record, push magic and token.
func createIOSDevice(t *testing.T, e *apiEnv, tenant mdm.TenantID, account int64, topic, token, magic string) mdm.DeviceID {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	st := e.srv.Store()
	b := make([]byte, 32)
	rand.Read(b)
	d, err := st.Devices().Create(ctx, mdm.NewDevice{TenantID: tenant, AccountID: mdm.AccountID(account), GUID: newTestGUID(),
		Platform: mdm.PlatformIOS, Kind: mdm.KindIPhone, Facts: mdm.DeviceFacts{DeviceName: "iPhone", Model: "iPhone14,2"},
		CredentialHash: b}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Apple().PutDevice(ctx, mdm.AppleDevice{TenantID: tenant, DeviceID: d.ID, UDID: strings.ToUpper(hex.EncodeToString(b[:12])),
		Topic: topic, EnrolledAt: now}); err != nil {
		t.Fatal(err)
	}
	// The token was reported a while ago: a refusal by APNs now is about this token.
	if err := st.Apple().SetToken(ctx, tenant, d.ID, applemdm.SealPushMagic(e.srv.keys, magic), nil, topic, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Devices().SetPushToken(ctx, tenant, d.ID, token, now); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func newTestGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// roleUser adds a user of tenant holding role and returns its "user:pw".
func roleUser(t *testing.T, e *apiEnv, tenant mdm.TenantID, email, role string) string {
	t.Helper()
	const pw = "Role-user-pw-1"
	now := time.Now()
	a := mdm.Account{TenantID: tenant, Username: email, Email: email, FirstName: "R", LastName: "R",
		PasswordHash: secret.HashPassword(pw), Roles: []string{role}, Enabled: true, CreatedAt: now, ModifiedAt: now}
	if err := e.srv.Store().InTx(t.Context(), func(tx mdm.Stores) error { return tx.Accounts().Create(t.Context(), &a) }); err != nil {
		t.Fatal(err)
	}
	return email + ":" + pw
}

// TestApplePushCertificateAPI uploads, reads, replaces and deletes push certificates through the API
// on both databases: PEM and PKCS#12; every bad upload is a 400 naming the field that stores nothing;
// a topic change while iOS devices are enrolled is a 409 unless allowed; roles without SystemManage
// cannot upload; another tenant sees nothing; the audit trail names the topic and never the key.
func TestApplePushCertificateAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			a, ta := e.createTenant("Pusha")
			_, tb := e.createTenant("Pushb")
			tenant := mdm.TenantID(a.ID)

			if r := e.call("GET", pushPath, ta, ""); r.Status != 404 {
				t.Fatalf("before any upload: %d, want 404: %s", r.Status, r.Body)
			}
			first := makePushCert(t, newTestTopic(), yearFromNow())

			bad := []struct {
				name, body, field string
			}{
				{"wrong PKCS#12 password", uploadBody(first.P12, "wrong", false), "password"},
				{"no password for PKCS#12", uploadBody(first.P12, "", false), "password"},
				{"not a push certificate", uploadBody(makePushCert(t, "", yearFromNow()).PEM, "", false), "certificate"},
				{"expired", uploadBody(makePushCert(t, newTestTopic(), time.Now().Add(-time.Hour)).PEM, "", false), "certificate"},
				{"oversize", uploadBody(append(append([]byte{}, first.PEM...), make([]byte, 70<<10)...), "", false), "certificate"},
				{"certificate without key", uploadBody(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: first.Leaf.Raw}), "", false), "certificate"},
				{"garbage", uploadBody([]byte("hello, not a certificate"), "", false), "certificate"},
				{"empty", uploadBody(nil, "", false), "certificate"},
				{"not base64", `{"certificate":"%%%not base64%%%"}`, "certificate"},
			}
			for _, tt := range bad {
				r := e.call("PUT", pushPath, ta, tt.body)
				if r.Status != 400 || r.field() != tt.field {
					t.Errorf("%s: %d field %q, want 400 on %s: %s", tt.name, r.Status, r.field(), tt.field, r.Body)
				}
				if got := e.call("GET", pushPath, ta, ""); got.Status != 404 {
					t.Fatalf("after %s: GET %d, want 404 (nothing stored)", tt.name, got.Status)
				}
			}

			// PEM upload.
			var got pushCertView
			e.call("PUT", pushPath, ta, uploadBody(first.PEM, "", false)).must(t, 200, &got)
			if got.Topic != first.Topic || got.NotAfter != first.Leaf.NotAfter.UnixMilli() || got.Expired || got.ExpiringSoon ||
				got.DaysLeft < 363 || got.UploadedBy != "ta@pusha.example.com" {
				t.Errorf("uploaded = %+v, want topic %s expiring %v", got, first.Topic, first.Leaf.NotAfter)
			}
			var read pushCertView
			e.call("GET", pushPath, ta, "").must(t, 200, &read)
			if read != got {
				t.Errorf("GET = %+v, want %+v", read, got)
			}
			stored, err := e.srv.Store().Apple().PushCertificate(t.Context(), tenant)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(stored.KeySealed), "PRIVATE KEY") || len(stored.KeySealed) == 0 ||
				!strings.Contains(string(stored.CertPEM), "BEGIN CERTIFICATE") || strings.Contains(string(stored.CertPEM), "PRIVATE") {
				t.Errorf("stored certificate holds its key in the clear or no certificate")
			}

			// A bad upload leaves the stored certificate as it was.
			if r := e.call("PUT", pushPath, ta, uploadBody(first.P12, "wrong", false)); r.Status != 400 {
				t.Errorf("wrong password over a stored certificate: %d", r.Status)
			}

			// PKCS#12 renewal with the same topic, while an iOS device is enrolled: fine.
			device := createIOSDevice(t, e, tenant, e.accountID(ta, "ta@pusha.example.com"), first.Topic,
				strings.Repeat("ab", 32), "magic-1")
			renewed := makePushCert(t, first.Topic, yearFromNow().Add(24*time.Hour))
			e.call("PUT", pushPath, ta, uploadBody(renewed.P12, p12Password, false)).must(t, 200, &got)
			if got.Topic != first.Topic || got.NotAfter != renewed.Leaf.NotAfter.UnixMilli() {
				t.Errorf("PKCS#12 renewal = %+v, want notAfter %v", got, renewed.Leaf.NotAfter)
			}

			// Another topic while the device is enrolled: refused, then allowed on request.
			other := makePushCert(t, newTestTopic(), yearFromNow())
			r := e.call("PUT", pushPath, ta, uploadBody(other.PEM, "", false))
			if r.Status != 409 || !strings.Contains(r.Body, "allowTopicChange") {
				t.Errorf("topic change with an enrolled device: %d, want 409 naming allowTopicChange: %s", r.Status, r.Body)
			}
			e.call("GET", pushPath, ta, "").must(t, 200, &read)
			if read.Topic != first.Topic {
				t.Errorf("after the refused topic change the topic is %s", read.Topic)
			}
			e.call("PUT", pushPath, ta, uploadBody(other.PEM, "", true)).must(t, 200, &got)
			if got.Topic != other.Topic {
				t.Errorf("allowed topic change: topic %s, want %s", got.Topic, other.Topic)
			}
			// Once the device is retired, a topic change needs no permission.
			if _, err := e.srv.Store().Devices().SetState(t.Context(), tenant, []mdm.DeviceID{device},
				[]string{mdm.StateActive}, mdm.StateRetired, time.Now()); err != nil {
				t.Fatal(err)
			}
			e.call("PUT", pushPath, ta, uploadBody(first.PEM, "", false)).must(t, 200, &got)

			// Roles: a read-only system role reads but cannot upload or delete; device and user roles do neither.
			sro := roleUser(t, e, tenant, "sro@pusha.example.com", authz.RoleSystemReadOnly)
			if r := e.call("GET", pushPath, sro, ""); r.Status != 200 {
				t.Errorf("SYSTEM_READ_ONLY GET: %d, want 200", r.Status)
			}
			for _, role := range []string{authz.RoleSystemReadOnly, authz.RoleDeviceActions, authz.RoleDeviceManagement, authz.RoleUserManagement} {
				user := roleUser(t, e, tenant, strings.ToLower(strings.ReplaceAll(role, "_", ""))+"@x.pusha.example.com", role)
				if role == authz.RoleSystemReadOnly {
					user = sro
				}
				for _, m := range []string{"PUT", "DELETE"} {
					if r := e.call(m, pushPath, user, uploadBody(other.PEM, "", true)); r.Status != 403 {
						t.Errorf("%s %s: %d, want 403", role, m, r.Status)
					}
				}
			}
			e.call("GET", pushPath, ta, "").must(t, 200, &read)
			if read.Topic != first.Topic {
				t.Errorf("a refused caller changed the topic to %s", read.Topic)
			}

			// Another tenant sees nothing and deletes nothing; its own certificate is its own.
			for _, m := range []string{"GET", "DELETE"} {
				if r := e.call(m, pushPath, tb, ""); r.Status != 404 {
					t.Errorf("tenant B %s: %d, want 404", m, r.Status)
				}
			}
			e.call("PUT", pushPath, tb, uploadBody(other.PEM, "", false)).must(t, 200, nil)
			e.call("GET", pushPath, ta, "").must(t, 200, &read)
			if read.Topic != first.Topic {
				t.Errorf("tenant B's upload changed tenant A's topic to %s", read.Topic)
			}
			if r := e.call("GET", pushPath, e.admin(), ""); r.Status != 403 {
				t.Errorf("System Admin GET: %d, want 403", r.Status)
			}

			// Delete.
			e.call("DELETE", pushPath, ta, "").must(t, 200, nil)
			if r := e.call("GET", pushPath, ta, ""); r.Status != 404 {
				t.Errorf("after delete: %d, want 404", r.Status)
			}
			if r := e.call("DELETE", pushPath, ta, ""); r.Status != 404 {
				t.Errorf("second delete: %d, want 404", r.Status)
			}
			e.call("GET", pushPath, tb, "").must(t, 200, &read)
			if read.Topic != other.Topic {
				t.Errorf("tenant A's delete touched tenant B: %+v", read)
			}

			// The audit trail names topics, never key material.
			var trail page[struct {
				Action  string         `json:"action"`
				Details map[string]any `json:"details"`
			}]
			r = e.call("GET", "/api/v1/audit?rows=100&fq="+url.QueryEscape("action=apple.pushcert.*"), ta, "")
			r.must(t, 200, &trail)
			uploads, deletes := 0, 0
			for _, a := range trail.SearchResults {
				switch a.Action {
				case "apple.pushcert.upload":
					uploads++
				case "apple.pushcert.delete":
					deletes++
				}
				if a.Details["topic"] == nil {
					t.Errorf("audit %s without topic: %v", a.Action, a.Details)
				}
			}
			if uploads != 4 || deletes != 1 {
				t.Errorf("audit: %d uploads and %d deletes, want 4 and 1: %s", uploads, deletes, r.Body)
			}
			keyText := base64.StdEncoding.EncodeToString(first.PEM)
			if strings.Contains(r.Body, "PRIVATE") || strings.Contains(r.Body, keyText[len(keyText)/2:len(keyText)/2+40]) {
				t.Error("the audit trail shows key material")
			}
		})
	}
}

// TestApplePushExpiryFlags: a certificate expiring within 30 days is flagged with its days left.
func TestApplePushExpiryFlags(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Soon")
	soon := makePushCert(t, newTestTopic(), time.Now().Add(10*24*time.Hour+time.Hour))
	var got pushCertView
	e.call("PUT", pushPath, ta, uploadBody(soon.PEM, "", false)).must(t, 200, &got)
	if !got.ExpiringSoon || got.Expired || got.DaysLeft != 10 {
		t.Errorf("10 days left: %+v, want expiringSoon and daysLeft 10", got)
	}
	n, err := e.srv.apple.ExpiryWarnings(t.Context())
	if err != nil || n != 1 {
		t.Errorf("expiry warnings: %d, %v; want 1", n, err)
	}
}
