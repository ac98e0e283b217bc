package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Baseline is a bare net/http server on loopback that answers every request with a few bytes: what this
// machine can serve at all, to put a workload's figures in proportion.
type Baseline struct {
	URL string
	srv *http.Server
}

// StartBaseline starts a Baseline on a free loopback port.
func StartBaseline() (*Baseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ok := []byte("ok\n")
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(ok)
	})}
	go srv.Serve(ln)
	return &Baseline{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server.
func (b *Baseline) Close() error { return b.srv.Close() }

// Op is one GET of the bare handler.
func (b *Baseline) Op(client *http.Client) Op {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/", nil)
		if err != nil {
			return err
		}
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
}

// RunBaseline drives a fresh Baseline with cfg (without its Limit) and returns what it measured.
func RunBaseline(ctx context.Context, cfg Config) (Result, error) {
	b, err := StartBaseline()
	if err != nil {
		return Result{}, fmt.Errorf("baseline: %w", err)
	}
	defer b.Close()
	cfg.Limit = 0
	r := Run(ctx, cfg, b.Op(NewClient(cfg.Concurrency)))
	if r.Requests == 0 {
		return r, errors.New("baseline: no request succeeded")
	}
	return r, nil
}

// Ratio is a line comparing a workload's throughput and median latency with the baseline's.
func Ratio(work, base Result) string {
	if base.PerSecond() <= 0 {
		return "ratio to baseline: n/a\n"
	}
	return fmt.Sprintf("ratio to baseline: %.3f of its requests/s (%.0f/s of %.0f/s), p50 %.1f× its p50 (%s vs %s)\n",
		work.PerSecond()/base.PerSecond(), work.PerSecond(), base.PerSecond(),
		float64(work.P50)/float64(max(base.P50, time.Microsecond)), ms(work.P50), ms(base.P50))
}
