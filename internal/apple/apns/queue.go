package apns

import (
	"time"

	"steward/internal/mdm"
)

// Target is one Apple device to wake.
type Target struct {
	TenantID mdm.TenantID
	DeviceID mdm.DeviceID
	Token    string // the device's push token: hex, or base64 as TokenUpdate carries it
	Magic    string // PushMagic from TokenUpdate; empty: asked of the MagicSource at send time
}

type key struct {
	tenant mdm.TenantID
	device mdm.DeviceID
}

// entry is a queued push: attempts so far, and when it may go (later than now only when retrying).
type entry struct {
	t        Target
	attempts int
	due      time.Time
}

// enqueue adds t, or refreshes the push already waiting for the same device: one push wakes a device
// however many wakes asked for it. It reports false when the queue is full and t was dropped.
func (p *Pusher) enqueue(t Target) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := key{t.TenantID, t.DeviceID}
	if e, ok := p.pending[k]; ok {
		e.t = t
		return true
	}
	if len(p.pending) >= p.max {
		return false
	}
	p.pending[k] = &entry{t: t}
	p.order = append(p.order, k)
	p.signal()
	return true
}

// requeue puts a failed push back to be retried at due, unless a fresh wake for the device is already
// waiting (that one goes instead). A retry takes back the slot it had, so it ignores the bound.
func (p *Pusher) requeue(e *entry, due time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := key{e.t.TenantID, e.t.DeviceID}
	if _, ok := p.pending[k]; ok {
		return
	}
	e.due = due
	p.pending[k] = e
	p.order = append(p.order, k)
	p.signal()
}

func (p *Pusher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest push that is due and whose device has no push in flight, marking the device in
// flight. With none it returns how long until the first one is due (negative: nothing is waiting on
// time; done or enqueue signals).
func (p *Pusher) next() (*entry, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	wait := time.Duration(-1)
	for i, k := range p.order {
		e := p.pending[k]
		if p.inFlight[k] {
			continue
		}
		if d := e.due.Sub(now); d > 0 {
			if wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		p.order = append(p.order[:i:i], p.order[i+1:]...)
		delete(p.pending, k)
		p.inFlight[k] = true
		return e, 0
	}
	return nil, wait
}

// done ends a push's flight: a wake that came meanwhile may go now.
func (p *Pusher) done(t Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inFlight, key{t.TenantID, t.DeviceID})
	p.signal()
}

// Len is the number of pushes waiting, retries included.
func (p *Pusher) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}
