package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenRun(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/t1/connect/token" || r.FormValue("grant_type") != "client_credentials" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1)%4 == 0 {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		id, secret, _ := r.BasicAuth()
		if id != "c%2F1" || secret != "s" {
			t.Errorf("Basic credentials %q %q, want them form-encoded", id, secret)
		}
		w.Write([]byte(`{"access_token":"x.y.z","token_type":"Bearer"}`))
	}))
	defer srv.Close()
	c := &Client{HTTP: NewClient(4), URL: srv.URL, Tenant: "t1", ID: "c/1", Secret: "s", InHeader: true}
	r := Run(context.Background(), Config{Concurrency: 4, Duration: 300 * time.Millisecond}, c.TokenOp())
	if r.Requests == 0 || r.Failed == 0 || r.Errors["http_401_invalid_client"] != r.Failed {
		t.Errorf("result %+v", r)
	}
	if r.P50 <= 0 || r.P50 > r.P95 || r.P95 > r.P99 {
		t.Errorf("percentiles %v %v %v", r.P50, r.P95, r.P99)
	}
	if r.String() == "" || r.PerSecond() <= 0 {
		t.Errorf("report %q", r.String())
	}
}

func TestKind(t *testing.T) {
	for err, want := range map[error]string{
		&StatusError{Status: 429, Code: "temporarily_unavailable"}: "http_429_temporarily_unavailable",
		&StatusError{Status: 503}:                                  "http_503",
		context.DeadlineExceeded:                                   "timeout",
		errDecode:                                                  "decode",
	} {
		if got := Kind(err); got != want {
			t.Errorf("Kind(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestOpenLoop: at a rate the one worker cannot keep up with, latency counts from when each request was
// due (so it grows well past the 20 ms a request takes) and the requests never started are reported.
func TestOpenLoop(t *testing.T) {
	op := func(ctx context.Context) error {
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	r := Run(context.Background(), Config{Concurrency: 1, Rate: 200, Duration: 500 * time.Millisecond}, op)
	if r.Requests < 3 || r.Requests > 30 {
		t.Errorf("%d requests, want at most about 25 (one worker at 20 ms each)", r.Requests)
	}
	if r.P99 < 200*time.Millisecond {
		t.Errorf("p99 %s, want the wait since each request was due counted", r.P99)
	}
	if r.Unsent < 50 {
		t.Errorf("unsent %d, want the ~75 due requests that never started", r.Unsent)
	}

	// Fast enough: every due request is made (a busy machine may leave the last few unstarted), and
	// never more than the rate allows.
	r = Run(context.Background(), Config{Concurrency: 4, Rate: 50, Duration: 400 * time.Millisecond}, func(context.Context) error { return nil })
	if r.Requests < 10 || r.Requests > 21 || r.Unsent > 5 {
		t.Errorf("%d requests, %d unsent; want about 20 and none", r.Requests, r.Unsent)
	}
}

// TestLimit: a storm stops after Limit requests, closed or open loop.
func TestLimit(t *testing.T) {
	for _, rate := range []float64{0, 1000} {
		var n atomic.Int64
		r := Run(context.Background(), Config{Concurrency: 3, Rate: rate, Duration: 5 * time.Second, Limit: 7},
			func(context.Context) error { n.Add(1); return nil })
		if r.Requests != 7 || n.Load() != 7 || r.Elapsed > 2*time.Second {
			t.Errorf("rate %g: %d requests (%d made) in %s, want 7 at once", rate, r.Requests, n.Load(), r.Elapsed)
		}
	}
}

// TestBaseline drives the bare handler and compares.
func TestBaseline(t *testing.T) {
	base, err := RunBaseline(context.Background(), Config{Concurrency: 2, Duration: 200 * time.Millisecond, Limit: 3})
	if err != nil || base.Requests <= 3 || base.Failed != 0 {
		t.Fatalf("baseline %+v %v (the Limit is not the baseline's)", base, err)
	}
	half := base
	half.Elapsed *= 2
	if got := Ratio(half, base); !strings.HasPrefix(got, "ratio to baseline: 0.500 ") {
		t.Errorf("Ratio = %q", got)
	}
}
