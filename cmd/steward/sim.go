package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"steward/internal/sim"
)

type simCmd struct {
	Platform       string        `default:"android" enum:"android,ios" help:"android: Steward's agent protocol; ios: Apple MDM (iPhone, iPad, iPad mini, Apple TV)."`
	Mode           string        `default:"steady" enum:"steady,enroll,fanout" help:"steady: enroll, then check in on the interval; enroll: an enrollment storm, then stop; fanout: enroll, then one forceCheckin to every device, timed until all acknowledged (ios)."`
	APNsListen     string        `name:"apns-listen" help:"ios: loopback address of the stand-in APNs service, e.g. 127.0.0.1:18443 (off by default); start the server with the flags printed."`
	APNsCA         string        `name:"apns-ca-file" help:"ios: where the stand-in APNs keeps its CA certificate (and key, in <file>.key): the server's --apns-ca-file (default: steward-sim-apns-ca.pem in the temporary directory)."`
	Keys           int           `default:"32" help:"ios: identity keys made up front and shared by the devices (RSA key generation is slow)."`
	URL            string        `default:"http://127.0.0.1:8080" help:"The Steward server."`
	Username       string        `required:"" help:"A Tenant Admin (or API user with user management) of the tenant the devices join."`
	PasswordStdin  bool          `name:"password-stdin" help:"Read the password from standard input instead of STEWARD_SIM_PASSWORD."`
	Devices        int           `default:"100" help:"How many devices."`
	Interval       time.Duration `default:"30s" help:"Between a device's check-ins; 0 checks in again at once (closed loop)."`
	Jitter         float64       `default:"0.2" help:"Each wait is the interval ± this fraction of it."`
	NonCompliant   float64       `name:"noncompliant" default:"0.1" help:"Fraction of devices that are rooted and/or have no passcode."`
	Duration       time.Duration `default:"0" help:"Stop after this long; 0 runs until interrupted."`
	Report         time.Duration `default:"10s" help:"Print a line of stats this often."`
	Domain         string        `default:"sim.example.com" help:"Email domain of the simulated users."`
	Prefix         string        `help:"Start of every simulated username (default: sim-<random>, new each run)."`
	DevicesPerUser int           `name:"devices-per-user" default:"2" help:"Devices each simulated user registers."`
	Concurrency    int           `default:"64" help:"Check-ins in flight at most."`
	Registering    int           `default:"8" help:"Registrations in flight at most."`
	Seed           uint64        `default:"1" help:"The same seed gives the same devices."`
	Drift          bool          `default:"true" negatable:"" help:"Let inventory change over time (capacity, apps, OS updates); --no-drift makes idle check-ins only."`
	PushListen     string        `name:"push-listen" help:"Loopback address for the wake-up push receiver, e.g. 127.0.0.1:0 (off by default)."`
	PushKey        string        `name:"push-key" env:"STEWARD_SIM_PUSH_KEY" help:"Bearer key the push receiver requires (default: any)."`
}

func (c *simCmd) validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("--url %q: want http://host:port or https://…", c.URL)
	case c.Devices < 1:
		return errors.New("--devices must be at least 1")
	case c.Interval < 0 || c.Duration < 0:
		return errors.New("--interval and --duration cannot be negative")
	case c.Jitter < 0 || c.Jitter > 1:
		return errors.New("--jitter must be between 0 and 1")
	case c.NonCompliant < 0 || c.NonCompliant > 1:
		return errors.New("--noncompliant must be between 0 and 1")
	case c.Report <= 0:
		return errors.New("--report must be positive")
	case c.Concurrency < 1 || c.Registering < 1 || c.DevicesPerUser < 1:
		return errors.New("--concurrency, --registering and --devices-per-user must be at least 1")
	case c.Platform == "android" && c.Mode != "steady":
		return fmt.Errorf("--mode %s is for --platform ios", c.Mode)
	case c.Platform == "android" && c.APNsListen != "":
		return errors.New("--apns-listen is for --platform ios")
	case c.Platform == "ios" && c.PushListen != "":
		return errors.New("--push-listen is for --platform android (ios devices are woken through --apns-listen)")
	case c.Keys < 1:
		return errors.New("--keys must be at least 1")
	}
	if c.APNsListen != "" && !loopback(c.APNsListen) {
		return fmt.Errorf("--apns-listen %q: want a loopback address such as 127.0.0.1:18443", c.APNsListen)
	}
	if c.PushListen != "" && !loopback(c.PushListen) {
		return fmt.Errorf("--push-listen %q: want a loopback address such as 127.0.0.1:0", c.PushListen)
	}
	return nil
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return err == nil && (host == "localhost" || (ip != nil && ip.IsLoopback()))
}

func (c *simCmd) password(in io.Reader) (string, error) {
	password := os.Getenv("STEWARD_SIM_PASSWORD")
	if c.PasswordStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return "", errors.New("no password: set STEWARD_SIM_PASSWORD or use --password-stdin")
	}
	return password, nil
}

func (c *simCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if err := c.validate(); err != nil {
		return err
	}
	password, err := c.password(in)
	if err != nil {
		return err
	}
	prefix := c.Prefix
	if prefix == "" {
		prefix = "sim-" + strings.ToLower(rand.Text()[:6])
	}
	client := sim.NewHTTPClient(max(c.Concurrency, c.Registering))
	stats := sim.NewStats()
	prov := &sim.APIProvisioner{Client: client, BaseURL: c.URL, Username: c.Username, Password: password,
		Domain: c.Domain, Prefix: prefix, DevicesPerUser: c.DevicesPerUser}
	if c.Platform == "ios" {
		return c.runIOS(ctx, out, client, stats, prov)
	}
	fleet := sim.NewFleet(sim.Config{BaseURL: c.URL, Devices: c.Devices, Interval: c.Interval, Jitter: c.Jitter,
		NonCompliant: int(math.Round(c.NonCompliant * float64(c.Devices))), Concurrency: c.Concurrency,
		Registering: c.Registering, Seed: c.Seed, Static: !c.Drift, PushTokens: c.PushListen != "", Client: client, Stats: stats,
		Provisioner: prov})

	if c.PushListen != "" {
		ln, err := net.Listen("tcp", c.PushListen)
		if err != nil {
			return fmt.Errorf("--push-listen: %w", err)
		}
		srv := &http.Server{Handler: fleet.PushHandler(c.PushKey), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(out, "push receiver: http://%s/v1/projects/{project}/messages:send\n", ln.Addr())
	}

	fmt.Fprintf(out, "registering %d devices (users %s-NNNNN@%s) at %s\n", c.Devices, prefix, c.Domain, c.URL)
	started := time.Now()
	if err := fleet.Provision(ctx); err != nil {
		registered := stats.Snapshot().Registrations
		if registered == 0 || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(out, "warning: %v\n", err)
	}
	fmt.Fprintf(out, "registered %d devices in %s; checking in every %s\n", stats.Snapshot().Registrations,
		time.Since(started).Round(time.Millisecond), describeInterval(c.Interval, c.Jitter))

	c.steady(ctx, out, fleet, stats)
	return nil
}

// steady runs the fleet for --duration (or until ctx ends), printing a stats line every --report and
// a summary.
func (c *simCmd) steady(ctx context.Context, out io.Writer, fleet *sim.Fleet, stats *sim.Stats) {
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if c.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, c.Duration)
	}
	defer cancel()
	done := make(chan struct{})
	go func() { fleet.Run(runCtx); close(done) }()

	first := stats.Snapshot()
	prev := first
	tick := time.NewTicker(c.Report)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-tick.C:
			now := stats.Snapshot()
			fmt.Fprintln(out, now.Since(prev))
			prev = now
		case <-done:
			running = false
		}
	}
	fmt.Fprintln(out, "summary of the run:")
	fmt.Fprintln(out, stats.Snapshot().Since(first))
}

func describeInterval(interval time.Duration, jitter float64) string {
	if interval == 0 {
		return "0 (closed loop)"
	}
	return fmt.Sprintf("%s ± %.0f%%", interval, jitter*100)
}
