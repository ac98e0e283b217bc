package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"steward/internal/store/pgtest"
)

// databases lists the databases an end-to-end test runs on: SQLite always, PostgreSQL when
// STEWARD_TEST_POSTGRES is set (and then it must be reachable).
func databases(t *testing.T) map[string]func(t *testing.T) string {
	dbs := map[string]func(t *testing.T) string{"sqlite": func(*testing.T) string { return "" }}
	switch {
	case os.Getenv("STEWARD_TEST_POSTGRES") != "":
		dbs["postgres"] = freshPostgres
	case os.Getenv("CI") == "true":
		t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
	}
	return dbs
}

// freshPostgres creates an empty database for one test and drops it afterwards.
func freshPostgres(t *testing.T) string { return pgtest.Database(t, "steward_e2e") }

// apiEnv is a running Steward behind httptest with a System Admin.
type apiEnv struct {
	t       *testing.T
	srv     *Server
	url     string
	adminPW string
}

func newAPIEnv(t *testing.T, databaseURL string, mutate func(*Config)) *apiEnv {
	t.Helper()
	e := startAPIEnv(t, databaseURL, mutate)
	e.t = t
	return e
}

// startAPIEnv starts the server for newAPIEnv, or once for a whole fuzz target (whose inputs each
// use a copy of the environment with their own test set).
func startAPIEnv(t testing.TB, databaseURL string, mutate func(*Config)) *apiEnv {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: databaseURL, BaseURL: base,
		AdminPassword: "system-admin-pw-1234", LogFormat: "text"}
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop := s.Background()
	ts.Config.Handler = s.Handler()
	ts.Start()
	t.Cleanup(func() { ts.Close(); stop(); s.Close() })
	return &apiEnv{srv: s, url: base, adminPW: cfg.AdminPassword}
}

// response is a decoded API answer.
type response struct {
	Status int
	Header http.Header
	Body   string
	Env    struct {
		Errors *struct {
			GlobalErrors []struct{ Code, Message string }
			FieldErrors  []struct{ Code, Message, Field string }
		}
		Result json.RawMessage
	}
}

// call sends a request; body is JSON when it starts with '{', form-encoded otherwise. auth is "user:pw" or "".
func (e *apiEnv) call(method, path, auth, body string) *response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		ct := "application/x-www-form-urlencoded"
		if strings.HasPrefix(body, "{") {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if user, pw, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(user, pw)
	}
	return e.send(req)
}

// send sends a prepared request and decodes the answer.
func (e *apiEnv) send(req *http.Request) *response {
	e.t.Helper()
	method, path := req.Method, req.URL.Path
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := &response{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Env); err != nil {
			e.t.Fatalf("%s %s: body is not the envelope: %v: %s", method, path, err, raw)
		}
	}
	return r
}

// must checks the status and decodes the result into out (when not nil).
func (r *response) must(t *testing.T, status int, out any) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Env.Result, out); err != nil {
			t.Fatalf("result: %v: %s", err, r.Body)
		}
	}
	return r
}

// field returns the first field error's field name, or "".
func (r *response) field() string {
	if r.Env.Errors == nil || len(r.Env.Errors.FieldErrors) == 0 {
		return ""
	}
	return r.Env.Errors.FieldErrors[0].Field
}

func (r *response) fields() []string {
	var out []string
	if r.Env.Errors != nil {
		for _, f := range r.Env.Errors.FieldErrors {
			out = append(out, f.Field)
		}
	}
	return out
}

func (e *apiEnv) admin() string { return "admin:" + e.adminPW }

type createdTenant struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	State                string `json:"state"`
	LicenseDevices       int    `json:"licenseDevices"`
	DefaultDmPartitionID int64  `json:"defaultDmPartitionId"`
	Admin                struct {
		ID           int64  `json:"id"`
		EmailAddress string `json:"emailAddress"`
	} `json:"admin"`
	ActivationSent bool `json:"activationSent"`
}

// createTenant makes a tenant whose admin signs in as "ta@<name>.example.com:Tenant-admin-pw-1".
func (e *apiEnv) createTenant(name string) (createdTenant, string) {
	e.t.Helper()
	var c createdTenant
	e.call("POST", "/api/v1/tenants", e.admin(), `{"name":"`+name+`","adminEmail":"ta@`+strings.ToLower(name)+
		`.example.com","adminFirstName":"Ta","adminLastName":"Admin","adminPassword":"Tenant-admin-pw-1","licenseDevices":10}`).
		must(e.t, 200, &c)
	return c, "ta@" + strings.ToLower(name) + ".example.com:Tenant-admin-pw-1"
}
