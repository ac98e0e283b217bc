package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"steward/internal/accounts"
	"steward/internal/android"
	"steward/internal/apple/apns"
	"steward/internal/apple/enroll"
	"steward/internal/applemdm"
	"steward/internal/appreg"
	"steward/internal/apps"
	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/blob"
	"steward/internal/compliance"
	"steward/internal/configurations"
	"steward/internal/content"
	"steward/internal/devices"
	"steward/internal/events"
	"steward/internal/httpapi"
	"steward/internal/httpx"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/oauth"
	"steward/internal/patch"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
	"steward/internal/tenants"
	"steward/internal/web"
)

// Server is one running Steward replica.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    *sqlstore.Store
	keys     *secret.Keys
	accounts *accounts.Service
	tenants  *tenants.Service
	devices  *devices.Service
	pusher   *android.Pusher // nil without --push-url
	demoWake *demoWaker      // wakes the demo's devices in process; nil unless --demo without --push-url
	apns     *apns.Pusher    // wakes iOS devices
	apple    *applemdm.Service
	appReg   *appreg.Service
	patch    *patch.Service
	oauth    *oauth.Service
	configs  *configurations.Service
	ca       *enroll.CA      // signs enrollment and configuration profiles
	waker    devices.Waker   // every waker of deviceOptions
	assign   *assign.Service // device groups, categories, distribution and the resolver
	content  *content.Service
	apps     *apps.Service // apps, App Catalog, App Inventory and app delivery
	api      *httpapi.API
	worker   *mail.Worker
	handler  http.Handler
	bus      events.Bus       // what the replicas on one database tell each other
	pgBus    *events.Postgres // bus when it listens on PostgreSQL (run by Background); nil on SQLite

	compliance *compliance.Service // policies: evaluation at check-in, the sweep, compliance actions
}

// New opens the store, applies migrations and wires every service. Close it when done.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	keys, err := secret.LoadOrCreate(cfg.SecretKey, cfg.SecretKeyPath())
	if err != nil {
		store.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: store, keys: keys}
	s.bus = s.newBus()
	if s.apns, err = s.newAPNs(); err != nil {
		store.Close()
		return nil, err
	}
	mailer := mail.NewMailer(keys, time.Now, mail.WithOverrides(store.EmailTemplates()))
	wake := func() {}
	if cfg.SMTPURL != "" {
		s.worker, err = mail.NewWorker(store.Outbox(), mailer, cfg.SMTPURL, cfg.MailFrom, log, cfg.mailOptions...)
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		wake = s.mailQueued
	}
	s.accounts = accounts.New(store, keys, log, accounts.WithMail(mailer, cfg.BaseURL, wake))
	s.tenants = tenants.New(store, mailer, keys, cfg.BaseURL, time.Now, wake)
	s.devices = devices.New(store, keys, s.accounts, log, s.deviceOptions(mailer, wake)...)
	if s.apple, err = s.newApple(ctx); err != nil {
		store.Close()
		return nil, err
	}
	s.appReg = appreg.New(store, keys, log, cfg.BaseURL, time.Now)
	s.tenants.OnStateChange(s.appReg.ForgetTenant)
	s.tenants.OnStateChange(s.tenantStateChanged)
	s.appReg.OnDelete(s.clientDeleted)
	s.patch = patch.New(store, log, patch.WithWake(s.devices.Wake))
	s.configs = configurations.New(configurations.Deps{Store: store, Keys: keys, Signer: s.ca, Waker: s.waker, Log: log,
		Interval: cfg.ConfigurationInterval})
	// In-house app binaries live under the data dir (a shared volume when several replicas serve).
	s.apps = apps.New(store, apps.DirBlobs{Dir: filepath.Join(cfg.BlobPath(), "apps")}, log, apps.WithBaseURL(cfg.BaseURL),
		apps.WithWake(s.devices.Wake), apps.WithKeys(keys),
		apps.WithPayloadSealer(func(v string) string { return devices.SealPayload(keys, v) }))
	blobs, err := blob.NewDir(cfg.BlobPath())
	if err != nil {
		store.Close()
		return nil, err
	}
	s.content = content.New(store, blobs, time.Now, log)
	s.compliance = compliance.New(store, log, compliance.WithMail(mailer, wake), compliance.WithSweep(cfg.ComplianceSweep, ""),
		compliance.WithWake(s.devices.Wake), compliance.WithQuarantiner(s.configs), compliance.WithQuarantiner(s.apps),
		compliance.WithQuarantiner(s.content))
	s.devices.SetHooks(devices.Hooks{Answered: s.configs.Answered, Enrolled: s.configs.Enrolled,
		CheckingIn: s.configs.CheckingIn, FactsChanged: s.configs.FactsChanged, InventoryChanged: s.compliance.InventoryChanged})
	auditSvc := audit.New(store)
	s.oauth = oauth.New(store, keys, s.appReg, log, cfg.BaseURL)
	s.assign = assign.New(store, time.Now)
	outbox := mail.NewOutbox(store, mailer)
	emailTemplates := mail.NewEditor(store, time.Now)
	s.api = httpapi.New(httpapi.Deps{Log: log, Tenants: s.tenants, Audit: auditSvc, Outbox: outbox, Accounts: s.accounts,
		EmailTemplates: emailTemplates, Devices: s.devices, Agent: android.NewHandler(s.devices, log),
		DeviceSpace: s.deviceSpace, Apple: s.apple, AppRegistrations: s.appReg, Patch: s.patch,
		BaseURL: cfg.BaseURL, ClientTokens: s.oauth, Assign: s.assign, Content: s.content, Apps: s.apps,
		Configurations: s.configs, Compliance: s.compliance})
	console := web.New(web.Deps{Log: log, Accounts: s.accounts, Tenants: s.tenants, Audit: auditSvc, Outbox: outbox, Devices: s.devices,
		EmailTemplates: emailTemplates, Apple: s.apple, AppRegistrations: s.appReg, Assign: s.assign, Content: s.content, Apps: s.apps, Configurations: s.configs, Compliance: s.compliance, SecureCookies: strings.HasPrefix(cfg.BaseURL, "https://"), MailDelivered: cfg.SMTPURL != ""})
	s.handler = s.routes(console)
	s.subscribe()
	return s, nil
}

// deviceOptions configures the devices service: mail for the message action, the check-in interval,
// the command retention and the wakers: APNs for iOS devices and, with --push-url, the push sender that
// wakes Android devices (with --demo and no --push-url, the demo's in-process waker).
func (s *Server) deviceOptions(mailer *mail.Mailer, wake func()) []devices.Option {
	opts := []devices.Option{devices.WithMail(mailer, wake), devices.WithChanged(s.devicesChanged)}
	if s.cfg.CheckinInterval > 0 {
		opts = append(opts, devices.WithCheckinInterval(s.cfg.CheckinInterval))
	}
	if s.cfg.CommandRetention > 0 {
		opts = append(opts, devices.WithRetention(s.cfg.CommandRetention))
	}
	ws := wakers{s.apns}
	if s.cfg.PushURL != "" {
		s.pusher = android.NewPusher(android.PushConfig{URL: s.cfg.PushURL, Project: s.cfg.PushProject, Key: s.cfg.PushKey,
			Unregistered: s.forgetPushToken}, s.log)
		ws = append(ws, s.pusher)
	} else if s.cfg.Demo {
		s.demoWake = &demoWaker{}
		ws = append(ws, s.demoWake)
	}
	s.waker = ws
	return append(opts, devices.WithWaker(ws))
}

// forgetPushToken clears a device's push token that the push service does not know, unless the
// device has reported a new one since.
func (s *Server) forgetPushToken(ctx context.Context, t devices.WakeTarget) {
	if err := s.devices.DropPushToken(ctx, t); err != nil {
		s.log.WarnContext(ctx, "clearing an unregistered push token", "tenant_id", string(t.TenantID),
			"device_id", int64(t.DeviceID), "err", err.Error())
	}
}

// deviceSpace is a tenant's default device space (dmPartitionId in the device API).
func (s *Server) deviceSpace(ctx context.Context, tenantID mdm.TenantID) (mdm.SpaceID, error) {
	t, err := s.store.Tenants().Get(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	return t.DefaultDmPartitionID, nil
}

// OpenStore opens and migrates the configured database.
func OpenStore(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	store, err := sqlstore.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// writeError answers errors raised before any handler runs (authentication, unclean input, cross-origin
// refusals): API paths get the JSON envelope, everything else the console's page. Handlers log their
// own failures through httpx.Adapt; these are logged here.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if code := mdm.ErrorCode(err); code == mdm.Internal || code == mdm.Unavailable {
		s.log.ErrorContext(r.Context(), "request failed", "err", err.Error(), "code", string(code),
			"request_id", mdm.RequestIDFrom(r.Context()))
	}
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json") {
		httpapi.WriteError(w, r, err)
		return
	}
	web.WriteError(w, r, err)
}

func (s *Server) routes(console http.Handler) http.Handler {
	m := newMetrics(s.store.DB(), s.store.Dialect())
	mux := http.NewServeMux()
	plain := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { httpx.SetRoute(r); h(w, r) }))
	}
	plain("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	plain("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+mdm.Message(err), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	var pushStats func() android.PushStats
	if s.pusher != nil {
		pushStats = s.pusher.Stats
	}
	m.registry.MustRegister(newQueueCollector(s.devices.QueueCounts, pushStats), s.apnsCollector())
	metricsHandler := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	plain("GET /metrics", metricsHandler.ServeHTTP)
	s.api.AddOperational(
		httpapi.Route{Method: "GET", Path: "/healthz", Tag: "Operations", Summary: "Liveness: the process is up"},
		httpapi.Route{Method: "GET", Path: "/readyz", Tag: "Operations",
			Summary: "Readiness: the database answers and every migration is applied (503 otherwise)"},
		httpapi.Route{Method: "GET", Path: "/metrics", Tag: "Operations",
			Summary: "Prometheus metrics: requests by route and status, latencies, database pool, device command queue, push wake-ups, Go runtime"},
	)
	s.api.AddOperational(oauthRoutes()...)
	s.appManifestRoutes(plain)
	mux.Handle("/api/", s.api)
	s.apple.Register(mux)
	mux.Handle("/", console)

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, mdm.Errorf(mdm.Forbidden, "cross-origin request refused"))
	}))
	var h http.Handler = mux
	// The token server's routes would overlap patterns of the mux (/{tenantId}/connect/token and /api/),
	// so they are dispatched here; those where the client authenticates itself (client_secret_basic is
	// no user login) ahead of the authentication middleware, the public documents after it.
	tokens := s.oauth.Handler()
	h = oauthFirst(tokens, oauth.Owns, h)
	h = httpx.Authenticate(authenticator{Service: s.accounts, bearer: s.oauth.Principal}, s.writeError, h)
	h = oauthFirst(tokens, oauth.ClientAuthenticated, h)
	h = httpx.RejectUnclean(s.writeError, h)
	h = csrf.Handler(h)
	h = httpx.AccessLog(s.log, m.observe, h)
	h = httpx.ClientAddr(s.cfg.TrustedProxies, h)
	h = httpx.RequestID(h)
	h = httpx.SecurityHeaders(h)
	return h
}

// Handler is the whole HTTP surface (for tests that run it under httptest).
func (s *Server) Handler() http.Handler { return s.handler }

// Store is the database (for admin commands and tests).
func (s *Server) Store() *sqlstore.Store { return s.store }

// Compliance is the compliance service (for tests).
func (s *Server) Compliance() *compliance.Service { return s.compliance }

// Devices is the devices service (for the simulator and tests).
func (s *Server) Devices() *devices.Service { return s.devices }

// AppRegistrations is the App Registrations service (for the token server and tests).
func (s *Server) AppRegistrations() *appreg.Service { return s.appReg }

// Accounts is the sign-in service (for admin commands and tests).
func (s *Server) Accounts() *accounts.Service { return s.accounts }

// Close releases the database.
func (s *Server) Close() error { return s.store.Close() }

// Bootstrap creates the System Admin from STEWARD_ADMIN_PASSWORD and, with --demo, the demo tenant.
// It returns lines to print for the operator.
func (s *Server) Bootstrap(ctx context.Context) ([]string, error) {
	var notes []string
	if s.cfg.AdminPassword != "" {
		created, err := s.accounts.EnsureSystemAdmin(ctx, s.cfg.AdminPassword)
		if err != nil {
			return nil, fmt.Errorf("STEWARD_ADMIN_PASSWORD: %w", err)
		}
		if created {
			notes = append(notes, "created System Admin \"admin\" from STEWARD_ADMIN_PASSWORD")
		}
	}
	if n, err := s.patch.EnsureCatalog(ctx); err != nil {
		return nil, fmt.Errorf("patch catalog: %w", err)
	} else if n > 0 {
		notes = append(notes, fmt.Sprintf("loaded the sample patch catalog (%d patches)", n))
	}
	if s.cfg.Demo {
		demo, err := s.demo(ctx)
		if err != nil {
			return nil, err
		}
		notes = append(notes, demo...)
	}
	if ok, err := s.accounts.HasSystemAdmin(ctx); err != nil {
		return nil, err
	} else if !ok {
		notes = append(notes, "no System Admin yet: set STEWARD_ADMIN_PASSWORD or run `steward admin create-system-admin`")
	}
	return notes, nil
}

// Run serves until ctx ends, then drains requests for up to 10 s.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLS() {
		cert, err := s.certificate()
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = serverTLS(cert)
	}
	stopBackground := s.Background()
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // offers HTTP/2 as well
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if ready != nil {
		ready(ln.Addr().String())
	}
	stopDemo := func() {}
	if s.cfg.Demo {
		stopDemo = s.startDemoDevices(ctx, ln.Addr(), srv.TLSConfig)
	}
	select {
	case err := <-errc:
		stopDemo()
		stopBackground()
		return err
	case <-ctx.Done():
	}
	stopDemo()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopBackground()
	return err
}

// Background starts the background work (on PostgreSQL the listener for the other replicas' events,
// the mail worker when SMTP is set, the devices service's check-in flushing and queue pruning, the push sender when --push-url is set, the APNs sender, the
// daily push certificate expiry warnings and the App Registrations' last-authenticated writes) and
// returns a function that stops it and waits for it to finish.
func (s *Server) Background() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	if s.pgBus != nil {
		run(s.pgBus.Run)
	}
	if s.worker != nil {
		run(s.worker.Run)
	}
	run(s.devices.Run)
	if s.pusher != nil {
		run(s.pusher.Run)
	}
	run(func(ctx context.Context) { s.apns.Run(ctx) })
	run(s.apple.Run)
	run(s.appReg.Run)
	run(s.oauth.Run)
	run(s.apps.Run)
	run(s.configs.Run)
	run(s.compliance.Run)
	return func() { cancel(); wg.Wait() }
}

func (s *Server) certificate() (tls.Certificate, error) {
	if s.cfg.TLSSelfSigned {
		u, _ := url.Parse(s.cfg.BaseURL)
		return selfSigned(u.Hostname())
	}
	return tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
}

// CreateSystemAdmin adds a System Admin to an opened store (the `admin create-system-admin` command).
// Creating an admin hashes a password and uses no server key, so a throwaway key serves.
func CreateSystemAdmin(ctx context.Context, store *sqlstore.Store, username, password string) error {
	keys, err := secret.New(secret.RandomKey())
	if err != nil {
		return err
	}
	svc := accounts.New(store, keys, slog.New(slog.DiscardHandler))
	_, err = svc.CreateSystemAdmin(ctx, username, password)
	return err
}

// CreateAppRegistration registers an OAuth client for tenantID from the command line (`admin
// create-app-registration`), as that tenant's administrator "steward-cli", audited like one made in the
// console. The secret is hashed with the server key, so cfg must name the server's.
func CreateAppRegistration(ctx context.Context, store *sqlstore.Store, cfg Config, tenantID, appType, description string, scopes []string) (appreg.Created, error) {
	if cfg.SecretKey == "" {
		// A key made here would hash a secret the server never accepts: the server's key must exist.
		if _, err := os.Stat(cfg.SecretKeyPath()); err != nil {
			return appreg.Created{}, fmt.Errorf("the server key is not at %s: give the server's --secret-key (or STEWARD_SECRET_KEY) or its --data-dir", cfg.SecretKeyPath())
		}
	}
	keys, err := secret.LoadOrCreate(cfg.SecretKey, cfg.SecretKeyPath())
	if err != nil {
		return appreg.Created{}, err
	}
	if _, err := store.Tenants().Get(ctx, mdm.TenantID(tenantID)); err != nil {
		return appreg.Created{}, err
	}
	svc := appreg.New(store, keys, slog.New(slog.DiscardHandler), cfg.BaseURL, time.Now)
	ctx = mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, Username: "steward-cli", TenantID: mdm.TenantID(tenantID),
		Roles: []string{mdm.RoleTenantAdmin}})
	return svc.Create(ctx, appreg.NewRegistration{AppType: appType, Description: description, Scopes: scopes})
}
