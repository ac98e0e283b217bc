package identity

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"steward/internal/mdm"
)

type device struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

var (
	devOnce sync.Once
	devs    [2]device
)

// devices returns two self-signed device identities (identity does not check issuers).
func devices(t testing.TB) [2]device {
	t.Helper()
	devOnce.Do(func() {
		for i := range devs {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(int64(i + 1)),
				Subject:      pkix.Name{CommonName: []string{"device-a", "device-b"}[i]},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().Add(24 * time.Hour),
				ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				panic(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				panic(err)
			}
			devs[i] = device{cert, key}
		}
	})
	return devs
}

func rfc9440(cert *x509.Certificate) string {
	return ":" + base64.StdEncoding.EncodeToString(cert.Raw) + ":"
}

func request(body []byte, headers map[string]string) *http.Request {
	r := httptest.NewRequest("PUT", "/checkin", bytes.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

func TestSignedMessage(t *testing.T) {
	d := devices(t)
	body := []byte(`<plist><dict><key>MessageType</key><string>Authenticate</string></dict></plist>`)
	sig, err := Sign(body, d[0].cert, d[0].key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Source{}.Certificate(request(body, map[string]string{SignatureHeader: sig}), body)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(d[0].cert) {
		t.Errorf("signer = %s, want device-a", got.Subject.CommonName)
	}

	tampered := bytes.Replace(body, []byte("Authenticate"), []byte("TokenUpdate!"), 1)
	attached := func() string {
		sd, err := pkcs7.NewSignedData(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := sd.AddSigner(d[0].cert, d[0].key, pkcs7.SignerInfoConfig{}); err != nil {
			t.Fatal(err)
		}
		der, err := sd.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(der)
	}()
	otherSig, err := Sign(tampered, d[1].cert, d[1].key)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		header string
		body   []byte
	}{
		"tampered body":           {sig, tampered},
		"empty body":              {sig, nil},
		"signature of other body": {otherSig, body},
		"not base64":              {"%%%not base64%%%", body},
		"base64 garbage":          {base64.StdEncoding.EncodeToString([]byte("garbage")), body},
		"truncated":               {sig[:len(sig)/2], body},
		"attached content":        {attached, body},
		"huge":                    {strings.Repeat("A", 40<<10), body},
	} {
		t.Run(name, func(t *testing.T) {
			cert, err := Source{}.Certificate(request(tc.body, map[string]string{SignatureHeader: tc.header}), tc.body)
			if mdm.ErrorCode(err) != mdm.Unauthenticated || cert != nil {
				t.Errorf("Certificate = %v, %v; want unauthenticated", cert, err)
			}
		})
	}
}

func TestProxyHeader(t *testing.T) {
	d := devices(t)
	src := Source{ProxyHeader: "Client-Cert", TrustedProxies: proxies}
	got, err := src.Certificate(request(nil, map[string]string{"Client-Cert": rfc9440(d[0].cert)}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(d[0].cert) {
		t.Errorf("certificate = %s", got.Subject.CommonName)
	}

	// The proxy's header wins over a signature (the proxy checked the TLS handshake).
	body := []byte("body")
	sig, err := Sign(body, d[1].cert, d[1].key)
	if err != nil {
		t.Fatal(err)
	}
	got, err = src.Certificate(request(body, map[string]string{"Client-Cert": rfc9440(d[0].cert), SignatureHeader: sig}), body)
	if err != nil || !got.Equal(d[0].cert) {
		t.Errorf("with both headers: %v, %v; want the proxy's certificate", got, err)
	}
	// Configured but absent: the signature still identifies the device.
	got, err = src.Certificate(request(body, map[string]string{SignatureHeader: sig}), body)
	if err != nil || !got.Equal(d[1].cert) {
		t.Errorf("signature behind a proxy: %v, %v", got, err)
	}

	der64 := base64.StdEncoding.EncodeToString(d[0].cert.Raw)
	for name, v := range map[string]string{
		"no colons":          der64,
		"one colon":          ":" + der64,
		"only colons":        "::",
		"single colon":       ":",
		"not base64":         ":%%%:",
		"not a certificate":  ":" + base64.StdEncoding.EncodeToString([]byte("garbage")) + ":",
		"PEM":                ":" + base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----")) + ":",
		"certificate + junk": ":" + base64.StdEncoding.EncodeToString(append(bytes.Clone(d[0].cert.Raw), 0)) + ":",
		"huge":               ":" + strings.Repeat("A", 40<<10) + ":",
		"URL-safe base64":    ":" + base64.URLEncoding.EncodeToString(append([]byte{0xfb, 0xff}, d[0].cert.Raw...)) + ":",
	} {
		t.Run(name, func(t *testing.T) {
			cert, err := src.Certificate(request(nil, map[string]string{"Client-Cert": v}), nil)
			if mdm.ErrorCode(err) != mdm.Unauthenticated || cert != nil {
				t.Errorf("Certificate = %v, %v; want unauthenticated", cert, err)
			}
		})
	}
}

func TestProxyHeaderIgnoredUnlessConfigured(t *testing.T) {
	d := devices(t)
	r := request(nil, map[string]string{"Client-Cert": rfc9440(d[0].cert), "X-Client-Cert": rfc9440(d[0].cert)})
	cert, err := Source{}.Certificate(r, nil)
	if mdm.ErrorCode(err) != mdm.Unauthenticated || cert != nil {
		t.Fatalf("Certificate = %v, %v; a client-set header must not identify it", cert, err)
	}
	if !strings.Contains(err.Error(), "no device identity") {
		t.Errorf("err = %v", err)
	}
	// Another header than the configured one is ignored too.
	if cert, err := (Source{ProxyHeader: "Client-Cert", TrustedProxies: proxies}).Certificate(request(nil, map[string]string{"X-Client-Cert": rfc9440(d[0].cert)}), nil); err == nil {
		t.Errorf("unconfigured header accepted: %v", cert.Subject.CommonName)
	}
}

// proxies holds httptest.NewRequest's peer address (192.0.2.1): the tests' requests come from a
// trusted proxy unless they say otherwise.
var proxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}

// TestProxyHeaderOnlyFromTrustedPeers: the proxy header counts only when the TCP peer is a trusted
// proxy; a forwarded address (X-Forwarded-For) naming one does not make the peer trusted.
func TestProxyHeaderOnlyFromTrustedPeers(t *testing.T) {
	d := devices(t)
	src := Source{ProxyHeader: "Client-Cert", TrustedProxies: proxies}
	for name, peer := range map[string]string{
		"elsewhere":      "198.51.100.7:443",
		"IPv6":           "[2001:db8::1]:443",
		"loopback":       "127.0.0.1:5000",
		"no port":        "192.0.2.1",
		"not an address": "pipe",
	} {
		t.Run(name, func(t *testing.T) {
			r := request(nil, map[string]string{"Client-Cert": rfc9440(d[0].cert), "X-Forwarded-For": "192.0.2.1"})
			r.RemoteAddr = peer
			cert, err := src.Certificate(r, nil)
			if mdm.ErrorCode(err) != mdm.Unauthenticated || cert != nil {
				t.Fatalf("Certificate = %v, %v; the header from an untrusted peer must not identify it", cert, err)
			}
		})
	}
	// An untrusted peer's header is ignored, not an error: its own signature still identifies it.
	body := []byte("body")
	sig, err := Sign(body, d[1].cert, d[1].key)
	if err != nil {
		t.Fatal(err)
	}
	r := request(body, map[string]string{"Client-Cert": rfc9440(d[0].cert), SignatureHeader: sig})
	r.RemoteAddr = "198.51.100.7:443"
	if got, err := src.Certificate(r, body); err != nil || !got.Equal(d[1].cert) {
		t.Errorf("untrusted peer with a signature: %v, %v; want the signer", got, err)
	}
	// Trusted peers, IPv4-mapped IPv6 included.
	for _, peer := range []string{"192.0.2.200:1", "[::ffff:192.0.2.9]:443"} {
		r := request(nil, map[string]string{"Client-Cert": rfc9440(d[0].cert)})
		r.RemoteAddr = peer
		if got, err := src.Certificate(r, nil); err != nil || !got.Equal(d[0].cert) {
			t.Errorf("from %s: %v, %v; want the forwarded certificate", peer, got, err)
		}
	}
	// No trusted proxies: never believed.
	r = request(nil, map[string]string{"Client-Cert": rfc9440(d[0].cert)})
	if cert, err := (Source{ProxyHeader: "Client-Cert"}).Certificate(r, nil); err == nil {
		t.Errorf("header believed without trusted proxies: %v", cert.Subject.CommonName)
	}
}

func TestNoIdentity(t *testing.T) {
	for name, src := range map[string]Source{"direct": {}, "behind a proxy": {ProxyHeader: "Client-Cert", TrustedProxies: proxies}} {
		t.Run(name, func(t *testing.T) {
			cert, err := src.Certificate(request([]byte("x"), nil), []byte("x"))
			if mdm.ErrorCode(err) != mdm.Unauthenticated || cert != nil || !strings.Contains(err.Error(), "no device identity") {
				t.Errorf("Certificate = %v, %v", cert, err)
			}
		})
	}
}

// TestTLSPeer runs a real TLS server asking for client certificates: the handshake's certificate
// identifies the device, ahead of any header.
func TestTLSPeer(t *testing.T) {
	d := devices(t)
	type result struct {
		cert *x509.Certificate
		err  error
	}
	results := make(chan result, 1)
	src := Source{ProxyHeader: "Client-Cert", TrustedProxies: proxies}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cert, err := src.Certificate(r, body)
		results <- result{cert, err}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{{
		Certificate: [][]byte{d[0].cert.Raw}, PrivateKey: d[0].key,
	}}
	req, err := http.NewRequest("PUT", srv.URL, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Client-Cert", rfc9440(d[1].cert))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := <-results
	if got.err != nil || !got.cert.Equal(d[0].cert) {
		t.Errorf("Certificate = %v, %v; want the TLS client certificate", got.cert, got.err)
	}
}

func FuzzCertificate(f *testing.F) {
	d := devices(f)
	body := []byte("fuzz body")
	sig, err := Sign(body, d[0].cert, d[0].key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rfc9440(d[0].cert), sig, body)
	f.Add(":", "", []byte(nil))
	f.Add("::", "AAAA", []byte("x"))
	f.Add(":MIIB:", sig[:100], body)
	src := Source{ProxyHeader: "Client-Cert", TrustedProxies: proxies}
	f.Fuzz(func(t *testing.T, proxy, signature string, body []byte) {
		for _, s := range []Source{src, {}} {
			r := httptest.NewRequest("PUT", "/checkin", nil)
			if proxy != "" {
				r.Header["Client-Cert"] = []string{proxy}
			}
			if signature != "" {
				r.Header[SignatureHeader] = []string{signature}
			}
			cert, err := s.Certificate(r, body)
			if err != nil {
				if mdm.ErrorCode(err) != mdm.Unauthenticated || cert != nil {
					t.Fatalf("Certificate = %v, %v; errors must be unauthenticated", cert, err)
				}
			} else if cert == nil {
				t.Fatal("no certificate and no error")
			}
		}
	})
}

func BenchmarkCertificate(b *testing.B) {
	d := devices(b)
	body := bytes.Repeat([]byte("<key>UDID</key><string>0000-1111</string>"), 20)
	sig, err := Sign(body, d[0].cert, d[0].key)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Mdm-Signature", func(b *testing.B) {
		r := request(body, map[string]string{SignatureHeader: sig})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (Source{}).Certificate(r, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proxy header", func(b *testing.B) {
		r := request(body, map[string]string{"Client-Cert": rfc9440(d[0].cert)})
		src := Source{ProxyHeader: "Client-Cert", TrustedProxies: proxies}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := src.Certificate(r, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
