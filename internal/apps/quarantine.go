package apps

import (
	"context"

	"steward/internal/assign"
	"steward/internal/mdm"
)

// notQuarantined refuses a quarantined device: it gets no apps until it complies again.
func notQuarantined(d *mdm.Device) error {
	if d.Quarantined {
		return mdm.Errorf(mdm.Forbidden, "this device is quarantined by a compliance policy: apps are blocked until it complies again")
	}
	return nil
}

// Quarantine runs in the transaction that quarantines d (compliance.Quarantiner); d's quarantined flag
// is already set in tx, so that delivery queues it no install from now on. With removeApps, every app
// Steward installed on d (its managed installs) gets REMOVE_APPLICATION and its installs not yet sent
// are cancelled; otherwise the apps stay.
func (s *Service) Quarantine(ctx context.Context, tx mdm.Stores, d *mdm.Device, removeApps bool) error {
	if !removeApps {
		return nil
	}
	ids, err := tx.Apps().InstallsOn(ctx, d.TenantID, d.ID)
	if err != nil || len(ids) == 0 {
		return err
	}
	apps, err := tx.Apps().ByIDs(ctx, d.TenantID, ids)
	if err != nil {
		return err
	}
	for i := range apps {
		if _, err := s.removeIn(ctx, tx, d.TenantID, &apps[i], []mdm.DeviceID{d.ID}); err != nil {
			return err
		}
	}
	return nil
}

// Release queues, in the transaction that releases d, INSTALL_APPLICATION of every app a required
// distribution reaches d with that d lacks (an install answered before now does not hold it back:
// Quarantine may have removed the app).
func (s *Service) Release(ctx context.Context, tx mdm.Stores, d *mdm.Device) error {
	if d.RegistrationState != mdm.StateActive {
		return nil
	}
	r := assign.NewResolver(tx)
	t, err := r.TargetsForDevice(ctx, d.TenantID, d)
	if err != nil {
		return err
	}
	ds, err := r.Effective(ctx, d.TenantID, mdm.ItemApp, t)
	if err != nil {
		return err
	}
	var ids []mdm.AppID
	for _, x := range ds {
		if x.Required {
			ids = append(ids, mdm.AppID(x.ItemID))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	apps, err := tx.Apps().ByIDs(ctx, d.TenantID, ids)
	if err != nil {
		return err
	}
	for i := range apps {
		a := &apps[i]
		if a.Platform != d.Platform {
			continue
		}
		need, err := tx.Apps().NeedInstall(ctx, d.TenantID, a, []mdm.DeviceID{d.ID}, s.now())
		if err != nil {
			return err
		}
		payload, ok := s.InstallPayload(a)
		if len(need) == 0 || !ok {
			continue
		}
		if _, err := s.installIn(ctx, tx, d.TenantID, a, payload, need); err != nil {
			return err
		}
	}
	return nil
}
