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

	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Registrar checks what a user presents to register a device, as their effective registration setting
// asks: the invitation PIN on the account's first registration, then the password, the PIN, or both
// (a PIN is used up by a successful registration). It returns the account and the effective setting
// (for the devices-per-user limit). accounts.Service implements it.
type Registrar interface {
	AuthenticateRegistration(ctx context.Context, username, pin, password string) (*mdm.Account, *mdm.RegistrationSettings, error)
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
	PIN       string
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
}

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

// New returns the service.
func New(store mdm.Store, keys *secret.Keys, reg Registrar, log *slog.Logger, opts ...Option) *Service {
	s := &Service{store: store, keys: keys, reg: reg, log: log, now: time.Now, mailed: func() {},
		interval: 15 * time.Minute}
	for _, o := range opts {
		o(s)
	}
	return s
}

var errNotBuilt = mdm.Errorf(mdm.Internal, "not built yet")

// Register registers a device for the user whose credentials r carries, within the devices-per-user
// limit of their setting and the tenant's license seats, and issues its credential.
func (s *Service) Register(ctx context.Context, r Registration) (*Registered, error) {
	return nil, errNotBuilt
}

// AuthenticateDevice returns the device whose credential this is (unauthenticated for an unknown
// credential or a retired or wiped device; forbidden when its tenant is suspended).
func (s *Service) AuthenticateDevice(ctx context.Context, credential string) (*mdm.Device, error) {
	return nil, errNotBuilt
}

// CheckIn records a check-in of d: last seen (coalesced), facts and apps when they changed, command
// results; and returns the commands due.
func (s *Service) CheckIn(ctx context.Context, d *mdm.Device, c CheckIn) (*CheckInReply, error) {
	return nil, errNotBuilt
}

// FetchCommands returns the commands due for d, at most limit, oldest first, and marks them sent.
func (s *Service) FetchCommands(ctx context.Context, d *mdm.Device, limit int) ([]mdm.Command, error) {
	return nil, errNotBuilt
}

// Acknowledge stores d's answer to one of its commands.
func (s *Service) Acknowledge(ctx context.Context, d *mdm.Device, r mdm.CommandResult) error {
	return errNotBuilt
}

// List lists the caller's tenant's devices (DeviceRead).
func (s *Service) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	return mdm.Page[mdm.Device]{}, errNotBuilt
}

// Get returns one device (DeviceRead).
func (s *Service) Get(ctx context.Context, id mdm.DeviceID) (*mdm.Device, error) {
	return nil, errNotBuilt
}

// Apps lists the apps a device last reported (DeviceRead).
func (s *Service) Apps(ctx context.Context, id mdm.DeviceID) ([]mdm.InstalledApp, error) {
	return nil, errNotBuilt
}

// Commands lists a device's command history, newest first by default (DeviceRead).
func (s *Service) Commands(ctx context.Context, id mdm.DeviceID, opts mdm.ListOptions) (mdm.Page[mdm.Command], error) {
	return mdm.Page[mdm.Command]{}, errNotBuilt
}

// SetCustomAttributes replaces a device's custom attributes (DeviceManage).
func (s *Service) SetCustomAttributes(ctx context.Context, id mdm.DeviceID, attrs map[string]string) error {
	return errNotBuilt
}

// UpdateAccount gives devices a new owner in the same tenant (DeviceManage).
func (s *Service) UpdateAccount(ctx context.Context, accountID mdm.AccountID, ids []mdm.DeviceID) error {
	return errNotBuilt
}

// Delete removes device records, their apps and commands (DeviceManage). The devices' credentials stop
// working at once.
func (s *Service) Delete(ctx context.Context, ids []mdm.DeviceID) (int, error) {
	return 0, errNotBuilt
}

// Act queues action for every device of ids (DeviceAction), all or none, and wakes them. It returns
// how many commands it queued.
func (s *Service) Act(ctx context.Context, action Action, ids []mdm.DeviceID, opts ActionOptions) (int, error) {
	return 0, errNotBuilt
}

// SendMessage pushes and/or emails a message to the owners of m.DeviceIDs (DeviceAction).
func (s *Service) SendMessage(ctx context.Context, m Message) (int, error) {
	return 0, errNotBuilt
}

// Run does the background work until ctx ends: it flushes coalesced check-in times and prunes the
// command queue. It flushes once more before returning.
func (s *Service) Run(ctx context.Context) {}
