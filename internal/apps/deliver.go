package apps

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"steward/internal/assign"
	"steward/internal/lease"
	"steward/internal/mdm"
)

// RetryInstallAfter is how long after an install was answered a device that still lacks the app gets
// another: until its next inventory report the device does not list an app it just installed, and an
// install that failed (an app the device cannot get) is not retried every round.
const RetryInstallAfter = 24 * time.Hour

// Delivery is what one delivery run queued.
type Delivery struct {
	Installs int // INSTALL_APPLICATION commands queued
	Removals int // REMOVE_APPLICATION commands queued
	Skipped  int // devices that need the app but cannot be sent an install (see InstallPayload)
}

// deliver runs Deliver after a change was committed; a failure is logged (the next change, or
// Converge, delivers again: delivery is idempotent).
func (s *Service) deliver(ctx context.Context, tenantID mdm.TenantID, a *mdm.App, old, now []mdm.Distribution) {
	d, err := s.Deliver(context.WithoutCancel(ctx), tenantID, a, now)
	if err != nil {
		s.log.Error("app delivery failed", "tenant_id", tenantID, "app_id", a.ID, "err", err)
		return
	}
	if d.Installs+d.Removals+d.Skipped > 0 {
		s.log.Info("app delivery", "tenant_id", tenantID, "app_id", a.ID, "installs", d.Installs,
			"removals", d.Removals, "skipped", d.Skipped, "old_targets", len(old))
	}
}

// Deliver brings the devices an app reaches in line with its distribution ds (nil for a deleted app):
// every ACTIVE, not quarantined device of the app's platform that a required distribution reaches and that neither
// reports the app installed nor has an install of it open or recently answered gets INSTALL_APPLICATION
// (collapsed with an identical pending one, should two changes race), becoming one of
// the app's managed installs; every managed install that ds no longer reaches at all gets
// REMOVE_APPLICATION. Running it again queues nothing new.
func (s *Service) Deliver(ctx context.Context, tenantID mdm.TenantID, a *mdm.App, ds []mdm.Distribution) (Delivery, error) {
	var out Delivery
	r := assign.NewResolver(s.store)
	var required []mdm.Distribution
	for _, d := range ds {
		if d.Required {
			required = append(required, d)
		}
	}
	if len(required) > 0 {
		want, err := r.DevicesReached(ctx, tenantID, required)
		if err != nil {
			return out, err
		}
		need, err := s.store.Apps().NeedInstall(ctx, tenantID, a, want, s.now().Add(-RetryInstallAfter))
		if err != nil {
			return out, err
		}
		if len(need) > 0 {
			payload, ok := s.InstallPayload(a)
			if !ok {
				out.Skipped = len(need)
			} else {
				err := s.store.InTx(ctx, func(tx mdm.Stores) error {
					queued, err := s.installIn(ctx, tx, tenantID, a, payload, need)
					out.Installs, need = len(queued), queued
					return err
				})
				if err != nil {
					return out, err
				}
				s.wakeUp(ctx, tenantID, need)
			}
		}
	}
	managed, err := s.store.Apps().ManagedInstalls(ctx, tenantID, a.ID)
	if err != nil || len(managed) == 0 {
		return out, err
	}
	var keep []mdm.DeviceID
	if len(ds) > 0 {
		if keep, err = r.DevicesReached(ctx, tenantID, ds); err != nil {
			return out, err
		}
	}
	var lost []mdm.DeviceID
	for _, id := range managed {
		if _, found := slices.BinarySearch(keep, id); !found {
			lost = append(lost, id)
		}
	}
	out.Removals, err = s.remove(ctx, tenantID, a, lost)
	return out, err
}

// remove queues REMOVE_APPLICATION of a for the ACTIVE devices of ids and forgets them as managed
// installs, in one transaction.
func (s *Service) remove(ctx context.Context, tenantID mdm.TenantID, a *mdm.App, ids []mdm.DeviceID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var queued []mdm.DeviceID
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		var err error
		queued, err = s.removeIn(ctx, tx, tenantID, a, ids)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.wakeUp(ctx, tenantID, queued)
	return len(queued), nil
}

// installIn queues INSTALL_APPLICATION of a with payload (InstallPayload) for the ACTIVE devices of
// ids and records them as managed installs, in tx; it returns the devices queued.
func (s *Service) installIn(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, a *mdm.App, payload map[string]string, ids []mdm.DeviceID) ([]mdm.DeviceID, error) {
	var queued []mdm.DeviceID
	if s.manifestDelivery(a) {
		// An in-house iOS app: each device gets its own manifest URL.
		for _, id := range ids {
			p := maps.Clone(payload)
			p["manifestUrl"] = s.ManifestURL(tenantID, a, id)
			if s.sealPayload != nil {
				p["manifestUrl"] = s.sealPayload(p["manifestUrl"])
			}
			q, err := tx.Commands().Enqueue(ctx, tenantID, []mdm.DeviceID{id}, []string{mdm.StateActive},
				mdm.NewCommand{Type: mdm.CmdInstallApp, Payload: p, CreatedBy: "system", Collapse: true}, s.now())
			if err != nil {
				return nil, err
			}
			queued = append(queued, q...)
		}
	} else {
		var err error
		queued, err = tx.Commands().Enqueue(ctx, tenantID, ids, []string{mdm.StateActive},
			mdm.NewCommand{Type: mdm.CmdInstallApp, Payload: payload, CreatedBy: "system", Collapse: true}, s.now())
		if err != nil {
			return nil, err
		}
	}
	return queued, tx.Apps().RecordInstalls(ctx, tenantID, a.ID, queued, s.now())
}

// removeIn queues REMOVE_APPLICATION of a for the ACTIVE devices of ids, cancels their installs of it
// not yet sent and forgets them as managed installs, in tx; it returns the devices queued.
func (s *Service) removeIn(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, a *mdm.App, ids []mdm.DeviceID) ([]mdm.DeviceID, error) {
	// An install not yet sent is simply dropped, so that the device does not install and then remove.
	if _, err := tx.Apps().CancelInstalls(ctx, tenantID, a.BundleID, ids, s.now()); err != nil {
		return nil, err
	}
	queued, err := tx.Commands().Enqueue(ctx, tenantID, ids, []string{mdm.StateActive},
		mdm.NewCommand{Type: mdm.CmdRemoveApp, Payload: map[string]string{"identifier": a.BundleID},
			CreatedBy: "system", Collapse: true}, s.now())
	if err != nil {
		return nil, err
	}
	return queued, tx.Apps().ForgetInstalls(ctx, tenantID, a.ID, ids)
}

func (s *Service) wakeUp(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) {
	if s.wake != nil && len(ids) > 0 {
		s.wake(ctx, tenantID, ids)
	}
}

// InstallPayload is the INSTALL_APPLICATION payload for a: identifier (bundle id or package name) and
// name; for a public iOS app its itunesStoreId; for an Android app its version and, when in-house,
// downloadUrl and sha256 (the agent downloads the .apk with its device credential). An in-house iOS app
// gets, per device, the manifestUrl of ManifestURL (added by Deliver). ok is false when a cannot be
// installed by command: an iOS app without an App Store id, or an in-house iOS app when the server's
// base URL is not https (iOS fetches manifests over https only) or it has no keys.
func (s *Service) InstallPayload(a *mdm.App) (map[string]string, bool) {
	p := map[string]string{"identifier": a.BundleID}
	switch a.Platform {
	case mdm.PlatformIOS:
		if s.manifestDelivery(a) {
			return p, true
		}
		if a.Source != mdm.AppPublic || a.StoreID == "" {
			return nil, false
		}
		p["itunesStoreId"] = a.StoreID
	case mdm.PlatformAndroid:
		p["name"] = a.Name
		if a.Source == mdm.AppInHouse {
			p["version"] = a.Version
			p["downloadUrl"] = s.baseURL + "/api/agent/v1/apps/" + strconv.FormatInt(int64(a.ID), 10) + "/file"
			p["sha256"] = a.FileSHA256
		}
	default:
		return nil, false
	}
	return p, true
}

// DefaultConvergeEvery is how often Run checks every app's devices by default.
const DefaultConvergeEvery = 5 * time.Minute

// WithConvergeEvery sets how often Run converges (DefaultConvergeEvery by default; 0 or less: never).
func WithConvergeEvery(d time.Duration) Option { return func(s *Service) { s.convergeEvery = d } }

// Run converges every app's devices periodically until ctx ends: a device that registers after an app
// was distributed, or that joins or leaves a group, gets its installs and removals at the next round
// (a distribution change delivers at once). Of several replicas on one database, one converges at a
// time (the round's lease).
func (s *Service) Run(ctx context.Context) {
	if s.convergeEvery <= 0 {
		return
	}
	job := lease.New(s.store.Leases(), "apps.converge", "", s.convergeEvery, s.now)
	// The first round comes one interval after the start; then the lease is checked a few times per
	// interval, so that the holder keeps it and rounds stay about one interval apart.
	t := time.NewTimer(s.convergeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := job.RunIfDue(ctx, func(ctx context.Context) error {
			_, err := s.ConvergeAll(ctx)
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.log.Error("app convergence failed", "err", err)
		}
		t.Reset(job.CheckEvery())
	}
}

// ConvergeAll runs Deliver for every app, in every tenant, that has a required distribution or managed
// installs, and returns the total queued.
func (s *Service) ConvergeAll(ctx context.Context) (Delivery, error) {
	var total Delivery
	var afterTenant mdm.TenantID
	var afterID mdm.AppID
	for {
		batch, err := s.store.Apps().ToConverge(ctx, afterTenant, afterID, 500)
		if err != nil {
			return total, err
		}
		for i := range batch {
			a := &batch[i]
			ds, err := s.store.Distributions().ForItem(ctx, a.TenantID, mdm.ItemApp, int64(a.ID))
			if err != nil {
				return total, err
			}
			d, err := s.Deliver(ctx, a.TenantID, a, ds)
			if err != nil {
				return total, err
			}
			if d.Installs+d.Removals > 0 {
				s.log.Info("app delivery", "tenant_id", a.TenantID, "app_id", a.ID, "installs", d.Installs, "removals", d.Removals)
			}
			total.Installs += d.Installs
			total.Removals += d.Removals
			total.Skipped += d.Skipped
		}
		if len(batch) < 500 {
			return total, nil
		}
		afterTenant, afterID = batch[len(batch)-1].TenantID, batch[len(batch)-1].ID
	}
}
