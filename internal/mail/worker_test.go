package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
	"steward/internal/store/sqlstore"
)

// fastOpts make a worker retry within milliseconds.
var fastOpts = []WorkerOption{WithPollInterval(10 * time.Millisecond), WithBackoff(time.Millisecond), WithMaxBackoff(5 * time.Millisecond), WithSendTimeout(5 * time.Second)}

const testLink = "https://steward.test/activate?token=link-secret-5d2e"

// enqueue commits one activation email for ada@example.com and returns its id.
func enqueue(t *testing.T, store *sqlstore.Store, m *Mailer) int64 {
	t.Helper()
	msg, err := m.Enqueue(t.Context(), store.Outbox(), tenantA, TemplateAdminActivation, "ada@example.com", activation(testLink))
	if err != nil {
		t.Fatal(err)
	}
	return msg.ID
}

func newWorker(t *testing.T, outbox mdm.OutboxStore, m *Mailer, smtpURL string, opts ...WorkerOption) (*Worker, *logBuffer) {
	t.Helper()
	log, buf := testLogger(t)
	w, err := NewWorker(outbox, m, smtpURL, "Steward Test <mdm@steward.test>", log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w, buf
}

func checkNoSecretsLogged(t *testing.T, logs *logBuffer) {
	t.Helper()
	if s := logs.String(); strings.Contains(s, "link-secret") || strings.Contains(s, "Activate") {
		t.Errorf("the log shows a body or link:\n%s", s)
	}
}

// Test (1): a queued message is delivered with the right envelope, headers and both parts, and its
// status becomes SENT with SentAt set by the worker's clock.
func TestWorkerDelivers(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false)
	mailer := NewMailer(testKeys(t), func() time.Time { return fixedNow })
	id := enqueue(t, store, mailer)
	sentAt := fixedNow.Add(3 * time.Second)
	w, logs := newWorker(t, store.Outbox(), mailer, "smtp://"+srv.Addr, append(fastOpts, WithClock(func() time.Time { return sentAt }))...)
	runWorker(t, w)

	waitFor(t, "status SENT", func() bool { return getMail(t, store, id).Status == mdm.MailSent })
	got := getMail(t, store, id)
	if got.SentAt == nil || !got.SentAt.Equal(sentAt) || got.Attempts != 1 || got.LastError != "" {
		t.Errorf("after sending: SentAt %v, Attempts %d, LastError %q; want SentAt %v, 1 attempt, no error", got.SentAt, got.Attempts, got.LastError, sentAt)
	}

	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	if diff := cmp.Diff(received{From: "mdm@steward.test", To: []string{"ada@example.com"}}, msgs[0], cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Data"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	p := parseMail(t, msgs[0].Data)
	headers := map[string]string{
		"To":                   p.Header.Get("To"),
		"From":                 p.Header.Get("From"),
		"Subject":              p.Subject,
		"X-Steward-Message-Id": p.Header.Get("X-Steward-Message-Id"),
		"Message-Id":           p.Header.Get("Message-Id"),
		"Auto-Submitted":       p.Header.Get("Auto-Submitted"),
		"Content-Type":         p.ContentType,
	}
	wantHeaders := map[string]string{
		"To":                   "<ada@example.com>",
		"From":                 `"Steward Test" <mdm@steward.test>`,
		"Subject":              "Activate your Steward administrator account for Acme",
		"X-Steward-Message-Id": strconv.FormatInt(id, 10),
		"Message-Id":           "<steward." + strconv.FormatInt(id, 10) + "." + strconv.FormatInt(fixedNow.UnixMilli(), 10) + "@steward.test>",
		"Auto-Submitted":       "auto-generated",
		"Content-Type":         "multipart/alternative",
	}
	if diff := cmp.Diff(wantHeaders, headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	want, err := mailer.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"text/plain": want.Text, "text/html": want.HTML}, p.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if !strings.Contains(p.Parts["text/plain"], testLink) {
		t.Error("the text part lacks the link")
	}
	checkNoSecretsLogged(t, logs)
}

// Test (2): with no SMTP server listening the message stays QUEUED and records the error; once a
// server listens on that port it is delivered exactly once.
func TestWorkerSMTPDown(t *testing.T) {
	store, _ := openStore(t)
	addr := freeAddr(t)
	mailer := NewMailer(testKeys(t), nil)
	id := enqueue(t, store, mailer)
	w, logs := newWorker(t, store.Outbox(), mailer, "smtp://"+addr, append(fastOpts, WithMaxAttempts(1000))...)
	runWorker(t, w)

	waitFor(t, "a failed attempt", func() bool {
		m := getMail(t, store, id)
		return m.Status == mdm.MailQueued && m.Attempts > 0 && m.LastError != ""
	})
	m := getMail(t, store, id)
	if !strings.Contains(m.LastError, "refused") {
		t.Errorf("LastError = %q, want a connection error", m.LastError)
	}

	srv := startServer(t, addr, nil, false)
	waitFor(t, "status SENT", func() bool { return getMail(t, store, id).Status == mdm.MailSent })
	if n := len(srv.messages()); n != 1 {
		t.Errorf("server received %d messages, want 1", n)
	}
	if got := getMail(t, store, id); got.LastError != "" || got.SentAt == nil {
		t.Errorf("after sending: LastError %q, SentAt %v", got.LastError, got.SentAt)
	}
	checkNoSecretsLogged(t, logs)
}

// Test (3): a temporary rejection of DATA is retried, and the message is delivered once.
func TestWorkerRetriesTemporaryRejection(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false, withDataHook(func(call int) error {
		if call == 1 {
			return tempFailure
		}
		return nil
	}))
	mailer := NewMailer(testKeys(t), nil)
	id := enqueue(t, store, mailer)
	w, _ := newWorker(t, store.Outbox(), mailer, "smtp://"+srv.Addr, fastOpts...)
	runWorker(t, w)

	waitFor(t, "status SENT", func() bool { return getMail(t, store, id).Status == mdm.MailSent })
	if got := getMail(t, store, id); got.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", got.Attempts)
	}
	if n := len(srv.messages()); n != 1 {
		t.Errorf("server accepted %d messages, want 1", n)
	}
}

// Test (4): after the last attempt the message is FAILED and no longer claimed.
func TestWorkerGivesUp(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false, withDataHook(func(int) error { return tempFailure }))
	mailer := NewMailer(testKeys(t), nil)
	id := enqueue(t, store, mailer)
	w, logs := newWorker(t, store.Outbox(), mailer, "smtp://"+srv.Addr, append(fastOpts, WithMaxAttempts(3))...)
	stop := runWorker(t, w)

	waitFor(t, "status FAILED", func() bool { return getMail(t, store, id).Status == mdm.MailFailed })
	stop()
	got := getMail(t, store, id)
	if got.Attempts != 3 || !strings.Contains(got.LastError, "451") || got.SentAt != nil {
		t.Errorf("failed message: Attempts %d, LastError %q, SentAt %v; want 3 attempts and the 451 reply", got.Attempts, got.LastError, got.SentAt)
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("server accepted %d messages", n)
	}
	checkNoSecretsLogged(t, logs)
	if !strings.Contains(logs.String(), "giving up") {
		t.Errorf("no log line for giving up:\n%s", logs.String())
	}
}

// countingOutbox counts claims, so that a test knows when the worker has looked at the outbox.
type countingOutbox struct {
	mdm.OutboxStore
	claims  atomic.Int32
	onClaim func() // runs after each claim
}

func (c *countingOutbox) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]mdm.MailMessage, error) {
	defer c.claims.Add(1)
	msgs, err := c.OutboxStore.Claim(ctx, now, leaseUntil, limit)
	if c.onClaim != nil {
		c.onClaim()
	}
	return msgs, err
}

func TestWorkerWake(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false)
	mailer := NewMailer(testKeys(t), nil)
	outbox := &countingOutbox{OutboxStore: store.Outbox()}
	w, _ := newWorker(t, outbox, mailer, "smtp://"+srv.Addr, WithPollInterval(time.Hour))
	runWorker(t, w)
	waitFor(t, "the first claim", func() bool { return outbox.claims.Load() == 1 })

	id := enqueue(t, store, mailer)
	w.Wake()
	waitFor(t, "status SENT", func() bool { return getMail(t, store, id).Status == mdm.MailSent })
}

func TestWorkerDrainsFullBatches(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false)
	mailer := NewMailer(testKeys(t), nil)
	for range 5 {
		enqueue(t, store, mailer)
	}
	w, _ := newWorker(t, store.Outbox(), mailer, "smtp://"+srv.Addr, WithPollInterval(time.Hour), WithBatchSize(2))
	runWorker(t, w)
	waitFor(t, "five deliveries", func() bool { return len(srv.messages()) == 5 })
}

// When the lease would run out before a send could finish, the worker hands the claimed messages back
// instead of sending them: another worker may claim them once the lease has expired.
func TestWorkerRespectsLease(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false)
	mailer := NewMailer(testKeys(t), func() time.Time { return fixedNow })
	a, b := enqueue(t, store, mailer), enqueue(t, store, mailer)
	var clock atomic.Int64
	clock.Store(fixedNow.UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	// Sending took so long that less than one send timeout of the lease is left.
	outbox := &countingOutbox{OutboxStore: store.Outbox(), onClaim: func() { clock.Add((90 * time.Second).Milliseconds()) }}
	w, _ := newWorker(t, outbox, mailer, "smtp://"+srv.Addr, WithClock(now), WithLease(2*time.Minute), WithSendTimeout(time.Minute))

	if full := w.runBatch(t.Context()); !full {
		t.Error("runBatch reported no more work after releasing its batch")
	}
	for _, id := range []int64{a, b} {
		got := getMail(t, store, id)
		if got.Status != mdm.MailQueued || !got.NextAttemptAt.Equal(now()) {
			t.Errorf("message %d: status %s, next attempt %v; want QUEUED and due at %v", id, got.Status, got.NextAttemptAt, now())
		}
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

// Cancelling Run's context aborts a send in progress at once (here the server never answers DATA),
// and the message is handed back, due again.
func TestWorkerStopsPromptly(t *testing.T) {
	store, _ := openStore(t)
	release := make(chan struct{})
	var inData atomic.Bool
	srv := startServer(t, "127.0.0.1:0", nil, false, withDataHook(func(int) error {
		inData.Store(true)
		<-release
		return nil
	}))
	t.Cleanup(func() { close(release) }) // runs before the server's cleanup
	mailer := NewMailer(testKeys(t), nil)
	id := enqueue(t, store, mailer)
	w, _ := newWorker(t, store.Outbox(), mailer, "smtp://"+srv.Addr, WithSendTimeout(time.Minute))
	stop := runWorker(t, w)
	waitFor(t, "the server to hold DATA", inData.Load)

	start := time.Now()
	stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to return", d)
	}
	got := getMail(t, store, id)
	if got.Status != mdm.MailQueued || got.NextAttemptAt.After(time.Now()) {
		t.Errorf("interrupted message: status %s, next attempt %v; want QUEUED and due", got.Status, got.NextAttemptAt)
	}
}

// A body that cannot be opened (another server key) fails at once instead of retrying.
func TestWorkerFailsUnreadableMessage(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false)
	id := enqueue(t, store, NewMailer(testKeys(t), nil))
	other := NewMailer(mustKeys(t, 9), nil)
	w, logs := newWorker(t, store.Outbox(), other, "smtp://"+srv.Addr, fastOpts...)
	runWorker(t, w)
	waitFor(t, "status FAILED", func() bool { return getMail(t, store, id).Status == mdm.MailFailed })
	if got := getMail(t, store, id); got.Attempts != 1 || got.LastError == "" {
		t.Errorf("Attempts %d, LastError %q; want 1 attempt and an error", got.Attempts, got.LastError)
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
	checkNoSecretsLogged(t, logs)
}

func TestWorkerTLSAndAuth(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	checkAuth := func(user, pass string) error {
		if user != "relay" || pass != "p@ss:w/rd" {
			return errors.New("bad credentials")
		}
		return nil
	}
	tests := []struct {
		name        string
		scheme      string
		implicitTLS bool
		serverTLS   *tls.Config
		auth        bool
		wantTLS     bool
	}{
		{"STARTTLS offered", "smtp", false, serverTLS, false, true},
		{"STARTTLS with AUTH", "smtp", false, serverTLS, true, true},
		{"implicit TLS with AUTH", "smtps", true, serverTLS, true, true},
		{"plain loopback with AUTH", "smtp", false, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, _ := openStore(t)
			var opts []serverOption
			userinfo := ""
			if tt.auth {
				opts = append(opts, withAuth(checkAuth))
				userinfo = "relay:p%40ss%3Aw%2Frd@"
			}
			srv := startServer(t, "127.0.0.1:0", tt.serverTLS, tt.implicitTLS, opts...)
			mailer := NewMailer(testKeys(t), nil)
			id := enqueue(t, store, mailer)
			w, _ := newWorker(t, store.Outbox(), mailer, tt.scheme+"://"+userinfo+srv.Addr, append(fastOpts, WithTLSConfig(clientTLS))...)
			runWorker(t, w)
			waitFor(t, "status SENT", func() bool { return getMail(t, store, id).Status == mdm.MailSent })
			msgs := srv.messages()
			if len(msgs) != 1 || msgs[0].TLS != tt.wantTLS {
				t.Errorf("server received %d messages (TLS %v), want 1 (TLS %v)", len(msgs), len(msgs) == 1 && msgs[0].TLS, tt.wantTLS)
			}
		})
	}
}

// A wrong password fails the attempt, and the recorded error does not repeat the password.
func TestWorkerAuthFailureHidesPassword(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.1:0", nil, false, withAuth(func(string, string) error { return errors.New("no") }))
	mailer := NewMailer(testKeys(t), nil)
	id := enqueue(t, store, mailer)
	w, logs := newWorker(t, store.Outbox(), mailer, "smtp://relay:hunter2-pw@"+srv.Addr, append(fastOpts, WithMaxAttempts(1))...)
	runWorker(t, w)
	waitFor(t, "status FAILED", func() bool { return getMail(t, store, id).Status == mdm.MailFailed })
	got := getMail(t, store, id)
	if got.LastError == "" || strings.Contains(got.LastError, "hunter2") || strings.Contains(logs.String(), "hunter2") {
		t.Errorf("LastError %q (or the log) is empty or shows the password", got.LastError)
	}
}

func TestNewWorkerConfig(t *testing.T) {
	store, _ := openStore(t)
	mailer := NewMailer(testKeys(t), nil)
	tests := []struct {
		name    string
		url     string
		from    string
		opts    []WorkerOption
		wantErr bool
		want    server
	}{
		{"smtp with port", "smtp://mail.example.com:587", "", nil, false, server{host: "mail.example.com", port: 587}},
		{"smtp default port", "smtp://mail.example.com", "", nil, false, server{host: "mail.example.com", port: 25}},
		{"smtps default port", "smtps://mail.example.com", "", nil, false, server{host: "mail.example.com", port: 465, implicitTLS: true}},
		{"credentials", "smtps://u%40x:p%3Aw@mail.example.com:465", "", nil, false, server{host: "mail.example.com", port: 465, implicitTLS: true, user: "u@x", pass: "p:w"}},
		{"IPv6", "smtp://[::1]:2525", "", nil, false, server{host: "::1", port: 2525}},
		{"empty", "", "", nil, true, server{}},
		{"other scheme", "http://mail.example.com", "", nil, true, server{}},
		{"no host", "smtp://:25", "", nil, true, server{}},
		{"bad port", "smtp://mail.example.com:99999", "", nil, true, server{}},
		{"query", "smtp://mail.example.com?from=x@example.com", "", nil, true, server{}},
		{"path", "smtp://mail.example.com/relay", "", nil, true, server{}},
		{"password without user", "smtp://:secret@mail.example.com", "", nil, true, server{}},
		{"garbage", "smtp://user:pa ss@host:25", "", nil, true, server{}},
		{"bad from", "smtp://mail.example.com", "not an address", nil, true, server{}},
		{"lease not above timeout", "smtp://mail.example.com", "", []WorkerOption{WithSendTimeout(time.Minute), WithLease(time.Minute)}, true, server{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWorker(store.Outbox(), mailer, tt.url, tt.from, nil, tt.opts...)
			if tt.wantErr {
				if err == nil {
					t.Fatal("NewWorker succeeded")
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "pa ss") {
					t.Errorf("error repeats the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, w.server, cmp.AllowUnexported(server{})); diff != "" {
				t.Errorf("server (-want +got):\n%s", diff)
			}
			if w.from.String() != `"Steward" <no-reply@localhost>` || w.domain != "localhost" {
				t.Errorf("default sender = %s (domain %s)", w.from, w.domain)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	w := &Worker{backoffBase: 10 * time.Second, backoffMax: time.Hour}
	tests := []struct {
		attempt int
		max     time.Duration
	}{
		{1, 10 * time.Second},
		{2, 20 * time.Second},
		{3, 40 * time.Second},
		{9, 2560 * time.Second},
		{10, time.Hour},
		{20, time.Hour},
		{1000, time.Hour},
	}
	for _, tt := range tests {
		for range 50 {
			if d := w.backoff(tt.attempt); d < tt.max/2 || d > tt.max {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.max/2, tt.max)
			}
		}
	}
}

func TestScrub(t *testing.T) {
	w := &Worker{server: server{pass: "s3cret"}}
	got := w.scrub(errors.New("535 auth failed for s3cret\r\nsecond line " + strings.Repeat("é", 600)))
	if strings.Contains(got, "s3cret") || strings.ContainsAny(got, "\r\n") || len(got) > 500 || !strings.HasPrefix(got, "535 auth failed for *** second line") {
		t.Errorf("scrub = %q (%d bytes)", got, len(got))
	}
}

// TestWorkerRequiresTLSBeyondLoopback: to a server that is not on loopback, mail goes only over TLS, so
// nobody on the path can read one-time links by stripping STARTTLS. 127.0.0.2 is on this machine but is
// not one of the loopback names the worker trusts, so it stands in for a remote relay.
func TestWorkerRequiresTLSBeyondLoopback(t *testing.T) {
	store, _ := openStore(t)
	srv := startServer(t, "127.0.0.2:0", nil, false) // no STARTTLS offered
	mailer := NewMailer(testKeys(t), nil)
	id := enqueue(t, store, mailer)
	w, _ := newWorker(t, store.Outbox(), mailer, "smtp://"+srv.Addr, append(fastOpts, WithMaxAttempts(1000))...)
	runWorker(t, w)
	waitFor(t, "a failed attempt", func() bool {
		m := getMail(t, store, id)
		return m.Attempts > 0 && m.LastError != ""
	})
	if m := getMail(t, store, id); m.Status == mdm.MailSent || len(srv.messages()) != 0 {
		t.Fatalf("sent without TLS: status %s, %d received", m.Status, len(srv.messages()))
	}
}
