// Package devices keeps the managed devices: registration with a per-device credential, check-ins
// (facts, installed apps, command results), the per-device command queue and the device actions
// administrators take. The platform protocols (android, apple) authenticate the device and call the
// device-side methods; the API and the console call the administrator-side ones, which check the
// caller's permission.
package devices

import (
	"context"
	"log/slog"
	"time"

	"steward/internal/lease"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Registrar checks what a user presents to register a device, as their effective registration setting
// asks: the invitation PIN on the account's first registration, then the password, the PIN, or both.
// RegisterDevice runs create, the registration's writes, with the account and its effective setting
// (for the devices-per-user limit) in the transaction that uses the PIN up, so that a registration
// refused there (the last seat taken meanwhile) leaves the PIN usable. accounts.Service implements it.
type Registrar interface {
	RegisterDevice(ctx context.Context, username, pin, password string,
		create func(tx mdm.Stores, a *mdm.Account, set *mdm.RegistrationSettings) error) (*mdm.Account, *mdm.RegistrationSettings, error)
}

// Waker asks devices to check in now (an FCM-style push for Android, APNs for Apple). Wake must not
// block on the network for long: implementations send in the background.
type Waker interface {
	Wake(ctx context.Context, targets []WakeTarget)
}

// WakeTarget is one device to wake and the push token it registered.
type WakeTarget struct {
	TenantID  mdm.TenantID
	DeviceID  mdm.DeviceID
	Platform  string
	PushToken string
}

// Registration is what a device sends to register.
type Registration struct {
	Username  string // the user's UID (email address)
	PIN       string // Apple's macOS lock PIN: refused, since Steward manages no Macs
	Password  string
	Platform  string // mdm.PlatformAndroid (mdm.PlatformIOS comes through the Apple protocol)
	Facts     mdm.DeviceFacts
	Apps      []mdm.InstalledApp
	PushToken string
}

// Registered is the outcome of a registration: the device and its credential, shown this once.
type Registered struct {
	Device          *mdm.Device
	Credential      string
	CheckinInterval time.Duration
}

// CheckIn is one device check-in. Nil Facts or Apps mean "unchanged since the last report".
type CheckIn struct {
	Facts     *mdm.DeviceFacts
	Apps      *[]mdm.InstalledApp
	Results   []mdm.CommandResult
	PushToken *string
	// NoCommands leaves the due commands in the queue (the reply carries none): for a protocol that
	// fetches its commands one at a time (Apple: FetchCommands with limit 1).
	NoCommands bool
	// Also makes the caller's own writes in the check-in's transaction, after the answers, facts and
	// apps (one transaction per answer instead of several); answered are the commands the results
	// completed, as stored. An error rolls the whole check-in back.
	Also func(ctx context.Context, tx mdm.Stores, answered []mdm.Command) error
}

// CheckInReply tells the device what to do next.
type CheckInReply struct {
	Commands          []mdm.Command
	RegistrationState string
	CheckinInterval   time.Duration
}

// Action is a device action an administrator takes.
type Action string

const (
	Lock         Action = "lock"
	Unlock       Action = "unlock"
	Wipe         Action = "wipe"
	WipeCancel   Action = "wipeCancel"
	Retire       Action = "retire"
	ForceCheckin Action = "forceCheckin"
)

// ActionOptions are the extra inputs of some actions (Lock).
type ActionOptions struct {
	Message     string
	PhoneNumber string
	PIN         string // macOS lock PIN, 6 digits
}

// Message is the "send message" action: a push notification and/or an email (the Send Message
// template) to the owners of the devices.
type Message struct {
	DeviceIDs []mdm.DeviceID
	Push      bool
	PushText  string
	Email     bool
	Subject   string
	Body      string
}

// Service is the devices capability.
type Service struct {
	store    mdm.Store
	keys     *secret.Keys
	reg      Registrar
	log      *slog.Logger
	now      func() time.Time
	waker    Waker
	mailer   *mail.Mailer
	mailed   func()
	interval time.Duration

	hooks Hooks

	retention time.Duration // how long completed commands are kept
	seen      *lastSeen     // coalesced check-in times, written by Flush
	auth      *authCache    // recently authenticated devices and tenant states
	pruneJob  *lease.Job    // the queue pruning, on one replica at a time
	changed   func(tenantID mdm.TenantID, ids []mdm.DeviceID)
}

// Hooks let another capability follow the devices: Answered runs inside the transaction that stores a
// device's answer to a command (after the command is completed; an error rolls the answer back);
// Enrolled runs after a device registered or enrolled (its transaction committed). Any may be nil.
// CheckingIn runs when an ACTIVE device checks in or fetches its commands, before the due commands are
// read, so that what it queues goes out in the same answer.
type Hooks struct {
	Answered   func(ctx context.Context, tx mdm.Stores, c *mdm.Command) error
	Enrolled   func(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID)
	CheckingIn func(ctx context.Context, d *mdm.Device)
	// FactsChanged runs after an ACTIVE device's new facts are stored, before its commands are read:
	// dynamic device groups may now take it in or leave it out.
	FactsChanged func(ctx context.Context, d *mdm.Device)
	// InventoryChanged runs after a check-in stored new facts or a new app list of a device, with the
	// device as it was before and as it is now (compliance evaluates the policies that read them).
	InventoryChanged func(ctx context.Context, before, after *mdm.Device, appsChanged bool)
}

// SetHooks installs h. Call it before the service serves devices.
func (s *Service) SetHooks(h Hooks) { s.hooks = h }

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithWaker sets how devices are woken (default: not at all; they check in on their interval).
func WithWaker(w Waker) Option { return func(s *Service) { s.waker = w } }

// WithMail lets the message action email device owners; mailed wakes the mail worker.
func WithMail(m *mail.Mailer, mailed func()) Option {
	return func(s *Service) { s.mailer, s.mailed = m, mailed }
}

// WithCheckinInterval sets the interval devices are told to check in on (default 15 minutes).
func WithCheckinInterval(d time.Duration) Option { return func(s *Service) { s.interval = d } }

// WithRetention sets how long acknowledged, failed and cancelled commands are kept (default 7 days;
// zero or less keeps the default).
func WithRetention(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.retention = d
		}
	}
}

// New returns the service.
func New(store mdm.Store, keys *secret.Keys, reg Registrar, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, keys: keys, reg: reg, log: log, now: time.Now, mailed: func() {},
		interval: 15 * time.Minute, retention: DefaultRetention, seen: newLastSeen()}
	for _, o := range opts {
		o(s)
	}
	s.auth = newAuthCache(authCacheSize, authCacheTTL, s.now)
	s.pruneJob = lease.New(store.Leases(), pruneLease, "", pruneEvery, s.now)
	return s
}

// Background work intervals.
const (
	flushEvery = time.Second
	pruneEvery = time.Hour
)

// pruneLease names the queue pruning's row in the job lease table.
const pruneLease = "devices.prune"

// Run does the background work until ctx ends: it flushes this replica's coalesced check-in times
// every second and prunes the command queue hourly (at the start when the last pruning is older), on
// one replica at a time. It flushes once more before returning.
func (s *Service) Run(ctx context.Context) {
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	prune := time.NewTicker(s.pruneJob.CheckEvery())
	defer prune.Stop()
	s.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			// ctx has ended; the last flush gets a short context of its own.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.Flush(fctx); err != nil {
				s.log.ErrorContext(fctx, "last check-in times not saved", "error", err)
			}
			cancel()
			return
		case <-flush.C:
			if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "saving check-in times", "error", err)
			}
		case <-prune.C:
			s.prune(ctx)
		}
	}
}

func (s *Service) prune(ctx context.Context) {
	_, err := s.pruneJob.RunIfDue(ctx, func(ctx context.Context) error {
		_, err := s.Prune(ctx)
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "pruning completed commands", "error", err)
	}
}
