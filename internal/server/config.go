// Package server assembles Steward: configuration → store → services → HTTP listener, and shuts it all
// down gracefully.
package server

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"steward/internal/apple/apns"
	"steward/internal/mail"
)

// Config is everything `steward serve` is told. Flags and STEWARD_* variables fill it (cmd/steward).
type Config struct {
	Addr          string
	DataDir       string
	DatabaseURL   string
	SMTPURL       string
	MailFrom      string
	BaseURL       string
	TLSCert       string
	TLSKey        string
	TLSSelfSigned bool
	AllowPlain    bool // serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy)
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the real client.
	TrustedProxies []netip.Prefix
	SecretKey      string // base64; empty: <data-dir>/secret.key
	// BlobDir is where uploaded files (content documents) are kept; empty: <data-dir>/blobs. Replicas
	// sharing one PostgreSQL database must share it too (a network file system).
	BlobDir       string
	AdminPassword string // creates the "admin" System Admin on first start
	Demo          bool
	LogFormat     string // json or text
	// Devices.
	CheckinInterval  time.Duration // what devices are told; 0: the default (15 minutes)
	CommandRetention time.Duration // answered commands are kept this long; 0: the default (7 days)
	// ComplianceSweep is how often policies are evaluated on every device (time-based rules, grace
	// periods); 0: the default (5 minutes). One replica sweeps at a time.
	ComplianceSweep time.Duration
	PushURL         string // FCM HTTP v1 style push service; "": no wake-ups
	PushProject     string
	PushKey         string
	// Apple push notifications (APNs): the service's base URL ("": apns.Production) and a PEM file of
	// the CAs to trust for it instead of the system's ("": the system's).
	APNsURL    string
	APNsCAFile string
	// Apple MDM.
	// AppleCertHeader is the RFC 9440 client-certificate header of a TLS-terminating proxy ("": none),
	// believed only from TrustedProxies, so it needs them.
	AppleCertHeader        string
	AppleIdentity          string        // how devices get their identity: "scep" (default, also "") or "pkcs12"
	AppleInventoryInterval time.Duration // how often devices are asked for their inventory; 0: daily
	ConfigurationInterval  time.Duration // how often the configuration reconciler looks for devices to converge; 0: 5s

	// Retry pacing of the mail worker and the APNs sender, which no flag sets (tests make it short).
	mailOptions []mail.WorkerOption
	apnsOptions []apns.Option
}

// TLS reports whether the listener terminates TLS itself.
func (c *Config) TLS() bool { return c.TLSSelfSigned || c.TLSCert != "" }

// BlobPath is where uploaded files are kept.
func (c *Config) BlobPath() string {
	if c.BlobDir != "" {
		return c.BlobDir
	}
	return filepath.Join(c.DataDir, "blobs")
}

// SecretKeyPath is where the server key lives when it is not given directly.
func (c *Config) SecretKeyPath() string { return filepath.Join(c.DataDir, "secret.key") }

// Validate checks the configuration and fills in derived defaults.
func (c *Config) Validate() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want host:port", c.Addr)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.TLSSelfSigned && c.TLSCert != "" {
		return fmt.Errorf("choose --tls-self-signed or --tls-cert/--tls-key, not both")
	}
	if !c.TLS() && !c.AllowPlain && !isLoopback(host) {
		return fmt.Errorf("--addr %s is not a loopback address: serve TLS (--tls-cert/--tls-key or --tls-self-signed) "+
			"or, behind a TLS-terminating proxy, pass --allow-plain-http", c.Addr)
	}
	if c.BaseURL == "" {
		scheme := "http"
		if c.TLS() {
			scheme = "https"
		}
		h := host
		if h == "" || h == "0.0.0.0" || h == "::" {
			h = "localhost"
		}
		_, port, _ := net.SplitHostPort(c.Addr)
		c.BaseURL = scheme + "://" + net.JoinHostPort(h, port)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--base-url %q: want an absolute http(s) URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if err := c.validateDevices(); err != nil {
		return err
	}
	if err := c.validateApple(); err != nil {
		return err
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("--log-format must be json or text")
	}
	return nil
}

func (c *Config) validateDevices() error {
	if c.ComplianceSweep != 0 && (c.ComplianceSweep < 10*time.Second || c.ComplianceSweep > 24*time.Hour) {
		return fmt.Errorf("--compliance-sweep %s: want 10s to 24h", c.ComplianceSweep)
	}
	if c.CheckinInterval != 0 && (c.CheckinInterval < 10*time.Second || c.CheckinInterval > 24*time.Hour) {
		return fmt.Errorf("--checkin-interval %s: want 10s to 24h", c.CheckinInterval)
	}
	if c.CommandRetention != 0 && (c.CommandRetention < time.Hour || c.CommandRetention > 24*365*time.Hour) {
		return fmt.Errorf("--command-retention %s: want 1h to 8760h", c.CommandRetention)
	}
	if err := c.validateAPNs(); err != nil {
		return err
	}
	if c.PushURL == "" {
		if c.PushProject != "" || c.PushKey != "" {
			return fmt.Errorf("--push-project and --push-key need --push-url")
		}
		return nil
	}
	u, err := url.Parse(c.PushURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--push-url %q: want an absolute http(s) URL", c.PushURL)
	}
	if c.PushProject == "" {
		return fmt.Errorf("--push-url needs --push-project")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
