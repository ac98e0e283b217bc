package enroll

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"steward/internal/mdm"
)

// PKCS12Identity makes a device identity on the server (an RSA 2048 key and a certificate for
// commonName), for profiles that carry a PKCS#12 identity instead of SCEP, protected by password.
func (ca *CA) PKCS12Identity(commonName, password string, now time.Time, validity time.Duration) ([]byte, error) {
	if password == "" {
		return nil, mdm.Errorf(mdm.Invalid, "a PKCS#12 identity needs a password")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("make device key: %w", err)
	}
	cert, err := ca.issue(&key.PublicKey, commonName, now, validity)
	if err != nil {
		return nil, err
	}
	// Legacy (3DES key bags, SHA-1 MAC) rather than Modern (AES and PBKDF2): the iOS and macOS
	// releases still in the field import PKCS#12 files from profiles only in the old form and
	// reject the newer encryption. The password travels in the same profile anyway, so the weaker
	// key derivation does not weaken the identity's protection.
	p12, err := pkcs12.Legacy.Encode(key, cert, []*x509.Certificate{ca.Cert}, password)
	if err != nil {
		return nil, fmt.Errorf("encode PKCS#12 identity: %w", err)
	}
	return p12, nil
}
