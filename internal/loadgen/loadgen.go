// Package loadgen drives one kind of request against a server for a while and reports the throughput,
// latency percentiles and errors by kind. A workload is a function that makes one request (Op); it is
// driven either closed loop (a fixed number of workers, each sending its next request when the last one
// was answered) or open loop (requests started at a fixed rate, their latency counted from when each
// was due, so a server that falls behind shows it instead of slowing the load down). The token endpoint
// (Token), Bearer-authenticated API reads (Bearer) and a bare net/http handler (Baseline) live here; the
// device workloads are built on the simulators by the CLI.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Op makes one request and returns nil on success or an error whose Kind names what went wrong.
type Op func(ctx context.Context) error

// Config is how hard and how long to drive.
type Config struct {
	// Concurrency is the number of workers: in a closed loop each has one request in flight; in an
	// open loop it is the most requests in flight, due ones waiting (and their latency growing) beyond it.
	Concurrency int
	// Rate > 0 makes the loop open: a request is due every 1/Rate seconds.
	Rate     float64
	Duration time.Duration
	// Limit > 0 stops after that many requests were started (a storm of N enrollments).
	Limit int64
}

// Result is what a run measured.
type Result struct {
	Requests      int64 // successful requests
	Failed        int64
	Unsent        int64 // open loop: requests that were due but never started (the workers were all busy)
	Elapsed       time.Duration
	P50, P95, P99 time.Duration // of successful requests
	Errors        map[string]int64
}

// PerSecond is the successful requests per second.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// String is the report printed by the CLI.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests %d in %.1fs: %.0f/s  p50 %s  p95 %s  p99 %s  errors %d\n", r.Requests, r.Elapsed.Seconds(),
		r.PerSecond(), ms(r.P50), ms(r.P95), ms(r.P99), r.Failed)
	if r.Unsent > 0 {
		fmt.Fprintf(&b, "  unsent %d (due but not started by the end: the server or the load tool fell behind the rate)\n", r.Unsent)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(&b, "  error %-32s %d\n", k, r.Errors[k])
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// Run calls op from cfg.Concurrency workers, closed loop or at cfg.Rate, until cfg.Duration has passed,
// cfg.Limit requests were started or ctx ends.
func Run(ctx context.Context, cfg Config, op Op) Result {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	type worker struct {
		took   []time.Duration
		errors map[string]int64
	}
	workers := make([]worker, max(1, cfg.Concurrency))
	var started atomic.Int64
	start := time.Now()
	due := dueTimes(ctx, cfg, start)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.errors = map[string]int64{}
		wg.Go(func() {
			for ctx.Err() == nil {
				var t0 time.Time
				if due != nil {
					at, ok := <-due
					if !ok || ctx.Err() != nil {
						return
					}
					t0 = at // latency from when the request was due, not from when a worker got to it
					started.Add(1)
				} else {
					if n := started.Add(1); cfg.Limit > 0 && n > cfg.Limit {
						return
					}
					t0 = time.Now()
				}
				err := op(ctx)
				took := time.Since(t0)
				switch {
				case err == nil:
					w.took = append(w.took, took)
				case ctx.Err() != nil:
					return // cut off by the end of the run: neither a success nor an error
				default:
					w.errors[Kind(err)]++
				}
			}
		})
	}
	wg.Wait()
	r := Result{Elapsed: time.Since(start), Errors: map[string]int64{}}
	if cfg.Rate > 0 {
		want := int64(r.Elapsed.Seconds() * cfg.Rate)
		if cfg.Limit > 0 {
			want = min(want, cfg.Limit)
		}
		r.Unsent = max(0, want-started.Load())
	}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.took...)
		for k, n := range w.errors {
			r.Errors[k] += n
			r.Failed += n
		}
	}
	slices.Sort(all)
	r.Requests = int64(len(all))
	r.P50, r.P95, r.P99 = percentile(all, 0.50), percentile(all, 0.95), percentile(all, 0.99)
	return r
}

// dueTimes hands out, in an open loop (cfg.Rate > 0), the time each request is due; nil in a closed loop.
// When every worker is busy a due time waits in the channel and its request's latency grows, which is
// what a client arriving at that time would see.
func dueTimes(ctx context.Context, cfg Config, start time.Time) <-chan time.Time {
	if cfg.Rate <= 0 {
		return nil
	}
	due := make(chan time.Time, 4*max(1, cfg.Concurrency))
	every := time.Duration(float64(time.Second) / cfg.Rate)
	go func() {
		defer close(due)
		t := time.NewTimer(0)
		defer t.Stop()
		for i := int64(0); cfg.Limit <= 0 || i < cfg.Limit; i++ {
			at := start.Add(time.Duration(i) * every)
			if wait := time.Until(at); wait > 0 {
				t.Reset(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					return
				}
			}
			select {
			case due <- at:
			case <-ctx.Done():
				return
			}
		}
	}()
	return due
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// StatusError is an answer with an unexpected HTTP status; Code is the OAuth error code when the body had one.
type StatusError struct {
	Status int
	Code   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d %s", e.Status, e.Code) }

var errDecode = errors.New("unexpected response body")

// statusCarrier is an error of another client (the simulators') that carries the HTTP status.
type statusCarrier interface{ HTTPStatus() int }

// Kind names an error for the report: http_<status>[_<oauth error>], timeout, decode or network.
func Kind(err error) string {
	var se *StatusError
	var sc statusCarrier
	var ne net.Error
	switch {
	case errors.As(err, &se) && se.Code != "":
		return fmt.Sprintf("http_%d_%s", se.Status, se.Code)
	case errors.As(err, &se):
		return fmt.Sprintf("http_%d", se.Status)
	case errors.As(err, &sc) && sc.HTTPStatus() > 0:
		return fmt.Sprintf("http_%d", sc.HTTPStatus())
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errDecode):
		return "decode"
	}
	return "network"
}

// NewClient is an HTTP client that keeps a connection per worker.
func NewClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = concurrency*2, concurrency*2
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Client is an App Registration's credentials at a server.
type Client struct {
	HTTP     *http.Client
	URL      string // the server, e.g. http://127.0.0.1:8080
	Tenant   string
	ID       string
	Secret   string
	Scope    string
	InHeader bool // client_secret_basic instead of client_secret_post
}

// tokenAnswer is the token endpoint's JSON.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	Error       string `json:"error"`
}

// Token gets one access token from POST /{tenant}/connect/token.
func (c *Client) Token(ctx context.Context) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.Scope != "" {
		form.Set("scope", c.Scope)
	}
	if !c.InHeader {
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(c.URL, "/")+"/"+url.PathEscape(c.Tenant)+"/connect/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.InHeader {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var a tokenAnswer
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return "", err
	}
	jerr := json.Unmarshal(body, &a)
	if res.StatusCode != http.StatusOK {
		return "", &StatusError{Status: res.StatusCode, Code: a.Error}
	}
	if jerr != nil || a.AccessToken == "" {
		return "", errDecode
	}
	return a.AccessToken, nil
}

// TokenOp is the token workload: every request gets a new token.
func (c *Client) TokenOp() Op {
	return func(ctx context.Context) error { _, err := c.Token(ctx); return err }
}

// BearerOp is the Bearer workload: GET path with one token, got first, on every request.
func (c *Client) BearerOp(ctx context.Context, path string) (Op, error) {
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting the token: %w", err)
	}
	target := strings.TrimRight(c.URL, "/") + path
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "GET", target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return get(c.HTTP, req)
	}, nil
}

// BasicOp GETs target with HTTP Basic credentials.
func BasicOp(client *http.Client, target, username, password string) Op {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "GET", target, nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(username, password)
		return get(client, req)
	}
}

func get(client *http.Client, req *http.Request) error {
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return &StatusError{Status: res.StatusCode}
	}
	return nil
}
