package sim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStatsByOperation(t *testing.T) {
	s := NewStats()
	for i := 1; i <= 100; i++ {
		s.Request("scep", time.Duration(i)*time.Millisecond, nil)
	}
	s.Request("enroll", 300*time.Millisecond, nil) // an Apple enrollment is a registration
	s.Request("connect", 2*time.Millisecond, nil)  // an Apple connect is a check-in
	s.Request("profile", time.Millisecond, &APIError{Status: 401})
	first := s.Snapshot()
	if first.Registrations != 1 || first.Checkins != 1 || first.Errors["profile http_401"] != 1 {
		t.Errorf("counts: %s", first)
	}
	if got := first.OpCount("scep"); got != 100 {
		t.Errorf("scep count %d, want 100", got)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond} {
		if got := first.OpPercentile("scep", p); got < want || got > want*106/100 {
			t.Errorf("scep p%.0f = %s, want %s within 5%%", p, got, want)
		}
	}
	if got := strings.Join(first.Ops(), ","); got != "connect,enroll,scep" {
		t.Errorf("ops %s (failed requests have no latency)", got)
	}
	s.Request("scep", time.Second, nil)
	window := s.Snapshot().Since(first)
	if window.OpCount("scep") != 1 || window.OpPercentile("scep", 50) < time.Second || window.OpCount("enroll") != 0 {
		t.Errorf("window: scep %d p50 %s, enroll %d", window.OpCount("scep"), window.OpPercentile("scep", 50), window.OpCount("enroll"))
	}
	if line := window.OpLine("scep", "enroll"); !strings.Contains(line, "scep 1 ") || !strings.Contains(line, "enroll 0 ") {
		t.Errorf("op line %q", line)
	}
}

// statusError is another simulator's error that carries an HTTP status.
type statusError struct{ status int }

func (e statusError) Error() string   { return "failed" }
func (e statusError) HTTPStatus() int { return e.status }

func TestErrorKindOfOtherSimulatorsErrors(t *testing.T) {
	err := errors.Join(errors.New("connect"), statusError{503})
	if StatusOf(err) != 503 || ErrorKind(err) != "http_503" {
		t.Errorf("status %d, kind %s", StatusOf(err), ErrorKind(err))
	}
	if ErrorKind(errors.New("reset")) != "network" {
		t.Error("an error without a status is a network error")
	}
}
