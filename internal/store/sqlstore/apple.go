package sqlstore

import (
	"context"
	"time"

	"steward/internal/mdm"
)

// appleStore implements mdm.AppleStore. (Placeholder until the Apple tables exist.)
type appleStore stores

func notYet() error { return mdm.Errorf(mdm.Unavailable, "apple store: not implemented yet") }

func (s appleStore) CreateEnrollment(ctx context.Context, e mdm.AppleEnrollment) error {
	return notYet()
}
func (s appleStore) Enrollment(ctx context.Context, id string) (*mdm.AppleEnrollment, error) {
	return nil, notYet()
}
func (s appleStore) EnrollmentByChallenge(ctx context.Context, hash []byte) (*mdm.AppleEnrollment, error) {
	return nil, notYet()
}
func (s appleStore) IssueCert(ctx context.Context, id string, now time.Time) error { return notYet() }
func (s appleStore) BindEnrollment(ctx context.Context, id string, deviceID mdm.DeviceID) error {
	return notYet()
}
func (s appleStore) PruneEnrollments(ctx context.Context, before time.Time) (int, error) {
	return 0, notYet()
}
func (s appleStore) PutDevice(ctx context.Context, d mdm.AppleDevice) error { return notYet() }
func (s appleStore) Device(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.AppleDevice, error) {
	return nil, notYet()
}
func (s appleStore) DeviceByUDID(ctx context.Context, tenantID mdm.TenantID, udid string) (*mdm.AppleDevice, error) {
	return nil, notYet()
}
func (s appleStore) SetToken(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, pushMagic string, unlockToken []byte, topic string, now time.Time) error {
	return notYet()
}
func (s appleStore) SetInventoryAt(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, at time.Time) error {
	return notYet()
}
func (s appleStore) PushMagic(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (string, error) {
	return "", notYet()
}
func (s appleStore) PutPushCertificate(ctx context.Context, c mdm.ApplePushCertificate) error {
	return notYet()
}
func (s appleStore) PushCertificate(ctx context.Context, tenantID mdm.TenantID) (*mdm.ApplePushCertificate, error) {
	return nil, notYet()
}
func (s appleStore) DeletePushCertificate(ctx context.Context, tenantID mdm.TenantID) error {
	return notYet()
}
func (s appleStore) PushCertificatesExpiring(ctx context.Context, before time.Time) ([]mdm.ApplePushCertificate, error) {
	return nil, notYet()
}
func (s appleStore) CA(ctx context.Context) (*mdm.AppleCA, error) { return nil, notYet() }
func (s appleStore) InitCA(ctx context.Context, ca mdm.AppleCA) (*mdm.AppleCA, error) {
	return nil, notYet()
}
