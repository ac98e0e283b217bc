package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"steward/internal/server"
)

// TestSimCommand runs `steward sim` against a real server: it provisions through the admin API,
// registers, checks in, reports and sums up.
func TestSimCommand(t *testing.T) {
	ctx := context.Background()
	s, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), BaseURL: "http://127.0.0.1",
		AdminPassword: "system-admin-pw-1234", LogFormat: "text"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	stop := s.Background()
	defer stop()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	createTenant(t, ts.URL, "Simcmd", "ta@simcmd.example.com")

	c := parse(t, "sim", "--url", ts.URL, "--username", "ta@simcmd.example.com", "--password-stdin", "--devices", "4",
		"--interval", "100ms", "--duration", "1500ms", "--report", "500ms", "--domain", "simcmd.example.com")
	var out bytes.Buffer
	if err := c.Sim.Run(ctx, strings.NewReader("Tenant-admin-pw-1\n"), &out); err != nil {
		t.Fatalf("sim: %v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "registered 4 devices") || !strings.Contains(got, "summary of the run:") {
		t.Fatalf("output:\n%s", got)
	}
	summary := got[strings.Index(got, "summary of the run:"):]
	if m := regexp.MustCompile(`checkins (\d+) `).FindStringSubmatch(summary); m == nil || m[1] == "0" {
		t.Errorf("summary shows no check-ins:\n%s", summary)
	}
	if !strings.Contains(summary, "errors 0") {
		t.Errorf("summary shows errors:\n%s", summary)
	}

	// A wrong password stops before any device exists.
	c = parse(t, "sim", "--url", ts.URL, "--username", "ta@simcmd.example.com", "--password-stdin", "--devices", "1")
	err = c.Sim.Run(ctx, strings.NewReader("wrong-password\n"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v, want the 401", err)
	}
}

// createTenant creates a tenant whose admin is adminEmail with the password Tenant-admin-pw-1, as the
// system admin (system-admin-pw-1234).
func createTenant(t *testing.T, url, name, adminEmail string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v1/tenants", strings.NewReader(`{"name":"`+name+`",`+
		`"adminEmail":"`+adminEmail+`","adminFirstName":"Ta","adminLastName":"Admin",`+
		`"adminPassword":"Tenant-admin-pw-1","licenseDevices":50,"sendActivation":false}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", "system-admin-pw-1234")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("create tenant: %d", res.StatusCode)
	}
}
