// Package identity finds the certificate an Apple device identifies itself with on an MDM request: the
// TLS client certificate, a certificate a TLS-terminating proxy forwards in a header (RFC 9440), or the
// Mdm-Signature header (a detached CMS signature over the body).
package identity

import (
	"crypto"
	"crypto/x509"
	"net/http"
)

// SignatureHeader is the header a device that signs its messages sends.
const SignatureHeader = "Mdm-Signature"

// Source says where to look for a device's certificate.
type Source struct {
	// ProxyHeader names the header a TLS-terminating proxy puts the client certificate in, in RFC 9440
	// form (":base64-DER:"); "" ignores such headers, since a client could set one itself.
	ProxyHeader string
}

// Certificate returns the certificate the request identifies itself with, body being the request's
// whole body: the TLS peer certificate first, then the proxy header when configured, then
// Mdm-Signature (whose signature must verify over body). No certificate, a malformed header or a
// signature that does not verify is an unauthenticated error. It does not check who issued the
// certificate: that is the CA's Verify.
func (s Source) Certificate(r *http.Request, body []byte) (*x509.Certificate, error) {
	panic("not implemented")
}

// Sign returns the Mdm-Signature header value for body: a detached CMS signature by cert and key,
// base64-encoded, as a device that signs its messages sends (for the simulator and tests).
func Sign(body []byte, cert *x509.Certificate, key crypto.Signer) (string, error) {
	panic("not implemented")
}
