package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"steward/internal/apple/enroll"
	"steward/internal/apple/identity"
	"steward/internal/applemdm"
)

// validateApple checks the Apple MDM settings.
func (c *Config) validateApple() error {
	if h := c.AppleCertHeader; h != "" && !headerName(h) {
		return fmt.Errorf("--apple-cert-header %q: want an HTTP header name such as Client-Cert", h)
	}
	if c.AppleCertHeader != "" && len(c.TrustedProxies) == 0 {
		return fmt.Errorf("--apple-cert-header needs --trusted-proxy: the header is believed only from the proxy that sets it")
	}
	switch c.AppleIdentity {
	case "", "scep", "pkcs12":
	default:
		return fmt.Errorf("--apple-identity %q: want scep or pkcs12", c.AppleIdentity)
	}
	if i := c.AppleInventoryInterval; i != 0 && (i < time.Minute || i > 30*24*time.Hour) {
		return fmt.Errorf("--apple-inventory-interval %s: want 1m to 720h", i)
	}
	if i := c.ConfigurationInterval; i != 0 && (i < 100*time.Millisecond || i > time.Hour) {
		return fmt.Errorf("--configuration-interval %s: want 100ms to 1h", i)
	}
	return nil
}

// headerName reports whether h is an HTTP header field name (an RFC 9110 token) of sane length.
func headerName(h string) bool {
	if len(h) > 64 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// newApple wires Apple device management: the deployment's CA (made on first start) and the service.
func (s *Server) newApple(ctx context.Context) (*applemdm.Service, error) {
	ca, err := enroll.LoadCA(ctx, s.store.Apple(), s.keys, time.Now())
	if err != nil {
		return nil, fmt.Errorf("apple CA: %w", err)
	}
	s.ca = ca
	return applemdm.New(applemdm.Deps{Store: s.store, Keys: s.keys, Devices: s.devices, Registrar: s.accounts, CA: ca,
		Identity: identity.Source{ProxyHeader: s.cfg.AppleCertHeader, TrustedProxies: s.cfg.TrustedProxies},
		PKCS12:   s.cfg.AppleIdentity == "pkcs12",
		BaseURL:  s.cfg.BaseURL, Log: s.log,
		InventoryInterval: s.cfg.AppleInventoryInterval,
		PushCertChanged:   s.pushCertChanged}), nil
}

// serverTLS is the listener's TLS configuration. It asks for (does not require) a client certificate:
// Apple devices present their identity certificate this way, browsers and API clients none.
func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequestClientCert}
}
