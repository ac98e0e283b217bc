package apns

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// APNs base URLs.
const (
	Production  = "https://api.push.apple.com"
	Development = "https://api.sandbox.push.apple.com"
)

// CertSource returns a tenant's push certificate.
type CertSource func(ctx context.Context, tenant mdm.TenantID) (*PushCertificate, error)

// MagicSource returns the PushMagic a device sent in its TokenUpdate.
type MagicSource func(ctx context.Context, tenant mdm.TenantID, device mdm.DeviceID) (string, error)

// Pusher sends MDM wake-up pushes: Wake and Push queue them (bounded, one per device however often it
// is woken), Run takes them from the queue and sends up to a few at once over each tenant's HTTP/2
// connection, retrying when APNs is busy or failing.
type Pusher struct {
	base        string
	certs       CertSource
	magic       MagicSource
	onInvalid   func(ctx context.Context, tenant mdm.TenantID, device mdm.DeviceID, token string)
	log         *slog.Logger
	roots       *x509.CertPool
	max         int
	concurrency int
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	timeout     time.Duration
	now         func() time.Time
	after       func(time.Duration) <-chan time.Time

	mu       sync.Mutex
	pending  map[key]*entry
	order    []key
	wake     chan struct{}
	inFlight map[key]bool

	// The senders' state.
	stateMu sync.Mutex
	clients map[mdm.TenantID]*tenantClient
	failing map[mdm.TenantID]string // the certificate trouble last logged, until a push succeeds again
}

type tenantClient struct {
	leaf   []byte
	client *http.Client
}

// Option configures a Pusher.
type Option func(*Pusher)

// WithBaseURL sets the APNs server (default Production).
func WithBaseURL(u string) Option { return func(p *Pusher) { p.base = strings.TrimRight(u, "/") } }

// WithRootCAs sets the CAs trusted for the APNs server (default: the system's).
func WithRootCAs(pool *x509.CertPool) Option { return func(p *Pusher) { p.roots = pool } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(p *Pusher) { p.log = l } }

// WithOnInvalid sets what to do when APNs says a device's token is no longer valid (410 Unregistered,
// 400 BadDeviceToken): typically clear it from the device, unless the device has reported another since.
// token is the refused one, as the push's Target carried it. It may be called from several goroutines
// at once.
func WithOnInvalid(f func(ctx context.Context, tenant mdm.TenantID, device mdm.DeviceID, token string)) Option {
	return func(p *Pusher) { p.onInvalid = f }
}

// WithQueueSize bounds the pushes waiting (default 10,000); wakes beyond it are dropped and logged.
func WithQueueSize(n int) Option { return func(p *Pusher) { p.max = max(n, 1) } }

// WithConcurrency sets how many pushes may be in flight at once (default 64): a push waits for its
// answer, so one at a time would drain a fan-out at one push per round trip to Apple (HTTP/2 carries
// them as streams of one connection per tenant). A device never has two pushes in flight.
func WithConcurrency(n int) Option { return func(p *Pusher) { p.concurrency = max(n, 1) } }

// WithRetry sets the attempts per push (default 5) and the backoff between them, doubling from min up
// to max (default 1s to 1m); a Retry-After header from APNs takes precedence.
func WithRetry(attempts int, min, max time.Duration) Option {
	return func(p *Pusher) { p.maxAttempts, p.minBackoff, p.maxBackoff = attempts, min, max }
}

// WithTimeout bounds one attempt: connecting, sending and waiting for the answer (default 30 s). An
// attempt that outlives it counts as failed and is retried with the backoff.
func WithTimeout(d time.Duration) Option {
	return func(p *Pusher) {
		if d > 0 {
			p.timeout = d
		}
	}
}

// New returns a Pusher; it sends nothing until Run.
func New(certs CertSource, magic MagicSource, opts ...Option) *Pusher {
	p := &Pusher{
		base: Production, certs: certs, magic: magic, log: slog.Default(),
		max: 10000, concurrency: 64, maxAttempts: 5, minBackoff: time.Second, maxBackoff: time.Minute, timeout: 30 * time.Second,
		now: time.Now, after: time.After,
		pending: map[key]*entry{}, wake: make(chan struct{}, 1), inFlight: map[key]bool{},
		clients: map[mdm.TenantID]*tenantClient{}, failing: map[mdm.TenantID]string{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

var _ devices.Waker = (*Pusher)(nil)

// Wake queues a push for each Apple target; other platforms are not APNs's to wake. The push magic
// comes from the MagicSource when the push is sent.
func (p *Pusher) Wake(ctx context.Context, targets []devices.WakeTarget) {
	for _, t := range targets {
		if t.Platform != mdm.PlatformIOS {
			continue
		}
		p.Push(Target{TenantID: t.TenantID, DeviceID: t.DeviceID, Token: t.PushToken})
	}
}

// Push queues one push. It reports false when the queue is full and the push was dropped.
func (p *Pusher) Push(t Target) bool {
	if p.enqueue(t) {
		return true
	}
	p.log.Warn("apns: queue full, push dropped", "tenant", t.TenantID, "device", t.DeviceID)
	return false
}

// Run sends queued pushes until ctx ends, then waits for the pushes in flight. Call it once.
func (p *Pusher) Run(ctx context.Context) error {
	slots := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		p.stateMu.Lock()
		defer p.stateMu.Unlock()
		for _, c := range p.clients {
			c.client.CloseIdleConnections()
		}
	}()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		e, wait := p.next()
		if e != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.send(ctx, e)
				<-slots
				p.done(e.t)
			}()
			continue
		}
		<-slots
		var timer <-chan time.Time
		if wait >= 0 {
			timer = p.after(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.wake:
		case <-timer:
		}
	}
}

// send makes one attempt and decides what follows: done, retry later, or give up.
func (p *Pusher) send(ctx context.Context, e *entry) {
	t := e.t
	log := p.log.With("tenant", t.TenantID, "device", t.DeviceID)
	cert, err := p.certs(ctx, t.TenantID)
	if err != nil || cert == nil {
		p.certTrouble(t.TenantID, "apns: no push certificate, push dropped", "err", err)
		return
	}
	if p.now().After(cert.NotAfter) { // APNs would refuse the handshake: retrying cannot help
		p.certTrouble(t.TenantID, "apns: push certificate expired, pushes dropped", "topic", cert.Topic, "not_after", cert.NotAfter)
		return
	}
	token, err := tokenHex(t.Token)
	if err != nil {
		log.Warn("apns: unreadable push token, push dropped", "err", err)
		return
	}
	magic := t.Magic
	if magic == "" && p.magic != nil {
		if magic, err = p.magic(ctx, t.TenantID, t.DeviceID); err != nil {
			log.Warn("apns: no push magic, push dropped", "err", err)
			return
		}
	}
	if magic == "" {
		log.Warn("apns: no push magic, push dropped")
		return
	}

	status, reason, retryAfter, err := p.post(ctx, p.client(t.TenantID, cert), cert.Topic, token, magic)
	switch {
	case ctx.Err() != nil:
		return
	case err == nil && status == http.StatusOK:
		p.stateMu.Lock()
		delete(p.failing, t.TenantID)
		p.stateMu.Unlock()
	case err == nil && (status == http.StatusGone || status == http.StatusBadRequest && reason == "BadDeviceToken"):
		log.Info("apns: device token no longer valid", "status", status, "reason", reason)
		if p.onInvalid != nil {
			p.onInvalid(ctx, t.TenantID, t.DeviceID, t.Token)
		}
	case err == nil && status == http.StatusForbidden:
		p.certTrouble(t.TenantID, "apns: push certificate refused, pushes dropped", "reason", reason)
	case err != nil || status == http.StatusTooManyRequests || status >= 500:
		e.attempts++
		if e.attempts >= p.maxAttempts {
			log.Warn("apns: push failed, giving up", "attempts", e.attempts, "status", status, "reason", reason, "err", err)
			return
		}
		delay := retryAfter
		if delay < 0 {
			delay = p.maxBackoff
			if e.attempts <= 30 { // beyond, the shift would overflow
				delay = min(p.minBackoff<<(e.attempts-1), p.maxBackoff)
			}
		}
		p.requeue(e, p.now().Add(delay))
	default:
		log.Warn("apns: push refused", "status", status, "reason", reason)
	}
}

// certTrouble logs a tenant's certificate problem once per burst: not again until one of its pushes
// succeeds or the problem changes (no certificate, then an expired one).
func (p *Pusher) certTrouble(tenant mdm.TenantID, msg string, args ...any) {
	p.stateMu.Lock()
	logged := p.failing[tenant] == msg
	p.failing[tenant] = msg
	p.stateMu.Unlock()
	if logged {
		return
	}
	p.log.Error(msg, append([]any{"tenant", tenant}, args...)...)
}

// post sends one push. retryAfter is negative when APNs gave none.
func (p *Pusher) post(ctx context.Context, c *http.Client, topic, token, magic string) (status int, reason string, retryAfter time.Duration, err error) {
	body, _ := json.Marshal(map[string]string{"mdm": magic})
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/3/device/"+token, bytes.NewReader(body))
	if err != nil {
		return 0, "", -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("apns-topic", topic)
	req.Header.Set("apns-push-type", "mdm")
	req.Header.Set("apns-priority", "10")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL: the device token stays out of the log
		}
		return 0, "", -1, err
	}
	defer resp.Body.Close()
	var answer struct {
		Reason string `json:"reason"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = json.Unmarshal(raw, &answer) // a 200 has no body; an error's reason is only for the log
	return resp.StatusCode, answer.Reason, parseRetryAfter(resp.Header.Get("Retry-After"), p.now()), nil
}

// parseRetryAfter reads seconds or an HTTP date; -1 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return -1
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return -1
}

// client returns the tenant's HTTP/2 client, built anew when its certificate changed.
func (p *Pusher) client(tenant mdm.TenantID, cert *PushCertificate) *http.Client {
	leaf := cert.Cert.Certificate[0]
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	if c, ok := p.clients[tenant]; ok {
		if bytes.Equal(c.leaf, leaf) {
			return c.client
		}
		c.client.CloseIdleConnections()
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{cert.Cert},
			RootCAs:      p.roots,
			MinVersion:   tls.VersionTLS12,
		},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     10 * time.Minute,
		Protocols:           new(http.Protocols),
	}
	tr.Protocols.SetHTTP2(true) // APNs speaks HTTP/2 only
	c := &tenantClient{leaf: leaf, client: &http.Client{Transport: tr}}
	p.clients[tenant] = c
	return c.client
}

// tokenHex gives the token as APNs wants it in the path: lowercase hex. TokenUpdate carries the token
// as data (base64 in XML plists); a token already in hex is taken as it is.
func tokenHex(tok string) (string, error) {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", errors.New("empty token")
	}
	if b, err := hex.DecodeString(tok); err == nil {
		return hex.EncodeToString(b), nil
	}
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return "", errors.New("token is neither hex nor base64")
	}
	return hex.EncodeToString(b), nil
}
