package applemdm_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"steward/internal/applemdm"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

// pushClock is a settable time source shared by the replicas of a test.
type pushClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *pushClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *pushClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pushPEM makes a push-like certificate (subject UID = topic) with its key, as PEM.
func pushPEM(t *testing.T, topic string, notAfter time.Time) ([]byte, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), NotBefore: notAfter.Add(-365 * 24 * time.Hour),
		NotAfter: notAfter, Subject: pkix.Name{CommonName: "APSP:test", ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: topic}}},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	k, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})...), leaf
}

// pushTenant creates a tenant with a Tenant Admin and returns a context carrying a principal of it
// holding role.
func pushTenant(t *testing.T, store mdm.Store, id mdm.TenantID, now time.Time) func(role string) context.Context {
	t.Helper()
	ctx := t.Context()
	tn := mdm.Tenant{ID: id, Name: string(id), State: mdm.TenantActive, CreatedAt: now, ModifiedAt: now}
	a := mdm.Account{TenantID: id, Username: "admin@" + string(id) + ".example.com", Email: "admin@" + string(id) + ".example.com",
		Roles: []string{mdm.RoleTenantAdmin}, Enabled: true, CreatedAt: now, ModifiedAt: now}
	if err := store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Tenants().Create(ctx, &tn); err != nil {
			return err
		}
		return tx.Accounts().Create(ctx, &a)
	}); err != nil {
		t.Fatal(err)
	}
	return func(role string) context.Context {
		return mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID), Username: a.Username,
			TenantID: id, Roles: []string{role}})
	}
}

// TestPushCertificateReplicas runs two services (two replicas) on one database: the certificate source
// gives the uploaded certificate with a key that matches it; a delete on one replica is seen there at
// once and on the other within the cache's minute; permissions and tenants are kept apart.
func TestPushCertificateReplicas(t *testing.T) {
	store, err := sqlstore.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clock := &pushClock{t: time.Now().Truncate(time.Second)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := applemdm.New(applemdm.Deps{Store: store, Keys: keys, Log: log, Now: clock.now})
	b := applemdm.New(applemdm.Deps{Store: store, Keys: keys, Log: log, Now: clock.now})
	as1 := pushTenant(t, store, "t-1", clock.now())
	as2 := pushTenant(t, store, "t-2", clock.now())
	ctx := t.Context()

	const topic = "com.apple.mgmt.External.11111111-2222-4333-8444-555555555555"
	file, leaf := pushPEM(t, topic, clock.now().Add(400*24*time.Hour))

	for _, role := range []string{authz.RoleSystemReadOnly, authz.RoleDeviceActions, authz.RoleUserManagement} {
		if _, err := a.UploadPushCertificate(as1(role), file, "", false); !mdm.IsCode(err, mdm.Forbidden) {
			t.Errorf("upload as %s: %v, want forbidden", role, err)
		}
	}
	if _, err := a.CertSource()(ctx, "t-1"); !mdm.IsCode(err, mdm.NotFound) {
		t.Fatalf("before upload: %v, want not_found", err)
	}
	info, err := a.UploadPushCertificate(as1(mdm.RoleTenantAdmin), file, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if info.Topic != topic || info.DaysLeft != 400 || info.ExpiringSoon || info.Expired {
		t.Errorf("info = %+v", info)
	}
	if got, err := a.PushCertificate(as1(authz.RoleSystemReadOnly)); err != nil || got.Topic != topic {
		t.Errorf("read-only read: %+v, %v", got, err)
	}

	for name, svc := range map[string]*applemdm.Service{"this replica": a, "another replica": b} {
		pc, err := svc.CertSource()(ctx, "t-1")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pub, ok := pc.Cert.PrivateKey.(*ecdsa.PrivateKey)
		if pc.Topic != topic || !bytes.Equal(pc.Cert.Certificate[0], leaf.Raw) || !pc.Cert.Leaf.Equal(leaf) ||
			!ok || !pub.PublicKey.Equal(leaf.PublicKey) || !pc.NotAfter.Equal(leaf.NotAfter) {
			t.Errorf("%s: the source's certificate is not the uploaded one", name)
		}
	}
	if _, err := a.CertSource()(ctx, "t-2"); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("tenant t-2: %v, want not_found", err)
	}
	if _, err := a.PushCertificate(as2(mdm.RoleTenantAdmin)); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("tenant t-2 reads: %v, want not_found", err)
	}
	if err := a.DeletePushCertificate(as2(mdm.RoleTenantAdmin)); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("tenant t-2 deletes: %v, want not_found", err)
	}

	if err := a.DeletePushCertificate(as1(mdm.RoleTenantAdmin)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CertSource()(ctx, "t-1"); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("this replica after delete: %v, want not_found at once", err)
	}
	if pc, err := b.CertSource()(ctx, "t-1"); err != nil || pc.Topic != topic {
		t.Errorf("the other replica within the minute: %v, %v; want its cached certificate", pc, err)
	}
	clock.add(61 * time.Second)
	if _, err := b.CertSource()(ctx, "t-1"); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("the other replica after a minute: %v, want not_found", err)
	}

	// An upload on this replica replaces what it had cached as missing.
	if _, err := a.UploadPushCertificate(as1(mdm.RoleTenantAdmin), file, "", false); err != nil {
		t.Fatal(err)
	}
	if pc, err := a.CertSource()(ctx, "t-1"); err != nil || pc.Topic != topic {
		t.Errorf("after a new upload: %v, %v", pc, err)
	}
	// 400 days later the certificate has expired and is flagged by the daily check.
	clock.add(401 * 24 * time.Hour)
	if got, err := a.PushCertificate(as1(mdm.RoleTenantAdmin)); err != nil || !got.Expired || got.DaysLeft != 0 {
		t.Errorf("after expiry: %+v, %v", got, err)
	}
	if n, err := a.ExpiryWarnings(ctx); err != nil || n != 1 {
		t.Errorf("expiry warnings: %d, %v; want 1", n, err)
	}
}
