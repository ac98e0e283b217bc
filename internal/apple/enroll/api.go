package enroll

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"net/http"
	"time"

	_ "github.com/smallstep/pkcs7" // CMS signing (profiles) and Mdm-Signature
	_ "github.com/smallstep/scep"
	_ "software.sslmate.com/src/go-pkcs12"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// CA is the deployment's certificate authority for Apple devices.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LoadCA returns the deployment's CA from store, making it (RSA 2048, valid 20 years) on first use;
// replicas starting together end with the same one (mdm.AppleStore.InitCA).
func LoadCA(ctx context.Context, store mdm.AppleStore, keys *secret.Keys, now time.Time) (*CA, error) {
	panic("not implemented")
}

// Issue signs a device identity certificate for csr's public key (its signature checked), whose
// subject's common name is commonName (the enrollment ID, whatever the CSR asked for), for client
// authentication, valid from an hour before now for validity.
func (ca *CA) Issue(csr *x509.CertificateRequest, commonName string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	panic("not implemented")
}

// Verify checks that cert is a device identity certificate this CA issued and valid at now
// (unauthenticated otherwise).
func (ca *CA) Verify(cert *x509.Certificate, now time.Time) error { panic("not implemented") }

// Sign wraps a profile in a CMS SignedData (content attached, AES for anything encrypted), signed by
// a profile-signing certificate this CA issues, so a device can check the profile was not altered.
func (ca *CA) Sign(profile []byte) ([]byte, error) { panic("not implemented") }

// ProfileIdentifier is the PayloadIdentifier of every enrollment profile: RemoveProfile with it
// removes management (retire).
const ProfileIdentifier = "com.steward.enrollment"

// Profile is what an enrollment profile carries.
type Profile struct {
	Organization string // shown by the device as the profile's organization (the tenant's name)
	ServerURL    string // the connect endpoint
	CheckInURL   string // the check-in endpoint
	Topic        string // the tenant's push certificate topic
	AccessRights int    // the MDM payload's AccessRights bit field
	// Identity: SCEP (the device makes its key and asks SCEPURL for a certificate with Challenge) or a
	// PKCS#12 identity made by the server (PKCS12 with its Password).
	SCEPURL   string
	Challenge string
	Subject   string // common name the device asks for in its CSR (the enrollment ID)
	PKCS12    []byte
	Password  string
	CACert    *x509.Certificate // installed as a trusted root so the device trusts its identity's issuer
}

// BuildProfile returns the profile as an XML plist (unsigned): a Configuration payload holding the
// identity payload (SCEP or PKCS#12), the CA certificate and the MDM payload, whose IdentityCertificateUUID
// names the identity payload and which asks the device to sign its messages (SignMessage), so that
// Mdm-Signature identifies it behind any proxy. Missing fields are invalid errors.
func BuildProfile(p Profile) ([]byte, error) { panic("not implemented") }

// ReadSignedProfile checks a signed profile's CMS signature and returns the plist inside and the
// signer's certificate (for clients and tests: the simulator reads its profile with it).
func ReadSignedProfile(signed []byte) (profile []byte, signer *x509.Certificate, err error) {
	panic("not implemented")
}

// IssueFunc checks a SCEP enrollment's challenge and returns the common name the certificate must
// carry (the enrollment ID), marking the challenge used. A wrong, used or expired challenge is an
// error (the SCEP answer is a failure with badRequest, never a certificate).
type IssueFunc func(ctx context.Context, challenge string, csr *x509.CertificateRequest) (commonName string, err error)

// SCEPServer serves SCEP (RFC 8894): GetCACaps, GetCACert and PKIOperation (GET and POST).
type SCEPServer struct {
	CA       *CA
	Check    IssueFunc
	Validity time.Duration // of issued certificates (default one year)
	Now      func() time.Time
}

func (s *SCEPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { panic("not implemented") }

// PKCS12Identity makes a device identity on the server (an RSA 2048 key and a certificate for
// commonName), for profiles that carry a PKCS#12 identity instead of SCEP, protected by password.
func (ca *CA) PKCS12Identity(commonName, password string, now time.Time, validity time.Duration) ([]byte, error) {
	panic("not implemented")
}

// RequestCertificate is the device side of SCEP, for the simulator and tests: it asks scepURL for a
// certificate for key with challenge and subject (common name), and returns the issued certificate.
func RequestCertificate(ctx context.Context, client *http.Client, scepURL, challenge, subject string, key *rsa.PrivateKey) (*x509.Certificate, error) {
	panic("not implemented")
}
