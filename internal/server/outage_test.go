package server

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"steward/internal/apple/apns"
	"steward/internal/mail"
	"steward/internal/sim"
	"steward/internal/sim/ios"
)

// gatedInbox is an inbox whose server can refuse every sender with a temporary failure (451), as a
// relay that is up but not accepting mail does.
type gatedInbox struct {
	*inbox
	refuse  atomic.Bool
	refused atomic.Int32
}

func (g *gatedInbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s, err := g.inbox.NewSession(c)
	return &gatedSession{Session: s, g: g}, err
}

type gatedSession struct {
	smtp.Session
	g *gatedInbox
}

func (s *gatedSession) Mail(from string, opts *smtp.MailOptions) error {
	if s.g.refuse.Load() {
		s.g.refused.Add(1)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return s.Session.Mail(from, opts)
}

// startGatedInbox serves SMTP on addr, refusing mail until told otherwise.
func startGatedInbox(t *testing.T, addr string) *gatedInbox {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedInbox{inbox: &inbox{addr: ln.Addr().String()}}
	g.refuse.Store(true)
	g.srv = smtp.NewServer(g)
	g.srv.Domain = "localhost"
	go g.srv.Serve(ln)
	t.Cleanup(func() { g.srv.Close() })
	return g
}

var messageID = regexp.MustCompile(`(?mi)^Message-ID:\s*(<[^>]+>)`)

// TestMailSurvivesSMTPOutage sends invitations while the SMTP relay is down (connection refused),
// then up but refusing (451), then accepting: none is lost and each is delivered exactly once.
func TestMailSurvivesSMTPOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := ln.Addr().String()
	ln.Close()
	e := newAPIEnv(t, "", func(c *Config) {
		c.SMTPURL = "smtp://" + smtpAddr
		c.mailOptions = []mail.WorkerOption{mail.WithPollInterval(50 * time.Millisecond), mail.WithBackoff(100 * time.Millisecond),
			mail.WithMaxBackoff(400 * time.Millisecond)}
	})
	_, ta := e.createTenant("Mailout")
	var to []string
	for i := range 6 {
		addr := fmt.Sprintf("user%d@mailout.example.com", i)
		e.call("POST", "/api/v1/accounts?sendInvite=true", ta, `{"accounts":[{"emailAddress":"`+addr+`"}]}`).must(t, 200, nil)
		to = append(to, addr)
	}

	type outboxRow struct {
		Status   string
		Attempts int
		To       string
	}
	outbox := func() []outboxRow {
		var page struct{ SearchResults []outboxRow }
		e.call("GET", "/api/v1/mail/outbox?rows=100", e.admin(), "").must(t, 200, &page)
		var rows []outboxRow
		for _, r := range page.SearchResults {
			if strings.HasSuffix(r.To, "@mailout.example.com") {
				rows = append(rows, r)
			}
		}
		return rows
	}
	// Every invitation is tried at least twice against the closed port (the backoff lets it retry).
	eventually(t, "every invitation retried while SMTP refuses connections", func() bool {
		rows := outbox()
		for _, r := range rows {
			if r.Status == "SENT" || r.Attempts < 2 {
				return false
			}
		}
		return len(rows) == len(to)
	})

	// The relay comes back on the same address but answers 451 for a while.
	box := startGatedInbox(t, smtpAddr)
	eventually(t, "the relay's temporary refusals seen", func() bool { return box.refused.Load() >= int32(len(to)) })
	if n := box.count(); n != 0 {
		t.Fatalf("%d messages delivered while the relay refused them", n)
	}
	box.refuse.Store(false)

	eventually(t, "every invitation delivered", func() bool { return box.count() >= len(to) })
	// Nothing more arrives: a delivered message is not sent again.
	time.Sleep(600 * time.Millisecond)
	box.mu.Lock()
	messages := append([]string(nil), box.messages...)
	box.mu.Unlock()
	if len(messages) != len(to) {
		t.Errorf("%d messages delivered for %d invitations", len(messages), len(to))
	}
	ids := map[string]int{}
	for _, m := range messages {
		id := messageID.FindStringSubmatch(m)
		if id == nil {
			t.Fatalf("a message without a Message-ID:\n%.500s", m)
		}
		ids[id[1]]++
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
	for _, addr := range to {
		if n := len(box.matching(toLine(addr))); n != 1 {
			t.Errorf("%s got %d invitations, want 1", addr, n)
		}
	}
	for _, r := range outbox() {
		if r.Status != "SENT" {
			t.Errorf("outbox row to %s is %s after delivery", r.To, r.Status)
		}
	}
}

// scriptedAPNs stands in for APNs and answers each push to a device by a script: an error with a
// Retry-After, an error without one, no answer at all (past the sender's timeout), then success.
type scriptedAPNs struct {
	fake     *fakeAPNs
	mu       sync.Mutex
	attempts map[string][]time.Time // by path
}

func newScriptedAPNs(t *testing.T) *scriptedAPNs {
	s := &scriptedAPNs{fake: newFakeAPNs(t), attempts: map[string][]time.Time{}}
	s.fake.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.attempts[r.URL.Path] = append(s.attempts[r.URL.Path], time.Now())
		n := len(s.attempts[r.URL.Path])
		s.mu.Unlock()
		w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000002")
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"reason":"ServiceUnavailable"}`)
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"reason":"InternalServerError"}`)
		case 3: // hangs until the sender gives up
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	})
	return s
}

func (s *scriptedAPNs) times(path string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.attempts[path]...)
}

// TestAPNsOutageRetriesWithBackoff has APNs fail a push with 503 and Retry-After, then 500, then hang
// past the sender's timeout, then accept: the push is retried with growing delays and delivered once,
// and meanwhile iOS and Android devices check in as usual.
func TestAPNsOutageRetriesWithBackoff(t *testing.T) {
	fake := newScriptedAPNs(t)
	const timeout, minBackoff = 300 * time.Millisecond, 400 * time.Millisecond
	e := newAPIEnv(t, "", func(c *Config) {
		c.APNsURL, c.APNsCAFile = fake.fake.srv.URL, fake.fake.caFile
		c.apnsOptions = []apns.Option{apns.WithTimeout(timeout), apns.WithRetry(6, minBackoff, 10*time.Second)}
	})
	_, ta := e.createTenant("Apnsout")
	e.uploadPushCertificate(ta)
	ctx := context.Background()
	_, pin := e.deviceUser(ta, "ios@apnsout.example.com")
	phone := ios.NewDevice(http.DefaultClient, 42, ios.DeviceOptions{})
	if err := phone.Enroll(ctx, e.url, "ios@apnsout.example.com", pin, ""); err != nil {
		t.Fatal(err)
	}
	if err := phone.CheckIn(ctx); err != nil {
		t.Fatal(err)
	}
	_, pin = e.deviceUser(ta, "droid@apnsout.example.com")
	droid := sim.NewDevice(http.DefaultClient, 43, sim.DeviceOptions{})
	if err := droid.Register(ctx, e.url, "droid@apnsout.example.com", pin); err != nil {
		t.Fatal(err)
	}
	id := e.appleDeviceID(ta, phone.State().SerialNumber)
	path := "/3/device/" + phone.PushToken()

	e.act(ta, "lock", id)
	// While APNs fails, both devices are served.
	checkins := 0
	for deadline := time.Now().Add(15 * time.Second); len(fake.times(path)) < 4 && time.Now().Before(deadline); {
		start := time.Now()
		if err := phone.CheckIn(ctx); err != nil {
			t.Fatalf("iOS check-in while APNs fails: %v", err)
		}
		if err := droid.CheckIn(ctx); err != nil {
			t.Fatalf("Android check-in while APNs fails: %v", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("check-ins took %v while APNs fails", took)
		}
		checkins++
		time.Sleep(100 * time.Millisecond)
	}
	if phone.Executed("DeviceLock") != 1 {
		t.Errorf("the iOS device carried out %d locks, want 1 (fetched at its check-in)", phone.Executed("DeviceLock"))
	}
	at := fake.times(path)
	if len(at) < 4 {
		t.Fatalf("APNs saw %d attempts, want 4 (503, 500, timeout, success)", len(at))
	}
	// Nothing more once one went through.
	time.Sleep(2 * time.Second)
	if n := len(fake.times(path)); n != 4 {
		t.Errorf("%d push attempts, want 4: the push was not delivered exactly once after recovery", n)
	}
	gaps := []time.Duration{at[1].Sub(at[0]), at[2].Sub(at[1]), at[3].Sub(at[2])}
	t.Logf("attempt gaps %v, %d check-in rounds served meanwhile", gaps, checkins)
	if gaps[0] < 900*time.Millisecond {
		t.Errorf("retried after %v, before the Retry-After of 1 s", gaps[0])
	}
	if gaps[1] < 2*minBackoff-50*time.Millisecond {
		t.Errorf("second retry after %v, want at least %v", gaps[1], 2*minBackoff)
	}
	if gaps[2] < timeout+4*minBackoff-50*time.Millisecond || gaps[2] <= gaps[1] {
		t.Errorf("retry after the timeout came %v later, want at least %v and more than the previous gap %v",
			gaps[2], timeout+4*minBackoff, gaps[1])
	}
}

// pgProxy relays TCP between Steward and PostgreSQL and can cut every connection and refuse new ones,
// as a database restart looks from the application (the shared server itself is left alone).
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *pgProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close(); c.Close() }()
		go func() { io.Copy(c, up); up.Close(); c.Close() }()
	}
}

// cut closes every relayed connection and refuses new ones until restore.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestPostgresOutageRecovers cuts Steward off PostgreSQL for a few seconds while devices check in and
// the API is called (every connection closed, the database's sessions terminated, new connections
// refused): /readyz answers 503 and requests fail with 503 (never 500) during the outage, and
// afterwards everything works again without restarting Steward.
func TestPostgresOutageRecovers(t *testing.T) {
	base := os.Getenv("STEWARD_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
		}
		t.Skip("STEWARD_TEST_POSTGRES not set")
	}
	direct, err := url.Parse(freshPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startPGProxy(t, direct.Host)
	viaProxy := *direct
	viaProxy.Host = proxy.ln.Addr().String()
	e := newAPIEnv(t, viaProxy.String(), nil)
	_, ta := e.createTenant("Pgout")
	ctx := context.Background()
	var devs []*sim.Device
	for i := range 3 {
		email := fmt.Sprintf("d%d@pgout.example.com", i)
		_, pin := e.deviceUser(ta, email)
		d := sim.NewDevice(http.DefaultClient, uint64(70+i), sim.DeviceOptions{})
		if err := d.Register(ctx, e.url, email, pin); err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d)
	}

	// Load: check-ins, API reads and writes, all the time; every status is counted by phase.
	var phase atomic.Int32 // 0 before, 1 during, 2 after the outage
	var mu sync.Mutex
	statuses := [3]map[int]int{{}, {}, {}}
	record := func(status int) {
		mu.Lock()
		statuses[phase.Load()][status]++
		mu.Unlock()
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				err := d.CheckIn(loadCtx)
				switch {
				case err == nil:
					record(200)
				case loadCtx.Err() == nil:
					record(sim.StatusOf(err))
				}
				time.Sleep(30 * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; loadCtx.Err() == nil; i++ {
			user, pw, _ := strings.Cut(ta, ":")
			body := fmt.Sprintf(`{"accounts":[{"emailAddress":"load%d@pgout.example.com"}]}`, i)
			for _, req := range []*http.Request{newRequest(t, "GET", e.url+"/api/v1/device", ""),
				newRequest(t, "POST", e.url+"/api/v1/accounts", body)} {
				req.SetBasicAuth(user, pw)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req.WithContext(loadCtx))
				if err != nil {
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				record(res.StatusCode)
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
	ready := func() int {
		res, err := http.Get(e.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	time.Sleep(500 * time.Millisecond)
	phase.Store(1)
	proxy.cut()
	// As a restart does, the server side ends the sessions too (only this test's database's).
	admin, err := sql.Open("pgx", direct.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatalf("terminate the test database's sessions: %v", err)
	}
	eventually(t, "/readyz answering 503 during the outage", func() bool { return ready() == http.StatusServiceUnavailable })
	time.Sleep(3 * time.Second)
	if st := ready(); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d while the database is unreachable", st)
	}
	proxy.restore()
	eventually(t, "/readyz answering 200 after the outage", func() bool { return ready() == http.StatusOK })
	time.Sleep(500 * time.Millisecond) // requests sent during the outage finish
	phase.Store(2)
	time.Sleep(1500 * time.Millisecond)
	stopLoad()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("statuses before %v, during %v, after %v the outage", statuses[0], statuses[1], statuses[2])
	for i, name := range []string{"before", "during", "after"} {
		for st, n := range statuses[i] {
			if st >= 500 && st != http.StatusServiceUnavailable {
				t.Errorf("%d answers %d %s the outage, want 503 at worst", n, st, name)
			}
		}
	}
	if statuses[1][http.StatusServiceUnavailable] == 0 {
		t.Error("no request failed during the outage: was the database cut off?")
	}
	for _, st := range []int{0, 2} {
		for code, n := range statuses[st] {
			if code != 200 && code != 201 {
				t.Errorf("%d answers %d outside the outage", n, code)
			}
		}
		if statuses[st][200] == 0 {
			t.Errorf("no request succeeded in phase %d", st)
		}
	}
	// And it serves as before: a write and every device's check-in.
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"after@pgout.example.com"}]}`).must(t, 200, nil)
	for _, d := range devs {
		if err := d.CheckIn(ctx); err != nil {
			t.Errorf("check-in after the outage: %v", err)
		}
	}
}
