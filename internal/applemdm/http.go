package applemdm

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"steward/internal/apple"
	"steward/internal/devices"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

var statuses = map[mdm.Code]int{
	mdm.Invalid:         http.StatusBadRequest,
	mdm.Unauthenticated: http.StatusUnauthorized,
	mdm.Forbidden:       http.StatusForbidden,
	mdm.NotFound:        http.StatusNotFound,
	mdm.Conflict:        http.StatusConflict,
	mdm.RateLimited:     http.StatusTooManyRequests,
	mdm.Unavailable:     http.StatusServiceUnavailable,
}

// statusOf is the HTTP status of err: devices read statuses, not bodies.
func statusOf(err error) int {
	if s, ok := statuses[mdm.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeError answers a device-facing error as a plain status with the safe message.
func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(statusOf(err))
	io.WriteString(w, mdm.Message(err)+"\n")
}

// readMessage checks the content type (when want is not empty) and reads the whole body, at most
// apple.MaxBody bytes. It answers 415 and 413 itself (done is then true).
func readMessage(w http.ResponseWriter, r *http.Request, want string) (body []byte, done bool, err error) {
	if want != "" {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != want {
			return nil, true, writeStatus(w, http.StatusUnsupportedMediaType, "want Content-Type "+want)
		}
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, apple.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, true, writeStatus(w, http.StatusRequestEntityTooLarge,
			"the message is larger than "+strconv.Itoa(apple.MaxBody)+" bytes")
	case err != nil:
		return nil, false, mdm.Wrap(mdm.Invalid, err, "cannot read the message")
	}
	return body, false, nil
}

func writeStatus(w http.ResponseWriter, status int, msg string) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := io.WriteString(w, msg+"\n")
	return err
}

// certificate returns the verified identity certificate the request comes with.
func (s *Service) certificate(r *http.Request, body []byte) (*x509.Certificate, error) {
	cert, err := s.d.Identity.Certificate(r, body)
	if err != nil {
		if mdm.ErrorCode(err) == mdm.Internal {
			return nil, mdm.Wrap(mdm.Unauthenticated, err, "no valid device identity")
		}
		return nil, err
	}
	if err := s.d.CA.Verify(cert, s.d.Now()); err != nil {
		if mdm.ErrorCode(err) == mdm.Internal {
			return nil, mdm.Wrap(mdm.Unauthenticated, err, "the device identity is not one Steward issued")
		}
		return nil, err
	}
	return cert, nil
}

// device authenticates an enrolled device by its identity certificate and checks that the message
// is about that device (udid): another device's certificate is forbidden.
func (s *Service) device(ctx context.Context, r *http.Request, cert *x509.Certificate, udid string) (*mdm.Device, *mdm.AppleDevice, error) {
	d, err := s.d.Devices.AuthenticateDevice(ctx, devices.CertificateCredential(cert))
	if err != nil {
		if mdm.IsCode(err, mdm.NotFound) {
			return nil, nil, mdm.Errorf(mdm.Unauthenticated, "unknown device identity")
		}
		return nil, nil, err
	}
	httpx.SetTenant(r, d.TenantID)
	ad, err := s.appleDevice(ctx, d.TenantID, d.ID)
	if err != nil {
		if mdm.IsCode(err, mdm.NotFound) {
			return nil, nil, mdm.Errorf(mdm.Unauthenticated, "unknown device identity")
		}
		return nil, nil, err
	}
	if ad.UDID != udid {
		return nil, nil, mdm.Errorf(mdm.Forbidden, "the message names another device than the identity certificate's")
	}
	return d, ad, nil
}

// deviceCache keeps each device's Apple record (its UDID never changes) so that an idle connect reads
// only the command queue. Fields that change are refreshed where this replica changes them; what
// another replica changed (a token, the inventory time) is read fresh where it matters.
type deviceCache struct {
	mu sync.Mutex
	m  map[cacheKey]*cached
}

type cacheKey struct {
	tenant mdm.TenantID
	id     mdm.DeviceID
}

type cached struct {
	ad mdm.AppleDevice
}

// maxCached bounds the cache; past it the cache starts over.
const maxCached = 200000

func (c *deviceCache) get(k cacheKey) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if !ok {
		return cached{}, false
	}
	return *v, true
}

func (c *deviceCache) put(k cacheKey, ad mdm.AppleDevice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		v.ad = ad
		return
	}
	if len(c.m) >= maxCached {
		c.m = map[cacheKey]*cached{}
	}
	c.m[k] = &cached{ad: ad}
}

func (c *deviceCache) update(k cacheKey, f func(v *cached)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		f(v)
	}
}

func (c *deviceCache) forget(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// appleDevice returns the device's Apple record, from the cache when it is there.
func (s *Service) appleDevice(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.AppleDevice, error) {
	k := cacheKey{tenantID, id}
	if v, ok := s.cache.get(k); ok {
		return &v.ad, nil
	}
	ad, err := s.d.Store.Apple().Device(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	s.cache.put(k, *ad)
	return ad, nil
}

// freshAppleDevice reads the device's Apple record from the store and refreshes the cache.
func (s *Service) freshAppleDevice(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.AppleDevice, error) {
	ad, err := s.d.Store.Apple().Device(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	s.cache.put(cacheKey{tenantID, id}, *ad)
	return ad, nil
}
