package main

import (
	"testing"

	"github.com/alecthomas/kong"
)

func parse(t *testing.T, args ...string) *cli {
	t.Helper()
	var c cli
	p, err := kong.New(&c, kong.Name("steward"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return &c
}

func TestServeDefaultsAndEnvironment(t *testing.T) {
	c := parse(t, "serve")
	if c.Serve.Addr != "127.0.0.1:8080" || c.Serve.DataDir != "./steward-data" || c.Serve.LogFormat != "json" {
		t.Errorf("defaults: %+v", c.Serve)
	}
	t.Setenv("STEWARD_ADDR", "127.0.0.1:9999")
	t.Setenv("STEWARD_DATABASE_URL", "postgres://db/steward")
	t.Setenv("STEWARD_SMTP_URL", "smtp://mail:25")
	t.Setenv("STEWARD_BASE_URL", "https://mdm.example.com")
	t.Setenv("STEWARD_TLS_SELF_SIGNED", "true")
	t.Setenv("STEWARD_ADMIN_PASSWORD", "from-the-environment")
	c = parse(t, "serve", "--data-dir", "/var/lib/steward")
	cfg, err := c.Serve.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.DatabaseURL != "postgres://db/steward" || cfg.SMTPURL != "smtp://mail:25" ||
		cfg.BaseURL != "https://mdm.example.com" || !cfg.TLSSelfSigned || cfg.DataDir != "/var/lib/steward" ||
		cfg.AdminPassword != "from-the-environment" {
		t.Errorf("config from flags and environment: %+v", cfg)
	}
	proxied, err := parse(t, "serve", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.1").Serve.config()
	if err != nil || len(proxied.TrustedProxies) != 2 || proxied.TrustedProxies[1].String() != "192.0.2.1/32" {
		t.Errorf("trusted proxies = %v, %v", proxied.TrustedProxies, err)
	}
	if _, err := parse(t, "serve", "--trusted-proxy", "not-an-address").Serve.config(); err == nil {
		t.Error("a bad --trusted-proxy was accepted")
	}
	if cfg.AppleIdentity != "scep" {
		t.Errorf("default --apple-identity = %q, want scep", cfg.AppleIdentity)
	}
	if p12, err := parse(t, "serve", "--apple-identity", "pkcs12").Serve.config(); err != nil || p12.AppleIdentity != "pkcs12" {
		t.Errorf("--apple-identity pkcs12: %q, %v", p12.AppleIdentity, err)
	}
	// A flag beats its environment variable.
	if c := parse(t, "serve", "--addr", "127.0.0.1:1"); c.Serve.Addr != "127.0.0.1:1" {
		t.Errorf("flag did not override the environment: %s", c.Serve.Addr)
	}
}

func TestCommandsExist(t *testing.T) {
	parse(t, "migrate", "--data-dir", "x")
	parse(t, "admin", "create-system-admin", "--username", "ops", "--password-stdin")
	parse(t, "version")
	parse(t, "admin", "create-app-registration", "--tenant", "t1", "--scope", "device.action")
	parse(t, "loadgen", "token", "--tenant", "t1", "--client-id", "c", "--client-secret-stdin", "--concurrency", "32", "--duration", "20s")
	parse(t, "loadgen", "bearer", "--tenant", "t1", "--client-id", "c", "--path", "/api/v1/device")
	parse(t, "sim", "--username", "ta@example.com", "--devices", "5", "--interval", "1s", "--push-listen", "127.0.0.1:0")
}

func TestSimFlags(t *testing.T) {
	ios := parse(t, "sim", "--username", "ta@example.com", "--platform", "ios", "--mode", "fanout", "--apns-listen", "127.0.0.1:18443")
	if err := ios.Sim.validate(); err != nil {
		t.Errorf("ios fanout: %v", err)
	}
	c := parse(t, "sim", "--username", "ta@example.com")
	if c.Sim.URL != "http://127.0.0.1:8080" || c.Sim.Devices != 100 || c.Sim.Interval.String() != "30s" ||
		c.Sim.Jitter != 0.2 || c.Sim.NonCompliant != 0.1 || c.Sim.Report.String() != "10s" || c.Sim.Domain != "sim.example.com" ||
		c.Sim.Platform != "android" || c.Sim.Mode != "steady" {
		t.Errorf("defaults: %+v", c.Sim)
	}
	if err := c.Sim.validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	for _, args := range [][]string{
		{"--url", "ftp://x"}, {"--devices", "0"}, {"--jitter", "1.5"}, {"--noncompliant=-0.1"},
		{"--push-listen", "0.0.0.0:9000"}, {"--report", "0s"},
		{"--mode", "enroll"}, {"--apns-listen", "127.0.0.1:0"}, // Android has neither
		{"--platform", "ios", "--push-listen", "127.0.0.1:0"}, {"--platform", "ios", "--apns-listen", "0.0.0.0:9000"},
		{"--platform", "ios", "--keys", "0"},
	} {
		c := parse(t, append([]string{"sim", "--username", "ta@example.com"}, args...)...)
		if err := c.Sim.validate(); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
}
