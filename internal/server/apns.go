package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"steward/internal/apple/apns"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// validateAPNs fills in the APNs URL and checks it and the CA file.
func (c *Config) validateAPNs() error {
	if c.APNsURL == "" {
		c.APNsURL = apns.Production
	}
	u, err := url.Parse(c.APNsURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--apns-url %q: want an absolute https URL (APNs speaks HTTP/2 over TLS)", c.APNsURL)
	}
	if c.APNsCAFile != "" {
		if _, err := apnsRoots(c.APNsCAFile); err != nil {
			return err
		}
	}
	return nil
}

func apnsRoots(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--apns-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--apns-ca-file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// newAPNs builds the APNs sender that wakes iOS devices with their tenant's push certificate. The
// certificates and push magic come from the Apple service, which is made after the devices service
// that this sender wakes devices for: the sources look it up when a push is sent.
func (s *Server) newAPNs() (*apns.Pusher, error) {
	opts := []apns.Option{apns.WithBaseURL(s.cfg.APNsURL), apns.WithLogger(s.log), apns.WithOnInvalid(s.dropAPNsToken)}
	if s.cfg.APNsCAFile != "" {
		pool, err := apnsRoots(s.cfg.APNsCAFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, apns.WithRootCAs(pool))
	}
	opts = append(opts, s.cfg.apnsOptions...)
	certs := func(ctx context.Context, tenant mdm.TenantID) (*apns.PushCertificate, error) {
		return s.apple.CertSource()(ctx, tenant)
	}
	magic := func(ctx context.Context, tenant mdm.TenantID, device mdm.DeviceID) (string, error) {
		return s.apple.MagicSource()(ctx, tenant, device)
	}
	return apns.New(certs, magic, opts...), nil
}

// dropAPNsToken clears the push token APNs refused from its device, unless the device has reported
// another one since.
func (s *Server) dropAPNsToken(ctx context.Context, tenant mdm.TenantID, device mdm.DeviceID, token string) {
	s.forgetPushToken(ctx, devices.WakeTarget{TenantID: tenant, DeviceID: device, Platform: mdm.PlatformIOS, PushToken: token})
}

// wakers wakes devices through every sender configured (FCM-style pusher or the demo's in-process
// waker, and APNs); each wakes only the platforms it serves.
type wakers []devices.Waker

func (ws wakers) Wake(ctx context.Context, targets []devices.WakeTarget) {
	for _, w := range ws {
		w.Wake(ctx, targets)
	}
}

// apnsCollector reports the APNs sender's queue at scrape time.
func (s *Server) apnsCollector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "steward_apns_pushes_queued",
		Help: "APNs wake-up pushes waiting to be sent, retries included."},
		func() float64 { return float64(s.apns.Len()) })
}
