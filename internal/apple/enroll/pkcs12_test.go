package enroll

import (
	"crypto/rsa"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"steward/internal/mdm"
)

func TestPKCS12Identity(t *testing.T) {
	ca := testCA(t)
	now := time.Now()
	p12, err := ca.PKCS12Identity("enrollment-9", "s3cret", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, cert, chain, err := pkcs12.DecodeChain(p12, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() != 2048 || !rk.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("key %T does not match the certificate or is not RSA 2048", key)
	}
	if cert.Subject.CommonName != "enrollment-9" {
		t.Errorf("common name %q", cert.Subject.CommonName)
	}
	if err := ca.Verify(cert, now); err != nil {
		t.Errorf("identity does not verify with the CA: %v", err)
	}
	if len(chain) != 1 || !chain[0].Equal(ca.Cert) {
		t.Errorf("chain holds %d certificates, want the CA", len(chain))
	}
	if _, _, err := pkcs12.Decode(p12, "wrong"); err == nil {
		t.Error("decoded with the wrong password")
	}
	if _, err := ca.PKCS12Identity("e", "", now, time.Hour); mdm.ErrorCode(err) != mdm.Invalid {
		t.Errorf("empty password: %v", err)
	}
	if _, err := ca.PKCS12Identity("", "p", now, time.Hour); mdm.ErrorCode(err) != mdm.Invalid {
		t.Errorf("no common name: %v", err)
	}
}
