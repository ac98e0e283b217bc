package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"steward/internal/apple"
	"steward/internal/loadgen"
	"steward/internal/sim"
	"steward/internal/sim/ios"
)

// loadgenFleet is the simulated devices of a device workload and the unmeasured setup that makes them.
type loadgenFleet struct {
	Devices       int    `default:"200" help:"Simulated devices; a storm (apple-enroll, android-register) enrolls each once per round."`
	Username      string `help:"A Tenant Admin (or API user with user management) of the tenant the devices join: the setup (accounts, registration PINs, push certificate) goes through Steward's API with it."`
	PasswordStdin bool   `name:"password-stdin" help:"Read that user's password from standard input instead of STEWARD_LOADGEN_PASSWORD."`
	Domain        string `default:"loadgen.example.com" help:"Email domain of the simulated users."`
	Prefix        string `help:"Start of every simulated username (default: lg-<random>, new each run)."`
	Setup         int    `default:"8" help:"Setup requests in flight (not measured)."`
	Seed          uint64 `help:"The same seed gives the same devices (default: a new one each run, so runs do not re-enroll each other's devices)."`
}

func (f *loadgenFleet) validate() error {
	if f.Devices < 1 || f.Setup < 1 {
		return errors.New("--devices and --setup must be at least 1")
	}
	if f.Prefix == "" {
		f.Prefix = "lg-" + strings.ToLower(rand.Text()[:6])
	}
	if f.Seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		for _, x := range b {
			f.Seed = f.Seed<<8 | uint64(x)
		}
	}
	return nil
}

// steward is the setup's way into Steward's API: the admin and a provisioner of one account per device
// (a new registration PIN replaces the user's earlier one, so devices that enroll later keep theirs).
func (f *loadgenFleet) steward(in io.Reader, client *http.Client, baseURL string) (*sim.Admin, *sim.APIProvisioner, error) {
	if f.Username == "" {
		return nil, nil, errors.New("--username is required: the setup goes through Steward's API")
	}
	password, err := readSecret(in, f.PasswordStdin, "STEWARD_LOADGEN_PASSWORD", "--password-stdin")
	if err != nil {
		return nil, nil, err
	}
	return &sim.Admin{Client: client, BaseURL: baseURL, Username: f.Username, Password: password},
		&sim.APIProvisioner{Client: client, BaseURL: baseURL, Username: f.Username, Password: password,
			Domain: f.Domain, Prefix: f.Prefix, DevicesPerUser: 1}, nil
}

// setupAll calls each for 0..n-1, conc at a time, and prints how long it took. Any failure fails the setup.
func setupAll(ctx context.Context, out io.Writer, what string, n, conc int, each func(i int) error) error {
	start := time.Now()
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, conc)
		failed atomic.Int64
		once   sync.Once
		first  error
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := retryBusy(ctx, func() error { return each(i) }); err != nil {
				failed.Add(1)
				once.Do(func() { first = fmt.Errorf("%s %d: %w", what, i, err) })
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("setup: %d of %d failed; the first: %w", failed.Load(), n, first)
	}
	fmt.Fprintf(out, "setup: %s %d devices in %s (not measured)\n", what, n, time.Since(start).Round(time.Millisecond))
	return nil
}

// retryBusy calls f again, a few times with a growing pause, while it fails with 429 or 503: a busy
// server sheds setup requests, which are not what is measured.
func retryBusy(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if st := sim.StatusOf(err); attempt == 5 || (st != http.StatusServiceUnavailable && st != http.StatusTooManyRequests) {
			return err
		}
		if err := sleep(ctx, time.Duration(attempt)*250*time.Millisecond); err != nil {
			return err
		}
	}
}

// roundRobin is an Op that hands each request to the next device in turn.
func roundRobin[D any](devs []D, f func(D, context.Context) error) loadgen.Op {
	var next atomic.Int64
	return func(ctx context.Context) error {
		return f(devs[(next.Add(1)-1)%int64(len(devs))], ctx)
	}
}

// loadgenApple is how the Apple devices enroll and show their identity.
type loadgenApple struct {
	Identity   string `default:"signature" enum:"signature,header,tls" help:"How a device shows its identity on each message: signature (Mdm-Signature, an RSA signature per message, costly for the load tool), header (the certificate in an RFC 9440 header, as from a TLS-terminating proxy: run the server with --trusted-proxy 127.0.0.1 --apple-cert-header Client-Cert) or tls (the TLS client certificate: an https --url)."`
	CertHeader string `name:"cert-header" default:"Client-Cert" help:"The header of --identity header."`
	Profile    string `help:"Enrollment profile (signed or not) from any Apple MDM server: a file, or an http(s) URL to GET; its SCEP challenge must serve every device. Without it the setup uses Steward's enrollment page, with a PIN per device issued through its API (--username)."`
	Keys       int    `default:"32" help:"Identity keys made up front and shared by the devices (RSA key generation is slow)."`
}

// appleDevices makes the devices and gives each its profile and identity (SCEP): the setup every Apple
// workload shares. Nothing here is measured.
func appleDevices(ctx context.Context, in io.Reader, out io.Writer, loop *loadgenLoop, fl *loadgenFleet, a *loadgenApple,
	client *http.Client) ([]*ios.Device, *sim.Admin, error) {
	if err := fl.validate(); err != nil {
		return nil, nil, err
	}
	if a.Identity == ios.IdentityTLS && !strings.HasPrefix(loop.URL, "https://") && a.Profile == "" {
		return nil, nil, errors.New("--identity tls needs an https --url")
	}
	keys, err := ios.NewKeyPool(min(max(a.Keys, 1), fl.Devices))
	if err != nil {
		return nil, nil, err
	}
	devs := make([]*ios.Device, fl.Devices)
	for i := range devs {
		devs[i] = ios.NewDevice(client, fl.Seed*1_000_003+uint64(i)+1, ios.DeviceOptions{Key: keys.Key(),
			Identity: a.Identity, CertHeader: a.CertHeader})
	}
	var admin *sim.Admin
	if a.Profile != "" {
		raw, err := readProfile(ctx, client, a.Profile)
		if err != nil {
			return nil, nil, err
		}
		if fl.Username != "" { // optional: for fanout, which acts through Steward's API
			if admin, _, err = fl.steward(in, client, loop.URL); err != nil {
				return nil, nil, err
			}
		}
		return devs, admin, setupAll(ctx, out, "profile and SCEP for", len(devs), fl.Setup, func(i int) error {
			return devs[i].PrepareWithProfile(ctx, raw)
		})
	}
	admin, prov, err := fl.steward(in, client, loop.URL)
	if err != nil {
		return nil, nil, err
	}
	if err := ensurePushCertificate(ctx, admin, out); err != nil {
		return nil, nil, err
	}
	if err := prov.Prepare(ctx, len(devs)); err != nil {
		return nil, nil, err
	}
	return devs, admin, setupAll(ctx, out, "PIN, profile and SCEP for", len(devs), fl.Setup, func(i int) error {
		return prov.Enroll(ctx, i, func(e sim.Enrollment) error {
			return devs[i].Prepare(ctx, loop.URL, e.Username, e.PIN, e.Password)
		})
	})
}

// readProfile reads --profile: a file, or the answer to a GET of an http(s) URL.
func readProfile(ctx context.Context, client *http.Client, src string) ([]byte, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		raw, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("--profile: %w", err)
		}
		return raw, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d", res.StatusCode)
	}
	if err != nil {
		return nil, fmt.Errorf("--profile %s: %w", src, err)
	}
	return raw, nil
}

// checkedIn enrolls the prepared devices (Authenticate, TokenUpdate) and connects each once, so the
// server's first commands (the inventory) are answered before anything is measured.
func checkedIn(ctx context.Context, out io.Writer, devs []*ios.Device, conc int) error {
	return setupAll(ctx, out, "Authenticate, TokenUpdate and first connect (inventory) of", len(devs), conc, func(i int) error {
		if err := devs[i].Authenticate(ctx); err != nil {
			return err
		}
		return devs[i].CheckIn(ctx)
	})
}

type loadgenAppleEnrollCmd struct {
	loadgenLoop
	loadgenFleet
	loadgenApple
	Rounds int `default:"1" help:"Enroll every device this many times (after the first, a device enrolls again with the same identity)."`
}

func (c *loadgenAppleEnrollCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if err := c.loadgenLoop.validate(); err != nil {
		return err
	}
	if c.Rounds < 1 {
		return errors.New("--rounds must be at least 1")
	}
	devs, _, err := appleDevices(ctx, in, out, &c.loadgenLoop, &c.loadgenFleet, &c.loadgenApple, c.httpClient(c.Setup))
	if err != nil {
		return err
	}
	cfg := c.config()
	cfg.Limit = int64(len(devs) * c.Rounds)
	fmt.Fprintf(out, "one request = Authenticate + TokenUpdate of one device (identity: %s)\n", c.Identity)
	_, err = c.run(ctx, out, fmt.Sprintf("apple-enroll of %d devices × %d", len(devs), c.Rounds), cfg,
		roundRobin(devs, (*ios.Device).Authenticate))
	return err
}

type loadgenAppleIdleCmd struct {
	loadgenLoop
	loadgenFleet
	loadgenApple
}

func (c *loadgenAppleIdleCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if err := c.loadgenLoop.validate(); err != nil {
		return err
	}
	devs, _, err := appleDevices(ctx, in, out, &c.loadgenLoop, &c.loadgenFleet, &c.loadgenApple, c.httpClient(c.Setup))
	if err != nil {
		return err
	}
	if err := checkedIn(ctx, out, devs, c.Setup); err != nil {
		return err
	}
	fmt.Fprintf(out, "one request = an Idle connect with nothing queued (identity: %s)\n", c.Identity)
	_, err = c.run(ctx, out, fmt.Sprintf("apple-idle of %d devices", len(devs)), c.config(), roundRobin(devs, (*ios.Device).CheckIn))
	return err
}

// androidDevices makes registered-to-be Android devices that report nothing new on a check-in.
func androidDevices(fl *loadgenFleet, client *http.Client) []*sim.Device {
	devs := make([]*sim.Device, fl.Devices)
	for i := range devs {
		devs[i] = sim.NewDevice(client, fl.Seed*1_000_003+uint64(i)+1, sim.DeviceOptions{Static: true})
	}
	return devs
}

// androidSetup checks the flags of an Android workload and makes its devices, with the accounts they
// will register as (through Steward's API).
func androidSetup(ctx context.Context, in io.Reader, l *loadgenLoop, fl *loadgenFleet) (*sim.APIProvisioner, []*sim.Device, error) {
	if err := l.validate(); err != nil {
		return nil, nil, err
	}
	if err := fl.validate(); err != nil {
		return nil, nil, err
	}
	client := l.httpClient(fl.Setup)
	_, prov, err := fl.steward(in, client, l.URL)
	if err != nil {
		return nil, nil, err
	}
	devs := androidDevices(fl, client)
	if err := prov.Prepare(ctx, len(devs)); err != nil {
		return nil, nil, err
	}
	return prov, devs, nil
}

type loadgenAndroidRegisterCmd struct {
	loadgenLoop
	loadgenFleet
}

func (c *loadgenAndroidRegisterCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	prov, devs, err := androidSetup(ctx, in, &c.loadgenLoop, &c.loadgenFleet)
	if err != nil {
		return err
	}
	pins := make([]sim.Enrollment, len(devs))
	err = setupAll(ctx, out, "account and registration PIN for", len(devs), c.Setup, func(i int) (err error) {
		pins[i], err = prov.Issue(ctx, i)
		return err
	})
	if err != nil {
		return err
	}
	var next atomic.Int64
	cfg := c.config()
	cfg.Limit = int64(len(devs))
	fmt.Fprintln(out, "one request = one registration (POST /api/v1/agent/register) of a new device")
	_, err = c.run(ctx, out, fmt.Sprintf("android-register of %d devices", len(devs)), cfg, func(ctx context.Context) error {
		i := next.Add(1) - 1
		return devs[i].Register(ctx, c.URL, pins[i].Username, pins[i].PIN)
	})
	return err
}

type loadgenAndroidCheckinCmd struct {
	loadgenLoop
	loadgenFleet
}

func (c *loadgenAndroidCheckinCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	prov, devs, err := androidSetup(ctx, in, &c.loadgenLoop, &c.loadgenFleet)
	if err != nil {
		return err
	}
	err = setupAll(ctx, out, "registration and first check-in of", len(devs), c.Setup, func(i int) error {
		err := prov.Enroll(ctx, i, func(e sim.Enrollment) error { return devs[i].Register(ctx, c.URL, e.Username, e.PIN) })
		if err != nil {
			return err
		}
		return devs[i].CheckIn(ctx)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "one request = a check-in with nothing new to report and nothing queued")
	_, err = c.run(ctx, out, fmt.Sprintf("android-checkin of %d devices", len(devs)), c.config(), roundRobin(devs, (*sim.Device).CheckIn))
	return err
}

type loadgenFanoutCmd struct {
	loadgenLoop
	loadgenFleet
	loadgenApple
	Timeout time.Duration `default:"10m" help:"Give up when not every device acknowledged by then (replaces --duration)."`
}

// Run enrolls the devices, sends one forceCheckin to all of them through Steward's API (DeviceInformation
// on an Apple device), then has every device connect, as a push would make it, until each acknowledged.
func (c *loadgenFanoutCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	c.Duration = c.Timeout
	if err := c.loadgenLoop.validate(); err != nil {
		return err
	}
	if c.Username == "" {
		return errors.New("--username is required: the command is sent through Steward's API")
	}
	devs, admin, err := appleDevices(ctx, in, out, &c.loadgenLoop, &c.loadgenFleet, &c.loadgenApple, c.httpClient(c.Setup))
	if err != nil {
		return err
	}
	if err := checkedIn(ctx, out, devs, c.Setup); err != nil {
		return err
	}
	records, err := admin.Devices(ctx, "")
	if err != nil {
		return err
	}
	bySerial := map[string]int64{}
	for _, r := range records {
		bySerial[r.SerialNumber] = r.ID
	}
	ids := make([]int64, len(devs))
	before := make(map[*ios.Device]int, len(devs))
	pending := make(chan *ios.Device, len(devs))
	for i, d := range devs {
		st := d.State()
		id, ok := bySerial[st.SerialNumber]
		if !ok {
			return fmt.Errorf("device %s is not in the device list", st.SerialNumber)
		}
		ids[i] = id
		before[d] = st.Executed[apple.RequestDeviceInformation] // what forceCheckin asks an Apple device
		pending <- d
	}

	runCtx, allDone := context.WithCancel(ctx)
	defer allDone()
	var acked atomic.Int64
	var doneAt atomic.Pointer[time.Time]
	op := func(ctx context.Context) error {
		var d *ios.Device
		select {
		case d = <-pending:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := d.CheckIn(ctx)
		if d.Executed(apple.RequestDeviceInformation) > before[d] {
			if acked.Add(1) == int64(len(devs)) {
				now := time.Now()
				doneAt.Store(&now)
				allDone()
			}
		} else {
			pending <- d // not yet: it connects again
		}
		return err
	}
	fmt.Fprintf(out, "fanout: forceCheckin to %d devices through the API, then each connects (%s)\n", len(devs), c.describe())
	t0 := time.Now()
	if err := admin.Act(ctx, "forceCheckin", ids); err != nil {
		return err
	}
	queued := time.Since(t0)
	r, runErr := c.run(runCtx, out, "connects during the fan-out", c.config(), op)
	at := doneAt.Load()
	if at == nil {
		return fmt.Errorf("%d of %d devices acknowledged the forceCheckin within %s", acked.Load(), len(devs), c.Timeout)
	}
	took := at.Sub(t0)
	fmt.Fprintf(out, "fanout: %d of %d devices acknowledged; queued in %s, all acknowledged %s after the request (%.0f devices/s, %d connects)\n",
		acked.Load(), len(devs), queued.Round(time.Millisecond), took.Round(time.Millisecond),
		float64(len(devs))/took.Seconds(), r.Requests+r.Failed)
	return runErr
}
