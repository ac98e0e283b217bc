package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// AgentVersion is the clientVersion simulated devices report.
const AgentVersion = "1.0.0-sim"

// NewHTTPClient is the one client a whole fleet shares: keep-alive connections, enough of them idle per
// host for conc concurrent check-ins, so a run measures the server and not connection setup.
func NewHTTPClient(conc int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conc + 16
	t.MaxIdleConnsPerHost = conc + 16
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// APIError is an answer other than 2xx, with the server's first error message.
type APIError struct {
	Status  int
	Code    string // the envelope's global error code or field error code, when it had one
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// HTTPStatus is the status of the answer; other simulators' errors carry one the same way.
func (e *APIError) HTTPStatus() int { return e.Status }

// StatusOf returns the HTTP status of the first error in err's chain that carries one (an *APIError or
// any error with an HTTPStatus() int method), or 0.
func StatusOf(err error) int {
	var e interface{ HTTPStatus() int }
	if errors.As(err, &e) {
		return e.HTTPStatus()
	}
	return 0
}

// ErrorKind names a failure for the stats: "http_409", "timeout", "network", "decode".
func ErrorKind(err error) string {
	var ne net.Error
	switch {
	case StatusOf(err) != 0:
		return fmt.Sprintf("http_%d", StatusOf(err))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errDecode):
		return "decode"
	default:
		return "network"
	}
}

var errDecode = errors.New("response is not the API envelope")

// envelope is the wrapper of every answer.
type envelope struct {
	Errors *struct {
		GlobalErrors []struct{ Code, Message string }        `json:"globalErrors"`
		FieldErrors  []struct{ Code, Field, Message string } `json:"fieldErrors"`
	} `json:"errors"`
	Result json.RawMessage `json:"result"`
}

// auth sets a request's Authorization header.
type auth func(*http.Request)

func bearer(token string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func basic(user, password string) auth {
	return func(r *http.Request) { r.SetBasicAuth(user, password) }
}

// call sends body (JSON, unless nil) and decodes the envelope's result into out (unless nil).
func call(ctx context.Context, c *http.Client, method, url string, a auth, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "steward-sim/"+AgentVersion)
	if a != nil {
		a(req)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return err
	}
	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := &APIError{Status: res.StatusCode}
		switch {
		case jsonErr != nil:
			e.Message = strings.TrimSpace(string(raw[:min(len(raw), 200)]))
		case env.Errors != nil && len(env.Errors.GlobalErrors) > 0:
			e.Code, e.Message = env.Errors.GlobalErrors[0].Code, env.Errors.GlobalErrors[0].Message
		case env.Errors != nil && len(env.Errors.FieldErrors) > 0:
			f := env.Errors.FieldErrors[0]
			e.Code, e.Message = f.Code, f.Field+": "+f.Message
		}
		return e
	}
	if jsonErr != nil {
		return fmt.Errorf("%s %s: %w: %v", method, req.URL.Path, errDecode, jsonErr)
	}
	if out != nil && len(env.Result) > 0 {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return fmt.Errorf("%s %s: %w: %v", method, req.URL.Path, errDecode, err)
		}
	}
	return nil
}
