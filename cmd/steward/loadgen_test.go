package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"steward/internal/server"
	"steward/internal/sim"
)

// TestLoadgenWorkloads runs every `steward loadgen` workload briefly against a real server: each must
// make requests and see no error, and the fan-out must be acknowledged by every device. The server
// serves TLS (for --identity tls; its profiles point there) and plain HTTP on a second listener, and
// believes the Client-Cert header from loopback (for --identity header).
func TestLoadgenWorkloads(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsURL := "https://" + ln.Addr().String()
	s, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), BaseURL: tlsURL,
		AdminPassword: "system-admin-pw-1234", LogFormat: "text", AppleCertHeader: "Client-Cert",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, slog.New(slog.DiscardHandler))
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	stop := s.Background()
	defer stop()
	tlsSrv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: s.Handler()},
		TLS: &tls.Config{ClientAuth: tls.RequestClientCert}}
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(s.Handler())
	defer plain.Close()

	const ta, password = "ta@loadgen.example.com", "Tenant-admin-pw-1"
	createTenant(t, plain.URL, "Loadgen", ta)

	// An App Registration for the token, bearer and devices workloads.
	req, _ := http.NewRequest("POST", plain.URL+"/api/v1/appregistrations", strings.NewReader(`{"appType":"CUSTOM"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(ta, password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Result struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
			TokenURL     string `json:"tokenUrl"`
		} `json:"result"`
	}
	err = json.NewDecoder(res.Body).Decode(&env)
	app := env.Result
	res.Body.Close()
	if err != nil || res.StatusCode != 201 || app.ClientSecret == "" {
		t.Fatalf("create app registration: %d %v %+v", res.StatusCode, err, app)
	}
	tenant := strings.Split(strings.TrimPrefix(app.TokenURL, tlsURL+"/"), "/")[0]

	summary := regexp.MustCompile(`requests (\d+) in [0-9.]+s: \d+/s .* errors (\d+)`)
	run := func(stdin string, args ...string) string {
		t.Helper()
		c := parse(t, append([]string{"loadgen"}, args...)...)
		var out bytes.Buffer
		var err error
		switch args[0] {
		case "apple-enroll":
			err = c.Loadgen.AppleEnroll.Run(ctx, strings.NewReader(stdin), &out)
		case "apple-idle":
			err = c.Loadgen.AppleIdle.Run(ctx, strings.NewReader(stdin), &out)
		case "android-register":
			err = c.Loadgen.AndroidRegister.Run(ctx, strings.NewReader(stdin), &out)
		case "android-checkin":
			err = c.Loadgen.AndroidCheckin.Run(ctx, strings.NewReader(stdin), &out)
		case "fanout":
			err = c.Loadgen.Fanout.Run(ctx, strings.NewReader(stdin), &out)
		case "token":
			err = c.Loadgen.Token.Run(ctx, strings.NewReader(stdin), &out)
		case "bearer":
			err = c.Loadgen.Bearer.Run(ctx, strings.NewReader(stdin), &out)
		case "devices":
			err = c.Loadgen.Devices.Run(ctx, strings.NewReader(stdin), &out)
		case "baseline":
			err = c.Loadgen.Baseline.Run(ctx, &out)
		}
		got := out.String()
		if err != nil {
			t.Fatalf("loadgen %v: %v\n%s", args, err, got)
		}
		m := summary.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("loadgen %v: no summary:\n%s", args, got)
		}
		if n, _ := strconv.Atoi(m[1]); n == 0 || m[2] != "0" {
			t.Errorf("loadgen %v: %s requests, %s errors, want some and none:\n%s", args, m[1], m[2], got)
		}
		t.Log(got)
		return got
	}
	short := []string{"--concurrency", "2", "--duration", "2s"}
	appleFlags := []string{"--url", tlsURL, "--insecure", "--username", ta, "--password-stdin", "--keys", "2",
		"--domain", "loadgen.example.com", "--concurrency", "2"}
	apple := append(appleFlags, "--duration", "2s")
	androidFlags := []string{"--url", plain.URL, "--username", ta, "--password-stdin", "--domain", "loadgen.example.com",
		"--concurrency", "2"}
	android := append(androidFlags, "--duration", "2s")
	// A storm ends when every device enrolled: its duration is only a bound, generous on a busy machine.
	storm := []string{"--duration", "60s"}
	app_ := append([]string{"--url", plain.URL, "--tenant", tenant, "--client-id", app.ClientID, "--client-secret-stdin"}, short...)

	run("", "baseline", "--concurrency", "2", "--duration", "300ms")
	got := run(password+"\n", append(append([]string{"apple-enroll", "--devices", "3", "--rounds", "2", "--baseline"}, appleFlags...), storm...)...)
	for _, want := range []string{"requests 6 ", "identity: signature", "baseline (bare net/http handler", "ratio to baseline: "} {
		if !strings.Contains(got, want) {
			t.Errorf("apple-enroll output lacks %q:\n%s", want, got)
		}
	}
	run(password+"\n", append([]string{"apple-idle", "--devices", "2", "--identity", "header", "--rate", "40"}, apple...)...)
	run(password+"\n", append([]string{"apple-idle", "--devices", "2", "--identity", "tls"}, apple...)...)
	got = run(password+"\n", append([]string{"fanout", "--devices", "3", "--identity", "header", "--timeout", "30s"}, apple...)...)
	if !strings.Contains(got, "fanout: 3 of 3 devices acknowledged") {
		t.Errorf("fan-out not acknowledged by all:\n%s", got)
	}
	// Any Apple MDM server: a profile got beforehand (here Steward's, for a PIN issued by hand) and no
	// Steward API in the run.
	profile := filepath.Join(t.TempDir(), "enroll.mobileconfig")
	os.WriteFile(profile, enrollmentProfile(t, plain.URL, tlsURL, ta, password), 0o600)
	got = run("", append([]string{"apple-idle", "--url", tlsURL, "--insecure", "--profile", profile, "--devices", "1",
		"--identity", "header", "--keys", "1"}, short...)...)
	if strings.Contains(got, "push certificate") {
		t.Errorf("with --profile the run used Steward's API:\n%s", got)
	}
	got = run(password+"\n", append(append([]string{"android-register", "--devices", "3"}, androidFlags...), storm...)...)
	if !strings.Contains(got, "requests 3 ") {
		t.Errorf("android-register did not register the 3 devices once each:\n%s", got)
	}
	run(password+"\n", append([]string{"android-checkin", "--devices", "2", "--rate", "40"}, android...)...)
	run(app.ClientSecret+"\n", append([]string{"token"}, app_...)...)
	run(app.ClientSecret+"\n", append([]string{"bearer", "--path", "/api/v1/device"}, app_...)...)
	run(app.ClientSecret+"\n", append([]string{"devices", "--fq", "platformType=ANDROID"}, app_...)...)
	run(password+"\n", append([]string{"devices", "--username", ta, "--password-stdin", "--url", plain.URL}, short...)...)
}

// enrollmentProfile issues a registration PIN for a new user through the API at apiURL and downloads
// that user's enrollment profile from the server at baseURL, as a person enrolling by hand would.
func enrollmentProfile(t *testing.T, apiURL, baseURL, admin, password string) []byte {
	t.Helper()
	client := sim.NewHTTPClient(1)
	prov := &sim.APIProvisioner{Client: client, BaseURL: apiURL, Username: admin, Password: password,
		Domain: "loadgen.example.com", Prefix: "byhand", DevicesPerUser: 1}
	e, err := prov.Issue(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"username": {e.Username}, "pin": {e.PIN}}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := insecure.PostForm(baseURL+"/mdm/apple/enroll", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("enrollment profile: %d %v", res.StatusCode, err)
	}
	return raw
}
