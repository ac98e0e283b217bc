package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Config shapes a fleet.
type Config struct {
	BaseURL      string        // the Steward server, e.g. http://127.0.0.1:8080
	Devices      int           // how many
	Interval     time.Duration // between a device's check-ins; 0: closed loop (each checks in again at once)
	Jitter       float64       // 0–1: each wait is Interval ± Jitter×Interval, so devices do not march in step
	NonCompliant int           // how many devices are rooted and/or have no passcode, spread through the fleet
	Concurrency  int           // check-ins in flight at most (default 64)
	Registering  int           // registrations in flight at most (default 8)
	Seed         uint64        // the same seed gives the same devices
	PushTokens   bool          // give every device a push token so the server can wake it (see PushHandler)
	Static       bool          // no inventory drift: every check-in is idle unless a command changes something
	Client       *http.Client  // shared by every device (default NewHTTPClient(Concurrency))
	Provisioner  Provisioner
	Stats        *Stats // default NewStats()
}

// Fleet is a set of simulated devices that check in on an interval.
type Fleet struct {
	cfg     Config
	stats   *Stats
	devices []*Device
	wake    []chan struct{}
	tokens  map[string]int // push token → device
}

// NewFleet makes cfg.Devices devices; Provision registers them and Run runs them.
func NewFleet(cfg Config) *Fleet {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Registering <= 0 {
		cfg.Registering = 8
	}
	if cfg.Client == nil {
		cfg.Client = NewHTTPClient(cfg.Concurrency)
	}
	if cfg.Stats == nil {
		cfg.Stats = NewStats()
	}
	f := &Fleet{cfg: cfg, stats: cfg.Stats, tokens: map[string]int{}}
	for i := 0; i < cfg.Devices; i++ {
		opts := DeviceOptions{Observer: cfg.Stats, Static: cfg.Static,
			// Spread evenly: device i is non-compliant when the running count steps up at i.
			NonCompliant: (i+1)*cfg.NonCompliant/cfg.Devices != i*cfg.NonCompliant/cfg.Devices}
		if cfg.Devices <= 2*len(fleetMix) {
			opts.Model = i%len(fleetMix) + 1 // a small fleet shows every model
		}
		if cfg.PushTokens {
			opts.PushToken = "sim-" + rand.Text()
			f.tokens[opts.PushToken] = i
		}
		f.devices = append(f.devices, NewDevice(cfg.Client, cfg.Seed*1_000_003+uint64(i)+1, opts))
		f.wake = append(f.wake, make(chan struct{}, 1))
	}
	return f
}

// Devices are the fleet's devices, in order.
func (f *Fleet) Devices() []*Device { return f.devices }

// Stats are the fleet's counters.
func (f *Fleet) Stats() *Stats { return f.stats }

// preparer is a Provisioner that sets up accounts before the first registration.
type preparer interface {
	Prepare(ctx context.Context, devices int) error
}

// Provision registers every device that holds no credential and is not stopped, through the
// provisioner. It returns an error naming how many failed; the others are registered all the same.
func (f *Fleet) Provision(ctx context.Context) error {
	if f.cfg.Provisioner == nil {
		return errors.New("sim: no provisioner")
	}
	if p, ok := f.cfg.Provisioner.(preparer); ok {
		if err := p.Prepare(ctx, len(f.devices)); err != nil {
			return err
		}
	}
	var (
		mu     sync.Mutex
		failed int
		first  error
		wg     sync.WaitGroup
		sem    = make(chan struct{}, f.cfg.Registering)
	)
	for i, d := range f.devices {
		if d.Registered() {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := f.cfg.Provisioner.Enroll(ctx, i, func(e Enrollment) error {
				if e.Password != "" {
					return d.RegisterWithPassword(ctx, f.cfg.BaseURL, e.Username, e.Password, e.PIN)
				}
				return d.Register(ctx, f.cfg.BaseURL, e.Username, e.PIN)
			})
			if err != nil {
				mu.Lock()
				failed++
				if first == nil {
					first = fmt.Errorf("device %d: %w", i, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if failed > 0 {
		return fmt.Errorf("%d of %d devices did not register; the first: %w", failed, len(f.devices), first)
	}
	return nil
}

// Run checks every registered device in on the interval until ctx ends or every device has stopped.
// A push wake makes a device check in at once.
func (f *Fleet) Run(ctx context.Context) {
	sem := make(chan struct{}, f.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, d := range f.devices {
		if d.Registered() {
			wg.Go(func() { f.loop(ctx, d, f.wake[i], sem) })
		}
	}
	wg.Wait()
}

// loop is one device's life: wait, check in, repeat.
func (f *Fleet) loop(ctx context.Context, d *Device, wake <-chan struct{}, sem chan struct{}) {
	// The first check-in comes at a random point of the first interval, so a fleet started at once
	// does not arrive at once.
	t := time.NewTimer(time.Duration(mrand.Float64() * float64(f.cfg.Interval)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		err := d.CheckIn(ctx)
		<-sem
		if errors.Is(err, ErrStopped) || d.Stopped() {
			return
		}
		wait := f.next()
		if err != nil && wait < 100*time.Millisecond {
			wait = 100 * time.Millisecond // a failing server is not hammered by a closed loop
		}
		t.Reset(wait)
	}
}

// next is the wait before a device's next check-in.
func (f *Fleet) next() time.Duration {
	if f.cfg.Interval <= 0 {
		return 0
	}
	j := f.cfg.Jitter * (2*mrand.Float64() - 1)
	return time.Duration(float64(f.cfg.Interval) * (1 + j))
}

// Wake makes the device with push token token check in at once. It reports false for an unknown token
// or a stopped device (whose token is no longer registered).
func (f *Fleet) Wake(token string) bool {
	i, ok := f.tokens[token]
	if !ok || f.devices[i].Stopped() {
		return false
	}
	select {
	case f.wake[i] <- struct{}{}:
	default: // a wake is already pending
	}
	f.stats.wakes.Add(1)
	return true
}
