package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"steward/internal/mdm"
)

type registrationStore stores

var _ mdm.RegistrationSettingsStore = registrationStore{}

func (s registrationStore) Get(ctx context.Context, tenantID mdm.TenantID) (*mdm.RegistrationSettings, error) {
	var r mdm.RegistrationSettings
	var modified int64
	err := s.q.QueryRowContext(ctx, `SELECT auth_type, pin_lifetime_days, pin_length, allow_pin_request, devices_per_user,
		modified_at FROM registration_settings WHERE tenant_id=$1`, tenantID).Scan(&r.AuthType, &r.PINLifetimeDays,
		&r.PINLength, &r.AllowPINRequest, &r.DevicesPerUser, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		d := mdm.DefaultRegistrationSettings()
		return &d, nil
	}
	if err != nil {
		return nil, dbError(err)
	}
	r.ModifiedAt = fromMS(modified)
	return &r, nil
}

func (s registrationStore) Put(ctx context.Context, tenantID mdm.TenantID, r mdm.RegistrationSettings, now time.Time) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO registration_settings (tenant_id, auth_type, pin_lifetime_days, pin_length,
		allow_pin_request, devices_per_user, modified_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (tenant_id) DO UPDATE SET auth_type=excluded.auth_type, pin_lifetime_days=excluded.pin_lifetime_days,
		pin_length=excluded.pin_length, allow_pin_request=excluded.allow_pin_request,
		devices_per_user=excluded.devices_per_user, modified_at=excluded.modified_at`,
		tenantID, r.AuthType, r.PINLifetimeDays, r.PINLength, r.AllowPINRequest, r.DevicesPerUser, ms(now))
	if isForeignKeyViolation(err) {
		return mdm.Errorf(mdm.NotFound, "tenant not found")
	}
	return dbError(err)
}
