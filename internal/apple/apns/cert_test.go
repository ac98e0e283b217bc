package apns

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
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

	gopkcs12 "software.sslmate.com/src/go-pkcs12"
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
// (OpenSSL 3's default: PBES2 with PBKDF2 and AES-256-CBC, SHA-256 MAC). Both hold the same certificate.
func TestParsePushCertificatePKCS12Files(t *testing.T) {
	for _, file := range []string{"testdata/push.p12", "testdata/push-aes.p12"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
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
			if pc.NotAfter.Year() != 2126 || len(pc.Cert.Certificate) != 1 {
				t.Errorf("not after %v, chain of %d", pc.NotAfter, len(pc.Cert.Certificate))
			}
			if _, ok := pc.Cert.PrivateKey.(*rsa.PrivateKey); !ok {
				t.Errorf("key %T, want RSA", pc.Cert.PrivateKey)
			}
			if pc, err := ParsePushCertificate(data, "wrong"); !errors.Is(err, ErrBadPassword) || pc != nil {
				t.Errorf("wrong password: %v, %v; want ErrBadPassword", pc, err)
			}
		})
	}
}

// TestParsePushCertificatePKCS12 encodes PKCS#12 files with each of go-pkcs12's encoders: the modern one
// (PBES2, PBKDF2, AES-256) and the legacy ones (3DES, and RC2 for the certificates), RSA and EC keys,
// with and without a chain.
func TestParsePushCertificatePKCS12(t *testing.T) {
	later := time.Now().Add(365 * 24 * time.Hour).Truncate(time.Second).UTC()
	rk, ek, other := rsaKey(t), ecKey(t), ecKey(t)
	rc, ec := newCert(t, rk, testTopic, later), newCert(t, ek, testTopic, later)
	ca := newCert(t, other, "", later)
	noUID := newCert(t, ek, "", later)

	encoders := []struct {
		name string
		enc  *gopkcs12.Encoder
	}{
		{"modern", gopkcs12.Modern},
		{"legacy 3DES", gopkcs12.LegacyDES},
		{"legacy RC2", gopkcs12.LegacyRC2},
	}
	for _, e := range encoders {
		t.Run(e.name, func(t *testing.T) {
			tests := []struct {
				name     string
				key      crypto.Signer
				leaf     *x509.Certificate
				chain    []*x509.Certificate
				wantLeaf *x509.Certificate // nil: an error is wanted
				wantErr  error
			}{
				{name: "RSA", key: rk, leaf: rc, wantLeaf: rc},
				{name: "EC with chain", key: ek, leaf: ec, chain: []*x509.Certificate{ca}, wantLeaf: ec},
				// The leaf is found by its key, not by being first in the file.
				{name: "chain certificate first", key: ek, leaf: ca, chain: []*x509.Certificate{ec}, wantLeaf: ec},
				{name: "key of another certificate", key: rk, leaf: ec, wantErr: ErrKeyMismatch},
				{name: "no UID", key: ek, leaf: noUID, wantErr: ErrNoTopic},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					const pw = "s3cret-ünïcode"
					data, err := e.enc.Encode(tt.key, tt.leaf, tt.chain, pw)
					if err != nil {
						t.Fatal(err)
					}
					pc, err := ParsePushCertificate(data, pw)
					if tt.wantLeaf == nil {
						if !errors.Is(err, tt.wantErr) || pc != nil {
							t.Fatalf("got %v, %v; want %v", pc, err, tt.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if pc.Topic != testTopic || !pc.Cert.Leaf.Equal(tt.wantLeaf) || string(pc.Cert.Certificate[0]) != string(tt.wantLeaf.Raw) {
						t.Errorf("topic %q, leaf %v; want %q, %v", pc.Topic, pc.Cert.Leaf.Subject, testTopic, tt.wantLeaf.Subject)
					}
					if want := 1 + len(tt.chain); len(pc.Cert.Certificate) != want {
						t.Errorf("chain of %d, want %d", len(pc.Cert.Certificate), want)
					}
					if pub, ok := pc.Cert.PrivateKey.(crypto.Signer); !ok || !tt.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub.Public()) {
						t.Errorf("private key %T is not the encoded one", pc.Cert.PrivateKey)
					}
					if pc, err := ParsePushCertificate(data, "wrong"); !errors.Is(err, ErrBadPassword) || pc != nil {
						t.Errorf("wrong password: %v, %v; want ErrBadPassword", pc, err)
					}
					if pc, err := ParsePushCertificate(data, ""); !errors.Is(err, ErrBadPassword) || pc != nil {
						t.Errorf("no password: %v, %v; want ErrBadPassword", pc, err)
					}
				})
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		expired := newCert(t, ek, testTopic, time.Now().Add(-time.Hour).Truncate(time.Second).UTC())
		data, err := gopkcs12.Modern.Encode(ek, expired, nil, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if pc, err := ParsePushCertificate(data, "pw"); !errors.Is(err, ErrExpired) || pc == nil || pc.Topic != testTopic {
			t.Errorf("got %v, %v; want the certificate and ErrExpired", pc, err)
		}
	})
	t.Run("Ed25519 key", func(t *testing.T) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: testTopic}}}, NotAfter: later}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		data, err := gopkcs12.Modern.Encode(priv, c, nil, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if pc, err := ParsePushCertificate(data, "pw"); err == nil || pc != nil {
			t.Errorf("got %v, %v; want an error", pc, err)
		}
	})
	t.Run("certificates only", func(t *testing.T) {
		data, err := gopkcs12.Modern.EncodeTrustStore([]*x509.Certificate{rc, ca}, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if pc, err := ParsePushCertificate(data, "pw"); !errors.Is(err, ErrNoKey) || pc != nil {
			t.Errorf("got %v, %v; want ErrNoKey", pc, err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		data, err := gopkcs12.Modern.Encode(rk, rc, nil, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if pc, err := ParsePushCertificate(data[:len(data)/2], "pw"); err == nil || pc != nil || errors.Is(err, ErrBadPassword) {
			t.Errorf("got %v, %v; want an error other than a wrong password", pc, err)
		}
	})
}
