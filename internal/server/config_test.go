package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
		wantURL string
	}{
		{"loopback plain", Config{Addr: "127.0.0.1:8080"}, "", "http://127.0.0.1:8080"},
		{"localhost plain", Config{Addr: "localhost:9000"}, "", "http://localhost:9000"},
		{"public plain refused", Config{Addr: "0.0.0.0:8080"}, "not a loopback address", ""},
		{"public behind proxy", Config{Addr: "0.0.0.0:8080", AllowPlain: true, BaseURL: "https://mdm.example.com/"}, "", "https://mdm.example.com"},
		{"public self-signed", Config{Addr: "0.0.0.0:8443", TLSSelfSigned: true}, "", "https://localhost:8443"},
		{"cert without key", Config{Addr: "127.0.0.1:1", TLSCert: "c.pem"}, "go together", ""},
		{"both TLS kinds", Config{Addr: "127.0.0.1:1", TLSCert: "c", TLSKey: "k", TLSSelfSigned: true}, "not both", ""},
		{"bad addr", Config{Addr: "8080"}, "host:port", ""},
		{"bad base URL", Config{Addr: "127.0.0.1:1", BaseURL: "mdm.example.com"}, "absolute", ""},
		{"bad log format", Config{Addr: "127.0.0.1:1", LogFormat: "xml"}, "log-format", ""},
		{"check-in interval too short", Config{Addr: "127.0.0.1:1", CheckinInterval: time.Second}, "--checkin-interval", ""},
		{"check-in interval", Config{Addr: "127.0.0.1:1", CheckinInterval: time.Minute}, "", "http://127.0.0.1:1"},
		{"retention too short", Config{Addr: "127.0.0.1:1", CommandRetention: time.Minute}, "--command-retention", ""},
		{"push without project", Config{Addr: "127.0.0.1:1", PushURL: "https://fcm.example.com"}, "--push-project", ""},
		{"push URL not absolute", Config{Addr: "127.0.0.1:1", PushURL: "fcm.example.com", PushProject: "p"}, "--push-url", ""},
		{"push key without URL", Config{Addr: "127.0.0.1:1", PushKey: "k"}, "need --push-url", ""},
		{"push", Config{Addr: "127.0.0.1:1", PushURL: "https://fcm.example.com", PushProject: "p", PushKey: "k"}, "", "http://127.0.0.1:1"},
		{"apple cert header", Config{Addr: "127.0.0.1:1", AppleCertHeader: "X-Client-Cert",
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "", "http://127.0.0.1:1"},
		{"apple cert header without trusted proxy", Config{Addr: "127.0.0.1:1", AppleCertHeader: "X-Client-Cert"}, "--trusted-proxy", ""},
		{"apple identity pkcs12", Config{Addr: "127.0.0.1:1", AppleIdentity: "pkcs12"}, "", "http://127.0.0.1:1"},
		{"apple identity scep", Config{Addr: "127.0.0.1:1", AppleIdentity: "scep"}, "", "http://127.0.0.1:1"},
		{"apple identity unknown", Config{Addr: "127.0.0.1:1", AppleIdentity: "p12"}, "--apple-identity", ""},
		{"apple cert header not a name", Config{Addr: "127.0.0.1:1", AppleCertHeader: "Client Cert:"}, "--apple-cert-header", ""},
		{"apple inventory interval", Config{Addr: "127.0.0.1:1", AppleInventoryInterval: 6 * time.Hour}, "", "http://127.0.0.1:1"},
		{"apple inventory interval too short", Config{Addr: "127.0.0.1:1", AppleInventoryInterval: time.Second}, "--apple-inventory-interval", ""},
		{"apple inventory interval too long", Config{Addr: "127.0.0.1:1", AppleInventoryInterval: 1000 * time.Hour}, "--apple-inventory-interval", ""},
		{"APNs over plain HTTP", Config{Addr: "127.0.0.1:1", APNsURL: "http://apns.example.com"}, "--apns-url", ""},
		{"APNs CA file missing", Config{Addr: "127.0.0.1:1", APNsCAFile: "/nonexistent/apns-ca.pem"}, "--apns-ca-file", ""},
		{"APNs CA file without PEM", Config{Addr: "127.0.0.1:1", APNsCAFile: "config_test.go"}, "no PEM certificate", ""},
		{"APNs sandbox", Config{Addr: "127.0.0.1:1", APNsURL: "https://api.sandbox.push.apple.com"}, "", "http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.LogFormat == "" {
				tt.cfg.LogFormat = "json"
			}
			err := tt.cfg.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate() = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.cfg.BaseURL != tt.wantURL {
				t.Errorf("BaseURL = %q, want %q", tt.cfg.BaseURL, tt.wantURL)
			}
			if tt.cfg.APNsURL == "" {
				t.Error("APNsURL left empty; want the production APNs by default")
			}
		})
	}
}

// TestSelfSignedTLS runs the real listener with a self-signed certificate and shuts it down gracefully.
func TestSelfSignedTLS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), TLSSelfSigned: true, LogFormat: "json"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, func(addr string) { addrc <- addr }) }()
	addr := <-addrc
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || len(res.TLS.PeerCertificates) == 0 {
		t.Fatalf("healthz over TLS: %d, tls=%v", res.StatusCode, res.TLS != nil)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2 over TLS", res.Proto)
	}
	if names := res.TLS.PeerCertificates[0].IPAddresses; len(names) == 0 {
		t.Error("self-signed certificate names no loopback address")
	}
	// A plain request to the TLS port is refused (net/http answers 400), never served.
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS port")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && err != http.ErrServerClosed {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
