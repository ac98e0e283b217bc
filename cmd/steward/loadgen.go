package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"steward/internal/loadgen"
)

type loadgenCmd struct {
	Token  loadgenTokenCmd  `cmd:"" help:"Get App Registration access tokens (client credentials grant) as fast as the workers can."`
	Bearer loadgenBearerCmd `cmd:"" help:"Call an API GET with one App Registration access token (Bearer) as fast as the workers can."`
}

// loadgenFlags are the settings every workload shares.
type loadgenFlags struct {
	URL               string        `default:"http://127.0.0.1:8080" help:"The Steward server."`
	Tenant            string        `required:"" help:"Tenant id (the {tenantId} of /{tenantId}/connect/token)."`
	ClientID          string        `name:"client-id" required:"" help:"The App Registration's client id."`
	ClientSecretStdin bool          `name:"client-secret-stdin" help:"Read the client secret from standard input instead of STEWARD_LOADGEN_CLIENT_SECRET."`
	Scope             string        `help:"Scopes to ask for (space-delimited; default: the registration's read scopes)."`
	Basic             bool          `help:"Authenticate with client_secret_basic instead of client_secret_post."`
	Concurrency       int           `default:"32" help:"Requests in flight."`
	Duration          time.Duration `default:"20s" help:"How long to run."`
}

func (f *loadgenFlags) client(in io.Reader) (*loadgen.Client, error) {
	u, err := url.Parse(f.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("--url %q: want http://host:port or https://…", f.URL)
	case f.Concurrency < 1:
		return nil, errors.New("--concurrency must be at least 1")
	case f.Duration <= 0:
		return nil, errors.New("--duration must be positive")
	}
	secret := os.Getenv("STEWARD_LOADGEN_CLIENT_SECRET")
	if f.ClientSecretStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		secret = strings.TrimRight(line, "\r\n")
	}
	if secret == "" {
		return nil, errors.New("no client secret: set STEWARD_LOADGEN_CLIENT_SECRET or use --client-secret-stdin")
	}
	return &loadgen.Client{HTTP: loadgen.NewClient(f.Concurrency), URL: f.URL, Tenant: f.Tenant, ID: f.ClientID, Secret: secret,
		Scope: f.Scope, InHeader: f.Basic}, nil
}

func (f *loadgenFlags) run(ctx context.Context, out io.Writer, name string, op loadgen.Op) error {
	fmt.Fprintf(out, "%s: %d workers for %s against %s\n", name, f.Concurrency, f.Duration, f.URL)
	r := loadgen.Run(ctx, loadgen.Config{Concurrency: f.Concurrency, Duration: f.Duration}, op)
	fmt.Fprint(out, r.String())
	if r.Requests == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

type loadgenTokenCmd struct {
	loadgenFlags
}

func (c *loadgenTokenCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	cl, err := c.client(in)
	if err != nil {
		return err
	}
	return c.run(ctx, out, "token", cl.TokenOp())
}

type loadgenBearerCmd struct {
	loadgenFlags
	Path string `default:"/api/v1/metadata/tenant" help:"The API GET to call (the token's scopes must allow it)."`
}

func (c *loadgenBearerCmd) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if !strings.HasPrefix(c.Path, "/") {
		return fmt.Errorf("--path %q: want an absolute path such as /api/v1/device", c.Path)
	}
	cl, err := c.client(in)
	if err != nil {
		return err
	}
	op, err := cl.BearerOp(ctx, c.Path)
	if err != nil {
		return err
	}
	return c.run(ctx, out, "bearer "+c.Path, op)
}
