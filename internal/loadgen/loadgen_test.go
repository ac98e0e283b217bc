package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
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
