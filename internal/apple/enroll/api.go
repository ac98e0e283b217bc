package enroll

import (
	"context"
	"crypto"
	"crypto/x509"
	"time"
)

// CA is the deployment's certificate authority for Apple devices.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer

	verified *verifyCache // certificates that passed Verify (nil: no caching; LoadCA sets it)
}

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
