package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/android"
	"steward/internal/authz"
	"steward/internal/mdm"
	"steward/internal/secret"
	"steward/internal/store/sqlstore"
)

// replicaPair is two Steward replicas in process on one fresh PostgreSQL database, as `steward serve`
// would run them behind a load balancer: one server key, one blob directory, both running every
// background job and sending mail to one SMTP server and pushes to one push service double. Every
// poll interval that could hide a missing cross-replica event is an hour.
type replicaPair struct {
	a, b   *apiEnv
	box    *inbox
	pushes chan string // the push token of each push the double received
}

func newReplicaPair(t *testing.T) *replicaPair {
	t.Helper()
	if os.Getenv("STEWARD_TEST_POSTGRES") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
		}
		t.Skip("replicas share a PostgreSQL database: set STEWARD_TEST_POSTGRES")
	}
	db := freshPostgres(t)
	p := &replicaPair{box: startInbox(t, "127.0.0.1:0"), pushes: make(chan string, 16)}
	push := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		tok := regexp.MustCompile(`"token":"([^"]+)"`).FindStringSubmatch(string(body[:n]))
		if len(tok) == 2 {
			p.pushes <- tok[1]
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"name":"projects/steward-test/messages/1"}`))
	}))
	t.Cleanup(push.Close)
	key := base64.StdEncoding.EncodeToString(secret.RandomKey())
	blobs := t.TempDir()
	cfg := func(c *Config) {
		// One public URL for the service (the load balancer's); each replica listens on its own port.
		c.BaseURL = "http://steward.replicas.test"
		c.SecretKey, c.BlobDir = key, blobs
		c.SMTPURL = "smtp://" + p.box.addr
		c.PushURL, c.PushProject, c.PushKey = push.URL, "steward-test", "push-key-1"
		c.ConfigurationInterval = time.Hour
		c.CheckinInterval = time.Hour
	}
	p.a = newAPIEnv(t, db, cfg)
	p.b = newAPIEnv(t, db, cfg)
	for _, e := range []*apiEnv{p.a, p.b} {
		select {
		case <-e.srv.pgBus.Listening():
		case <-time.After(20 * time.Second):
			t.Fatal("a replica's event listener did not connect")
		}
	}
	return p
}

// heard returns the payloads of topic that replica e hears from now on. The server's own subscribers
// were registered first, so when a payload arrives here the server has already acted on it.
func heard(e *apiEnv, topic string) <-chan string {
	ch := make(chan string, 64)
	e.srv.bus.Subscribe(topic, func(p string) {
		select {
		case ch <- p:
		default:
		}
	})
	return ch
}

// await waits for payload want on ch; the deadline only bounds a failing test.
func await(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("event %q never heard", want)
		}
	}
}

// TestReplicasActAsOneService runs two replicas on one PostgreSQL database and checks that they behave
// as one service: a command queued through A reaches the device checking in on B, woken by one push;
// a device wiped through A is refused by B at once although B had just cached its authentication; a
// console session, an OAuth token and the deletion of its App Registration made on A hold on B; an
// assignment change made on A wakes B's configuration reconciler; mail queued on either is delivered
// once; and each leased background job runs on one replica.
func TestReplicasActAsOneService(t *testing.T) {
	p := newReplicaPair(t)
	a, b := p.a, p.b
	tenant, ta := a.createTenant("Replica")

	t.Run("command through A reaches the device on B, woken once", func(t *testing.T) {
		_, pin := a.deviceUser(ta, "dev@replica.example.com")
		var reg android.RegisterResponse
		b.agent("POST", "/api/agent/v1/register", "", android.RegisterRequest{Username: "dev@replica.example.com", PIN: pin,
			Facts: sampleFacts("REPLICA-1"), PushToken: "push-token-replica-1"}).must(t, 201, &reg)
		// B authenticates the device and caches it.
		if reply := b.checkin(reg.Credential, android.CheckinRequest{}); len(reply.Commands) != 0 {
			t.Fatalf("fresh device got %+v", reply.Commands)
		}
		devicesOnB := heard(b, topicDevices)

		a.act(ta, "wipe", reg.DeviceID)
		if got := <-p.pushes; got != "push-token-replica-1" {
			t.Errorf("push to %q", got)
		}
		// The device is WIPE_PENDING now: B drops what it cached of it as it hears so.
		await(t, devicesOnB, tenant.ID+" "+strconv.FormatInt(reg.DeviceID, 10))
		reply := b.checkin(reg.Credential, android.CheckinRequest{})
		if len(reply.Commands) != 1 || reply.Commands[0].Type != "WIPE" || reply.RegistrationState != "WIPE_PENDING" {
			t.Fatalf("check-in on B after the wipe on A: %+v", reply)
		}
		// One push for one action: A sent it, B had nothing to send.
		waitUntil(t, func() bool { return a.srv.pusher.Stats().Sent == 1 })
		if sa, sb := a.srv.pusher.Stats().Sent, b.srv.pusher.Stats().Sent; sa != 1 || sb != 0 || len(p.pushes) != 0 {
			t.Errorf("pushes sent: A %d, B %d, more received %d; want one from A", sa, sb, len(p.pushes))
		}

		// B cached the device (WIPE_PENDING) a moment ago; the device confirms the wipe on A, and B
		// refuses it as soon as it hears of the change, long before its cache would expire.
		a.checkin(reg.Credential, android.CheckinRequest{Results: []android.CommandResult{{ID: reply.Commands[0].ID, Status: "ACKNOWLEDGED"}}})
		await(t, devicesOnB, tenant.ID+" "+strconv.FormatInt(reg.DeviceID, 10))
		if r := b.agent("POST", "/api/agent/v1/checkin", reg.Credential, android.CheckinRequest{}); r.Status != 401 {
			t.Errorf("wiped device checking in on B: %d, want 401", r.Status)
		}
	})

	t.Run("console session and OAuth token made on A hold on B", func(t *testing.T) {
		c, r := trySignIn(t, a.url, &http.Client{}, "ta@replica.example.com", "Tenant-admin-pw-1")
		if r.status != http.StatusSeeOther || c.cookie == nil {
			t.Fatalf("sign-in on A: %d", r.status)
		}
		c.base = b.url
		if got := c.do("GET", "/console", nil); got.status != 200 || !strings.Contains(got.body, "Replica") {
			t.Errorf("A's session on B: %d", got.status)
		}

		app := a.registerApp(mdm.TenantID(tenant.ID), authz.AppTypeCustom, authz.ScopeDeviceAction)
		tok := a.clientToken(tenant.ID, app.Registration.ClientID, app.Secret, "read").AccessToken
		if r := b.bearer("GET", "/api/v1/device", tok, ""); r.Status != 200 {
			t.Fatalf("A's token on B: %d %s", r.Status, r.Body)
		}
		// B remembers the verified secret for a second; the deletion on A must end that at once.
		b.clientToken(tenant.ID, app.Registration.ClientID, app.Secret, "read")
		clientsOnB := heard(b, topicClient)
		a.call("DELETE", "/api/v1/appregistrations/"+strconv.FormatInt(int64(app.Registration.ID), 10), ta, "").must(t, 200, nil)
		if r := b.bearer("GET", "/api/v1/device", tok, ""); r.Status != 401 {
			t.Errorf("token of a registration deleted on A, on B: %d, want 401", r.Status)
		}
		await(t, clientsOnB, app.Registration.ClientID)
		tr, _ := b.tokenRequest("/"+tenant.ID+"/connect/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {app.Registration.ClientID}, "client_secret": {app.Secret}, "scope": {"read"}}, "", "")
		if tr.Status != 401 {
			t.Errorf("token endpoint on B for a registration deleted on A: %d, want 401", tr.Status)
		}
	})

	t.Run("an assignment change on A wakes B's reconciler", func(t *testing.T) {
		generationOnB := heard(b, sqlstore.GenerationEvent)
		gs, err := a.srv.store.DeviceGroups().All(t.Context(), mdm.TenantID(tenant.ID))
		if err != nil || len(gs) == 0 {
			t.Fatalf("device groups: %v", err)
		}
		wifi := a.createConfig(ta, `{"name":"Replica Wi-Fi","type":"WIFI","attributes":{"ssid":"R","securityType":"WPA2","password":"replica-pw-1"}}`)
		a.distribute(ta, wifi.ID, fmt.Sprintf(`{"type":"DEVICE_GROUP","id":%d}`, gs[0].ID))
		await(t, generationOnB, tenant.ID)
	})

	t.Run("mail queued on either replica is delivered once", func(t *testing.T) {
		names := []string{"Mailone", "Mailtwo", "Mailthree", "Mailfour"}
		for i, name := range names {
			e := []*apiEnv{a, b}[i%2]
			e.call("POST", "/api/v1/tenants", e.admin(), `{"name":"`+name+`","adminEmail":"owner@`+strings.ToLower(name)+
				`.example.com","adminFirstName":"O","adminLastName":"Wner","sendActivation":true}`).must(t, 200, nil)
		}
		for _, name := range names {
			p.box.wait(t, regexp.MustCompile("owner@"+strings.ToLower(name)+".example.com"))
		}
		// Every message is marked sent after one attempt, and arrived once.
		waitUntil(t, func() bool {
			var sent int
			err := a.srv.store.DB().QueryRow(`SELECT count(*) FROM mail_outbox WHERE to_addr LIKE 'owner@mail%' AND status='SENT' AND attempts=1`).Scan(&sent)
			return err == nil && sent == len(names)
		})
		for _, name := range names {
			if n := len(p.box.matching(regexp.MustCompile("owner@" + strings.ToLower(name) + ".example.com"))); n != 1 {
				t.Errorf("%s's activation arrived %d times", name, n)
			}
		}
	})

	t.Run("leased jobs run on one replica", func(t *testing.T) {
		for _, name := range []string{"compliance.sweep", "devices.prune", "apple.expiry_warnings", "apple.prune_enrollments", "apple.inventory"} {
			waitUntil(t, func() bool {
				var last int64
				err := a.srv.store.DB().QueryRow(`SELECT last_run FROM job_leases WHERE name=$1`, name).Scan(&last)
				return err == nil && last > 0
			})
		}
		// The sweep is due again (its last run long ago, its lease expired): the replicas race for it,
		// and one sweeps.
		for range 3 {
			if _, err := a.srv.store.DB().Exec(`UPDATE job_leases SET last_run=1, expires_at=0 WHERE name='compliance.sweep'`); err != nil {
				t.Fatal(err)
			}
			var swept atomic.Int32
			var wg sync.WaitGroup
			for _, e := range []*apiEnv{a, b, a, b} {
				wg.Go(func() {
					ok, err := e.srv.compliance.SweepIfDue(context.Background())
					if err != nil {
						t.Error(err)
					}
					if ok {
						swept.Add(1)
					}
				})
			}
			wg.Wait()
			if n := swept.Load(); n != 1 {
				t.Errorf("%d sweeps for one due sweep", n)
			}
		}
	})
}

// waitUntil polls cond; the deadline only bounds a failing test.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
	}
}
