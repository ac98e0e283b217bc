package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"steward/internal/accounts"
	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/sim"
)

// The demo's simulated devices: a dozen of every kind the simulator knows, two of them non-compliant,
// owned by six demo users, checking in every demoInterval.
const (
	demoDeviceCount  = 12
	demoNonCompliant = 2
	demoInterval     = 10 * time.Second
	// demoEverPerUser caps what restarts may register: a device whose credential no longer works (wiped,
	// retired, deleted, or a new database) is registered afresh, but never beyond this many per user.
	demoEverPerUser = 6
	demoDevicesFile = "demo-devices.json"
)

var demoUsers = []struct{ First, Last string }{
	{"Ann", "Archer"}, {"Ben", "Brooks"}, {"Chloe", "Chen"}, {"Dev", "Patel"}, {"Eva", "Novak"}, {"Femi", "Adeyemi"},
}

func demoUserEmail(i int) string {
	u := demoUsers[i%len(demoUsers)]
	return strings.ToLower(u.First + "." + u.Last + "@demo.example.com")
}

// demoDevice is what a demo device keeps across restarts; the credential is sealed with the server key.
type demoDevice struct {
	Index      int    `json:"index"`
	DeviceID   int64  `json:"deviceId"`
	Credential []byte `json:"credential"`
}

// demoWaker wakes the demo's devices in process when no push service is configured, so that an action
// taken in the console reaches them at once, as a push would.
type demoWaker struct{ fleet atomic.Pointer[sim.Fleet] }

func (w *demoWaker) Wake(_ context.Context, targets []devices.WakeTarget) {
	f := w.fleet.Load()
	if f == nil {
		return
	}
	for _, t := range targets {
		if t.PushToken != "" {
			f.Wake(t.PushToken)
		}
	}
}

// startDemoDevices runs the demo's simulated devices against this server, listening at addr, in the
// background. They register over HTTP as real agents do; their users and PINs are made in process.
// stop ends them and waits. Failures are logged: the demo runs on without devices.
func (s *Server) startDemoDevices(ctx context.Context, addr net.Addr, tlsConf *tls.Config) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		base, client, err := s.loopbackClient(addr, tlsConf)
		if err == nil {
			err = s.runDemoDevices(ctx, base, client)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("demo devices stopped", "err", err.Error())
		}
	})
	return func() { cancel(); wg.Wait() }
}

// loopbackClient is the URL and HTTP client with which the demo devices reach this server: over
// loopback, trusting exactly the server's own certificate when it serves TLS.
func (s *Server) loopbackClient(addr net.Addr, tlsConf *tls.Config) (string, *http.Client, error) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", nil, fmt.Errorf("listening on %s, not TCP", addr)
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	client := sim.NewHTTPClient(4)
	host := net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
	if tlsConf == nil || len(tlsConf.Certificates) == 0 {
		return "http://" + host, client, nil
	}
	cert := tlsConf.Certificates[0]
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return "", nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	name := "localhost"
	if u, err := url.Parse(s.cfg.BaseURL); err == nil && u.Hostname() != "" {
		name = u.Hostname()
	}
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}
	return "https://" + host, client, nil
}

// runDemoDevices provisions the demo fleet (resuming the devices of earlier runs) and runs it until
// ctx ends.
func (s *Server) runDemoDevices(ctx context.Context, base string, client *http.Client) error {
	admin, err := s.store.Accounts().ByUsername(ctx, DemoAdmin)
	if err != nil {
		return fmt.Errorf("demo tenant admin: %w", err)
	}
	tenantID := admin.TenantID
	pctx := mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, Username: "steward-demo",
		TenantID: tenantID, Roles: []string{mdm.RoleTenantAdmin}})
	users, err := s.demoAccounts(pctx, tenantID)
	if err != nil {
		return err
	}

	var mu sync.Mutex // a new PIN replaces the user's last: one registration at a time
	fleet := sim.NewFleet(sim.Config{BaseURL: base, Devices: demoDeviceCount, NonCompliant: demoNonCompliant,
		Interval: demoInterval, Jitter: 0.2, Concurrency: 4, Registering: 1, Seed: 2026, Client: client,
		PushTokens: s.demoWake != nil,
		Provisioner: sim.ProvisionFunc(func(ctx context.Context, i int, register func(sim.Enrollment) error) error {
			mu.Lock()
			defer mu.Unlock()
			a := users[i%len(users)]
			_, ever, err := s.store.Devices().CountForAccount(ctx, tenantID, a.ID)
			if err != nil {
				return err
			}
			if ever >= demoEverPerUser {
				return fmt.Errorf("%s registered %d demo devices already: no more", a.Username, ever)
			}
			pin, err := s.accounts.IssueRegistrationPIN(pctx, a.ID)
			if err != nil {
				return err
			}
			return register(sim.Enrollment{Username: a.Username, PIN: pin.PIN})
		})})

	if s.demoWake != nil {
		s.demoWake.fleet.Store(fleet)
		defer s.demoWake.fleet.Store(nil)
	}
	path := filepath.Join(s.cfg.DataDir, demoDevicesFile)
	resumed := s.resumeDemoDevices(ctx, fleet, base, path)
	if err := fleet.Provision(ctx); err != nil {
		s.log.Warn("demo devices: some did not register", "err", err.Error())
	}
	if err := s.saveDemoDevices(fleet, path); err != nil {
		s.log.Warn("demo devices: cannot keep their credentials; a restart registers new ones", "err", err.Error())
	}
	running := 0
	for _, d := range fleet.Devices() {
		if d.Registered() {
			running++
		}
	}
	s.log.Info("demo devices running", "devices", running, "resumed", resumed, "interval", demoInterval.String())
	fleet.Run(ctx)
	return nil
}

// demoAccounts returns the demo users, creating the missing ones (half accounts: they register with a
// PIN only).
func (s *Server) demoAccounts(ctx context.Context, tenantID mdm.TenantID) ([]mdm.Account, error) {
	var missing []accounts.NewAccount
	for i, u := range demoUsers {
		_, err := s.store.Accounts().ByUsername(ctx, demoUserEmail(i))
		if mdm.IsCode(err, mdm.NotFound) {
			missing = append(missing, accounts.NewAccount{EmailAddress: demoUserEmail(i), FirstName: u.First, LastName: u.Last})
		} else if err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		if _, err := s.accounts.CreateAccounts(ctx, missing, false); err != nil {
			return nil, fmt.Errorf("demo users: %w", err)
		}
	}
	out := make([]mdm.Account, 0, len(demoUsers))
	for i := range demoUsers {
		a, err := s.store.Accounts().ByUsername(ctx, demoUserEmail(i))
		if err != nil {
			return nil, err
		}
		if a.TenantID != tenantID {
			return nil, fmt.Errorf("demo user %s belongs to another tenant", a.Username)
		}
		out = append(out, *a)
	}
	return out, nil
}

// resumeDemoDevices gives the fleet's devices the credentials of an earlier run and checks each in
// once: those the server no longer knows are left to register afresh. It returns how many resumed.
func (s *Server) resumeDemoDevices(ctx context.Context, fleet *sim.Fleet, base, path string) int {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	var saved []demoDevice
	if err == nil {
		err = json.Unmarshal(raw, &saved)
	}
	if err != nil {
		s.log.Warn("demo devices: ignoring "+demoDevicesFile, "err", err.Error())
		return 0
	}
	n := 0
	devs := fleet.Devices()
	for _, sd := range saved {
		cred, err := s.keys.Open(sd.Credential)
		if sd.Index < 0 || sd.Index >= len(devs) || err != nil {
			continue
		}
		d := devs[sd.Index]
		d.Resume(base, string(cred), sd.DeviceID)
		if err := d.CheckIn(ctx); err == nil && !d.Stopped() {
			n++
		}
	}
	return n
}

// saveDemoDevices writes the registered devices' sealed credentials, readable by the owner only.
func (s *Server) saveDemoDevices(fleet *sim.Fleet, path string) error {
	var out []demoDevice
	for i, d := range fleet.Devices() {
		if c := d.Credential(); c != "" {
			out = append(out, demoDevice{Index: i, DeviceID: d.State().DeviceID, Credential: s.keys.Seal([]byte(c))})
		}
	}
	raw, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	// With --database-url and --secret-key nothing else may have created the data directory.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
