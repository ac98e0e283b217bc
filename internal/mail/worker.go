package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"steward/internal/mdm"
)

// DefaultMaxAttempts keeps a message retrying through about three days of SMTP outage (the backoff
// reaches its one-hour cap after a few attempts), as long as the links in it stay valid.
const DefaultMaxAttempts = 80

// DefaultFrom is the sender when NewWorker is given none.
const DefaultFrom = "Steward <no-reply@localhost>"

// Worker sends due outbox messages over SMTP. Delivery is at least once: a message whose sending
// outlived its lease (a crash between the SMTP "250" and MarkSent) is sent again. Every message
// carries the header X-Steward-Message-Id and a Message-ID that is stable across attempts, so
// duplicates can be spotted.
type Worker struct {
	outbox    mdm.OutboxStore
	mailer    *Mailer
	server    server
	from      *mail.Address
	domain    string
	log       *slog.Logger
	tlsConfig *tls.Config

	poll        time.Duration
	lease       time.Duration
	sendTimeout time.Duration
	backoffBase time.Duration
	backoffMax  time.Duration
	batch       int
	maxAttempts int
	now         func() time.Time

	wake chan struct{}
}

// WorkerOption configures a Worker.
type WorkerOption func(*Worker)

// WithPollInterval sets how often the worker looks for due messages when nobody wakes it
// (default 2 s).
func WithPollInterval(d time.Duration) WorkerOption {
	return func(w *Worker) {
		if d > 0 {
			w.poll = d
		}
	}
}

// WithBatchSize sets how many messages one claim leases (default 20).
func WithBatchSize(n int) WorkerOption {
	return func(w *Worker) {
		if n > 0 {
			w.batch = n
		}
	}
}

// WithMaxAttempts sets after how many attempts a message is marked FAILED (default DefaultMaxAttempts).
func WithMaxAttempts(n int) WorkerOption {
	return func(w *Worker) {
		if n > 0 {
			w.maxAttempts = n
		}
	}
}

// WithBackoff sets the delay before the first retry (default 10 s); it doubles with each further
// attempt, with jitter, up to the WithMaxBackoff cap.
func WithBackoff(base time.Duration) WorkerOption {
	return func(w *Worker) {
		if base > 0 {
			w.backoffBase = base
		}
	}
}

// WithMaxBackoff caps the delay between attempts (default 1 h).
func WithMaxBackoff(d time.Duration) WorkerOption {
	return func(w *Worker) {
		if d > 0 {
			w.backoffMax = d
		}
	}
}

// WithSendTimeout bounds one delivery: dial, TLS, AUTH and the whole SMTP exchange (default 30 s).
func WithSendTimeout(d time.Duration) WorkerOption {
	return func(w *Worker) {
		if d > 0 {
			w.sendTimeout = d
		}
	}
}

// WithLease sets how long a claimed message stays reserved for this worker before another may take it
// (default 2 min). It must exceed the send timeout.
func WithLease(d time.Duration) WorkerOption {
	return func(w *Worker) {
		if d > 0 {
			w.lease = d
		}
	}
}

// WithClock sets the clock used for claiming, retry times and SentAt (default time.Now).
func WithClock(now func() time.Time) WorkerOption {
	return func(w *Worker) {
		if now != nil {
			w.now = now
		}
	}
}

// WithTLSConfig sets the TLS configuration for STARTTLS and smtps (for example a private CA). The
// server name defaults to the URL's host.
func WithTLSConfig(c *tls.Config) WorkerOption {
	return func(w *Worker) {
		if c != nil {
			w.tlsConfig = c
		}
	}
}

// NewWorker returns a worker that sends outbox messages through the SMTP server at smtpURL:
// smtp://[user:pass@]host[:port] (STARTTLS when the server offers it, plain otherwise; port 25 by
// default) or smtps://[user:pass@]host[:port] (implicit TLS; port 465 by default). from is the sender
// ("Name <address>" or a bare address; DefaultFrom when empty). log may be nil.
func NewWorker(outbox mdm.OutboxStore, mailer *Mailer, smtpURL, from string, log *slog.Logger, opts ...WorkerOption) (*Worker, error) {
	if outbox == nil || mailer == nil {
		return nil, errors.New("mail worker needs an outbox and a mailer")
	}
	srv, err := parseSMTPURL(smtpURL)
	if err != nil {
		return nil, err
	}
	if from == "" {
		from = DefaultFrom
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail sender %q is invalid: %w", from, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{
		outbox:      outbox,
		mailer:      mailer,
		server:      srv,
		from:        addr,
		domain:      addr.Address[strings.LastIndexByte(addr.Address, '@')+1:],
		log:         log,
		tlsConfig:   &tls.Config{},
		poll:        2 * time.Second,
		lease:       2 * time.Minute,
		sendTimeout: 30 * time.Second,
		backoffBase: 10 * time.Second,
		backoffMax:  time.Hour,
		batch:       20,
		maxAttempts: DefaultMaxAttempts,
		now:         time.Now,
		wake:        make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(w)
	}
	if w.lease <= w.sendTimeout {
		return nil, errors.New("mail worker lease must be longer than the send timeout")
	}
	return w, nil
}

// Wake makes Run look for due messages at once instead of at its next poll. It never blocks; call it
// after a transaction that enqueued mail commits.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run claims and sends due messages until ctx is done, then returns. A send in progress is aborted
// when ctx is cancelled and the message is released for the next run. Run one Run per Worker; several
// workers (replicas) may share one outbox.
func (w *Worker) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.wake:
		}
		full := w.runBatch(ctx)
		if full {
			timer.Reset(0) // more may be due
		} else {
			timer.Reset(w.poll)
		}
	}
}

// runBatch claims one batch and delivers it. It reports whether the batch was full.
func (w *Worker) runBatch(ctx context.Context) bool {
	now := w.now()
	leaseUntil := now.Add(w.lease)
	msgs, err := w.outbox.Claim(ctx, now, leaseUntil, w.batch)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("mail outbox claim failed", "error", err)
		}
		return false
	}
	for i := range msgs {
		if ctx.Err() != nil {
			w.release(ctx, msgs[i:])
			return false
		}
		// A slow server must not make us send past our lease, when another worker may claim the rest.
		if w.now().Add(w.sendTimeout).After(leaseUntil) {
			w.release(ctx, msgs[i:])
			return true
		}
		w.deliver(ctx, &msgs[i])
	}
	return len(msgs) == w.batch
}

// release hands claimed but unsent messages back, due at once, so that the next worker does not wait
// for their lease to expire.
func (w *Worker) release(ctx context.Context, msgs []mdm.MailMessage) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := w.now()
	for _, m := range msgs {
		if err := w.outbox.MarkRetry(bg, m.ID, now, m.LastError, false); err != nil {
			w.log.Warn("mail release failed", "outbox_id", m.ID, "error", err)
		}
	}
}

// deliver sends one claimed message and records the outcome.
func (w *Worker) deliver(ctx context.Context, m *mdm.MailMessage) {
	log := w.log.With("outbox_id", m.ID, "template", m.Template, "tenant_id", m.TenantID, "attempt", m.Attempts)
	// The outcome is recorded even when ctx was cancelled during the send.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()

	r, err := w.mailer.Open(m)
	if err != nil {
		// Retrying cannot help: the body was sealed under another key or for another message.
		log.Error("mail cannot be opened; giving up", "error", err)
		if err := w.outbox.MarkRetry(bg, m.ID, w.now(), "cannot open sealed body", true); err != nil {
			log.Warn("mail status update failed", "error", err)
		}
		return
	}

	sendCtx, cancelSend := context.WithTimeout(ctx, w.sendTimeout)
	err = w.send(sendCtx, m, r)
	cancelSend()

	if err == nil {
		if err := w.outbox.MarkSent(bg, m.ID, w.now()); err != nil {
			// The message went out; if the row stays SENDING it is sent again after the lease.
			log.Error("mail sent but not marked sent", "error", err)
			return
		}
		log.Info("mail sent")
		return
	}

	lastErr := w.scrub(err)
	failed := m.Attempts >= w.maxAttempts
	next := w.now().Add(w.backoff(m.Attempts))
	if ctx.Err() != nil {
		next = w.now() // interrupted by shutdown, not the server's fault: due again at once
		failed = false
	}
	if err := w.outbox.MarkRetry(bg, m.ID, next, lastErr, failed); err != nil {
		log.Warn("mail status update failed", "error", err)
	}
	if failed {
		log.Error("mail failed; giving up", "error", lastErr)
	} else {
		log.Warn("mail send failed; will retry", "error", lastErr, "next_attempt_at", next)
	}
}

// send delivers one message over one SMTP connection.
func (w *Worker) send(ctx context.Context, m *mdm.MailMessage, r Rendered) error {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(w.from)
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(r.Subject)
	msg.SetMessageIDWithValue("steward." + strconv.FormatInt(m.ID, 10) + "." + strconv.FormatInt(m.CreatedAt.UnixMilli(), 10) + "@" + w.domain)
	msg.SetDateWithValue(w.now())
	msg.SetUserAgent("Steward")
	msg.SetGenHeader("X-Steward-Message-Id", strconv.FormatInt(m.ID, 10))
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)

	c, err := w.client(ctx)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}

// backoff is the delay after the given attempt: base doubled per attempt, capped, with jitter in
// [d/2, d] so that messages that failed together do not retry together.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.backoffBase
	for i := 1; i < attempt && d < w.backoffMax; i++ {
		d *= 2
	}
	d = min(d, w.backoffMax)
	half := d / 2
	return half + rand.N(d-half+1)
}

// scrub makes a send error fit LastError: one line, no credentials, at most 500 bytes.
func (w *Worker) scrub(err error) string {
	s := err.Error()
	if w.server.pass != "" {
		s = strings.ReplaceAll(s, w.server.pass, "***")
	}
	s = oneLine(s, 500)
	for len(s) > 500 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
