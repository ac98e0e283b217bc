package applemdm

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"unicode"

	"github.com/micromdm/plist"

	"steward/internal/apple"
	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/secret"
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
	var head struct {
		MessageType string `plist:"MessageType"`
	}
	if plist.Unmarshal(body, &head) == nil && head.MessageType == "UserAuthenticate" {
		// A user channel asking to authenticate its user: this server has no user channel, and 410
		// tells the device so (it then carries on without one).
		return writeStatus(w, http.StatusGone, "this server has no user channel")
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
	// The same device enrolling again (a reinstalled profile) replaces its old record, within the
	// enrollment's own transaction, and only when the same user enrolls it: another user's device
	// leaves management only by an administrator's hand.
	var replaces mdm.DeviceID
	if old, err := store.DeviceByUDID(ctx, e.TenantID, m.UDID); err == nil {
		od, err := s.d.Store.Devices().Get(ctx, e.TenantID, old.DeviceID)
		if err != nil && !mdm.IsCode(err, mdm.NotFound) {
			return err
		}
		if err == nil {
			if od.AccountID != e.AccountID {
				return mdm.Errorf(mdm.Conflict, "this device is enrolled by another user; an administrator must retire it first")
			}
			replaces = od.ID
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
		Platform: mdm.PlatformIOS, Facts: facts, Credential: devices.CertificateCredential(cert), Replaces: replaces},
		func(tx mdm.Stores, d *mdm.Device) error {
			if err := tx.Apple().BindEnrollment(ctx, e.ID, d.ID); err != nil {
				return err
			}
			ad.DeviceID = d.ID
			return tx.Apple().PutDevice(ctx, ad)
		})
	if err != nil {
		if mdm.IsCode(err, mdm.Conflict) && s.boundTo(ctx, e.ID, m.UDID) {
			return nil // a duplicate Authenticate lost the race to the first: the device is enrolled
		}
		return err
	}
	if replaces != 0 {
		s.cache.forget(cacheKey{e.TenantID, replaces})
	}
	s.cache.put(cacheKey{d.TenantID, d.ID}, ad)
	s.d.Log.InfoContext(ctx, "apple device enrolled", "tenant_id", d.TenantID, "device_id", d.ID,
		"account_id", d.AccountID, "enrollment_id", e.ID)
	return nil
}

// boundTo reports whether the enrollment is bound to a device with that UDID now.
func (s *Service) boundTo(ctx context.Context, enrollmentID, udid string) bool {
	e, err := s.d.Store.Apple().Enrollment(ctx, enrollmentID)
	if err != nil || e.DeviceID == 0 {
		return false
	}
	ad, err := s.d.Store.Apple().Device(ctx, e.TenantID, e.DeviceID)
	return err == nil && ad.UDID == udid
}

// tokenUpdate stores where to push the device; until the device has answered DeviceInformation, it
// also asks for its inventory.
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
	var sealed []byte
	if len(m.UnlockToken) > 0 {
		sealed = s.d.Keys.Seal(m.UnlockToken)
	}
	// The push magic lets whoever holds it (with the tenant's push certificate) wake the device: sealed
	// like the unlock token; MagicSource opens it for the APNs sender.
	magic := SealPushMagic(s.d.Keys, m.PushMagic)
	now := s.d.Now()
	if err := s.d.Store.Apple().SetToken(ctx, d.TenantID, d.ID, magic, sealed, m.Topic, now); err != nil {
		return err
	}
	s.cache.update(cacheKey{d.TenantID, d.ID}, func(v *cached) {
		v.ad.PushMagic, v.ad.Topic, v.ad.TokenAt = magic, m.Topic, now
		if sealed != nil {
			v.ad.UnlockToken = sealed
		}
	})
	token := hex.EncodeToString(m.Token)
	if _, err := s.d.Devices.CheckIn(ctx, d, devices.CheckIn{PushToken: &token, NoCommands: true}); err != nil {
		return err
	}
	// Until the device has answered DeviceInformation once, every TokenUpdate asks (Collapse keeps one
	// query of each kind waiting), so an earlier TokenUpdate that failed half-way does not leave the
	// device without its inventory.
	if ad.InventoryAt.IsZero() {
		if err := s.queueInventory(ctx, d, true); err != nil {
			return err
		}
	}
	return nil
}

// queueInventory asks the device for its information and its apps, waking it when wake (not when it
// is connected now and takes them in this exchange).
func (s *Service) queueInventory(ctx context.Context, d *mdm.Device, wake bool) error {
	for _, typ := range []string{mdm.CmdDeviceInformation, mdm.CmdInstalledApps} {
		// One of each waiting is enough (Collapse only looks at the newest command).
		open, err := s.d.Store.Commands().Having(ctx, d.TenantID, []mdm.DeviceID{d.ID}, typ,
			[]string{mdm.CmdPending, mdm.CmdSent})
		if err != nil {
			return err
		}
		if len(open) > 0 {
			continue
		}
		queue := s.d.Devices.QueueQuiet
		if wake {
			queue = s.d.Devices.Queue
			wake = false // one push carries both: a woken device connects until nothing is left
		}
		if _, err := queue(ctx, d.TenantID, []mdm.DeviceID{d.ID},
			mdm.NewCommand{Type: typ, CreatedBy: "system", Collapse: true}); err != nil {
			return err
		}
	}
	return nil
}

// SealPushMagic is the stored form of a device's push magic (base64 of k.Seal): what TokenUpdate stores
// and MagicSource opens.
func SealPushMagic(k *secret.Keys, magic string) string {
	return base64.StdEncoding.EncodeToString(k.Seal([]byte(magic)))
}

// openMagic opens what SealPushMagic stored.
func openMagic(k *secret.Keys, stored string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return "", mdm.Wrap(mdm.Internal, err, "the stored push magic is not sealed")
	}
	clear, err := k.Open(raw)
	if err != nil {
		return "", mdm.Wrap(mdm.Internal, err, "cannot open the push magic")
	}
	return string(clear), nil
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

// clip makes device-reported text one the devices service accepts, so that a good-faith answer is
// always recorded: invalid UTF-8 and the characters it refuses (controls and Unicode format
// characters such as the zero-width joiner of a family emoji or a right-to-left mark) are dropped,
// surrounding space trimmed, and the rest cut to devices.MaxFactBytes on a character boundary.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r == ' ' || unicode.IsPrint(r) {
			return r
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return -1
	}, s)
	return strings.TrimSpace(clipTo(strings.TrimSpace(s), devices.MaxFactBytes))
}
