package devices

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"

	"steward/internal/mdm"
)

// certificatePrefix marks a credential that is an identity certificate's fingerprint (Apple devices
// present their certificate, not a secret): "apc_" and the SHA-256 of the certificate's DER in hex.
// Only its keyed hash is stored, like every credential.
const certificatePrefix = "apc_"

// CertificateCredential is the credential of a device that authenticates with cert.
func CertificateCredential(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return certificatePrefix + hex.EncodeToString(sum[:])
}

// Enrollment is a device joining through a protocol that authenticated its user before the device
// first spoke (Apple: the user signed in to download the enrollment profile; the device's first
// check-in names the enrollment through its identity certificate).
type Enrollment struct {
	TenantID   mdm.TenantID
	AccountID  mdm.AccountID
	Platform   string // mdm.PlatformIOS
	Facts      mdm.DeviceFacts
	Credential string // CertificateCredential of the device's identity certificate
}

// Enroll creates the device of an enrollment for its account, within the devices-per-user limit of the
// account's registration setting and the tenant's license seats (conflict naming the limit, nothing
// stored), in one transaction that also runs within (the protocol's own records: nil for none). The
// account must still exist in the tenant (not_found otherwise) and the tenant be active (forbidden).
// It writes the device.register audit record as Register does.
func (s *Service) Enroll(ctx context.Context, e Enrollment, within func(tx mdm.Stores, d *mdm.Device) error) (*mdm.Device, error) {
	return nil, mdm.Errorf(mdm.Unavailable, "not implemented yet")
}

// Queue queues a command the system itself decided on (a protocol's inventory query, a configuration or
// app install from the catalog, a policy's action) for those of ids that are ACTIVE devices of the
// tenant, and wakes them. There is no caller to check: callers are the protocols and capabilities,
// never an administrator's request. It returns the devices it queued for.
func (s *Service) Queue(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, c mdm.NewCommand) ([]mdm.DeviceID, error) {
	return nil, mdm.Errorf(mdm.Unavailable, "not implemented yet")
}

// Unenrolled records that a device removed management itself (Apple CheckOut): it becomes RETIRED,
// its open commands are cancelled, its credential stops working at once and a device.unenrolled audit
// record is written. Repeating it changes nothing.
func (s *Service) Unenrolled(ctx context.Context, d *mdm.Device) error {
	return mdm.Errorf(mdm.Unavailable, "not implemented yet")
}
