// Package identity finds the certificate an Apple device identifies itself with on an MDM request: the
// TLS client certificate, a certificate a TLS-terminating proxy forwards in a header (RFC 9440), or the
// Mdm-Signature header (a detached CMS signature over the body).
package identity

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/smallstep/pkcs7"

	"steward/internal/mdm"
)

// maxHeader bounds a certificate or signature header: a certificate chain of a few KiB, base64.
const maxHeader = 32 << 10

// SignatureHeader is the header a device that signs its messages sends.
const SignatureHeader = "Mdm-Signature"

// Source says where to look for a device's certificate.
type Source struct {
	// ProxyHeader names the header a TLS-terminating proxy puts the client certificate in, in RFC 9440
	// form (":base64-DER:"); "" ignores such headers, since a client could set one itself.
	ProxyHeader string
	// TrustedProxies are the peers whose ProxyHeader is believed: the header counts only when the
	// request's TCP peer (r.RemoteAddr, never a forwarded address) is inside one of them. A device's
	// certificate is public (it travels in every Mdm-Signature), so the header from anyone else would
	// let them impersonate the device. None: the header is never believed.
	TrustedProxies []netip.Prefix
}

// Certificate returns the certificate the request identifies itself with, body being the request's
// whole body: the TLS peer certificate first, then the proxy header when configured and sent by a
// trusted proxy (from any other peer it is ignored), then Mdm-Signature (whose signature must verify over body). No certificate, a malformed header or a
// signature that does not verify is an unauthenticated error. It does not check who issued the
// certificate: that is the CA's Verify.
func (s Source) Certificate(r *http.Request, body []byte) (*x509.Certificate, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return r.TLS.PeerCertificates[0], nil
	}
	if s.ProxyHeader != "" && s.trustedPeer(r.RemoteAddr) {
		if v := r.Header.Get(s.ProxyHeader); v != "" {
			return proxyCertificate(v)
		}
	}
	if v := r.Header.Get(SignatureHeader); v != "" {
		return signer(v, body)
	}
	return nil, mdm.Errorf(mdm.Unauthenticated, "no device identity")
}

// trustedPeer reports whether the TCP peer remoteAddr (host:port) is one of the trusted proxies.
func (s Source) trustedPeer(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// proxyCertificate reads an RFC 9440 Client-Cert value: the DER certificate in base64 between colons
// (a structured-field byte sequence).
func proxyCertificate(v string) (*x509.Certificate, error) {
	v = strings.TrimSpace(v)
	if len(v) > maxHeader || len(v) < 3 || v[0] != ':' || v[len(v)-1] != ':' {
		return nil, mdm.Errorf(mdm.Unauthenticated, "malformed client certificate header")
	}
	der, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
	if err != nil {
		return nil, mdm.Wrap(mdm.Unauthenticated, err, "malformed client certificate header")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, mdm.Wrap(mdm.Unauthenticated, err, "malformed client certificate header")
	}
	return cert, nil
}

// signer checks an Mdm-Signature value over body and returns the certificate that signed it.
func signer(v string, body []byte) (*x509.Certificate, error) {
	if len(v) > maxHeader {
		return nil, mdm.Errorf(mdm.Unauthenticated, "malformed message signature")
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, mdm.Wrap(mdm.Unauthenticated, err, "malformed message signature")
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, mdm.Wrap(mdm.Unauthenticated, err, "malformed message signature")
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		return nil, mdm.Errorf(mdm.Unauthenticated, "message signature must have one signer with its certificate")
	}
	if len(p7.Content) > 0 {
		return nil, mdm.Errorf(mdm.Unauthenticated, "message signature must be detached")
	}
	p7.Content = body
	if err := p7.Verify(); err != nil {
		return nil, mdm.Wrap(mdm.Unauthenticated, err, "message signature does not verify")
	}
	return cert, nil
}

// Sign returns the Mdm-Signature header value for body: a detached CMS signature by cert and key,
// base64-encoded, as a device that signs its messages sends (for the simulator and tests).
func Sign(body []byte, cert *x509.Certificate, key crypto.Signer) (string, error) {
	sd, err := pkcs7.NewSignedData(body)
	if err != nil {
		return "", fmt.Errorf("sign message: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		return "", fmt.Errorf("sign message: %w", err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		return "", fmt.Errorf("sign message: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}
