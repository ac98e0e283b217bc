package android

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// PushConfig configures the wake-up sender: an FCM HTTP v1 style service at URL, for Project, with Key
// as its Bearer credential.
type PushConfig struct {
	URL     string // base URL, e.g. https://fcm.googleapis.com
	Project string
	Key     string
	Client  *http.Client // default: a client with a 10 s timeout

	MaxQueue    int           // devices waiting to be woken; wakes beyond it are dropped (default 10,000)
	MaxAttempts int           // sends of one wake before it is given up (default 5)
	Backoff     time.Duration // delay before the first retry, doubling up to MaxBackoff (default 1 s)
	MaxBackoff  time.Duration // default 1 min; also caps a Retry-After
	Workers     int           // concurrent sends (default 4)

	// Unregistered is told of a token the push service does not know (it may clear the device's token).
	Unregistered func(ctx context.Context, t devices.WakeTarget)
}

// Pusher wakes Android devices through the push service. Wake only queues: one worker (Run) sends in
// the background, so an API call never waits on the push service. Repeated wakes of one device before
// it is sent coalesce into one message. It implements devices.Waker.
type Pusher struct {
	cfg      PushConfig
	endpoint string
	log      *slog.Logger
	signal   chan struct{}

	mu          sync.Mutex
	pending     map[wakeKey]*wake
	authFailing bool // a 401/403 was logged; quiet until a send succeeds again

	sent, dropped, unregistered atomic.Int64
}

type wakeKey struct {
	tenant mdm.TenantID
	device mdm.DeviceID
}

type wake struct {
	target    devices.WakeTarget
	attempts  int
	notBefore time.Time
}

var _ devices.Waker = (*Pusher)(nil)

// NewPusher returns a sender for cfg; call Run to start sending.
func NewPusher(cfg PushConfig, log *slog.Logger) *Pusher {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 10_000
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	return &Pusher{cfg: cfg, log: log, signal: make(chan struct{}, 1), pending: map[wakeKey]*wake{},
		endpoint: strings.TrimRight(cfg.URL, "/") + "/v1/projects/" + url.PathEscape(cfg.Project) + "/messages:send"}
}

// Wake queues a wake-up for each Android target that registered a push token.
func (p *Pusher) Wake(_ context.Context, targets []devices.WakeTarget) {
	p.mu.Lock()
	queued := false
	for _, t := range targets {
		if t.Platform != mdm.PlatformAndroid || t.PushToken == "" {
			continue
		}
		k := wakeKey{t.TenantID, t.DeviceID}
		if w, ok := p.pending[k]; ok {
			w.target = t // the newest token wins; the wake is already queued
			continue
		}
		if len(p.pending) >= p.cfg.MaxQueue {
			p.dropped.Add(1)
			continue
		}
		p.pending[k] = &wake{target: t}
		queued = true
	}
	p.mu.Unlock()
	if queued {
		p.poke()
	}
}

func (p *Pusher) poke() {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// PushStats counts what the sender did since it started.
type PushStats struct {
	Queued, Sent, Dropped, Unregistered int64
}

// Stats reports the queue length and the outcome counters.
func (p *Pusher) Stats() PushStats {
	p.mu.Lock()
	n := len(p.pending)
	p.mu.Unlock()
	return PushStats{Queued: int64(n), Sent: p.sent.Load(), Dropped: p.dropped.Load(), Unregistered: p.unregistered.Load()}
}

// Run sends queued wakes until ctx ends. Wakes still queued then are dropped: the devices check in on
// their interval anyway.
func (p *Pusher) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		batch, wait := p.take(time.Now())
		if len(batch) > 0 {
			p.sendAll(ctx, batch)
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-p.signal:
		case <-timer.C:
		}
	}
}

// take removes and returns the wakes due at now, and how long until the next one is due.
func (p *Pusher) take(now time.Time) ([]*wake, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var batch []*wake
	wait := time.Hour
	for k, w := range p.pending {
		if d := w.notBefore.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		batch = append(batch, w)
		delete(p.pending, k)
	}
	return batch, wait
}

func (p *Pusher) sendAll(ctx context.Context, batch []*wake) {
	sem := make(chan struct{}, p.cfg.Workers)
	var wg sync.WaitGroup
	for _, w := range batch {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p.deliver(ctx, w)
		}()
	}
	wg.Wait()
}

// deliver sends one wake and acts on the answer as the push service defines it.
func (p *Pusher) deliver(ctx context.Context, w *wake) {
	status, retryAfter, reason, err := p.send(ctx, w.target.PushToken)
	log := p.log.With("tenant_id", string(w.target.TenantID), "device_id", int64(w.target.DeviceID))
	switch {
	case err == nil && status == http.StatusOK:
		p.sent.Add(1)
		p.mu.Lock()
		p.authFailing = false
		p.mu.Unlock()
	case err == nil && (status == http.StatusNotFound || status == http.StatusBadRequest && reason == "INVALID_ARGUMENT"):
		p.unregistered.Add(1)
		log.InfoContext(ctx, "push token not registered; dropped", "http_status", status)
		if p.cfg.Unregistered != nil {
			p.cfg.Unregistered(ctx, w.target)
		}
	case err == nil && (status == http.StatusUnauthorized || status == http.StatusForbidden):
		p.dropped.Add(1)
		p.mu.Lock()
		first := !p.authFailing
		p.authFailing = true
		p.mu.Unlock()
		if first {
			log.ErrorContext(ctx, "push service refused the key (check --push-key and --push-project)", "http_status", status)
		}
	case err != nil || status == http.StatusTooManyRequests || status >= 500:
		if ctx.Err() != nil {
			return
		}
		p.retry(ctx, w, retryAfter, status, err)
	default:
		p.dropped.Add(1)
		log.WarnContext(ctx, "push refused", "http_status", status, "reason", reason)
	}
}

// retry queues w again after its backoff (or the service's Retry-After), unless it has used its
// attempts or a newer wake of the same device is already queued.
func (p *Pusher) retry(ctx context.Context, w *wake, retryAfter time.Duration, status int, err error) {
	w.attempts++
	if w.attempts >= p.cfg.MaxAttempts {
		p.dropped.Add(1)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		p.log.WarnContext(ctx, "push given up", "tenant_id", string(w.target.TenantID),
			"device_id", int64(w.target.DeviceID), "attempts", w.attempts, "http_status", status, "err", msg)
		return
	}
	delay := p.cfg.Backoff << (w.attempts - 1)
	if delay <= 0 || delay > p.cfg.MaxBackoff {
		delay = p.cfg.MaxBackoff
	}
	if retryAfter > 0 {
		delay = min(retryAfter, p.cfg.MaxBackoff)
	}
	w.notBefore = time.Now().Add(delay)
	p.mu.Lock()
	k := wakeKey{w.target.TenantID, w.target.DeviceID}
	if _, newer := p.pending[k]; !newer {
		p.pending[k] = w
	}
	p.mu.Unlock()
	p.poke()
}

type pushMessage struct {
	Message struct {
		Token string            `json:"token"`
		Data  map[string]string `json:"data"`
	} `json:"message"`
}

// send posts one wake message and returns the status, the Retry-After delay and the error status name
// the service gave ("INVALID_ARGUMENT", …).
func (p *Pusher) send(ctx context.Context, token string) (int, time.Duration, string, error) {
	var m pushMessage
	m.Message.Token = token
	m.Message.Data = map[string]string{"steward": "wake"}
	body, _ := json.Marshal(m)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.cfg.Key)
	res, err := p.cfg.Client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var e struct {
		Error struct {
			Status string `json:"status"`
		} `json:"error"`
	}
	json.Unmarshal(raw, &e)
	return res.StatusCode, retryAfter(res.Header.Get("Retry-After")), e.Error.Status, nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
