package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"steward/internal/loadgen"
)

type loadgenCmd struct {
	AppleEnroll     loadgenAppleEnrollCmd     `cmd:"" name:"apple-enroll" help:"Apple enrollment storm: each device's Authenticate + TokenUpdate (profile and SCEP are done in an unmeasured setup)."`
	AppleIdle       loadgenAppleIdleCmd       `cmd:"" name:"apple-idle" help:"Apple Idle connects of enrolled devices with nothing queued."`
	AndroidRegister loadgenAndroidRegisterCmd `cmd:"" name:"android-register" help:"Android registration storm (accounts and PINs are made in an unmeasured setup)."`
	AndroidCheckin  loadgenAndroidCheckinCmd  `cmd:"" name:"android-checkin" help:"Android agent check-ins of registered devices with nothing changed."`
	Fanout          loadgenFanoutCmd          `cmd:"" help:"One forceCheckin to N enrolled Apple devices through the API; the devices connect until every one acknowledged."`
	Token           loadgenTokenCmd           `cmd:"" help:"Get App Registration access tokens (client credentials grant)."`
	Bearer          loadgenBearerCmd          `cmd:"" help:"Call an API GET with one App Registration access token (Bearer)."`
	Devices         loadgenDevicesCmd         `cmd:"" help:"List devices (GET /api/v1/device, rows=100, an fq filter) with Basic or Bearer authentication."`
	Baseline        loadgenBaselineCmd        `cmd:"" help:"Drive a bare net/http handler started in this process on loopback: what this machine can do at all."`
}

// loadgenLoop is how every workload is driven and reported.
type loadgenLoop struct {
	URL         string        `default:"http://127.0.0.1:8080" help:"The server."`
	Concurrency int           `default:"32" help:"Closed loop: requests in flight. Open loop (--rate): the most in flight; due requests wait beyond it."`
	Rate        float64       `help:"Open loop: start this many requests per second whatever the answers take; latency counts from when each was due. 0: closed loop."`
	Duration    time.Duration `default:"20s" help:"How long to run (the measured part; setup comes first)."`
	Baseline    bool          `help:"Also drive a bare net/http handler on loopback in this run, the same way, and print the ratio."`
	Insecure    bool          `help:"Do not verify the server's TLS certificate (a test server with a self-signed one)."`
}

func (f *loadgenLoop) validate() error {
	u, err := url.Parse(f.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("--url %q: want http://host:port or https://…", f.URL)
	case f.Concurrency < 1:
		return errors.New("--concurrency must be at least 1")
	case f.Duration <= 0:
		return errors.New("--duration must be positive")
	case f.Rate < 0:
		return errors.New("--rate cannot be negative")
	}
	return nil
}

// httpClient keeps a connection per worker (plus headroom).
func (f *loadgenLoop) httpClient(extra int) *http.Client {
	c := loadgen.NewClient(f.Concurrency + extra)
	if f.Insecure {
		c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return c
}

func (f *loadgenLoop) config() loadgen.Config {
	return loadgen.Config{Concurrency: f.Concurrency, Rate: f.Rate, Duration: f.Duration}
}

func (f *loadgenLoop) describe() string {
	if f.Rate > 0 {
		return fmt.Sprintf("open loop at %g/s (at most %d in flight) for %s", f.Rate, f.Concurrency, f.Duration)
	}
	return fmt.Sprintf("closed loop, %d in flight, for %s", f.Concurrency, f.Duration)
}

// run drives op with cfg, prints the summary and, with --baseline, the bare handler's and the ratio.
func (f *loadgenLoop) run(ctx context.Context, out io.Writer, name string, cfg loadgen.Config, op loadgen.Op) (loadgen.Result, error) {
	fmt.Fprintf(out, "%s: %s against %s\n", name, f.describe(), f.URL)
	r := loadgen.Run(ctx, cfg, op)
	fmt.Fprint(out, r.String())
	if f.Baseline {
		// As long as the workload ran (a storm may end before --duration), at least a second.
		bcfg := f.config()
		bcfg.Duration = min(bcfg.Duration, max(r.Elapsed, time.Second))
		base, err := loadgen.RunBaseline(ctx, bcfg)
		if err != nil {
			return r, err
		}
		fmt.Fprintf(out, "baseline (bare net/http handler on loopback, same loop): %s", base.String())
		fmt.Fprint(out, loadgen.Ratio(r, base))
	}
	if r.Requests == 0 {
		return r, errors.New("no request succeeded")
	}
	return r, nil
}

// readSecret reads a secret from standard input when fromStdin, else from the environment variable env.
func readSecret(in io.Reader, fromStdin bool, env, flag string) (string, error) {
	secret := os.Getenv(env)
	if fromStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		secret = strings.TrimRight(line, "\r\n")
	}
	if secret == "" {
		return "", fmt.Errorf("no secret: set %s or use %s", env, flag)
	}
	return secret, nil
}

// loadgenApp is an App Registration's credentials, for the token endpoint and Bearer calls.
type loadgenApp struct {
	Tenant            string `help:"Tenant id (the {tenantId} of /{tenantId}/connect/token)."`
	ClientID          string `name:"client-id" help:"The App Registration's client id."`
	ClientSecretStdin bool   `name:"client-secret-stdin" help:"Read the client secret from standard input instead of STEWARD_LOADGEN_CLIENT_SECRET."`
	Scope             string `help:"Scopes to ask for (space-delimited; default: the registration's read scopes)."`
	Basic             bool   `help:"Authenticate with client_secret_basic instead of client_secret_post."`
}

func (a *loadgenApp) client(in io.Reader, http *http.Client, baseURL string) (*loadgen.Client, error) {
	if a.Tenant == "" || a.ClientID == "" {
		return nil, errors.New("--tenant and --client-id are required")
	}
	secret, err := readSecret(in, a.ClientSecretStdin, "STEWARD_LOADGEN_CLIENT_SECRET", "--client-secret-stdin")
	if err != nil {
		return nil, err
	}
	return &loadgen.Client{HTTP: http, URL: baseURL, Tenant: a.Tenant, ID: a.ClientID, Secret: secret,
		Scope: a.Scope, InHeader: a.Basic}, nil
}

type loadgenTokenCmd struct {
	loadgenLoop
	loadgenApp
}

func (c *loadgenTokenCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if err := c.validate(); err != nil {
		return err
	}
	cl, err := c.client(in, c.httpClient(0), c.URL)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, out, "token", c.config(), cl.TokenOp())
	return err
}

type loadgenBearerCmd struct {
	loadgenLoop
	loadgenApp
	Path string `default:"/api/v1/metadata/tenant" help:"The API GET to call (the token's scopes must allow it)."`
}

func (c *loadgenBearerCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if !strings.HasPrefix(c.Path, "/") {
		return fmt.Errorf("--path %q: want an absolute path such as /api/v1/device", c.Path)
	}
	if err := c.validate(); err != nil {
		return err
	}
	cl, err := c.client(in, c.httpClient(0), c.URL)
	if err != nil {
		return err
	}
	op, err := cl.BearerOp(ctx, c.Path)
	if err != nil {
		return err
	}
	_, err = c.run(ctx, out, "bearer "+c.Path, c.config(), op)
	return err
}

type loadgenDevicesCmd struct {
	loadgenLoop
	loadgenApp
	Username      string `help:"Basic authentication as this Tenant Admin or API user (else Bearer with --tenant and --client-id)."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from standard input instead of STEWARD_LOADGEN_PASSWORD."`
	FQ            string `name:"fq" default:"registrationState=ACTIVE" help:"The fq filter of every request."`
	Rows          int    `default:"100" help:"Devices per page (rows)."`
}

func (c *loadgenDevicesCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if err := c.validate(); err != nil {
		return err
	}
	if c.Rows < 1 {
		return errors.New("--rows must be at least 1")
	}
	client := c.httpClient(0)
	q := url.Values{"rows": {fmt.Sprint(c.Rows)}}
	if c.FQ != "" {
		q.Set("fq", c.FQ)
	}
	path := "/api/v1/device?" + q.Encode()
	var op loadgen.Op
	if c.Username != "" {
		password, err := readSecret(in, c.PasswordStdin, "STEWARD_LOADGEN_PASSWORD", "--password-stdin")
		if err != nil {
			return err
		}
		op = loadgen.BasicOp(client, strings.TrimRight(c.URL, "/")+path, c.Username, password)
	} else {
		cl, err := c.client(in, client, c.URL)
		if err != nil {
			return fmt.Errorf("%w (or --username for Basic)", err)
		}
		if op, err = cl.BearerOp(ctx, path); err != nil {
			return err
		}
	}
	_, err := c.run(ctx, out, "devices "+path, c.config(), op)
	return err
}

type loadgenBaselineCmd struct {
	loadgenLoop
}

func (c *loadgenBaselineCmd) Run(ctx context.Context, out io.Writer) error {
	if err := c.validate(); err != nil {
		return err
	}
	b, err := loadgen.StartBaseline()
	if err != nil {
		return err
	}
	defer b.Close()
	c.URL, c.Baseline = b.URL, false
	_, err = c.run(ctx, out, "baseline (bare net/http handler)", c.config(), b.Op(c.httpClient(0)))
	return err
}
