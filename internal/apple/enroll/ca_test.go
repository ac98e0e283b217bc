package enroll

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// caStore is an in-memory mdm.AppleStore for CA() and InitCA() only (the SQL store has its own
// conformance suite); any other method panics through the nil embedded interface.
type caStore struct {
	mdm.AppleStore
	mu    sync.Mutex
	ca    *mdm.AppleCA
	inits int
}

func (s *caStore) CA(context.Context) (*mdm.AppleCA, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ca == nil {
		return nil, mdm.Errorf(mdm.NotFound, "no CA")
	}
	c := *s.ca
	return &c, nil
}

func (s *caStore) InitCA(_ context.Context, ca mdm.AppleCA) (*mdm.AppleCA, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inits++
	if s.ca == nil {
		s.ca = &ca
	}
	c := *s.ca
	return &c, nil
}

func testKeys(t testing.TB) *secret.Keys {
	t.Helper()
	k, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	sharedOnce sync.Once
	sharedCA   *CA
	sharedErr  error
)

// testCA returns one CA for the package's tests (RSA key generation is slow).
func testCA(t testing.TB) *CA {
	t.Helper()
	sharedOnce.Do(func() {
		sharedCA, sharedErr = LoadCA(context.Background(), &caStore{}, testKeys(t), time.Now())
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedCA
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func csrFor(t testing.TB, key *rsa.PrivateKey, cn string) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func TestLoadCA(t *testing.T) {
	ctx := context.Background()
	keys := testKeys(t)
	store := &caStore{}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	// Replicas starting together: each makes a candidate, all end with the stored one.
	const replicas = 4
	cas := make([]*CA, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { cas[i], errs[i] = LoadCA(ctx, store, keys, now) })
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if !cas[i].Cert.Equal(cas[0].Cert) {
			t.Fatalf("replica %d has a different CA", i)
		}
	}
	ca := cas[0]
	if got := ca.Cert.Subject.CommonName; got != "Steward Device CA" {
		t.Errorf("CA common name = %q", got)
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate cannot sign certificates: IsCA=%v usage=%v", ca.Cert.IsCA, ca.Cert.KeyUsage)
	}
	pub, ok := ca.Cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		t.Errorf("CA key is not RSA 2048: %T", ca.Cert.PublicKey)
	}
	if years := ca.Cert.NotAfter.Sub(now).Hours() / 24 / 365; years < 19.9 || years > 20.1 {
		t.Errorf("CA valid for %.1f years, want 20", years)
	}
	if err := ca.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}

	// The key is stored sealed, never as plain PKCS#8.
	pk8, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(store.ca.KeySealed, pk8) || bytes.Contains(store.ca.KeySealed, pk8[len(pk8)/2:len(pk8)/2+64]) {
		t.Error("CA key stored in the clear")
	}

	// Later starts load the same CA without making another.
	inits := store.inits
	again, err := LoadCA(ctx, store, keys, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(ca.Cert) || store.inits != inits {
		t.Errorf("second load made a new CA (inits %d → %d)", inits, store.inits)
	}

	// Another deployment's key cannot open it.
	other, err := secret.New(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(ctx, store, other, now); err == nil {
		t.Error("CA opened with the wrong secret key")
	}
}

// TestCAOnlyVouchesForClients checks the CA is limited to client authentication: a TLS server
// certificate made with its key does not verify against it as a root, a client one does.
func TestCAOnlyVouchesForClients(t *testing.T) {
	ca := testCA(t)
	if len(ca.Cert.ExtKeyUsage) != 1 || ca.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("CA ext key usage = %v, want client auth only", ca.Cert.ExtKeyUsage)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	now := time.Now()
	leaf := func(usage x509.ExtKeyUsage) *x509.Certificate {
		key := rsaKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(usage) + 10),
			Subject:      pkix.Name{CommonName: "mdm.example.com"},
			DNSNames:     []string{"mdm.example.com"},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	server := x509.VerifyOptions{Roots: roots, DNSName: "mdm.example.com", CurrentTime: now}
	if _, err := leaf(x509.ExtKeyUsageServerAuth).Verify(server); err == nil {
		t.Error("a TLS server certificate made with the CA's key verifies against it")
	}
	client := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := leaf(x509.ExtKeyUsageClientAuth).Verify(client); err != nil {
		t.Errorf("a client certificate does not verify: %v", err)
	}
}

func TestIssue(t *testing.T) {
	ca := testCA(t)
	key := rsaKey(t)
	now := time.Now().Truncate(time.Second)
	cert, err := ca.Issue(csrFor(t, key, "asked-for-name"), "enrollment-1", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "enrollment-1" {
		t.Errorf("common name = %q, want the enrollment ID", cert.Subject.CommonName)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is not for the CSR's key")
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("ext key usage = %v, want client auth", cert.ExtKeyUsage)
	}
	if cert.IsCA {
		t.Error("device certificate is a CA")
	}
	if !cert.NotBefore.Equal(now.Add(-time.Hour)) || !cert.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Errorf("validity %v – %v", cert.NotBefore, cert.NotAfter)
	}
	if cert.SerialNumber.BitLen() < 64 || cert.SerialNumber.Sign() <= 0 {
		t.Errorf("serial %v is not a positive random 128-bit number", cert.SerialNumber)
	}
	if err := ca.Verify(cert, now); err != nil {
		t.Errorf("issued certificate does not verify: %v", err)
	}
	second, err := ca.Issue(csrFor(t, key, "x"), "enrollment-1", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if second.SerialNumber.Cmp(cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}

	long, err := ca.Issue(csrFor(t, key, "x"), "e", now, 50*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !long.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("a certificate asked for 50 years ends %v, after the CA (%v)", long.NotAfter, ca.Cert.NotAfter)
	}

	tampered := csrFor(t, key, "x")
	tampered.Signature = bytes.Clone(tampered.Signature)
	tampered.Signature[0] ^= 1
	for name, tc := range map[string]struct {
		csr      *x509.CertificateRequest
		cn       string
		validity time.Duration
	}{
		"bad CSR signature": {tampered, "e", time.Hour},
		"no CSR":            {nil, "e", time.Hour},
		"no common name":    {csrFor(t, key, "x"), "", time.Hour},
		"no validity":       {csrFor(t, key, "x"), "e", 0},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ca.Issue(tc.csr, tc.cn, now, tc.validity)
			if mdm.ErrorCode(err) != mdm.Invalid {
				t.Errorf("err = %v, want invalid", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	ca := testCA(t)
	now := time.Now()
	key := rsaKey(t)
	good, err := ca.Issue(csrFor(t, key, "x"), "e1", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := LoadCA(context.Background(), &caStore{}, testKeys(t), now)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := otherCA.Issue(csrFor(t, key, "x"), "e1", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	selfSigned := func(usage []x509.ExtKeyUsage, issuer *CA) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: foreign.SerialNumber,
			Subject:      pkix.Name{CommonName: "e1"},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			ExtKeyUsage:  usage,
		}
		parent, signer := tmpl, any(key)
		if issuer != nil {
			parent, signer = issuer.Cert, issuer.Key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for name, tc := range map[string]struct {
		cert *x509.Certificate
		at   time.Time
		ok   bool
	}{
		"issued":              {good, now, true},
		"expired":             {good, now.Add(2 * time.Hour), false},
		"not yet valid":       {good, now.Add(-2 * time.Hour), false},
		"other CA":            {foreign, now, false},
		"self-signed":         {selfSigned([]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil), now, false},
		"server auth only":    {selfSigned([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, ca), now, false},
		"no ext key usage":    {selfSigned(nil, ca), now, false},
		"CA-made client cert": {selfSigned([]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, ca), now, true},
		"the CA certificate":  {ca.Cert, now, false},
		"nil":                 {nil, now, false},
	} {
		t.Run(name, func(t *testing.T) {
			err := ca.Verify(tc.cert, tc.at)
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok && mdm.ErrorCode(err) != mdm.Unauthenticated {
				t.Fatalf("Verify = %v, want unauthenticated", err)
			}
		})
	}
}

func TestSignAndReadProfile(t *testing.T) {
	ca := testCA(t)
	profile := []byte("<plist>profile</plist>")
	signed, err := ca.Sign(profile)
	if err != nil {
		t.Fatal(err)
	}
	got, signer, err := ReadSignedProfile(signed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, profile) {
		t.Errorf("content = %q", got)
	}
	if !signer.Equal(ca.Cert) {
		t.Error("signer is not the CA")
	}

	i := bytes.Index(signed, profile)
	if i < 0 {
		t.Fatal("content not attached")
	}
	tampered := bytes.Clone(signed)
	tampered[i+len("<plist>")] = 'P'
	for name, in := range map[string][]byte{
		"tampered": tampered,
		"garbage":  []byte("not CMS"),
		"empty":    nil,
		"cut":      signed[:len(signed)/2],
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := ReadSignedProfile(in); mdm.ErrorCode(err) != mdm.Invalid {
				t.Errorf("err = %v, want invalid", err)
			}
		})
	}
}

// A verified certificate is remembered only for its validity window, and only byte for byte.
func TestVerifyCache(t *testing.T) {
	ca := testCA(t)
	now := time.Now()
	cert, err := ca.Issue(csrFor(t, rsaKey(t), "x"), "cached", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := ca.Verify(cert, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, at := range []time.Time{now.Add(2 * time.Hour), now.Add(-2 * time.Hour)} {
		if err := ca.Verify(cert, at); mdm.ErrorCode(err) != mdm.Unauthenticated {
			t.Errorf("Verify at %v after caching = %v, want unauthenticated", at, err)
		}
	}
	// Same serial, subject and key but a different signature: not the cached certificate.
	forged := *cert
	forged.Raw = bytes.Clone(cert.Raw)
	forged.Raw[len(forged.Raw)-1] ^= 1
	forged.Signature = bytes.Clone(cert.Signature)
	forged.Signature[len(forged.Signature)-1] ^= 1
	if err := ca.Verify(&forged, now); mdm.ErrorCode(err) != mdm.Unauthenticated {
		t.Errorf("altered certificate: %v", err)
	}
	// A CA built by hand has no cache and verifies all the same.
	plain := &CA{Cert: ca.Cert, Key: ca.Key}
	if err := plain.Verify(cert, now); err != nil {
		t.Errorf("uncached Verify: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	ca := testCA(b)
	now := time.Now()
	cert, err := ca.Issue(csrFor(b, rsaKey(b), "x"), "e1", now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	for name, c := range map[string]*CA{"cached": ca, "uncached": {Cert: ca.Cert, Key: ca.Key}} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Verify(cert, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
