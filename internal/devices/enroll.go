package devices

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"steward/internal/audit"
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
	// Replaces is the account's earlier record of the same device (Apple: the UDID enrolled again), or
	// 0. Within Enroll's transaction (so a failure later in it, such as within's, undoes it) it is retired and its open commands cancelled; a
	// record of another account is a conflict and nothing is stored.
	Replaces mdm.DeviceID
}

// Enroll creates the device of an enrollment for its account, within the devices-per-user limit of the
// account's registration setting and the tenant's license seats (conflict naming the limit, nothing
// stored), in one transaction that also runs within (the protocol's own records: nil for none). The
// account must still exist in the tenant (not_found otherwise) and the tenant be active (forbidden).
// It writes the device.register audit record as Register does.
func (s *Service) Enroll(ctx context.Context, e Enrollment, within func(tx mdm.Stores, d *mdm.Device) error) (*mdm.Device, error) {
	var v mdm.Validator
	v.Check(e.TenantID != "", "tenantId", "Required", "give the enrollment's tenant")
	v.Check(e.AccountID > 0, "accountId", "Required", "give the enrollment's account")
	v.Check(e.Platform == mdm.PlatformIOS, "platform", "Invalid", "must be IOS (Android devices register)")
	v.Check(isCertificateCredential(e.Credential), "credential", "Invalid",
		"must be the identity certificate's credential ("+certificatePrefix+" and 64 lower-case hex digits)")
	facts := cleanFacts(&v, e.Facts)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	nd := mdm.NewDevice{GUID: newUUID(), Platform: e.Platform, Facts: facts, FactsHash: factsHash(facts),
		Kind:           mdm.DeviceKindFor(e.Platform, facts.Model, facts.PrettyModel, facts.FormFactor),
		CredentialHash: s.keys.Hash(e.Credential)}
	var d *mdm.Device
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		d = nil
		acc, err := tx.Accounts().Get(ctx, e.TenantID, e.AccountID)
		if mdm.IsCode(err, mdm.NotFound) {
			return mdm.Errorf(mdm.NotFound, "account %d not found: the device was not enrolled", e.AccountID)
		}
		if err != nil {
			return err
		}
		set, err := s.settingsFor(ctx, tx, acc)
		if err != nil {
			return err
		}
		if e.Replaces != 0 {
			// First, so that the account's device limit does not count the record being replaced.
			if err := s.replace(ctx, tx, e, now); err != nil {
				return err
			}
		}
		created, err := s.create(ctx, tx, acc, set, nd, nil, "", now)
		if err != nil {
			return err
		}
		if within != nil {
			if err := within(tx, created); err != nil {
				return err
			}
		}
		d = created
		return nil
	})
	if err != nil {
		return nil, err
	}
	if e.Replaces != 0 {
		s.forget(e.TenantID, e.Replaces)
	}
	s.log.InfoContext(ctx, "device enrolled", "tenant_id", d.TenantID, "device_id", d.ID, "account_id", d.AccountID,
		"platform", d.Platform, "kind", d.Kind)
	if s.hooks.Enrolled != nil {
		s.hooks.Enrolled(ctx, d.TenantID, d.ID)
	}
	return d, nil
}

// replace retires e.Replaces, a record of e's account, in tx (see Enrollment.Replaces).
func (s *Service) replace(ctx context.Context, tx mdm.Stores, e Enrollment, now time.Time) error {
	old, err := tx.Devices().Get(ctx, e.TenantID, e.Replaces)
	if mdm.IsCode(err, mdm.NotFound) {
		return nil // gone already: nothing to replace
	}
	if err != nil {
		return err
	}
	if old.AccountID != e.AccountID {
		return mdm.Errorf(mdm.Conflict, "this device is enrolled by another user; an administrator must retire it first")
	}
	if _, err := tx.Commands().CancelOpen(ctx, e.TenantID, []mdm.DeviceID{old.ID}, "", openStatuses, now); err != nil {
		return err
	}
	ids, err := tx.Devices().SetState(ctx, e.TenantID, []mdm.DeviceID{old.ID}, notDone, mdm.StateRetired, now)
	if err != nil || len(ids) == 0 {
		return err
	}
	return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: e.TenantID, Action: "device.unenrolled",
		TargetType: "device", TargetID: fmt.Sprint(old.ID), Details: map[string]any{"id": old.ID,
			"from": old.RegistrationState, "reason": "enrolled again"}})
}

// isCertificateCredential reports whether c has the form of CertificateCredential's result.
func isCertificateCredential(c string) bool {
	hexPart, ok := strings.CutPrefix(c, certificatePrefix)
	if !ok || len(hexPart) != 2*sha256.Size {
		return false
	}
	for _, r := range hexPart {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// systemCommands are the command types Queue takes, and whether a repeat still waiting for the device
// collapses into the first (an inventory query asked twice is answered once).
var systemCommands = map[string]bool{
	mdm.CmdLock: false, mdm.CmdUnlock: false, mdm.CmdWipe: false, mdm.CmdRetire: false,
	mdm.CmdForceCheckin: true, mdm.CmdMessage: false,
	mdm.CmdDeviceInformation: true, mdm.CmdInstalledApps: true,
	mdm.CmdInstallProfile: false, mdm.CmdRemoveProfile: false, mdm.CmdInstallApp: false, mdm.CmdRemoveApp: false,
	mdm.CmdApplyConfiguration: false, mdm.CmdRemoveConfiguration: false,
}

// Payload bounds for Queue: a profile (base64 of a .mobileconfig) is the largest value.
const (
	maxPayloadKeys  = 16
	maxPayloadKey   = 64
	MaxPayloadValue = 1 << 20
)

// cleanPayload checks a command payload: a few keys of printable text, values of valid UTF-8 within
// MaxPayloadValue. It returns a copy.
func cleanPayload(v *mdm.Validator, p map[string]string) map[string]string {
	v.Check(len(p) <= maxPayloadKeys, "payload", "Size", fmt.Sprintf("at most %d keys", maxPayloadKeys))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		val := p[k]
		if k == "" || !printable(k, maxPayloadKey) || len(val) > MaxPayloadValue || !utf8.ValidString(val) ||
			strings.ContainsRune(val, 0) {
			v.Check(false, "payload", "Invalid", fmt.Sprintf("keys are at most %d printable characters, values at most "+
				"%d bytes of text", maxPayloadKey, MaxPayloadValue))
			break
		}
	}
	return maps.Clone(p)
}

// Queue queues a command the system itself decided on (a protocol's inventory query, a configuration or
// app install from the catalog, a policy's action) for those of ids that are ACTIVE devices of the
// tenant, and wakes them. There is no caller to check: callers are the protocols and capabilities,
// never an administrator's request. It returns the devices it queued for.
//
// Because it checks no principal, it must never be reachable from an HTTP handler with a tenant or
// device ids the caller chose: administrators' requests go through Act and SendMessage, which do.
func (s *Service) Queue(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, c mdm.NewCommand) ([]mdm.DeviceID, error) {
	return s.queue(ctx, tenantID, ids, c, true)
}

// QueueQuiet is Queue without the wake: for a follow-up a protocol queues while the device is connected
// and about to fetch it in the same exchange (a push would only bring it back for nothing).
func (s *Service) QueueQuiet(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, c mdm.NewCommand) ([]mdm.DeviceID, error) {
	return s.queue(ctx, tenantID, ids, c, false)
}

// QueueQuietIn is QueueQuiet within tx, the caller's transaction (a check-in's Also).
func (s *Service) QueueQuietIn(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, ids []mdm.DeviceID, c mdm.NewCommand) ([]mdm.DeviceID, error) {
	return s.queueIn(ctx, tx, tenantID, ids, c)
}

func (s *Service) queue(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, c mdm.NewCommand, wake bool) ([]mdm.DeviceID, error) {
	got, err := s.queueIn(ctx, s.store, tenantID, ids, c)
	if err != nil {
		return nil, err
	}
	if wake && len(got) > 0 {
		s.wake(ctx, tenantID, got)
	}
	return got, nil
}

// queueIn checks a system command and queues it for ids through st (the store or a transaction).
func (s *Service) queueIn(ctx context.Context, st mdm.Stores, tenantID mdm.TenantID, ids []mdm.DeviceID, c mdm.NewCommand) ([]mdm.DeviceID, error) {
	collapse, known := systemCommands[c.Type]
	if !known {
		return nil, mdm.Errorf(mdm.Invalid, "unknown command type %q", truncate(c.Type, 40))
	}
	var v mdm.Validator
	v.Check(tenantID != "", "tenantId", "Required", "give the tenant")
	payload := cleanPayload(&v, c.Payload)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ids, err := cleanIDs("ids", ids)
	if err != nil {
		return nil, err
	}
	c.Payload, c.Collapse = payload, c.Collapse || collapse
	if c.CreatedBy == "" {
		c.CreatedBy = "system"
	}
	return st.Commands().Enqueue(ctx, tenantID, ids, []string{mdm.StateActive}, c, s.now())
}

// Unenrolled records that a device removed management itself (Apple CheckOut): it becomes RETIRED,
// its open commands are cancelled, its credential stops working at once and a device.unenrolled audit
// record is written. Repeating it changes nothing.
func (s *Service) Unenrolled(ctx context.Context, d *mdm.Device) error {
	now := s.now()
	moved := false
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		// Commands first, then the device, in the order an answer takes them (see moveState).
		if _, err := tx.Commands().CancelOpen(ctx, d.TenantID, []mdm.DeviceID{d.ID}, "", openStatuses, now); err != nil {
			return err
		}
		ids, err := tx.Devices().SetState(ctx, d.TenantID, []mdm.DeviceID{d.ID}, notDone, mdm.StateRetired, now)
		if err != nil || len(ids) == 0 {
			return err // already RETIRED or WIPED (or gone): nothing to record
		}
		moved = true
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: d.TenantID, Action: "device.unenrolled",
			TargetType: "device", TargetID: fmt.Sprint(d.ID), Details: map[string]any{"id": d.ID, "from": d.RegistrationState}})
	})
	if err != nil {
		return err
	}
	s.forget(d.TenantID, d.ID)
	if moved {
		d.RegistrationState = mdm.StateRetired
		s.log.InfoContext(ctx, "device removed management", "tenant_id", d.TenantID, "device_id", d.ID)
	}
	return nil
}
