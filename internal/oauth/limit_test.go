package oauth

import (
	"testing"
	"time"
)

// A client's failures from many addresses together lock it out everywhere until the window has
// passed; other clients are not affected.
func TestLimiterPerClientFromEveryAddress(t *testing.T) {
	c := newClock()
	if l := newLimiter(10, 50, time.Minute, c.now); l.anyAddr != 100 {
		t.Fatalf("per-client limit from every address %d, want 100", l.anyAddr)
	}
	l := newLimiter(2, 50, time.Minute, c.now)
	l.anyAddr = 3
	for _, addr := range []string{"1", "2", "3"} {
		done, wait := l.begin("a", addr)
		if wait != 0 {
			t.Fatalf("refused from address %s before the limit", addr)
		}
		done(failed)
	}
	if _, wait := l.begin("a", "4"); wait <= 0 || wait > time.Minute {
		t.Errorf("a fourth address after three failures: wait %v, want up to a minute", wait)
	}
	if done, wait := l.begin("b", "4"); wait != 0 {
		t.Error("another client refused")
	} else {
		done(succeeded)
	}
	c.advance(time.Minute)
	if done, wait := l.begin("a", "4"); wait != 0 {
		t.Error("still refused after the window")
	} else {
		done(succeeded)
	}
}
