// Package applemdm runs Apple device management on top of the devices capability: it hands out
// enrollment profiles to users who sign in as their registration setting asks, issues identity
// certificates over SCEP, binds each certificate to its device at Authenticate, answers check-ins and
// connects from the device command queue, keeps each tenant's APNs push certificate and feeds the push
// sender.
package applemdm

import (
	"log/slog"
	"net/http"
	"time"

	"steward/internal/apple/enroll"
	"steward/internal/apple/identity"
	"steward/internal/devices"
	"steward/internal/httpx"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// The device-facing endpoints. They live outside /api/: devices speak plists and plain HTTP statuses,
// not the API's JSON envelope.
const (
	EnrollPath  = "/mdm/apple/enroll"  // GET: sign-in page; POST (form: username, pin, password): the signed profile
	SCEPPath    = "/mdm/apple/scep"    // SCEP: GetCACaps, GetCACert, PKIOperation
	CheckinPath = "/mdm/apple/checkin" // PUT, application/x-apple-aspen-mdm-checkin
	ConnectPath = "/mdm/apple/connect" // PUT: command reports; answers the next command or an empty 200
)

// ProfileContentType is the content type of an enrollment profile download.
const ProfileContentType = "application/x-apple-aspen-config"

// DefaultInventoryInterval is how often an enrolled device is asked for its information and apps.
const DefaultInventoryInterval = 24 * time.Hour

// Deps are what the service works with.
type Deps struct {
	Store     mdm.Store
	Keys      *secret.Keys
	Devices   *devices.Service
	Registrar devices.Registrar // checks the user's PIN and/or password for an enrollment profile
	CA        *enroll.CA
	Identity  identity.Source
	PKCS12    bool   // profiles carry a PKCS#12 identity made by the server instead of SCEP
	BaseURL   string // the profile's ServerURL and CheckInURL start with it
	Log       *slog.Logger
	Now       func() time.Time
	// InventoryInterval: 0 means DefaultInventoryInterval.
	InventoryInterval time.Duration
	// PushCertChanged tells the other replicas serving the database that a tenant's push certificate
	// was uploaded or deleted here, so that they call DropPushCertificate (nil: a single replica).
	PushCertChanged func(tenantID mdm.TenantID)
}

// Service is Apple device management.
type Service struct {
	d     Deps
	cache deviceCache
	certs *certCache // tenants' unsealed push certificates
	jobs  jobs       // background jobs that one replica at a time runs
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.InventoryInterval <= 0 {
		d.InventoryInterval = DefaultInventoryInterval
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d, cache: deviceCache{m: map[cacheKey]*cached{}}, certs: newCertCache(), jobs: newJobs(d)}
}

// Register adds the device-facing endpoints to mux.
func (s *Service) Register(mux *http.ServeMux) {
	adapt := func(h httpx.HandlerFunc) http.Handler {
		return httpx.Adapt(s.d.Log, writeError, func(w http.ResponseWriter, r *http.Request) error {
			httpx.SetRoute(r)
			return h(w, r)
		})
	}
	mux.Handle("GET "+EnrollPath, adapt(s.enrollForm))
	mux.Handle("POST "+EnrollPath, adapt(s.enrollSubmit))
	scep := &enroll.SCEPServer{CA: s.d.CA, Check: s.scepCheck, Now: s.d.Now}
	mux.Handle(SCEPPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.SetRoute(r)
		scep.ServeHTTP(w, r)
	}))
	mux.Handle("PUT "+CheckinPath, adapt(s.checkin))
	mux.Handle("PUT "+ConnectPath, adapt(s.connect))
}
