package enroll

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/smallstep/pkcs7"

	"steward/internal/mdm"
	"steward/internal/secret"
)

func init() {
	// Anything this package encrypts (SCEP answers) uses AES: the library's default is single DES.
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES128CBC
}

// caValidity is how long the deployment's CA lasts.
const caValidity = 20 * 365 * 24 * time.Hour

// caName is the CA's subject common name.
const caName = "Steward Device CA"

// LoadCA returns the deployment's CA from store, making it (RSA 2048, valid 20 years) on first use;
// replicas starting together end with the same one (mdm.AppleStore.InitCA).
func LoadCA(ctx context.Context, store mdm.AppleStore, keys *secret.Keys, now time.Time) (*CA, error) {
	stored, err := store.CA(ctx)
	if mdm.ErrorCode(err) == mdm.NotFound {
		made, merr := newCA(keys, now)
		if merr != nil {
			return nil, merr
		}
		stored, err = store.InitCA(ctx, *made)
	}
	if err != nil {
		return nil, fmt.Errorf("load apple CA: %w", err)
	}
	return openCA(stored, keys)
}

// newCA makes a self-signed CA, its key sealed for storage.
func newCA(keys *secret.Keys, now time.Time) (*mdm.AppleCA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("make apple CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caName, Organization: []string{"Steward"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// CertSign for identities, DigitalSignature for profiles and SCEP answers, KeyEncipherment
		// because SCEP clients encrypt their requests to this certificate.
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature |
			x509.KeyUsageKeyEncipherment,
		// The profile installs this CA as a trusted root. Limited to client authentication (what its
		// device identities are for), it cannot vouch for a TLS server, code or mail even if its key
		// leaked: platforms that check usage along the chain (Apple's, Go's) refuse those.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make apple CA certificate: %w", err)
	}
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode apple CA key: %w", err)
	}
	return &mdm.AppleCA{CertDER: der, KeySealed: keys.Seal(pk8), CreatedAt: now}, nil
}

// openCA parses a stored CA and checks that its key belongs to its certificate.
func openCA(stored *mdm.AppleCA, keys *secret.Keys) (*CA, error) {
	cert, err := x509.ParseCertificate(stored.CertDER)
	if err != nil {
		return nil, fmt.Errorf("parse apple CA certificate: %w", err)
	}
	pk8, err := keys.Open(stored.KeySealed)
	if err != nil {
		return nil, fmt.Errorf("open apple CA key (is this the deployment's secret key?): %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(pk8)
	if err != nil {
		return nil, fmt.Errorf("parse apple CA key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("apple CA key is %T, want RSA", parsed)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("apple CA key does not match its certificate")
	}
	return &CA{Cert: cert, Key: key, verified: &verifyCache{m: map[[32]byte]window{}}}, nil
}

func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	b[0] &= 0x7f // positive, and DER stays at 16 bytes or fewer
	return new(big.Int).SetBytes(b), nil
}

// Issue signs a device identity certificate for csr's public key (its signature checked), whose
// subject's common name is commonName (the enrollment ID, whatever the CSR asked for), for client
// authentication, valid from an hour before now for validity.
func (ca *CA) Issue(csr *x509.CertificateRequest, commonName string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	if csr == nil {
		return nil, mdm.Errorf(mdm.Invalid, "no certificate request")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, mdm.Wrap(mdm.Invalid, err, "certificate request signature does not verify")
	}
	return ca.issue(csr.PublicKey, commonName, now, validity)
}

func (ca *CA) issue(pub crypto.PublicKey, commonName string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	if commonName == "" {
		return nil, mdm.Errorf(mdm.Invalid, "no common name for the device certificate")
	}
	if validity <= 0 {
		return nil, mdm.Errorf(mdm.Invalid, "device certificate validity must be positive")
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              minTime(now.Add(validity), ca.Cert.NotAfter), // never outlives the CA
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		// An unsupported or malformed public key in the request.
		return nil, mdm.Wrap(mdm.Invalid, err, "cannot issue a certificate for this key")
	}
	return x509.ParseCertificate(der)
}

// Verify checks that cert is a device identity certificate this CA issued and valid at now
// (unauthenticated otherwise).
func (ca *CA) Verify(cert *x509.Certificate, now time.Time) error {
	if cert == nil {
		return mdm.Errorf(mdm.Unauthenticated, "no device certificate")
	}
	// A certificate without extended key usage would pass the chain check for any usage: device
	// certificates name client authentication explicitly.
	if cert.IsCA || bytes.Equal(cert.Raw, ca.Cert.Raw) || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return mdm.Errorf(mdm.Unauthenticated, "not a device certificate")
	}
	sum := sha256.Sum256(cert.Raw)
	if ca.verified.has(sum, now) {
		return nil
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return mdm.Wrap(mdm.Unauthenticated, err, "device certificate not valid")
	}
	ca.verified.add(sum, window{from: cert.NotBefore, to: minTime(cert.NotAfter, ca.Cert.NotAfter)})
	return nil
}

// maxVerified bounds the verification cache (32-byte keys: a few MiB at most).
const maxVerified = 100_000

// verifyCache remembers device certificates whose chain verified, with the time window in which
// that holds, so that a check-in does not pay for an RSA verification of the same certificate again.
// Only the certificate's exact bytes hit: anything else goes through the full check.
type verifyCache struct {
	mu sync.Mutex
	m  map[[32]byte]window
}

type window struct{ from, to time.Time }

func (c *verifyCache) has(sum [32]byte, now time.Time) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	w, ok := c.m[sum]
	c.mu.Unlock()
	return ok && !now.Before(w.from) && !now.After(w.to)
}

func (c *verifyCache) add(sum [32]byte, w window) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxVerified {
		clear(c.m)
	}
	c.m[sum] = w
	c.mu.Unlock()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Sign wraps a profile in a CMS SignedData (content attached, SHA-256), signed by the CA itself and
// carrying its certificate, so a device that trusts the CA (the profile installs it) can check the
// profile was not altered.
func (ca *CA) Sign(profile []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(profile)
	if err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(ca.Cert, ca.Key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	signed, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	return signed, nil
}

// ReadSignedProfile checks a signed profile's CMS signature and returns the plist inside and the
// signer's certificate (for clients and tests: the simulator reads its profile with it).
func ReadSignedProfile(signed []byte) (profile []byte, signer *x509.Certificate, err error) {
	p7, err := pkcs7.Parse(signed)
	if err != nil {
		return nil, nil, mdm.Wrap(mdm.Invalid, err, "not a signed profile")
	}
	signer = p7.GetOnlySigner()
	if signer == nil {
		return nil, nil, mdm.Errorf(mdm.Invalid, "signed profile must have exactly one signer with its certificate")
	}
	if len(p7.Content) == 0 {
		return nil, nil, mdm.Errorf(mdm.Invalid, "signed profile has no content")
	}
	if err := p7.Verify(); err != nil {
		return nil, nil, mdm.Wrap(mdm.Invalid, err, "profile signature does not verify")
	}
	return p7.Content, signer, nil
}
