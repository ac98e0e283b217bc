package devices

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"steward/internal/audit"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Register registers a device for the user whose credentials r carries, within the devices-per-user
// limit of their setting and the tenant's license seats, and issues its credential. Bad input is
// refused before any credential is checked, so it never uses up a PIN; the device is created in the
// Registrar's transaction that uses the PIN up, so a registration refused there keeps it too.
func (s *Service) Register(ctx context.Context, r Registration) (*Registered, error) {
	var v mdm.Validator
	switch r.Platform {
	case mdm.PlatformAndroid:
	case mdm.PlatformIOS:
		v.Check(false, "platform", "Invalid", "iOS devices register through Apple MDM enrollment")
	default:
		v.Check(false, "platform", "Invalid", "must be ANDROID")
	}
	facts := cleanFacts(&v, r.Facts)
	apps := cleanApps(&v, r.Apps)
	push := cleanPushToken(&v, r.PushToken)
	if err := v.Err(); err != nil {
		return nil, err
	}
	credential := credentialPrefix + secret.Token()
	now := s.now()
	nd := mdm.NewDevice{GUID: newUUID(), Platform: r.Platform, Facts: facts, FactsHash: factsHash(facts),
		Kind:           mdm.DeviceKindFor(r.Platform, facts.Model, facts.PrettyModel, facts.FormFactor),
		CredentialHash: s.keys.Hash(credential)}
	var d *mdm.Device
	create := func(tx mdm.Stores, acc *mdm.Account, set *mdm.RegistrationSettings) error {
		var err error
		d, err = s.create(ctx, tx, acc, set, nd, apps, push, now)
		return err
	}
	if _, _, err := s.reg.RegisterDevice(ctx, r.Username, r.PIN, r.Password, create); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "device registered", "tenant_id", d.TenantID, "device_id", d.ID, "account_id", d.AccountID,
		"platform", d.Platform, "kind", d.Kind)
	if s.hooks.Enrolled != nil {
		s.hooks.Enrolled(ctx, d.TenantID, d.ID)
	}
	return &Registered{Device: d, Credential: credential, CheckinInterval: s.interval}, nil
}

// create creates nd for acc in tx, within the devices-per-user limit of set and the tenant's license
// seats (the tenant must be active), stores its apps and push token when there are any, writes the
// device.register audit record as acc, and returns the stored device. Register and Enroll share it.
func (s *Service) create(ctx context.Context, tx mdm.Stores, acc *mdm.Account, set *mdm.RegistrationSettings,
	nd mdm.NewDevice, apps []mdm.InstalledApp, push string, now time.Time) (*mdm.Device, error) {
	t, err := tx.Tenants().Get(ctx, acc.TenantID)
	if err != nil {
		return nil, err
	}
	if t.State != mdm.TenantActive {
		return nil, mdm.Errorf(mdm.Forbidden, "tenant %s is suspended", t.Name)
	}
	nd.TenantID, nd.AccountID, nd.PerAccount, nd.Seats = acc.TenantID, acc.ID, set.DevicesPerUser, t.LicenseDevices
	created, err := tx.Devices().Create(ctx, nd, now)
	if err != nil {
		return nil, err
	}
	if apps != nil {
		if err := tx.Devices().SetApps(ctx, acc.TenantID, created.ID, apps, appsHash(apps), now); err != nil {
			return nil, err
		}
	}
	if push != "" {
		if err := tx.Devices().SetPushToken(ctx, acc.TenantID, created.ID, push, now); err != nil {
			return nil, err
		}
	}
	actx := mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(acc.ID),
		Username: acc.Username, TenantID: acc.TenantID})
	if err := audit.Write(actx, tx.Audit(), now, audit.Entry{TenantID: acc.TenantID, Action: "device.register",
		TargetType: "device", TargetID: fmt.Sprint(created.ID), Details: map[string]any{"id": created.ID,
			"guid": created.GUID, "platform": created.Platform, "kind": created.Kind, "owner": acc.Username,
			"model": nd.Facts.Model, "serialNumber": nd.Facts.SerialNumber}}); err != nil {
		return nil, err
	}
	return tx.Devices().Get(ctx, acc.TenantID, created.ID)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
