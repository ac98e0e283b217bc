package applemdm

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"net/http"

	"github.com/micromdm/plist"

	"steward/internal/apple"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// maxIDBytes bounds the UDID and topic a device sends.
const maxIDBytes = 256

// checkin serves the check-in endpoint: Authenticate, TokenUpdate and CheckOut.
func (s *Service) checkin(w http.ResponseWriter, r *http.Request) error {
	body, done, err := readMessage(w, r, apple.CheckinContentType)
	if done || err != nil {
		return err
	}
	cert, err := s.certificate(r, body)
	if err != nil {
		return err
	}
	msg, err := apple.DecodeCheckin(body)
	if err != nil {
		return err
	}
	udid := msg.DeviceUDID()
	if udid == "" || len(udid) > maxIDBytes || !mdm.CleanText(udid) {
		return mdm.Errorf(mdm.Invalid, "the check-in needs the device's UDID")
	}
	ctx := r.Context()
	switch m := msg.(type) {
	case *apple.Authenticate:
		err = s.authenticate(ctx, r, cert, m)
	case *apple.TokenUpdate:
		err = s.tokenUpdate(ctx, r, cert, m, body)
	case *apple.CheckOut:
		err = s.checkOut(ctx, r, cert, m)
	default:
		err = mdm.Errorf(mdm.Invalid, "unknown check-in message")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// authenticate binds the enrollment named by the certificate to a new device record.
func (s *Service) authenticate(ctx context.Context, r *http.Request, cert *x509.Certificate, m *apple.Authenticate) error {
	store := s.d.Store.Apple()
	e, err := store.Enrollment(ctx, cert.Subject.CommonName)
	if err != nil {
		if mdm.IsCode(err, mdm.NotFound) {
			return mdm.Errorf(mdm.Unauthenticated, "the identity certificate names no enrollment")
		}
		return err
	}
	if e.DeviceID != 0 {
		// A repeated Authenticate of the device that enrolled (it did not see our answer): fine.
		d, err := s.d.Devices.AuthenticateDevice(ctx, devices.CertificateCredential(cert))
		if err == nil && d.ID == e.DeviceID && d.TenantID == e.TenantID {
			if ad, err := store.Device(ctx, e.TenantID, d.ID); err == nil && ad.UDID == m.UDID {
				return nil
			}
		}
		return mdm.Errorf(mdm.Forbidden, "this enrollment has enrolled a device already")
	}
	now := s.d.Now()
	if !now.Before(e.ExpiresAt) {
		return mdm.Errorf(mdm.Forbidden, "the enrollment has expired: download a new profile")
	}
	pc, err := store.PushCertificate(ctx, e.TenantID)
	if err != nil && !mdm.IsCode(err, mdm.NotFound) {
		return err
	}
	if err != nil || pc.Topic != m.Topic {
		return mdm.Errorf(mdm.Forbidden, "the device's push topic is not the tenant's push certificate topic")
	}
	if old, err := store.DeviceByUDID(ctx, e.TenantID, m.UDID); err == nil {
		// The same device enrolls again (a reinstalled profile): the old record leaves management.
		od, err := s.d.Store.Devices().Get(ctx, e.TenantID, old.DeviceID)
		if err != nil && !mdm.IsCode(err, mdm.NotFound) {
			return err
		}
		if err == nil {
			if err := s.d.Devices.Unenrolled(ctx, od); err != nil {
				return err
			}
			s.cache.forget(cacheKey{e.TenantID, od.ID})
		}
	} else if !mdm.IsCode(err, mdm.NotFound) {
		return err
	}
	facts := mdm.DeviceFacts{
		DeviceName:   clip(m.DeviceName),
		Model:        clip(m.ProductName),
		Manufacturer: "Apple",
		OSVersion:    clip(m.OSVersion),
		OSBuild:      clip(m.BuildVersion),
		SerialNumber: clip(m.SerialNumber),
		IMEI:         clip(m.IMEI),
	}
	ad := mdm.AppleDevice{TenantID: e.TenantID, UDID: m.UDID, EnrollmentID: e.ID, Topic: m.Topic, EnrolledAt: now}
	d, err := s.d.Devices.Enroll(ctx, devices.Enrollment{TenantID: e.TenantID, AccountID: e.AccountID,
		Platform: mdm.PlatformIOS, Facts: facts, Credential: devices.CertificateCredential(cert)},
		func(tx mdm.Stores, d *mdm.Device) error {
			if err := tx.Apple().BindEnrollment(ctx, e.ID, d.ID); err != nil {
				return err
			}
			ad.DeviceID = d.ID
			return tx.Apple().PutDevice(ctx, ad)
		})
	if err != nil {
		return err
	}
	s.cache.put(cacheKey{d.TenantID, d.ID}, ad)
	s.d.Log.InfoContext(ctx, "apple device enrolled", "tenant_id", d.TenantID, "device_id", d.ID,
		"account_id", d.AccountID, "enrollment_id", e.ID)
	return nil
}

// tokenUpdate stores where to push the device; the first one also asks for its inventory.
func (s *Service) tokenUpdate(ctx context.Context, r *http.Request, cert *x509.Certificate, m *apple.TokenUpdate, body []byte) error {
	d, _, err := s.device(ctx, r, cert, m.UDID)
	if err != nil {
		return err
	}
	var channel struct {
		UserID string `plist:"UserID"`
	}
	if err := plist.Unmarshal(body, &channel); err == nil && channel.UserID != "" {
		// The user channel (a user's own token on a shared or macOS device): Steward manages devices
		// only, so it is acknowledged and ignored.
		return nil
	}
	if len(m.Token) == 0 || len(m.Token) > 1024 || len(m.PushMagic) > maxIDBytes || !mdm.CleanText(m.PushMagic) ||
		len(m.Topic) > maxIDBytes || !mdm.CleanText(m.Topic) || len(m.UnlockToken) > 64<<10 {
		return mdm.Errorf(mdm.Invalid, "the TokenUpdate needs a Token and a PushMagic of sane sizes")
	}
	ad, err := s.freshAppleDevice(ctx, d.TenantID, d.ID)
	if err != nil {
		return err
	}
	first := ad.TokenAt.IsZero()
	var sealed []byte
	if len(m.UnlockToken) > 0 {
		sealed = s.d.Keys.Seal(m.UnlockToken)
	}
	now := s.d.Now()
	if err := s.d.Store.Apple().SetToken(ctx, d.TenantID, d.ID, m.PushMagic, sealed, m.Topic, now); err != nil {
		return err
	}
	s.cache.update(cacheKey{d.TenantID, d.ID}, func(v *cached) {
		v.ad.PushMagic, v.ad.Topic, v.ad.TokenAt = m.PushMagic, m.Topic, now
		if sealed != nil {
			v.ad.UnlockToken = sealed
		}
	})
	token := hex.EncodeToString(m.Token)
	if _, err := s.d.Devices.CheckIn(ctx, d, devices.CheckIn{PushToken: &token, NoCommands: true}); err != nil {
		return err
	}
	if first {
		if err := s.queueInventory(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// queueInventory asks the device for its information and its apps.
func (s *Service) queueInventory(ctx context.Context, d *mdm.Device) error {
	for _, typ := range []string{mdm.CmdDeviceInformation, mdm.CmdInstalledApps} {
		if _, err := s.d.Devices.Queue(ctx, d.TenantID, []mdm.DeviceID{d.ID},
			mdm.NewCommand{Type: typ, CreatedBy: "system", Collapse: true}); err != nil {
			return err
		}
	}
	return nil
}

// checkOut records that the device removed its MDM profile.
func (s *Service) checkOut(ctx context.Context, r *http.Request, cert *x509.Certificate, m *apple.CheckOut) error {
	d, _, err := s.device(ctx, r, cert, m.UDID)
	if err != nil {
		return err
	}
	if err := s.d.Devices.Unenrolled(ctx, d); err != nil {
		return err
	}
	s.cache.forget(cacheKey{d.TenantID, d.ID})
	s.d.Log.InfoContext(ctx, "apple device checked out", "tenant_id", d.TenantID, "device_id", d.ID)
	return nil
}

// clip cuts a text fact to devices.MaxFactBytes on a character boundary.
func clip(s string) string { return clipTo(s, devices.MaxFactBytes) }
