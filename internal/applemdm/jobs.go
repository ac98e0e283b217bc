package applemdm

import (
	"context"
	"sync"
	"time"

	"steward/internal/devices"
	"steward/internal/lease"
	"steward/internal/mdm"
)

// enrollmentKept is how long an enrollment that never bound a device is kept after it expired, so that
// a late device's refusal can still be told apart from an unknown certificate in the logs for a while.
const enrollmentKept = 24 * time.Hour

// PruneEnrollments deletes enrollments that expired more than a day ago without binding a device (a
// profile downloaded and never installed), and returns how many.
func (s *Service) PruneEnrollments(ctx context.Context) (int, error) {
	return s.d.Store.Apple().PruneEnrollments(ctx, s.d.Now().Add(-enrollmentKept))
}

// The inventory job: every inventoryEvery it reads devices whose inventory is due inventoryBatch at a
// time and asks at most inventoryPerRun of them (the rest wait for the next run, so a fleet enrolled
// in one day is not pushed all at once the next).
const (
	inventoryEvery  = 5 * time.Minute
	inventoryBatch  = 200
	inventoryPerRun = 2000
)

// QueueDueInventory asks the ACTIVE iOS devices whose inventory is older than the inventory interval
// (counting from enrollment when they never answered) for their information and their apps, through
// devices.Queue, which wakes them: an Apple device connects only when pushed, so a quiet one would
// never be asked again otherwise. A device asked already and not answering yet is not asked again
// (mdm.AppleStore.InventoryDue). It reads batch devices at a time, asks at most max in all, oldest
// inventory first, and returns how many it asked.
func (s *Service) QueueDueInventory(ctx context.Context, batch, max int) (int, error) {
	if batch <= 0 || max <= 0 {
		return 0, mdm.Errorf(mdm.Invalid, "batch and max must be positive")
	}
	before := s.d.Now().Add(-s.d.InventoryInterval)
	asked := 0
	for asked < max {
		limit := min(batch, max-asked)
		due, err := s.d.Store.Apple().InventoryDue(ctx, before, limit)
		if err != nil {
			return asked, err
		}
		n, err := s.askInventory(ctx, due)
		asked += n
		if err != nil {
			return asked, err
		}
		// A short batch was the last one; a batch of which nothing could be queued (the devices left
		// ACTIVE meanwhile) would come back the same: stop and let the next run see.
		if len(due) < limit || n == 0 {
			break
		}
	}
	return asked, nil
}

// askInventory queues both inventory queries for due, a tenant at a time, and returns how many
// devices the information query went to.
func (s *Service) askInventory(ctx context.Context, due []mdm.AppleDevice) (int, error) {
	var order []mdm.TenantID
	byTenant := map[mdm.TenantID][]mdm.DeviceID{}
	for _, d := range due {
		if byTenant[d.TenantID] == nil {
			order = append(order, d.TenantID)
		}
		byTenant[d.TenantID] = append(byTenant[d.TenantID], d.DeviceID)
	}
	asked := 0
	for _, tenantID := range order {
		ids := byTenant[tenantID]
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), devices.MaxDevicesPerRequest)]
			ids = ids[len(chunk):]
			for _, typ := range []string{mdm.CmdDeviceInformation, mdm.CmdInstalledApps} {
				// One push per device: the app list rides on the wake-up for the information (a woken
				// device connects until nothing is left for it).
				queue := s.d.Devices.Queue
				if typ == mdm.CmdInstalledApps {
					queue = s.d.Devices.QueueQuiet
				}
				got, err := queue(ctx, tenantID, chunk, mdm.NewCommand{Type: typ, CreatedBy: "system", Collapse: true})
				if err != nil {
					return asked, err
				}
				if typ == mdm.CmdDeviceInformation {
					asked += len(got)
				}
			}
		}
	}
	return asked, nil
}

// jobs are the background jobs, each run by one replica at a time when several serve one database.
type jobs struct {
	warn, prune, inventory *lease.Job
}

func newJobs(d Deps) jobs {
	leases := d.Store.Leases()
	return jobs{
		warn:      lease.New(leases, "apple.expiry_warnings", "", 24*time.Hour, d.Now),
		prune:     lease.New(leases, "apple.prune_enrollments", "", time.Hour, d.Now),
		inventory: lease.New(leases, "apple.inventory", "", inventoryEvery, d.Now),
	}
}

// Run does the background work until ctx ends: push certificate expiry warnings daily, pruning of
// unused enrollments hourly, and the inventory of quiet devices every few minutes, each on one replica
// at a time and each at the start when its last run is older than its interval.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, j := range []struct {
		job *lease.Job
		run func(context.Context)
	}{{s.jobs.warn, s.warnExpiring}, {s.jobs.prune, s.prune}, {s.jobs.inventory, s.inventory}} {
		wg.Go(func() {
			t := time.NewTicker(j.job.CheckEvery())
			defer t.Stop()
			for {
				_, err := j.job.RunIfDue(ctx, func(ctx context.Context) error { j.run(ctx); return nil })
				if err != nil && ctx.Err() == nil {
					s.d.Log.ErrorContext(ctx, "apple background job", "err", err.Error())
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
}

func (s *Service) inventory(ctx context.Context) {
	n, err := s.QueueDueInventory(ctx, inventoryBatch, inventoryPerRun)
	if err != nil && ctx.Err() == nil {
		s.d.Log.ErrorContext(ctx, "queueing the inventory of Apple devices failed", "asked", n, "err", err.Error())
		return
	}
	if n > 0 {
		s.d.Log.InfoContext(ctx, "asked Apple devices for their inventory", "count", n)
	}
}

func (s *Service) warnExpiring(ctx context.Context) {
	if _, err := s.ExpiryWarnings(ctx); err != nil && ctx.Err() == nil {
		s.d.Log.ErrorContext(ctx, "push certificate expiry check failed", "err", err.Error())
	}
}

func (s *Service) prune(ctx context.Context) {
	n, err := s.PruneEnrollments(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.d.Log.ErrorContext(ctx, "pruning unused Apple enrollments failed", "err", err.Error())
	case n > 0:
		s.d.Log.InfoContext(ctx, "pruned unused Apple enrollments", "count", n)
	}
}
