package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"steward/internal/apple"
	"steward/internal/sim"
	"steward/internal/sim/ios"
)

// enrollSteps are an Apple device's enrollment requests, in order, then the whole enrollment.
var enrollSteps = []string{"profile", "scep", "authenticate", "tokenupdate", "enroll"}

// runIOS runs simulated Apple devices: it makes sure the tenant has a push certificate, enrolls the
// devices (profile, SCEP, Authenticate, TokenUpdate) and then runs --mode.
func (c *simCmd) runIOS(ctx context.Context, out io.Writer, client *http.Client, stats *sim.Stats, prov *sim.APIProvisioner) error {
	admin := &sim.Admin{Client: client, BaseURL: c.URL, Username: prov.Username, Password: prov.Password}
	// The stand-in APNs starts first: its CA file must exist before the server starts with it.
	var (
		apns    *ios.APNs
		fleetAt atomic.Pointer[sim.Fleet]
		err     error
	)
	if c.APNsListen != "" {
		caFile := c.APNsCA
		if caFile == "" {
			caFile = filepath.Join(os.TempDir(), "steward-sim-apns-ca.pem")
		}
		apns, err = ios.StartAPNs(c.APNsListen, caFile, func(token string) bool {
			f := fleetAt.Load()
			return f != nil && f.Wake(token)
		})
		if err != nil {
			return fmt.Errorf("--apns-listen: %w", err)
		}
		defer apns.Close()
		fmt.Fprintf(out, "APNs stand-in at %s: start the server with --apns-url %s --apns-ca-file %s\n", apns.URL(), apns.URL(), caFile)
	}
	if err := ensurePushCertificate(ctx, admin, out); err != nil {
		return err
	}
	keys, err := ios.NewKeyPool(min(c.Keys, c.Devices))
	if err != nil {
		return err
	}
	devs := make([]*ios.Device, c.Devices)
	members := make([]sim.Member, c.Devices)
	for i := range devs {
		opts := ios.DeviceOptions{Key: keys.Key(), Observer: stats}
		if c.Devices <= 2*ios.Models() {
			opts.Model = i%ios.Models() + 1 // a small fleet shows every model
		}
		devs[i] = ios.NewDevice(client, c.Seed*1_000_003+uint64(i)+1, opts)
		members[i] = devs[i]
	}
	fleet := sim.NewFleetOf(sim.Config{BaseURL: c.URL, Interval: c.Interval, Jitter: c.Jitter, Concurrency: c.Concurrency,
		Registering: c.Registering, Provisioner: prov, Stats: stats}, members)
	fleetAt.Store(fleet)

	fmt.Fprintf(out, "enrolling %d iOS devices (users %s-NNNNN@%s, %d at a time) at %s\n", c.Devices, prov.Prefix, prov.Domain,
		c.Registering, c.URL)
	before := stats.Snapshot()
	started := time.Now()
	if err := fleet.Provision(ctx); err != nil {
		if stats.Snapshot().Registrations == 0 || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(out, "warning: %v\n", err)
	}
	took := time.Since(started)
	storm := stats.Snapshot().Since(before)
	fmt.Fprintf(out, "enrolled %d devices in %s: %.1f enrollments/s, errors %d\n", storm.Registrations, took.Round(time.Millisecond),
		float64(storm.Registrations)/took.Seconds(), storm.ErrorCount())
	fmt.Fprintf(out, "enrollment steps: %s\n", storm.OpLine(enrollSteps...))
	if len(storm.Errors) > 0 {
		fmt.Fprintf(out, "enrollment errors: %v\n", storm.Errors)
	}

	switch c.Mode {
	case "enroll":
		return nil
	case "fanout":
		return c.fanout(ctx, out, fleet, devs, admin, apns)
	}
	fmt.Fprintf(out, "connecting every %s\n", describeInterval(c.Interval, c.Jitter))
	c.steady(ctx, out, fleet, stats)
	return nil
}

// ensurePushCertificate uploads a stand-in push certificate unless the tenant has one: without one the
// server hands out no enrollment profile.
func ensurePushCertificate(ctx context.Context, admin *sim.Admin, out io.Writer) error {
	var info struct {
		Topic string `json:"topic"`
	}
	err := admin.Call(ctx, http.MethodGet, "/api/v1/apple/pushcertificate", nil, &info)
	switch {
	case err == nil:
		fmt.Fprintf(out, "push certificate: the tenant's (%s)\n", info.Topic)
		return nil
	case sim.StatusOf(err) != http.StatusNotFound:
		return fmt.Errorf("push certificate: %w", err)
	}
	pemData, topic, err := ios.PushCertificate()
	if err != nil {
		return err
	}
	err = admin.Call(ctx, http.MethodPut, "/api/v1/apple/pushcertificate",
		map[string]any{"certificate": base64.StdEncoding.EncodeToString(pemData), "password": ""}, nil)
	if err != nil {
		return fmt.Errorf("upload a push certificate: %w", err)
	}
	fmt.Fprintf(out, "push certificate: uploaded a self-signed one (%s)\n", topic)
	return nil
}

// fanout runs the fleet until every device has answered its first inventory and gone quiet, then
// sends one forceCheckin to all of them through the admin API and times how long until every device
// acknowledged it.
func (c *simCmd) fanout(ctx context.Context, out io.Writer, fleet *sim.Fleet, devs []*ios.Device, admin *sim.Admin, apns *ios.APNs) error {
	limit := c.Duration
	if limit == 0 {
		limit = 30 * time.Minute
	}
	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// A device connects right after enrolling, as a real one does when the server pushes it; the
	// server then asks for its inventory.
	fmt.Fprintln(out, "first connect of every device")
	sem := make(chan struct{}, c.Concurrency)
	var wg sync.WaitGroup
	for _, d := range devs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.CheckIn(runCtx) // errors are counted in the stats
		})
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { fleet.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()

	fmt.Fprintln(out, "waiting for every device's first inventory")
	acks := func() (total int, low int) {
		low = -1
		for _, d := range devs {
			n := d.Acknowledged()
			total += n
			if low < 0 || n < low {
				low = n
			}
		}
		return total, low
	}
	for last, quiet := -1, 0; quiet < 10; {
		if err := sleep(runCtx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("the devices did not all answer their first inventory: %w", err)
		}
		total, low := acks()
		if low >= 2 && total == last { // DeviceInformation and InstalledApplicationList
			quiet++
		} else {
			quiet = 0
		}
		last = total
	}

	records, err := admin.Devices(runCtx, "")
	if err != nil {
		return err
	}
	bySerial := map[string]int64{}
	for _, r := range records {
		bySerial[r.SerialNumber] = r.ID
	}
	ids := make([]int64, 0, len(devs))
	base := make([]int, len(devs))
	for i, d := range devs {
		id, ok := bySerial[d.State().SerialNumber]
		if !ok {
			return fmt.Errorf("device %s is not in the device list", d.State().SerialNumber)
		}
		ids = append(ids, id)
		base[i] = d.Executed(apple.RequestDeviceInformation) // what forceCheckin asks an Apple device
	}
	var pushesBefore int64
	if apns != nil {
		pushesBefore = apns.Pushes()
	}
	snapBefore := fleet.Stats().Snapshot()
	t0 := time.Now()
	if err := admin.Act(runCtx, "forceCheckin", ids); err != nil {
		return err
	}
	queued := time.Since(t0)
	for {
		pending := 0
		for i, d := range devs {
			if d.Executed(apple.RequestDeviceInformation) <= base[i] {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if err := sleep(runCtx, 5*time.Millisecond); err != nil {
			return fmt.Errorf("%d of %d devices did not acknowledge the forceCheckin: %w", pending, len(devs), err)
		}
	}
	drain := time.Since(t0)
	window := fleet.Stats().Snapshot().Since(snapBefore)
	fmt.Fprintf(out, "forceCheckin to %d devices: queued in %s, acknowledged by all %s after the request\n", len(ids),
		queued.Round(time.Millisecond), drain.Round(time.Millisecond))
	if apns != nil {
		pushes := apns.Pushes() - pushesBefore
		fmt.Fprintf(out, "pushes received: %d (%.1f/s)\n", pushes, float64(pushes)/drain.Seconds())
	}
	fmt.Fprintln(out, "during the drain:")
	fmt.Fprintln(out, window)
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
