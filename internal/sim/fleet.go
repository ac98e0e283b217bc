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

// Member is a simulated device of any platform that a fleet enrolls and paces: *Device (Android) and
// the iOS simulator's devices are members.
type Member interface {
	// Enroll joins the server at baseURL as the user username with the registration pin and/or
	// password.
	Enroll(ctx context.Context, baseURL, username, pin, password string) error
	// CheckIn is one routine contact with the server, commands included; it returns ErrStopped (or
	// any error, with Stopped true) once the device is no longer managed.
	CheckIn(ctx context.Context) error
	Registered() bool
	Stopped() bool
}

// pushTokener is a Member that can be woken by a push to its token.
type pushTokener interface {
	PushToken() string
}

// Fleet is a set of simulated devices that check in on an interval.
type Fleet struct {
	cfg     Config
	stats   *Stats
	devices []*Device // Android devices (NewFleet); nil for a fleet of other members
	members []Member
	wake    []chan struct{}
	tokens  map[string]int // push token → device
}

// NewFleetOf makes a fleet of members of any platform. Of cfg it uses the pacing (Interval, Jitter,
// Concurrency, Registering), BaseURL, Provisioner and Stats; members that have a PushToken can be
// woken (Wake).
func NewFleetOf(cfg Config, members []Member) *Fleet {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Registering <= 0 {
		cfg.Registering = 8
	}
	if cfg.Stats == nil {
		cfg.Stats = NewStats()
	}
	cfg.Devices = len(members)
	f := &Fleet{cfg: cfg, stats: cfg.Stats, members: members, tokens: map[string]int{}}
	for i, m := range members {
		if p, ok := m.(pushTokener); ok && p.PushToken() != "" {
			f.tokens[p.PushToken()] = i
		}
		f.wake = append(f.wake, make(chan struct{}, 1))
	}
	return f
}

// NewFleet makes cfg.Devices Android devices; Provision registers them and Run runs them.
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
		d := NewDevice(cfg.Client, cfg.Seed*1_000_003+uint64(i)+1, opts)
		f.devices = append(f.devices, d)
		f.members = append(f.members, d)
		f.wake = append(f.wake, make(chan struct{}, 1))
	}
	return f
}

// Devices are the fleet's Android devices, in order (none in a fleet made by NewFleetOf).
func (f *Fleet) Devices() []*Device { return f.devices }

// Members are the fleet's devices of any platform, in order.
func (f *Fleet) Members() []Member { return f.members }

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
		if err := p.Prepare(ctx, len(f.members)); err != nil {
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
	for i, d := range f.members {
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
				return d.Enroll(ctx, f.cfg.BaseURL, e.Username, e.PIN, e.Password)
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
		return fmt.Errorf("%d of %d devices did not register; the first: %w", failed, len(f.members), first)
	}
	return nil
}

// Run checks every registered device in on the interval until ctx ends or every device has stopped.
// A push wake makes a device check in at once.
func (f *Fleet) Run(ctx context.Context) {
	sem := make(chan struct{}, f.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, d := range f.members {
		if d.Registered() {
			wg.Go(func() { f.loop(ctx, d, f.wake[i], sem) })
		}
	}
	wg.Wait()
}

// loop is one device's life: wait, check in, repeat.
func (f *Fleet) loop(ctx context.Context, d Member, wake <-chan struct{}, sem chan struct{}) {
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
	if !ok || f.members[i].Stopped() {
		return false
	}
	select {
	case f.wake[i] <- struct{}{}:
	default: // a wake is already pending
	}
	f.stats.wakes.Add(1)
	return true
}
