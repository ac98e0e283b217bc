package configurations

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"steward/internal/assign"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// batch is how many devices one reconciler query returns.
const batch = 200

// workers is how many devices of a tenant are reconciled at once.
const workers = 8

// fullEvery is every how many ticks the reconciler scans tenants that it found converged before.
const fullEvery = 12

// Kick asks the reconciler to look for devices to converge now instead of at its next tick.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run converges devices until ctx ends: at every tick (and when kicked) it reads each tenant's
// assignment generation and reconciles, in batches, the tenant's active devices that last converged at
// an older generation (or never: new devices).
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.d.Interval)
	defer t.Stop()
	for tick := 0; ; tick++ {
		if tick%fullEvery == 0 {
			// Now and then every tenant is scanned, converged or not: a device whose convergence at
			// enrollment failed is found without waiting for the generation to move.
			s.mu.Lock()
			clear(s.done)
			s.mu.Unlock()
		}
		if _, err := s.ReconcileAll(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.ErrorContext(ctx, "converging configurations", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// ReconcileAll reconciles every tenant's devices that are behind their tenant's generation and returns
// how many it reconciled.
func (s *Service) ReconcileAll(ctx context.Context) (int, error) {
	n := 0
	for start := 0; ; start += 500 {
		p, err := s.d.Store.Tenants().List(ctx, mdm.ListOptions{Start: start, Rows: 500})
		if err != nil {
			return n, err
		}
		for _, t := range p.Items {
			m, err := s.ReconcileTenant(ctx, t.ID)
			n += m
			if err != nil {
				s.d.Log.ErrorContext(ctx, "converging a tenant's configurations", "tenant_id", t.ID, "error", err)
			}
		}
		if len(p.Items) < 500 {
			return n, nil
		}
	}
}

// ReconcileTenant reconciles the tenant's devices that are behind its generation, in batches, and
// returns how many.
func (s *Service) ReconcileTenant(ctx context.Context, tenantID mdm.TenantID) (int, error) {
	gen, err := s.d.Store.Generations().Get(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	done, ok := s.done[tenantID]
	s.mu.Unlock()
	if ok && done >= gen {
		return 0, nil
	}
	n, failed := 0, false
	defer func() {
		if !failed && ctx.Err() == nil {
			s.mu.Lock()
			s.done[tenantID] = gen
			s.mu.Unlock()
		}
	}()
	var after mdm.DeviceID
	for {
		ids, err := s.d.Store.Configurations().DevicesBehind(ctx, tenantID, gen, after, batch)
		if err != nil {
			failed = true
			return n, err
		}
		// Devices are reconciled by a few workers at once (each in its own transaction) and woken one by
		// one as soon as theirs is committed, so that the first check in while the rest are worked on.
		var mu sync.Mutex
		next := 0
		var wg sync.WaitGroup
		for range min(workers, len(ids)) {
			wg.Go(func() {
				for {
					mu.Lock()
					if next == len(ids) || ctx.Err() != nil {
						mu.Unlock()
						return
					}
					id := ids[next]
					next++
					mu.Unlock()
					d, queued, err := s.reconcile(ctx, tenantID, id, gen)
					mu.Lock()
					if err != nil {
						failed = true
					} else {
						n++
					}
					mu.Unlock()
					if err != nil {
						if ctx.Err() == nil {
							s.d.Log.WarnContext(ctx, "converging a device's configurations", "tenant_id", tenantID,
								"device_id", id, "error", err)
						}
						continue
					}
					if queued && s.d.Waker != nil && d.PushToken != "" {
						s.d.Waker.Wake(ctx, []devices.WakeTarget{{TenantID: tenantID, DeviceID: id, Platform: d.Platform,
							PushToken: d.PushToken}})
					}
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if len(ids) < batch {
			return n, nil
		}
		after = ids[len(ids)-1]
	}
}

func (s *Service) wake(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) {
	if s.d.Waker == nil || len(ids) == 0 {
		return
	}
	var targets []devices.WakeTarget
	for _, id := range ids {
		d, err := s.d.Store.Devices().Get(ctx, tenantID, id)
		if err == nil && d.PushToken != "" {
			targets = append(targets, devices.WakeTarget{TenantID: tenantID, DeviceID: id, Platform: d.Platform, PushToken: d.PushToken})
		}
	}
	if len(targets) > 0 {
		s.d.Waker.Wake(ctx, targets)
	}
}

// Effective returns the configurations that apply to device d, read through tx: those distributed to
// a target d is in, of a type that applies to d's platform, and of each single-instance type only the
// one of highest priority (lowest number; the lower id on a tie). They are in id order.
func Effective(ctx context.Context, tx mdm.Stores, d *mdm.Device) ([]*mdm.Configuration, error) {
	r := assign.NewResolver(tx)
	targets, err := r.TargetsForDevice(ctx, d.TenantID, d)
	if err != nil {
		return nil, err
	}
	ds, err := r.Effective(ctx, d.TenantID, mdm.ItemConfiguration, targets)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	ids := make([]mdm.ConfigurationID, len(ds))
	for i, x := range ds {
		ids[i] = mdm.ConfigurationID(x.ItemID)
	}
	cs, err := tx.Configurations().GetMany(ctx, d.TenantID, ids)
	if err != nil {
		return nil, err
	}
	return pick(cs, d.Platform), nil
}

// pick applies platform applicability and priority to the configurations reaching one device.
func pick(cs map[mdm.ConfigurationID]*mdm.Configuration, platform string) []*mdm.Configuration {
	best := map[string]*mdm.Configuration{}
	var out []*mdm.Configuration
	for _, id := range sortedIDs(keys(cs)) {
		c := cs[id]
		t := TypeNamed(c.Type)
		if t == nil || !t.AppliesTo(platform) {
			continue
		}
		if t.Multi {
			out = append(out, c)
			continue
		}
		if b, ok := best[t.Name]; !ok || c.Priority < b.Priority {
			best[t.Name] = c
		}
	}
	for _, c := range best {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *mdm.Configuration) int { return int(a.ID - b.ID) })
	return out
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sortedIDs(ids []mdm.ConfigurationID) []mdm.ConfigurationID {
	slices.Sort(ids)
	return ids
}

// Reconcile converges one device to its effective configurations in one transaction: it queues the
// install of each configuration it lacks (or has at another version) and the removal of each it has
// that no longer applies, records the deliveries as pending and the generation it converged at. A
// delivery already at the wanted version is left alone whatever its status (pending, installed or
// error), so that repeating it queues nothing. It reports whether it queued a command (the caller
// wakes the device).
func (s *Service) Reconcile(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, generation int64) (bool, error) {
	_, queued, err := s.reconcile(ctx, tenantID, id, generation)
	return queued, err
}

// reconcile is Reconcile that also returns the device as it read it (for waking it).
func (s *Service) reconcile(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, generation int64) (*mdm.Device, bool, error) {
	var (
		dev    *mdm.Device
		queued bool
	)
	err := s.d.Store.InTx(ctx, func(tx mdm.Stores) (err error) {
		dev, queued, err = s.reconcileIn(ctx, tx, tenantID, id, generation)
		return err
	})
	return dev, queued, err
}

// reconcileIn is reconcile inside the caller's transaction tx. A quarantined device's effective
// configurations are none: everything Steward installed is removed until it is released.
func (s *Service) reconcileIn(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, id mdm.DeviceID, generation int64) (dev *mdm.Device, queued bool, err error) {
	err = func() error {
		d, err := tx.Devices().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		dev = d
		now := s.d.Now()
		// First: the upsert takes the device's state row, so that a second reconciler of the same device
		// (another replica) waits here and then reads the deliveries this one wrote.
		if err := tx.Configurations().Converged(ctx, tenantID, id, generation, now); err != nil {
			return err
		}
		if d.RegistrationState != mdm.StateActive {
			return nil
		}
		var want []*mdm.Configuration
		if !d.Quarantined {
			if want, err = Effective(ctx, tx, d); err != nil {
				return err
			}
		}
		have, err := tx.Configurations().Deliveries(ctx, tenantID, id)
		if err != nil {
			return err
		}
		wanted := map[mdm.ConfigurationID]bool{}
		for _, c := range want {
			wanted[c.ID] = true
			if h, ok := have[c.ID]; ok && !h.Remove && h.Version == c.Version {
				continue
			}
			cmd, err := s.installCommand(c, d)
			if err != nil {
				return err
			}
			if err := s.enqueue(ctx, tx, d, cmd, now); err != nil {
				return err
			}
			queued = true
			if err := tx.Configurations().SetDelivery(ctx, mdm.ConfigDelivery{TenantID: tenantID, DeviceID: id,
				ConfigurationID: c.ID, Version: c.Version, Identifier: Identifier(tenantID, c.ID),
				Status: mdm.DeliveryPending, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for _, cid := range sortedIDs(keys(have)) {
			h := have[cid]
			if wanted[cid] || h.Remove {
				continue
			}
			if err := s.enqueue(ctx, tx, d, removeCommand(h, d.Platform), now); err != nil {
				return err
			}
			queued = true
			h.Remove, h.Status, h.Error, h.UpdatedAt = true, mdm.DeliveryPending, "", now
			if err := tx.Configurations().SetDelivery(ctx, h); err != nil {
				return err
			}
		}
		return nil
	}()
	return dev, queued, err
}

// Quarantine removes every configuration Steward installed on d (the MDM profile is no configuration
// and stays), in the transaction that quarantines it (compliance.Quarantiner). d's quarantined flag
// is already set in tx. removeApps is the app capability's concern.
func (s *Service) Quarantine(ctx context.Context, tx mdm.Stores, d *mdm.Device, removeApps bool) error {
	return s.reconcileQuarantine(ctx, tx, d)
}

// Release delivers d's effective configurations again, in the transaction that releases it.
func (s *Service) Release(ctx context.Context, tx mdm.Stores, d *mdm.Device) error {
	return s.reconcileQuarantine(ctx, tx, d)
}

func (s *Service) reconcileQuarantine(ctx context.Context, tx mdm.Stores, d *mdm.Device) error {
	gen, err := tx.Generations().Get(ctx, d.TenantID)
	if err != nil {
		return err
	}
	_, _, err = s.reconcileIn(ctx, tx, d.TenantID, d.ID, gen)
	return err
}

func (s *Service) enqueue(ctx context.Context, tx mdm.Stores, d *mdm.Device, c mdm.NewCommand, now time.Time) error {
	c.CreatedBy = "system"
	_, err := tx.Commands().Enqueue(ctx, d.TenantID, []mdm.DeviceID{d.ID}, []string{mdm.StateActive}, c, now)
	return err
}

// Payload keys that tie a command to the delivery it carries.
const (
	keyConfiguration = "configurationId"
	keyVersion       = "version"
)

// installCommand is the command that installs c's current version on d.
func (s *Service) installCommand(c *mdm.Configuration, d *mdm.Device) (mdm.NewCommand, error) {
	t := TypeNamed(c.Type)
	if t == nil {
		return mdm.NewCommand{}, fmt.Errorf("configuration %d has an unknown type %q", c.ID, c.Type)
	}
	sec, err := s.open(c)
	if err != nil {
		return mdm.NewCommand{}, err
	}
	all := values(t, c.Attributes, sec)
	owner := Owner{Email: d.OwnerEmail, Username: d.OwnerUsername}
	payload := map[string]string{keyConfiguration: strconv.FormatInt(int64(c.ID), 10),
		keyVersion: strconv.FormatInt(c.Version, 10)}
	if d.Platform == mdm.PlatformAndroid {
		policy, err := AndroidPolicy(c, all, owner)
		if err != nil {
			return mdm.NewCommand{}, err
		}
		// Sealed in the queue: the policy carries the configuration's secrets.
		payload["policy"] = devices.SealPayload(s.d.Keys, policy)
		return mdm.NewCommand{Type: mdm.CmdApplyConfiguration, Payload: payload}, nil
	}
	key := fmt.Sprintf("%s/%d/%d", c.TenantID, c.ID, c.Version)
	if usesOwner(all) {
		key += "/" + owner.Email + "/" + owner.Username
	}
	s.mu.Lock()
	profile, ok := s.profiles[key]
	s.mu.Unlock()
	if !ok {
		raw, err := AppleProfile(c, all, owner)
		if err != nil {
			return mdm.NewCommand{}, err
		}
		if s.d.Signer != nil {
			if raw, err = s.d.Signer.Sign(raw); err != nil {
				return mdm.NewCommand{}, err
			}
		}
		profile = base64.StdEncoding.EncodeToString(raw)
		s.mu.Lock()
		if len(s.profiles) >= 1000 {
			clear(s.profiles)
		}
		s.profiles[key] = profile
		s.mu.Unlock()
	}
	payload["profile"] = devices.SealPayload(s.d.Keys, profile)
	return mdm.NewCommand{Type: mdm.CmdInstallProfile, Payload: payload}, nil
}

// removeCommand removes the delivery h from a device of platform.
func removeCommand(h mdm.ConfigDelivery, platform string) mdm.NewCommand {
	payload := map[string]string{keyConfiguration: strconv.FormatInt(int64(h.ConfigurationID), 10),
		keyVersion: strconv.FormatInt(h.Version, 10)}
	if platform == mdm.PlatformAndroid {
		return mdm.NewCommand{Type: mdm.CmdRemoveConfiguration, Payload: payload}
	}
	payload["identifier"] = h.Identifier
	return mdm.NewCommand{Type: mdm.CmdRemoveProfile, Payload: payload}
}

// Answered records a device's answer to a configuration command, inside the transaction that stores
// the answer (the devices capability calls it for every completed command; others are ignored): an
// acknowledged install marks the delivery installed, an error marks it in error with the device's
// message, and any answer to a removal ends the delivery.
func (s *Service) Answered(ctx context.Context, tx mdm.Stores, c *mdm.Command) error {
	var remove bool
	switch c.Type {
	case mdm.CmdInstallProfile, mdm.CmdApplyConfiguration:
	case mdm.CmdRemoveProfile, mdm.CmdRemoveConfiguration:
		remove = true
	default:
		return nil
	}
	idText, ok := c.Payload[keyConfiguration]
	if !ok {
		return nil
	}
	id, err1 := strconv.ParseInt(idText, 10, 64)
	version, err2 := strconv.ParseInt(c.Payload[keyVersion], 10, 64)
	if err1 != nil || err2 != nil {
		return nil
	}
	var status string
	switch c.Status {
	case mdm.CmdAcknowledged:
		status = mdm.DeliveryInstalled
	case mdm.CmdError:
		status = mdm.DeliveryError
	default:
		return nil
	}
	return tx.Configurations().Answer(ctx, c.TenantID, c.DeviceID, mdm.ConfigurationID(id), version, remove, status,
		c.Error, s.d.Now())
}

// Enrolled reconciles a device that has just registered or enrolled (outside any transaction) and
// wakes it when something was queued.
func (s *Service) Enrolled(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) {
	gen, err := s.d.Store.Generations().Get(ctx, tenantID)
	if err == nil {
		var queued bool
		if queued, err = s.Reconcile(ctx, tenantID, id, gen); err == nil && queued {
			s.wake(ctx, tenantID, []mdm.DeviceID{id})
		}
	}
	if err != nil {
		s.d.Log.WarnContext(ctx, "converging a new device's configurations", "tenant_id", tenantID, "device_id", id, "error", err)
	}
}

// FactsChanged reconciles a device whose reported facts changed: a dynamic device group's rule may now
// match it or no longer, which moves no generation. What it queues goes out in the same exchange.
func (s *Service) FactsChanged(ctx context.Context, d *mdm.Device) {
	gen, err := s.d.Store.Generations().Get(ctx, d.TenantID)
	if err == nil {
		_, err = s.Reconcile(ctx, d.TenantID, d.ID, gen)
	}
	if err != nil {
		s.d.Log.WarnContext(ctx, "converging the configurations of a device whose facts changed", "tenant_id", d.TenantID,
			"device_id", d.ID, "error", err)
	}
}

// CheckingIn reconciles a device that checks in while its tenant has devices behind the tenant's
// generation and it is one of them, so that it gets what changed in this very exchange. A converged
// tenant costs nothing here but a generation read at most once a second.
func (s *Service) CheckingIn(ctx context.Context, d *mdm.Device) {
	now := s.d.Now()
	s.mu.Lock()
	c, ok := s.gens[d.TenantID]
	s.mu.Unlock()
	if !ok || now.Sub(c.at) > time.Second || now.Before(c.at) {
		gen, err := s.d.Store.Generations().Get(ctx, d.TenantID)
		if err != nil {
			return
		}
		c = cachedGen{gen: gen, at: now}
		s.mu.Lock()
		if len(s.gens) > 100_000 {
			clear(s.gens)
		}
		s.gens[d.TenantID] = c
		s.mu.Unlock()
	}
	s.mu.Lock()
	done, ok := s.done[d.TenantID]
	s.mu.Unlock()
	if ok && done >= c.gen {
		return
	}
	ids, err := s.d.Store.Configurations().DevicesBehind(ctx, d.TenantID, c.gen, d.ID-1, 1)
	if err != nil || len(ids) == 0 || ids[0] != d.ID {
		return
	}
	if _, err := s.Reconcile(ctx, d.TenantID, d.ID, c.gen); err != nil {
		s.d.Log.WarnContext(ctx, "converging a device's configurations at check-in", "tenant_id", d.TenantID,
			"device_id", d.ID, "error", err)
	}
}
