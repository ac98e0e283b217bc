package mdm

import (
	"context"
	"time"
)

// AppleEnrollment is one enrollment profile Steward handed out to a user who authenticated as their
// registration setting asks. The profile's identity certificate names the enrollment (its subject's
// common name is ID), so the device's first check-in (Authenticate) finds the account it enrolls for.
// ChallengeHash is the keyed hash of the one-time SCEP challenge in the profile; an enrollment issues
// at most one identity certificate (CertIssuedAt) and binds at most one device (DeviceID), and only
// before ExpiresAt.
type AppleEnrollment struct {
	ID            string // random, 32 hex digits
	TenantID      TenantID
	AccountID     AccountID
	ChallengeHash []byte
	CreatedAt     time.Time
	ExpiresAt     time.Time
	CertIssuedAt  *time.Time
	DeviceID      DeviceID // 0 until a device authenticates with the enrollment's certificate
}

// AppleDevice is the Apple protocol's state of one enrolled device, beside its mdm.Device record.
// The device's identity certificate is its credential (the device record's credential hash); the
// push token is the device record's PushToken. UnlockToken is sealed (secret.Keys.Seal): ClearPasscode
// needs it back. InventoryAt is when DeviceInformation last answered (zero: never).
type AppleDevice struct {
	TenantID     TenantID
	DeviceID     DeviceID
	UDID         string
	EnrollmentID string
	Topic        string // the push topic the device enrolled with
	PushMagic    string
	UnlockToken  []byte // sealed; nil when the device sent none
	EnrolledAt   time.Time
	TokenAt      time.Time // last TokenUpdate; zero: none yet
	InventoryAt  time.Time
}

// ApplePushCertificate is a tenant's APNs push certificate. The private key is sealed.
type ApplePushCertificate struct {
	TenantID   TenantID
	CertPEM    []byte // leaf first, then any chain
	KeySealed  []byte // PKCS#8 DER, sealed
	Topic      string
	NotAfter   time.Time
	UploadedBy string
	UploadedAt time.Time
}

// AppleCA is the certificate authority that issues device identity certificates and signs enrollment
// profiles: one per deployment, shared by every replica.
type AppleCA struct {
	CertDER   []byte
	KeySealed []byte // PKCS#8 DER, sealed
	CreatedAt time.Time
}

// AppleStore keeps the Apple protocol's records.
//
// CreateEnrollment stores a new enrollment. Enrollment finds one by ID in any tenant (the certificate
// names no tenant) and EnrollmentByChallenge by its challenge hash; both return not_found for an
// unknown one. IssueCert marks an enrollment's certificate issued, only if none was and it has not
// expired at now, and returns not_found otherwise (a second use of a challenge). BindEnrollment sets
// the enrollment's DeviceID only while it is 0 (conflict otherwise). PruneEnrollments deletes unbound
// enrollments that expired before before, and returns how many.
//
// PutDevice creates or replaces the Apple state of a device (not_found when the device is not one of
// the tenant's). Device returns it (not_found when there is none); DeviceByUDID finds the tenant's
// device with that UDID whose registration is not RETIRED or WIPED (not_found when none). SetToken
// stores a TokenUpdate's push magic, sealed unlock token (nil keeps the stored one) and topic.
// SetInventoryAt records when the device last answered DeviceInformation. PushMagic returns the push
// magic of one device, for the APNs sender. InventoryDue lists, in every tenant, up to limit ACTIVE iOS
// devices whose inventory (InventoryAt, or EnrolledAt when it never answered) is older than before and
// that have no open (PENDING, SENT or NOT_NOW) DeviceInformation command, so a device asked already is
// not listed again until it answers; oldest inventory first.
//
// PutPushCertificate creates or replaces a tenant's push certificate; PushCertificate returns it
// (not_found when the tenant has none); DeletePushCertificate removes it (not_found when none);
// PushCertificatesExpiring lists, in every tenant, those expiring before before, soonest first.
//
// CA returns the deployment's CA (not_found before the first one is made). InitCA stores ca unless a
// CA exists already, and returns the stored one either way, so replicas starting together agree.
type AppleStore interface {
	CreateEnrollment(ctx context.Context, e AppleEnrollment) error
	Enrollment(ctx context.Context, id string) (*AppleEnrollment, error)
	EnrollmentByChallenge(ctx context.Context, hash []byte) (*AppleEnrollment, error)
	IssueCert(ctx context.Context, id string, now time.Time) error
	BindEnrollment(ctx context.Context, id string, deviceID DeviceID) error
	PruneEnrollments(ctx context.Context, before time.Time) (int, error)

	PutDevice(ctx context.Context, d AppleDevice) error
	Device(ctx context.Context, tenantID TenantID, id DeviceID) (*AppleDevice, error)
	DeviceByUDID(ctx context.Context, tenantID TenantID, udid string) (*AppleDevice, error)
	SetToken(ctx context.Context, tenantID TenantID, id DeviceID, pushMagic string, unlockToken []byte, topic string, now time.Time) error
	SetInventoryAt(ctx context.Context, tenantID TenantID, id DeviceID, at time.Time) error
	PushMagic(ctx context.Context, tenantID TenantID, id DeviceID) (string, error)
	InventoryDue(ctx context.Context, before time.Time, limit int) ([]AppleDevice, error)

	PutPushCertificate(ctx context.Context, c ApplePushCertificate) error
	PushCertificate(ctx context.Context, tenantID TenantID) (*ApplePushCertificate, error)
	DeletePushCertificate(ctx context.Context, tenantID TenantID) error
	PushCertificatesExpiring(ctx context.Context, before time.Time) ([]ApplePushCertificate, error)

	CA(ctx context.Context) (*AppleCA, error)
	InitCA(ctx context.Context, ca AppleCA) (*AppleCA, error)
}
