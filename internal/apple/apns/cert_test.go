package apns

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"
)

var farFuture = time.Now().Add(10 * 365 * 24 * time.Hour)

const testTopic = "com.apple.mgmt.External.5c0ffee0-1111-4222-8333-944445555666"

// newCert makes a self-signed push-like certificate: subject UID = uid (none when empty), usable as a
// TLS client certificate.
func newCert(t testing.TB, key crypto.Signer, uid string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	subject := pkix.Name{CommonName: "APSP:test"}
	if uid != "" {
		subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidUID, Value: uid}}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      subject,
		NotBefore:    notAfter.Add(-365 * 24 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func pkcs8PEM(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestParsePushCertificatePEM(t *testing.T) {
	later := time.Now().Add(365 * 24 * time.Hour).Truncate(time.Second).UTC()
	rk, ek, other := rsaKey(t), ecKey(t), ecKey(t)
	rc, ec := newCert(t, rk, testTopic, later), newCert(t, ek, testTopic, later)
	ca := newCert(t, other, "", later) // a chain certificate, not the leaf
	noUID := newCert(t, ek, "", later)
	expired := newCert(t, ek, testTopic, time.Now().Add(-time.Hour).Truncate(time.Second).UTC())
	ecDER, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	rsaPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	ecSEC1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})

	tests := []struct {
		name     string
		data     []byte
		leaf     *x509.Certificate
		chainLen int
		wantErr  error // nil: a valid certificate
		anyErr   bool  // an error with no sentinel
	}{
		{name: "RSA PKCS#1, certificate first", data: cat(certPEM(rc), rsaPKCS1), leaf: rc, chainLen: 1},
		{name: "RSA PKCS#8, key first", data: cat(pkcs8PEM(t, rk), certPEM(rc)), leaf: rc, chainLen: 1},
		{name: "EC SEC 1, key first", data: cat(ecSEC1, certPEM(ec)), leaf: ec, chainLen: 1},
		{name: "chain before leaf", data: cat(certPEM(ca), pkcs8PEM(t, ek), certPEM(ec)), leaf: ec, chainLen: 2},
		{name: "no key", data: certPEM(rc), wantErr: ErrNoKey},
		{name: "no certificate", data: rsaPKCS1, wantErr: ErrNoCertificate},
		{name: "key of another certificate", data: cat(certPEM(rc), ecSEC1), wantErr: ErrKeyMismatch},
		{name: "no UID", data: cat(certPEM(noUID), ecSEC1), wantErr: ErrNoTopic},
		{name: "expired", data: cat(certPEM(expired), ecSEC1), leaf: expired, chainLen: 1, wantErr: ErrExpired},
		{name: "encrypted key", data: cat(certPEM(rc), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})), anyErr: true},
		{name: "garbage key", data: cat(certPEM(rc), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")})), anyErr: true},
		{name: "neither PEM nor PKCS#12", data: []byte("hello"), anyErr: true},
		{name: "empty", data: nil, anyErr: true},
		{name: "too large", data: cat(certPEM(rc), rsaPKCS1, make([]byte, maxUpload)), anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := ParsePushCertificate(tt.data, "")
			switch {
			case tt.anyErr:
				if err == nil || pc != nil {
					t.Fatalf("got %v, %v; want an error and no certificate", pc, err)
				}
				return
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.leaf == nil {
				if pc != nil {
					t.Fatalf("got a certificate with error %v", err)
				}
				return
			}
			if pc == nil {
				t.Fatal("no certificate returned")
			}
			if pc.Topic != testTopic || !pc.NotAfter.Equal(tt.leaf.NotAfter) {
				t.Errorf("topic %q, not after %v; want %q, %v", pc.Topic, pc.NotAfter, testTopic, tt.leaf.NotAfter)
			}
			if len(pc.Cert.Certificate) != tt.chainLen || !pc.Cert.Leaf.Equal(tt.leaf) || string(pc.Cert.Certificate[0]) != string(tt.leaf.Raw) {
				t.Errorf("chain of %d with the wrong leaf first, want %d", len(pc.Cert.Certificate), tt.chainLen)
			}
		})
	}
}

// testdata/push.p12 was made with OpenSSL 3.0:
//
//	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 36500 \
//	  -subj "/UID=com.apple.mgmt.External.0f8e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b/CN=APSP:0f8e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b/C=US"
//	openssl pkcs12 -export -in cert.pem -inkey key.pem -out push.p12 -passout pass:fixture-pw \
//	  -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1
//
// and testdata/push-aes.p12 by the same export without the -certpbe, -keypbe and -macalg options
// (OpenSSL 3's default AES-256 and PBKDF2, which golang.org/x/crypto/pkcs12 does not read).
func TestParsePushCertificatePKCS12(t *testing.T) {
	data, err := os.ReadFile("testdata/push.p12")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ParsePushCertificate(data, "fixture-pw")
	if err != nil {
		t.Fatal(err)
	}
	if want := "com.apple.mgmt.External.0f8e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b"; pc.Topic != want {
		t.Errorf("topic %q, want %q", pc.Topic, want)
	}
	if pc.NotAfter.Year() != 2126 || pc.Cert.PrivateKey == nil || len(pc.Cert.Certificate) != 1 {
		t.Errorf("not after %v, key %T, chain of %d", pc.NotAfter, pc.Cert.PrivateKey, len(pc.Cert.Certificate))
	}

	if pc, err := ParsePushCertificate(data, "wrong"); !errors.Is(err, ErrBadPassword) || pc != nil {
		t.Errorf("wrong password: %v, %v; want ErrBadPassword", pc, err)
	}
	aes, err := os.ReadFile("testdata/push-aes.p12")
	if err != nil {
		t.Fatal(err)
	}
	if pc, err := ParsePushCertificate(aes, "fixture-pw"); err == nil || pc != nil {
		t.Errorf("AES PKCS#12: %v, %v; want an error", pc, err)
	} else {
		t.Logf("AES PKCS#12: %v", err)
	}
}
