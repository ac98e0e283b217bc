// Command steward runs the Steward MDM server and its admin tools.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"steward/internal/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// storeFlags are the settings every command that opens the database shares.
type storeFlags struct {
	DataDir     string `name:"data-dir" env:"STEWARD_DATA_DIR" default:"./steward-data" help:"Directory for the SQLite database and the server key."`
	DatabaseURL string `name:"database-url" env:"STEWARD_DATABASE_URL" help:"postgres://… URL to use PostgreSQL instead of SQLite."`
}

type serveCmd struct {
	storeFlags
	Addr          string   `env:"STEWARD_ADDR" default:"127.0.0.1:8080" help:"Address to listen on."`
	SMTPURL       string   `name:"smtp-url" env:"STEWARD_SMTP_URL" help:"smtp://[user:pass@]host:port or smtps://… ; without it mail stays in the outbox."`
	MailFrom      string   `name:"mail-from" env:"STEWARD_MAIL_FROM" help:"From address of system emails."`
	BaseURL       string   `name:"base-url" env:"STEWARD_BASE_URL" help:"Public URL used in emails and profiles (default: from --addr)."`
	TLSCert       string   `name:"tls-cert" env:"STEWARD_TLS_CERT" help:"PEM certificate file."`
	TLSKey        string   `name:"tls-key" env:"STEWARD_TLS_KEY" help:"PEM private key file."`
	TLSSelfSigned bool     `name:"tls-self-signed" env:"STEWARD_TLS_SELF_SIGNED" help:"Serve TLS with a throwaway self-signed certificate (development)."`
	AllowPlain    bool     `name:"allow-plain-http" env:"STEWARD_ALLOW_PLAIN_HTTP" help:"Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy)."`
	TrustedProxy  []string `name:"trusted-proxy" env:"STEWARD_TRUSTED_PROXIES" sep:"," help:"Address or CIDR of a reverse proxy whose X-Forwarded-For names the client (repeatable)."`
	SecretKey     string   `name:"secret-key" env:"STEWARD_SECRET_KEY" help:"Base64 32-byte server key (default: <data-dir>/secret.key, created on first start). Replicas must share it."`
	BlobDir       string   `name:"blob-dir" env:"STEWARD_BLOB_DIR" help:"Directory for uploaded files such as content documents (default: <data-dir>/blobs). Replicas must share it."`
	Demo          bool     `help:"Create a Demo tenant and print where and how to sign in."`
	LogFormat     string   `name:"log-format" env:"STEWARD_LOG_FORMAT" default:"json" enum:"json,text" help:"Log format: json or text."`

	CheckinInterval  time.Duration `name:"checkin-interval" env:"STEWARD_CHECKIN_INTERVAL" default:"15m" help:"How often devices are told to check in (10s to 24h)."`
	ComplianceSweep  time.Duration `name:"compliance-sweep" env:"STEWARD_COMPLIANCE_SWEEP" default:"5m" help:"How often compliance policies are evaluated on every device (time-based rules, grace periods); 10s to 24h; one replica sweeps at a time."`
	CommandRetention time.Duration `name:"command-retention" env:"STEWARD_COMMAND_RETENTION" default:"168h" help:"How long answered and cancelled device commands are kept (1h to 8760h)."`
	PushURL          string        `name:"push-url" env:"STEWARD_PUSH_URL" help:"FCM HTTP v1 style push service that wakes Android devices, e.g. https://fcm.googleapis.com; without it devices check in on their interval."`
	PushProject      string        `name:"push-project" env:"STEWARD_PUSH_PROJECT" help:"Project of the push service (the {project} of /v1/projects/{project}/messages:send)."`
	PushKey          string        `name:"push-key" env:"STEWARD_PUSH_KEY" help:"Bearer credential for the push service (prefer the environment variable)."`
	APNsURL          string        `name:"apns-url" env:"STEWARD_APNS_URL" default:"https://api.push.apple.com" help:"Apple Push Notification service that wakes iOS devices (https://api.sandbox.push.apple.com for development)."`
	APNsCAFile       string        `name:"apns-ca-file" env:"STEWARD_APNS_CA_FILE" help:"PEM file of the CAs to trust for --apns-url instead of the system's (a test or proxy APNs)."`

	AppleCertHeader        string        `name:"apple-cert-header" env:"STEWARD_APPLE_CERT_HEADER" help:"Header in which a TLS-terminating proxy forwards the client certificate (RFC 9440, e.g. Client-Cert); believed only from a --trusted-proxy peer, which it requires; empty: none is trusted."`
	AppleIdentity          string        `name:"apple-identity" env:"STEWARD_APPLE_IDENTITY" default:"scep" enum:"scep,pkcs12" help:"How an Apple device gets its identity: scep (it makes its key and asks for a certificate) or pkcs12 (the server makes both and puts them in the profile)."`
	AppleInventoryInterval time.Duration `name:"apple-inventory-interval" env:"STEWARD_APPLE_INVENTORY_INTERVAL" default:"24h" help:"How often Apple devices are asked for their information and apps (1m to 720h)."`
	ConfigurationInterval  time.Duration `name:"configuration-interval" env:"STEWARD_CONFIGURATION_INTERVAL" default:"5s" help:"How often the configuration reconciler looks for devices to converge (100ms to 1h)."`
}

func (c *serveCmd) config() (server.Config, error) {
	var proxies []netip.Prefix
	for _, p := range c.TrustedProxy {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return server.Config{}, fmt.Errorf("--trusted-proxy %q: want an address or CIDR", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		proxies = append(proxies, prefix)
	}
	return server.Config{TrustedProxies: proxies, Addr: c.Addr, DataDir: c.DataDir, BlobDir: c.BlobDir, DatabaseURL: c.DatabaseURL, SMTPURL: c.SMTPURL,
		MailFrom: c.MailFrom, BaseURL: c.BaseURL, TLSCert: c.TLSCert, TLSKey: c.TLSKey, TLSSelfSigned: c.TLSSelfSigned,
		AllowPlain: c.AllowPlain, SecretKey: c.SecretKey, AdminPassword: os.Getenv("STEWARD_ADMIN_PASSWORD"),
		Demo: c.Demo, LogFormat: c.LogFormat, CheckinInterval: c.CheckinInterval, CommandRetention: c.CommandRetention,
		ComplianceSweep: c.ComplianceSweep,
		PushURL:         c.PushURL, PushProject: c.PushProject, PushKey: c.PushKey, APNsURL: c.APNsURL, APNsCAFile: c.APNsCAFile,
		AppleCertHeader: c.AppleCertHeader, AppleIdentity: c.AppleIdentity, AppleInventoryInterval: c.AppleInventoryInterval,
		ConfigurationInterval: c.ConfigurationInterval}, nil
}

func (c *serveCmd) Run(ctx context.Context, out io.Writer) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat)
	s, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	notes, err := s.Bootstrap(ctx)
	if err != nil {
		return err
	}
	return s.Run(ctx, func(addr string) {
		log.Info("steward listening", "addr", addr, "base_url", cfg.BaseURL, "database", s.Store().Dialect(), "version", version)
		for _, n := range notes {
			fmt.Fprintln(out, n)
		}
	})
}

type migrateCmd struct {
	storeFlags
}

func (c *migrateCmd) Run(ctx context.Context, out io.Writer) error {
	s, err := server.OpenStore(ctx, server.Config{DataDir: c.DataDir, DatabaseURL: c.DatabaseURL})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(out, "%s database is up to date\n", s.Dialect())
	return nil
}

type createSystemAdminCmd struct {
	storeFlags
	Username      string `default:"admin" help:"Username of the new System Admin."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from standard input instead of STEWARD_ADMIN_PASSWORD."`
}

func (c *createSystemAdminCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	password := os.Getenv("STEWARD_ADMIN_PASSWORD")
	if c.PasswordStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if password == "" {
		return errors.New("no password: set STEWARD_ADMIN_PASSWORD or use --password-stdin")
	}
	s, err := server.OpenStore(ctx, server.Config{DataDir: c.DataDir, DatabaseURL: c.DatabaseURL})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := server.CreateSystemAdmin(ctx, s, c.Username, password); err != nil {
		return err
	}
	fmt.Fprintf(out, "System Admin %q created\n", c.Username)
	return nil
}

type adminCmd struct {
	CreateSystemAdmin     createSystemAdminCmd     `cmd:"" name:"create-system-admin" help:"Create a System Admin (platform operator)."`
	CreateAppRegistration createAppRegistrationCmd `cmd:"" name:"create-app-registration" help:"Register an OAuth client (App Registration) for a tenant and print its credentials once."`
	Seed                  seedCmd                  `cmd:"" help:"Fill a tenant with a generated fleet (users, devices, apps, groups) for measurements at scale."`
}

type createAppRegistrationCmd struct {
	storeFlags
	SecretKey   string   `name:"secret-key" env:"STEWARD_SECRET_KEY" help:"Base64 32-byte server key (default: <data-dir>/secret.key): the server's, or its clients cannot authenticate."`
	BaseURL     string   `name:"base-url" env:"STEWARD_BASE_URL" default:"http://127.0.0.1:8080" help:"The server's public URL (for the token URL printed)."`
	Tenant      string   `required:"" help:"Tenant id."`
	Type        string   `default:"CUSTOM" help:"Application type (CUSTOM, CSM, ITSM_ITAM, UWM, PATCH_GROUP_ADMIN, PATCH_GROUP_EDITOR)."`
	Scope       []string `help:"Elevated scope to add (Custom App only; repeatable)."`
	Description string   `help:"Description."`
}

func (c *createAppRegistrationCmd) Run(ctx context.Context, out io.Writer) error {
	s, err := server.OpenStore(ctx, server.Config{DataDir: c.DataDir, DatabaseURL: c.DatabaseURL})
	if err != nil {
		return err
	}
	defer s.Close()
	cfg := server.Config{DataDir: c.DataDir, SecretKey: c.SecretKey, BaseURL: c.BaseURL}
	created, err := server.CreateAppRegistration(ctx, s, cfg, c.Tenant, c.Type, c.Description, c.Scope)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "client_id=%s\nclient_secret=%s\ntoken_url=%s\nscopes=%s\n", created.Registration.ClientID, created.Secret,
		created.TokenURL, strings.Join(created.Registration.Scopes, " "))
	return nil
}

type versionCmd struct{}

func (versionCmd) Run(out io.Writer) error {
	fmt.Fprintln(out, "steward", version)
	return nil
}

type cli struct {
	Serve   serveCmd   `cmd:"" help:"Run the Steward server."`
	Migrate migrateCmd `cmd:"" help:"Apply database migrations and exit."`
	Admin   adminCmd   `cmd:"" help:"Administrative tasks."`
	Sim     simCmd     `cmd:"" help:"Run simulated Android or Apple devices against a Steward server."`
	Loadgen loadgenCmd `cmd:"" help:"Drive load with simulated devices and API clients against a Steward server (the Apple workloads: any Apple MDM server) and print requests/s, p50/p95/p99 and errors; loopback or test servers only."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

func newLogger(format string) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	k := kong.Parse(&c, kong.Name("steward"), kong.Description("Multi-tenant mobile device management."),
		kong.UsageOnError(), kong.BindTo(ctx, (*context.Context)(nil)), kong.BindTo(io.Writer(os.Stdout), (*io.Writer)(nil)),
		kong.BindTo(io.Reader(os.Stdin), (*io.Reader)(nil)))
	if err := k.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "steward:", err)
		os.Exit(1)
	}
}
