package ios

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// APNs is a stand-in for Apple's push service on loopback: HTTP/2 over TLS with a certificate of its
// own CA, taking pushes as the server sends them to Apple:
//
//	POST /3/device/<hex token>
//	apns-topic: <the push certificate's topic>
//	{"mdm":"<PushMagic>"}
//
// A known token wakes its device (200); an unknown token is 400 BadDeviceToken, a stopped device's
// 410 Unregistered, a push without a topic or an MDM body 400.
type APNs struct {
	Addr   string // host:port it listens on
	CAPEM  []byte // its CA certificate: the server's --apns-ca-file
	srv    *http.Server
	pushes atomic.Int64
}

// Waker wakes the device with a hex push token; it reports false for an unknown or stopped device
// (sim.Fleet.Wake is one).
type Waker func(token string) (known bool)

// StartAPNs listens on addr (a loopback address such as 127.0.0.1:0) and serves pushes to wake. Its
// TLS certificate is issued by the CA kept in caFile (the certificate, which the server's
// --apns-ca-file names) and caFile+".key" (its key), made there on first use, so that a server started
// with that file trusts every later run; caFile "" makes a CA for this run only.
func StartAPNs(addr, caFile string, wake Waker) (*APNs, error) {
	ca, caKey, caPEM, err := loadOrMakeCA(caFile)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := &APNs{Addr: ln.Addr().String(), CAPEM: caPEM}
	// Apple asks for the provider's certificate; the stand-in takes any.
	tlsConf := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /3/device/{token}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			MDM string `json:"mdm"`
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, 4096))
		switch {
		case err != nil || json.Unmarshal(raw, &body) != nil || body.MDM == "":
			apnsError(w, http.StatusBadRequest, "PayloadEmpty")
		case r.Header.Get("apns-topic") == "":
			apnsError(w, http.StatusBadRequest, "MissingTopic")
		default:
			token := strings.ToLower(r.PathValue("token"))
			if !wake(token) {
				apnsError(w, http.StatusGone, "Unregistered")
				return
			}
			a.pushes.Add(1)
			w.Header().Set("apns-id", fmt.Sprintf("%08X-0000-4000-8000-%012X", a.pushes.Load(), time.Now().UnixNano()&0xffffffffffff))
			w.WriteHeader(http.StatusOK)
		}
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConf}
	go a.srv.ServeTLS(ln, "", "") // HTTP/2, as Apple's service speaks
	return a, nil
}

// loadOrMakeCA reads the CA in file and file+".key", or makes one (ECDSA P-256, ten years) and writes
// it there (the key readable by its owner only).
func loadOrMakeCA(file string) (*x509.Certificate, crypto.Signer, []byte, error) {
	if file != "" {
		certPEM, err1 := os.ReadFile(file)
		keyPEM, err2 := os.ReadFile(file + ".key")
		if err1 == nil && err2 == nil {
			cb, _ := pem.Decode(certPEM)
			kb, _ := pem.Decode(keyPEM)
			if cb == nil || kb == nil {
				return nil, nil, nil, fmt.Errorf("%s: not a PEM certificate and key", file)
			}
			cert, err := x509.ParseCertificate(cb.Bytes)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", file, err)
			}
			k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s.key: %w", file, err)
			}
			signer, ok := k.(crypto.Signer)
			if !ok {
				return nil, nil, nil, fmt.Errorf("%s.key: not a signing key", file)
			}
			return cert, signer, certPEM, nil
		}
		if !errors.Is(err1, fs.ErrNotExist) && err1 != nil {
			return nil, nil, nil, err1
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "Steward simulated APNs CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if file != "" {
		k8, err := x509.MarshalPKCS8PrivateKey(caKey)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := os.WriteFile(file+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}), 0o600); err != nil {
			return nil, nil, nil, err
		}
		if err := os.WriteFile(file, certPEM, 0o644); err != nil {
			return nil, nil, nil, err
		}
	}
	return cert, caKey, certPEM, nil
}

// URL is the server's --apns-url.
func (a *APNs) URL() string { return "https://" + a.Addr }

// Pushes is how many pushes woke a device.
func (a *APNs) Pushes() int64 { return a.pushes.Load() }

// Close stops serving.
func (a *APNs) Close() error { return a.srv.Close() }

func apnsError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"reason": reason})
}

// oidUID is the subject attribute a push certificate's topic is in.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// PushCertificate makes a self-signed stand-in for a tenant's APNs push certificate: a PEM with the
// certificate (subject UID com.apple.mgmt.External.<uuid>, the topic) and its PKCS#8 key, as an
// administrator uploads one. It returns the PEM and the topic.
func PushCertificate() (pemData []byte, topic string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	var u [16]byte
	rand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	topic = "com.apple.mgmt.External." + id
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()),
		Subject:   pkix.Name{CommonName: "APSP:" + id, Country: []string{"US"}, ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: topic}}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, "", err
	}
	k8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, "", err
	}
	pemData = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8})...)
	return pemData, topic, nil
}
