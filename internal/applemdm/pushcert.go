package applemdm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"steward/internal/apple/apns"
	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// ExpiryWarning is how long before its expiry a push certificate is flagged: Apple lets it be renewed
// (same topic) up to its last day, and an expired one silences every enrolled device.
const ExpiryWarning = 30 * 24 * time.Hour

// certCacheTTL bounds how long a replica keeps using a push certificate another replica replaced or
// deleted; the replica that made the change forgets its copy at once.
const certCacheTTL = time.Minute

// MaxPushCertificateBytes bounds an uploaded push certificate file (PEM or PKCS#12): one with its key
// and chain is a few kilobytes.
const MaxPushCertificateBytes = 64 << 10

// PushCertificateInfo is what administrators see of a tenant's push certificate: never its key.
type PushCertificateInfo struct {
	Topic        string
	NotAfter     time.Time
	UploadedAt   time.Time
	UploadedBy   string
	DaysLeft     int  // whole days until NotAfter; 0 once expired
	ExpiringSoon bool // not expired, but expires within ExpiryWarning
	Expired      bool
}

func (s *Service) pushInfo(c *mdm.ApplePushCertificate) *PushCertificateInfo {
	now := s.d.Now()
	left := c.NotAfter.Sub(now)
	info := &PushCertificateInfo{Topic: c.Topic, NotAfter: c.NotAfter, UploadedAt: c.UploadedAt, UploadedBy: c.UploadedBy}
	info.Expired = !now.Before(c.NotAfter)
	if !info.Expired {
		info.DaysLeft = int(left / (24 * time.Hour))
		info.ExpiringSoon = left < ExpiryWarning
	}
	return info
}

// UploadPushCertificate stores the tenant's APNs push certificate, from PEM (certificate and
// unencrypted key) or PKCS#12 protected by password. The caller needs SystemManage. A certificate
// whose topic differs from the stored one is refused (conflict) while the tenant has iOS devices that
// are not retired or wiped, unless allowTopicChange: devices enrolled with the old topic no longer
// answer pushes sent with another one, so Apple's renewal keeps the topic.
func (s *Service) UploadPushCertificate(ctx context.Context, data []byte, password string, allowTopicChange bool) (*PushCertificateInfo, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.SystemManage)
	if err != nil {
		return nil, err
	}
	switch {
	case len(data) == 0:
		return nil, certError("is required: the push certificate as PEM (certificate and key) or PKCS#12 (.p12)")
	case len(data) > MaxPushCertificateBytes:
		return nil, certError(fmt.Sprintf("is %d bytes: a push certificate file is at most %d", len(data), MaxPushCertificateBytes))
	}
	pc, err := apns.ParsePushCertificate(data, password)
	if err != nil {
		return nil, parseError(err, pc)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(pc.Cert.PrivateKey)
	if err != nil {
		return nil, mdm.Wrap(mdm.Invalid, err, "the push certificate's private key cannot be stored")
	}
	var certPEM []byte
	for _, der := range pc.Cert.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	now := s.d.Now()
	rec := mdm.ApplePushCertificate{TenantID: tenantID, CertPEM: certPEM, KeySealed: s.d.Keys.Seal(keyDER),
		Topic: pc.Topic, NotAfter: pc.NotAfter.UTC(), UploadedBy: p.Username, UploadedAt: now}
	err = s.d.Store.InTx(ctx, func(tx mdm.Stores) error {
		old, err := tx.Apple().PushCertificate(ctx, tenantID)
		switch {
		case mdm.IsCode(err, mdm.NotFound):
			old = nil
		case err != nil:
			return err
		}
		changed := old != nil && old.Topic != rec.Topic
		if changed && !allowTopicChange {
			n, err := enrolledIOS(ctx, tx, tenantID)
			if err != nil {
				return err
			}
			if n > 0 {
				msg := fmt.Sprintf("has the topic %s, not the current %s: %d enrolled iOS devices would stop answering pushes. "+
					"Renew the current certificate with the same Apple ID (renewal keeps the topic), or set allowTopicChange "+
					"to replace it and enroll every device again", rec.Topic, old.Topic, n)
				return &mdm.Error{Code: mdm.Conflict, Message: "certificate: " + msg,
					Fields: []mdm.FieldError{{Code: "Conflict", Field: "certificate", Message: msg}}}
			}
		}
		if err := tx.Apple().PutPushCertificate(ctx, rec); err != nil {
			return err
		}
		details := map[string]any{"topic": rec.Topic, "notAfter": rec.NotAfter.UnixMilli()}
		if changed {
			details["previousTopic"] = old.Topic
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "apple.pushcert.upload",
			TargetType: "apple_push_certificate", TargetID: rec.Topic, Details: details})
	})
	if err != nil {
		return nil, err
	}
	s.pushCertChanged(tenantID)
	return s.pushInfo(&rec), nil
}

// enrolledIOS counts the tenant's iOS devices that still need pushes: those not retired or wiped.
func enrolledIOS(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID) (int, error) {
	page, err := tx.Devices().List(ctx, tenantID, mdm.ListOptions{Rows: 1, Filter: mdm.And{
		mdm.Compare{Field: "platformType", Op: mdm.Eq, Value: mdm.PlatformIOS},
		mdm.Compare{Field: "registrationState", Op: mdm.Ne, Value: mdm.StateRetired},
		mdm.Compare{Field: "registrationState", Op: mdm.Ne, Value: mdm.StateWiped},
	}})
	if err != nil {
		return 0, err
	}
	return page.TotalCount, nil
}

func certError(msg string) error {
	return mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "certificate", Message: msg})
}

// parseError explains why an upload is not a usable push certificate (pc is set for an expired one).
func parseError(err error, pc *apns.PushCertificate) error {
	var e *mdm.Error
	switch {
	case errors.Is(err, apns.ErrBadPassword):
		e = mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "password", Message: "is not the password of this PKCS#12 file"})
	case errors.Is(err, apns.ErrExpired) && pc != nil:
		e = mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "certificate", Message: fmt.Sprintf(
			"expired on %s (topic %s): renew it at identity.apple.com and upload the new one", pc.NotAfter.UTC().Format(time.DateOnly), pc.Topic)})
	case errors.Is(err, apns.ErrNoTopic):
		e = mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "certificate",
			Message: "is not an Apple MDM push certificate: its subject has no UID (push topic)"})
	case errors.Is(err, apns.ErrNoKey):
		e = mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "certificate",
			Message: "holds no private key: upload the certificate together with its key (PEM), or the .p12 export"})
	case errors.Is(err, apns.ErrNoCertificate):
		e = mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "certificate", Message: "holds no certificate"})
	case errors.Is(err, apns.ErrKeyMismatch):
		e = mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "certificate", Message: "holds a private key that is not the certificate's"})
	default: // the parser's own words name the problem and carry no secret
		e = mdm.FieldErrors(mdm.FieldError{Code: "Invalid", Field: "certificate", Message: "is unreadable: " + err.Error()})
	}
	e.Err = err
	return e
}

// PushCertificate returns the tenant's push certificate as administrators see it (SystemRead).
func (s *Service) PushCertificate(ctx context.Context) (*PushCertificateInfo, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Store.Apple().PushCertificate(ctx, tenantID)
	if err != nil {
		return nil, noCertificate(err)
	}
	return s.pushInfo(c), nil
}

func noCertificate(err error) error {
	if mdm.IsCode(err, mdm.NotFound) {
		return mdm.Wrap(mdm.NotFound, err, "no Apple push certificate has been uploaded")
	}
	return err
}

// DeletePushCertificate removes the tenant's push certificate (SystemManage): iOS devices are no
// longer woken, and enrollment of new ones needs a certificate again.
func (s *Service) DeletePushCertificate(ctx context.Context) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemManage)
	if err != nil {
		return err
	}
	err = s.d.Store.InTx(ctx, func(tx mdm.Stores) error {
		old, err := tx.Apple().PushCertificate(ctx, tenantID)
		if err != nil {
			return noCertificate(err)
		}
		if err := tx.Apple().DeletePushCertificate(ctx, tenantID); err != nil {
			return noCertificate(err)
		}
		return audit.Write(ctx, tx.Audit(), s.d.Now(), audit.Entry{TenantID: tenantID, Action: "apple.pushcert.delete",
			TargetType: "apple_push_certificate", TargetID: old.Topic,
			Details: map[string]any{"topic": old.Topic, "notAfter": old.NotAfter.UnixMilli()}})
	})
	if err != nil {
		return err
	}
	s.pushCertChanged(tenantID)
	return nil
}

// pushCertChanged forgets the tenant's cached push certificate here and on the other replicas.
func (s *Service) pushCertChanged(tenantID mdm.TenantID) {
	s.certs.forget(tenantID)
	if s.d.PushCertChanged != nil {
		s.d.PushCertChanged(tenantID)
	}
}

// DropPushCertificate forgets the tenant's cached push certificate: another replica replaced or
// deleted it. An empty tenantID forgets every tenant's.
func (s *Service) DropPushCertificate(tenantID mdm.TenantID) {
	if tenantID == "" {
		s.certs.forgetAll()
		return
	}
	s.certs.forget(tenantID)
}

// CertSource gives the APNs sender each tenant's push certificate with its unsealed key. Certificates
// are cached per tenant for at most a minute (a missing one too); an upload or delete through this
// service forgets the tenant's at once.
func (s *Service) CertSource() apns.CertSource {
	return func(ctx context.Context, tenant mdm.TenantID) (*apns.PushCertificate, error) {
		return s.certs.get(ctx, tenant, s.d.Now(), s.loadPushCertificate)
	}
}

// MagicSource gives the APNs sender the PushMagic each device sent in its TokenUpdate (stored sealed).
func (s *Service) MagicSource() apns.MagicSource {
	return func(ctx context.Context, tenant mdm.TenantID, device mdm.DeviceID) (string, error) {
		stored, err := s.d.Store.Apple().PushMagic(ctx, tenant, device)
		if err != nil || stored == "" {
			return stored, err
		}
		return openMagic(s.d.Keys, stored)
	}
}

func (s *Service) loadPushCertificate(ctx context.Context, tenant mdm.TenantID) (*apns.PushCertificate, error) {
	c, err := s.d.Store.Apple().PushCertificate(ctx, tenant)
	if err != nil {
		return nil, err
	}
	keyDER, err := s.d.Keys.Open(c.KeySealed)
	if err != nil {
		return nil, fmt.Errorf("unseal the push certificate key: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("stored push certificate key: %w", err)
	}
	var chain [][]byte
	for rest := c.CertPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("stored push certificate holds no certificate")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("stored push certificate: %w", err)
	}
	return &apns.PushCertificate{Cert: tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf},
		Topic: c.Topic, NotAfter: leaf.NotAfter}, nil
}

// ExpiryWarnings logs a warning for every tenant whose push certificate expires within ExpiryWarning
// (or has expired), soonest first, and returns how many it found.
func (s *Service) ExpiryWarnings(ctx context.Context) (int, error) {
	now := s.d.Now()
	certs, err := s.d.Store.Apple().PushCertificatesExpiring(ctx, now.Add(ExpiryWarning))
	if err != nil {
		return 0, err
	}
	for i := range certs {
		c := &certs[i]
		info := s.pushInfo(c)
		if info.Expired {
			s.d.Log.WarnContext(ctx, "apple push certificate expired: iOS devices are not woken until a new one is uploaded",
				"tenant_id", string(c.TenantID), "topic", c.Topic, "not_after", c.NotAfter.UTC())
			continue
		}
		s.d.Log.WarnContext(ctx, "apple push certificate expires soon: renew it with the same Apple ID",
			"tenant_id", string(c.TenantID), "topic", c.Topic, "days_left", info.DaysLeft, "not_after", c.NotAfter.UTC())
	}
	return len(certs), nil
}

// certCache holds each tenant's unsealed push certificate (or the error loading it) for a while.
type certCache struct {
	mu  sync.Mutex
	m   map[mdm.TenantID]cachedCert
	gen map[mdm.TenantID]uint64 // bumped by forget, so that a load begun before it is not kept
}

type cachedCert struct {
	cert *apns.PushCertificate
	err  error
	at   time.Time
}

func newCertCache() *certCache {
	return &certCache{m: map[mdm.TenantID]cachedCert{}, gen: map[mdm.TenantID]uint64{}}
}

func (c *certCache) get(ctx context.Context, tenant mdm.TenantID, now time.Time,
	load func(context.Context, mdm.TenantID) (*apns.PushCertificate, error)) (*apns.PushCertificate, error) {
	c.mu.Lock()
	e, ok := c.m[tenant]
	gen := c.gen[tenant]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < certCacheTTL && now.Sub(e.at) >= 0 {
		return e.cert, e.err
	}
	cert, err := load(ctx, tenant)
	if err != nil && !mdm.IsCode(err, mdm.NotFound) {
		return nil, err // a database hiccup is not remembered
	}
	c.mu.Lock()
	if c.gen[tenant] == gen {
		c.m[tenant] = cachedCert{cert: cert, err: err, at: now}
	}
	c.mu.Unlock()
	return cert, err
}

func (c *certCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range c.m {
		c.gen[t]++
	}
	clear(c.m)
}

func (c *certCache) forget(tenant mdm.TenantID) {
	c.mu.Lock()
	delete(c.m, tenant)
	c.gen[tenant]++
	c.mu.Unlock()
}
