// Package apns sends Apple MDM wake-up pushes through the Apple Push Notification service with a
// tenant's push certificate, and reads the push certificates tenants upload.
package apns

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// PushCertificate is a tenant's APNs push certificate with its private key.
type PushCertificate struct {
	Cert     tls.Certificate // leaf first, then any chain certificates; Leaf is set
	Topic    string          // the subject's UID, e.g. "com.apple.mgmt.External.<uuid>": the push topic
	NotAfter time.Time
}

// Errors ParsePushCertificate wraps, for errors.Is.
var (
	ErrNoCertificate = errors.New("no certificate found")
	ErrNoKey         = errors.New("no private key found")
	ErrKeyMismatch   = errors.New("the private key does not match the certificate")
	ErrNoTopic       = errors.New("the certificate has no UID topic: not an MDM push certificate")
	ErrBadPassword   = errors.New("wrong PKCS#12 password")
	ErrExpired       = errors.New("the push certificate has expired")
)

// oidUID is the subject attribute carrying the push topic (userid, RFC 4519).
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// ParsePushCertificate reads a push certificate from PEM (certificate and private key, in either order,
// RSA or EC; further certificates are kept as the chain) or from PKCS#12 protected by password.
//
// An expired certificate is returned together with an error wrapping ErrExpired, so a caller can still
// show its topic and expiry; every other error comes with a nil certificate.
func ParsePushCertificate(data []byte, password string) (*PushCertificate, error) {
	return parseAt(data, password, time.Now())
}

// maxUpload bounds what is parsed: a push certificate with its key is a few kilobytes.
const maxUpload = 64 << 10

func parseAt(data []byte, password string, now time.Time) (*PushCertificate, error) {
	if len(data) > maxUpload {
		return nil, fmt.Errorf("%d bytes is too large for a push certificate (at most %d)", len(data), maxUpload)
	}
	read := fromPEM
	if !bytes.Contains(data, []byte("-----BEGIN ")) {
		read = func(data []byte) ([]*x509.Certificate, crypto.Signer, error) { return fromPKCS12(data, password) }
	}
	certs, key, err := read(data)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	if key == nil {
		return nil, ErrNoKey
	}
	leaf := -1
	for i, c := range certs {
		if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(key.Public()) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return nil, ErrKeyMismatch
	}
	chain := [][]byte{certs[leaf].Raw}
	for i, c := range certs {
		if i != leaf {
			chain = append(chain, c.Raw)
		}
	}
	pc := &PushCertificate{
		Cert:     tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: certs[leaf]},
		Topic:    topic(certs[leaf]),
		NotAfter: certs[leaf].NotAfter,
	}
	if pc.Topic == "" {
		return nil, ErrNoTopic
	}
	if now.After(pc.NotAfter) {
		return pc, fmt.Errorf("%w (on %s)", ErrExpired, pc.NotAfter.UTC().Format(time.DateOnly))
	}
	return pc, nil
}

// fromPEM reads every certificate and the one private key of PEM data.
func fromPEM(data []byte) ([]*x509.Certificate, crypto.Signer, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("unreadable certificate: %v", err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, nil, errors.New("more than one private key")
			}
			k, err := parseKey(b.Bytes)
			if err != nil {
				return nil, nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, errors.New("encrypted PEM private keys are not supported: upload the key unencrypted or as PKCS#12")
		}
	}
	return certs, key, nil
}

// fromPKCS12 reads the certificates and the private key of a password-protected PKCS#12 file, whether
// it uses the legacy ciphers (3DES, RC2 with SHA-1, as macOS Keychain and older OpenSSL export) or
// PBES2 with PBKDF2 and AES (OpenSSL 3's default). Which certificate is the leaf is decided later by
// the key, not by the order in the file.
func fromPKCS12(data []byte, password string) ([]*x509.Certificate, crypto.Signer, error) {
	if err := checkP12Cost(data); err != nil {
		return nil, nil, err
	}
	k, leaf, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword):
			return nil, nil, ErrBadPassword
		// The library has no sentinels for these two; the test for a key-less file guards the text.
		case err.Error() == "pkcs12: private key missing":
			return nil, nil, ErrNoKey
		case err.Error() == "pkcs12: certificate missing":
			return nil, nil, ErrNoCertificate
		}
		var ni pkcs12.NotImplementedError
		if errors.As(err, &ni) {
			return nil, nil, fmt.Errorf("unsupported PKCS#12 file (%v): export it again as PEM or with 3DES or AES encryption", err)
		}
		return nil, nil, fmt.Errorf("neither PEM nor a readable PKCS#12 file: %v", err)
	}
	key, err := signer(k)
	if err != nil {
		return nil, nil, err
	}
	return append([]*x509.Certificate{leaf}, chain...), key, nil
}

// parseKey accepts PKCS#8, PKCS#1 (RSA) and SEC 1 (EC) encodings, whatever the PEM label says:
// PKCS#12 conversion labels a PKCS#1 key "PRIVATE KEY".
func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return signer(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("unreadable private key: not PKCS#8, PKCS#1 or SEC 1")
}

// signer keeps the key types a TLS client certificate for APNs can use.
func signer(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return nil, errors.New("an Ed25519 key cannot sign for APNs: use RSA or EC")
	}
	return nil, fmt.Errorf("unsupported private key type %T", k)
}

func topic(c *x509.Certificate) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidUID) {
			if s, ok := n.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}
