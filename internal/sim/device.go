// Package sim simulates Android devices that speak Steward's agent protocol over HTTP, as a real agent
// does, and runs fleets of them: for end-to-end tests, the demo's live devices and load measurements.
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"steward/internal/android"
)

// The agent protocol's paths.
const (
	registerPath = "/api/agent/v1/register"
	checkinPath  = "/api/agent/v1/checkin"
)

// ErrStopped is returned by CheckIn once the device is wiped, retired or no longer known to the server.
var ErrStopped = errors.New("device stopped")

// ErrNotRegistered is returned by CheckIn before Register succeeded.
var ErrNotRegistered = errors.New("device not registered")

var _ Member = (*Device)(nil)

// Observer hears what devices do; Stats implements it. Its methods must be safe for concurrent use.
type Observer interface {
	// Request is one HTTP exchange with the server: op is "register" or "checkin"; err is nil on 2xx.
	Request(op string, took time.Duration, err error)
	// Command is one command the device carried out (or refused), with the status it answered.
	Command(typ, status string)
}

// DeviceOptions shape a new device.
type DeviceOptions struct {
	NonCompliant bool     // rooted and/or without a passcode
	Model        int      // 1..Models(): that catalogue entry; 0: one drawn by how common it is
	Static       bool     // the inventory never changes by itself (to measure idle check-ins alone)
	PushToken    string   // reported at registration so the server can wake the device; "" for none
	Observer     Observer // nil: nobody listens
}

// Device is one simulated Android device. Its methods are safe for concurrent use; a device carries out
// one check-in at a time.
type Device struct {
	mu     sync.Mutex
	client *http.Client
	rng    *rand.Rand
	obs    Observer
	hw     hardware
	static bool

	baseURL    string
	credential string
	id         int64
	guid       string
	kind       string
	regState   string
	interval   time.Duration

	facts     android.Facts
	apps      []android.App
	sentFacts *android.Facts // the last facts the server accepted
	sentApps  []android.App  // the last app list the server accepted (nil: none yet)
	fullNext  bool           // FORCE_CHECKIN: report everything next time
	pushToken string
	pushSent  bool

	results  []android.CommandResult         // answers not yet delivered
	answered map[int64]android.CommandResult // recent answers, so a resent command is not run twice

	locked   bool
	lockNote string
	// passcodeCleared: an unlock removed the passcode and the user has not set a new one yet.
	passcodeCleared bool
	messages        []string
	executed        map[string]int
	// configs are the configurations applied (APPLY_CONFIGURATION), by configuration id: the
	// version and the policy JSON.
	configs map[string]AppliedConfiguration
	// removedContent are the content ids REMOVE_CONTENT asked the device to delete, in order (the
	// device downloads no content, so it only records them).
	removedContent []string
	stopped        bool
	wiped          bool
	retired        bool
	ending         bool // a wipe or retire is carried out: deliver the answers, then stop
}

// NewDevice makes a device with facts and apps drawn from seed; client is shared by the whole fleet.
func NewDevice(client *http.Client, seed uint64, opts DeviceOptions) *Device {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed5eed))
	hw := pick(rng)
	if opts.Model > 0 && opts.Model <= len(fleetMix) {
		hw = fleetMix[opts.Model-1]
	}
	return &Device{client: client, rng: rng, obs: opts.Observer, hw: hw, static: opts.Static,
		facts: newFacts(rng, hw, opts.NonCompliant), apps: newApps(rng, hw), pushToken: opts.PushToken,
		answered: map[int64]android.CommandResult{}, executed: map[string]int{}, configs: map[string]AppliedConfiguration{}}
}

// Register registers the device for username with pin (the registration PIN an administrator issued)
// at the Steward server at baseURL, and keeps the credential it is given.
func (d *Device) Register(ctx context.Context, baseURL, username, pin string) error {
	return d.register(ctx, baseURL, android.RegisterRequest{Username: username, PIN: pin})
}

// RegisterWithPassword registers with the user's password (and PIN, when the setting asks for both).
func (d *Device) RegisterWithPassword(ctx context.Context, baseURL, username, password, pin string) error {
	return d.register(ctx, baseURL, android.RegisterRequest{Username: username, Password: password, PIN: pin})
}

// Enroll implements Member: it registers with the password when there is one, else with the PIN.
func (d *Device) Enroll(ctx context.Context, baseURL, username, pin, password string) error {
	if password != "" {
		return d.RegisterWithPassword(ctx, baseURL, username, password, pin)
	}
	return d.Register(ctx, baseURL, username, pin)
}

func (d *Device) register(ctx context.Context, baseURL string, req android.RegisterRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	baseURL = strings.TrimRight(baseURL, "/")
	if d.wiped { // registering again after a factory reset: the stock apps are back
		d.apps = newApps(d.rng, d.hw)
	}
	req.Facts, req.Apps, req.PushToken = d.facts, slices.Clone(d.apps), d.pushToken
	var res android.RegisterResponse
	start := time.Now()
	err := call(ctx, d.client, http.MethodPost, baseURL+registerPath, nil, req, &res)
	d.observe(ctx, "register", time.Since(start), err)
	if err != nil {
		return err
	}
	if res.Credential == "" {
		return errors.New("register: the server issued no credential")
	}
	d.baseURL, d.credential, d.id, d.guid, d.kind = baseURL, res.Credential, res.DeviceID, res.GUID, res.DeviceKind
	d.regState = res.RegistrationState
	d.interval = time.Duration(res.CheckinIntervalSeconds) * time.Second
	f := d.facts
	d.sentFacts, d.sentApps, d.pushSent = &f, slices.Clone(d.apps), true
	d.stopped, d.wiped, d.retired, d.ending = false, false, false, false
	return nil
}

// CheckIn reports what changed since the last accepted report and the answers to earlier commands,
// then carries out the commands the server returns, in order. When it carried some out it checks in
// again at once with their answers (as an agent does), a few rounds at most.
func (d *Device) CheckIn(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.stopped:
		return ErrStopped
	case d.credential == "":
		return ErrNotRegistered
	}
	if !d.static {
		d.drift()
	}
	for round := 0; round < 4; round++ {
		cmds, err := d.checkinOnce(ctx)
		if err != nil {
			return err
		}
		if d.ending {
			if len(d.results) == 0 { // the wipe's or retire's answer is delivered
				d.stop()
				return nil
			}
			continue
		}
		if len(cmds) == 0 || d.stopped {
			return nil
		}
		d.execute(cmds)
	}
	return nil
}

// checkinOnce sends one check-in and returns the commands of its answer.
func (d *Device) checkinOnce(ctx context.Context) ([]android.Command, error) {
	var req android.CheckinRequest
	if d.fullNext || d.sentFacts == nil || *d.sentFacts != d.facts {
		f := d.facts
		req.Facts = &f
	}
	if d.fullNext || d.sentApps == nil || !slices.Equal(d.sentApps, d.apps) {
		a := slices.Clone(d.apps)
		req.Apps = &a
	}
	if !d.pushSent && d.pushToken != "" {
		t := d.pushToken
		req.PushToken = &t
	}
	req.Results = d.results
	var res android.CheckinResponse
	start := time.Now()
	err := call(ctx, d.client, http.MethodPost, d.baseURL+checkinPath, bearer(d.credential), req, &res)
	d.observe(ctx, "checkin", time.Since(start), err)
	if err != nil {
		if StatusOf(err) == http.StatusUnauthorized {
			// The server no longer knows this credential: the device was deleted, retired or wiped.
			d.stop()
		}
		return nil, err
	}
	if req.Facts != nil {
		d.sentFacts = req.Facts
	}
	if req.Apps != nil {
		d.sentApps = *req.Apps
	}
	d.pushSent, d.fullNext, d.results = true, false, nil
	if res.RegistrationState != "" {
		d.regState = res.RegistrationState
	}
	if res.CheckinIntervalSeconds > 0 {
		d.interval = time.Duration(res.CheckinIntervalSeconds) * time.Second
	}
	if d.regState == "RETIRED" || d.regState == "WIPED" {
		d.stop()
		return nil, nil
	}
	return res.Commands, nil
}

// execute carries out commands in order and queues their answers. After a wipe or retire the device
// takes no further command.
func (d *Device) execute(cmds []android.Command) {
	for _, c := range cmds {
		if d.ending {
			return
		}
		if r, ok := d.answered[c.ID]; ok { // sent again: our answer was lost, not the command
			d.results = append(d.results, r)
			continue
		}
		r := android.CommandResult{ID: c.ID, Status: "ACKNOWLEDGED"}
		switch c.Type {
		case "LOCK":
			d.locked, d.lockNote = true, c.Payload["message"]
		case "UNLOCK":
			// Android's "clear passcode": the device opens without one, so it no longer meets the
			// passcode requirement until the user sets a new one.
			d.locked, d.facts.PasscodeCompliant = false, false
			d.passcodeCleared = true
		case "FORCE_CHECKIN":
			d.fullNext = true
		case "OS_UPDATE":
			// The device installs the system update it is offered (the next Android release here) and
			// reports its new version at the next check-in.
			d.updateOS()
			d.fullNext = true
		case "MESSAGE":
			d.messages = append(d.messages, c.Payload["message"])
		case "WIPE":
			d.ending, d.wiped = true, true
		case "RETIRE":
			d.ending, d.retired = true, true
		case "INSTALL_APPLICATION":
			r = d.install(c)
		case "REMOVE_APPLICATION":
			d.remove(c.Payload["identifier"])
		case "APPLY_CONFIGURATION":
			if id, policy := c.Payload["configurationId"], c.Payload["policy"]; id == "" || !json.Valid([]byte(policy)) {
				r = android.CommandResult{ID: c.ID, Status: "ERROR", Error: "the configuration's policy is not JSON"}
			} else {
				d.configs[id] = AppliedConfiguration{Version: c.Payload["version"], Policy: policy}
			}
		case "REMOVE_CONFIGURATION":
			delete(d.configs, c.Payload["configurationId"])
		case "REMOVE_CONTENT":
			for id := range strings.SplitSeq(c.Payload["contentIds"], ",") {
				if id = strings.TrimSpace(id); id != "" {
					d.removedContent = append(d.removedContent, id)
				}
			}
		default:
			r = android.CommandResult{ID: c.ID, Status: "ERROR", Error: "unsupported"}
		}
		d.executed[c.Type]++
		if d.obs != nil {
			d.obs.Command(c.Type, r.Status)
		}
		d.results = append(d.results, r)
		if len(d.answered) >= 64 {
			clear(d.answered)
		}
		d.answered[c.ID] = r
	}
}

// install "installs" the app a command names: it joins the inventory (replacing an older version), as
// if the store or the downloaded .apk had installed it. The next check-in reports it.
func (d *Device) install(c android.Command) android.CommandResult {
	id := c.Payload["identifier"]
	if id == "" {
		return android.CommandResult{ID: c.ID, Status: "ERROR", Error: "no identifier"}
	}
	name, version := c.Payload["name"], c.Payload["version"]
	if name == "" {
		name = id
	}
	if version == "" {
		version = "1.0"
	}
	d.remove(id)
	d.apps = append(d.apps, android.App{AppID: id, Name: name, Version: version})
	return android.CommandResult{ID: c.ID, Status: "ACKNOWLEDGED", Result: "installed " + id + " " + version}
}

// remove uninstalls an app; removing one that is not there succeeds (it is gone either way).
func (d *Device) remove(id string) {
	d.apps = slices.DeleteFunc(d.apps, func(a android.App) bool { return a.AppID == id })
}

// stop ends the device's management: a wiped device also loses its data.
func (d *Device) stop() {
	d.stopped, d.ending, d.credential = true, false, ""
	if d.wiped {
		d.apps, d.messages, d.locked = nil, nil, false
	}
}

// observe reports one exchange, unless the caller gave up on it (the run ended): that is no failure of
// the server's.
func (d *Device) observe(ctx context.Context, op string, took time.Duration, err error) {
	if d.obs != nil && ctx.Err() == nil {
		d.obs.Request(op, took, err)
	}
}

// State is a snapshot of a device, for tests and reports.
type State struct {
	DeviceID          int64
	GUID              string
	Kind              string // as the server derived it at registration
	RegistrationState string // as the server last said
	Registered        bool   // holds a credential
	Stopped           bool
	Wiped             bool
	Retired           bool
	Locked            bool
	LockMessage       string
	Messages          []string
	Executed          map[string]int                  // commands carried out, by type
	Configurations    map[string]AppliedConfiguration // applied configurations by id
	RemovedContent    []string                        // content ids REMOVE_CONTENT asked to delete, in order
	Facts             android.Facts
	Apps              []android.App
	CheckinInterval   time.Duration // what the server asked for; 0 before registration
	PushToken         string
}

// State returns a snapshot of the device.
func (d *Device) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return State{DeviceID: d.id, GUID: d.guid, Kind: d.kind, RegistrationState: d.regState, Registered: d.credential != "",
		Stopped: d.stopped, Wiped: d.wiped, Retired: d.retired, Locked: d.locked, LockMessage: d.lockNote,
		Messages: slices.Clone(d.messages), Executed: cloneMap(d.executed), Facts: d.facts, Apps: slices.Clone(d.apps),
		CheckinInterval: d.interval, PushToken: d.pushToken, Configurations: maps.Clone(d.configs),
		RemovedContent: slices.Clone(d.removedContent)}
}

// AppliedConfiguration is a configuration the device applied: its version and Android policy JSON.
type AppliedConfiguration struct {
	Version string
	Policy  string
}

// Stopped reports whether the device was wiped or retired or lost its credential.
func (d *Device) Stopped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopped
}

// Registered reports whether the device holds a credential.
func (d *Device) Registered() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.credential != ""
}

// Credential returns the device's credential ("" when it has none), so a restarted simulator can go on
// as the same device.
func (d *Device) Credential() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.credential
}

// Resume makes the device one that registered earlier with credential at baseURL (its facts are
// reported in full at the next check-in).
func (d *Device) Resume(baseURL, credential string, id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.baseURL, d.credential, d.id = strings.TrimRight(baseURL, "/"), credential, id
	d.sentFacts, d.sentApps, d.pushSent, d.stopped = nil, nil, false, false
}

func cloneMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SetRooted roots the device (rooted true) or restores it; the next check-in reports the change.
func (d *Device) SetRooted(rooted bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.facts.Rooted = rooted
}
