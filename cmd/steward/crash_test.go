package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"steward/internal/sim"
	"steward/internal/sim/ios"
	"steward/internal/store/pgtest"
)

const (
	crashAdminPW  = "system-admin-pw-1234"
	crashTenantPW = "Tenant-admin-pw-1"
	crashDomain   = "crash.example.com"
	crashDevices  = 6
)

// TestCrashConsistency runs `steward serve` as a child process, puts it under API writes and device
// check-ins, kills it with SIGKILL at a random moment, starts it again on the same database and checks
// that every write a client saw acknowledged is there as acknowledged, that no multi-row write is
// half there, and that the server is ready and serves devices again. STEWARD_CRASH_ROUNDS sets the
// rounds per database (default 3).
func TestCrashConsistency(t *testing.T) {
	rounds := 3
	if v := os.Getenv("STEWARD_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("STEWARD_CRASH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	bin := filepath.Join(t.TempDir(), "steward")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	stores := map[string]func(t *testing.T) string{"sqlite": func(*testing.T) string { return "" }}
	switch {
	case os.Getenv("STEWARD_TEST_POSTGRES") != "":
		stores["postgres"] = crashPostgres
	case os.Getenv("CI") == "true":
		t.Fatal("STEWARD_TEST_POSTGRES not set in CI: the PostgreSQL runs must happen")
	}
	for name, db := range stores {
		t.Run(name, func(t *testing.T) {
			runCrashRounds(t, bin, db(t), rounds)
		})
	}
}

// crashPostgres creates an empty database for the test and drops it afterwards.
func crashPostgres(t *testing.T) string { return pgtest.Database(t, "steward_crash") }

func runCrashRounds(t *testing.T, bin, databaseURL string, rounds int) {
	dataDir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	proc := startSteward(t, bin, dataDir, databaseURL, addr)
	t.Cleanup(func() { proc.kill() })

	api := &crashAPI{base: base, auth: "ta@" + crashDomain + ":" + crashTenantPW, client: newCrashClient()}
	tenantID := crashSetup(t, api)
	devClient := sim.NewHTTPClient(crashDevices)
	devs := crashEnroll(t, base, devClient)

	db := openDirect(t, dataDir, databaseURL)
	keys, err := ios.NewKeyPool(4) // iOS identity keys made once: RSA key generation is slow
	if err != nil {
		t.Fatal(err)
	}
	led := &ledger{groups: map[int64]*ackGroup{}, deviceGroups: map[int64]*ackDeviceGroup{}}
	for round := 1; round <= rounds; round++ {
		before := led.size()
		loadFor := time.Duration(1000+mrand.IntN(2000)) * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		work := func(f func(ctx context.Context)) {
			wg.Add(1)
			go func() { defer wg.Done(); f(ctx) }()
		}
		for w := 0; w < 2; w++ {
			work(func(ctx context.Context) { led.accountsWriter(ctx, api, fmt.Sprintf("inv-r%dw%d", round, w)) })
		}
		work(func(ctx context.Context) { led.groupsWriter(ctx, api, fmt.Sprintf("r%d", round)) })
		work(func(ctx context.Context) {
			led.deviceGroupsWriter(ctx, api, fmt.Sprintf("r%d", round), deviceIDs(devs))
		})
		work(func(ctx context.Context) { led.policiesWriter(ctx, api, fmt.Sprintf("r%d", round)) })
		work(func(ctx context.Context) { led.appRegsWriter(ctx, api, fmt.Sprintf("r%d", round)) })
		work(func(ctx context.Context) { led.locksWriter(ctx, api, fmt.Sprintf("r%d", round), deviceIDs(devs)) })
		work(func(ctx context.Context) {
			led.registrationsWriter(ctx, api, devClient, nil, fmt.Sprintf("r%da", round))
		})
		work(func(ctx context.Context) {
			led.registrationsWriter(ctx, api, devClient, keys, fmt.Sprintf("r%di", round))
		})
		for _, d := range devs {
			work(func(ctx context.Context) { led.checkins(ctx, d) })
		}

		time.Sleep(loadFor)
		proc.kill()
		cancel()
		wg.Wait()
		acked := led.size() - before

		killed := proc.log.String()
		proc = startSteward(t, bin, dataDir, databaseURL, addr)
		api.client.CloseIdleConnections()
		devClient.CloseIdleConnections()
		verified := led.verify(t, api, db, tenantID)
		checkInvariants(t, db, tenantID)
		for _, d := range devs {
			if err := d.CheckIn(context.Background()); err != nil {
				t.Fatalf("round %d: device %d cannot check in after the restart: %v", round, d.State().DeviceID, err)
			}
		}
		crashDeviceFacts(t, api, devs)
		t.Logf("round %d: killed after %v of load; %d writes acknowledged this round (%d check-ins so far); %d acknowledged writes verified (%s); %d invariants hold",
			round, loadFor.Round(time.Millisecond), acked, led.checkinCount(), verified, led.summary(), len(crashInvariants))
		if t.Failed() {
			t.Logf("log of the killed server:\n%s\nlog since the restart:\n%s", killed, proc.log.String())
			return
		}
	}
	if led.size() == 0 {
		t.Error("no write was acknowledged in any round: the load did not reach the server")
	}
}

// freeAddr picks a loopback port that is free now; the server gets the same one at every restart.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stewardProc is a running `steward serve`.
type stewardProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the head: the start and the first errors
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSteward starts the server and waits until /readyz says it is ready.
func startSteward(t *testing.T, bin, dataDir, databaseURL, addr string) *stewardProc {
	t.Helper()
	args := []string{"serve", "--addr", addr, "--data-dir", dataDir, "--log-format", "text", "--checkin-interval", "10s"}
	if databaseURL != "" {
		args = append(args, "--database-url", databaseURL)
	}
	cmd := exec.Command(bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STEWARD_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "STEWARD_ADMIN_PASSWORD="+crashAdminPW)
	p := &stewardProc{cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("steward exited while starting:\n%s", p.log.String())
		default:
		}
		res, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
	}
	p.kill()
	t.Fatalf("steward did not become ready within a minute:\n%s", p.log.String())
	return nil
}

// kill ends the server with SIGKILL: no shutdown, no flush, as a power cut.
func (p *stewardProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func newCrashClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

// crashAPI calls the admin API as the tenant's admin.
type crashAPI struct {
	base   string
	auth   string // user:password
	client *http.Client
}

// call sends body as JSON and decodes the envelope's result into out; it returns the status (0 when
// no answer came) and whether the answer was a complete 2xx, that is an acknowledgement.
func (a *crashAPI) call(ctx context.Context, method, path string, body, out any) (int, bool) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	user, pw, _ := strings.Cut(a.auth, ":")
	req.SetBasicAuth(user, pw)
	res, err := a.client.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode/100 != 2 {
		return res.StatusCode, false
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return res.StatusCode, false
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return res.StatusCode, false
		}
	}
	return res.StatusCode, true
}

// crashSetup creates the tenant as the System Admin and returns its id.
func crashSetup(t *testing.T, api *crashAPI) string {
	t.Helper()
	sys := &crashAPI{base: api.base, auth: "admin:" + crashAdminPW, client: api.client}
	var created struct {
		ID string `json:"id"`
	}
	st, ok := sys.call(context.Background(), "POST", "/api/v1/tenants", map[string]any{"name": "Crash",
		"adminEmail": "ta@" + crashDomain, "adminFirstName": "Ta", "adminLastName": "Admin",
		"adminPassword": crashTenantPW, "licenseDevices": 100000, "sendActivation": false}, &created)
	if !ok || created.ID == "" {
		t.Fatalf("create tenant: status %d", st)
	}
	pemData, _, err := ios.PushCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := api.call(context.Background(), "PUT", "/api/v1/apple/pushcertificate",
		map[string]string{"certificate": base64.StdEncoding.EncodeToString(pemData)}, nil); !ok {
		t.Fatalf("upload the push certificate: status %d", st)
	}
	return created.ID
}

// crashEnroll registers the simulated Android devices.
func crashEnroll(t *testing.T, base string, client *http.Client) []*sim.Device {
	t.Helper()
	prov := &sim.APIProvisioner{Client: client, BaseURL: base, Username: "ta@" + crashDomain, Password: crashTenantPW,
		Domain: crashDomain, Prefix: "dev", DevicesPerUser: 2}
	var devs []*sim.Device
	for i := range crashDevices {
		d := sim.NewDevice(client, uint64(9000+i), sim.DeviceOptions{})
		err := prov.Enroll(context.Background(), i, func(e sim.Enrollment) error {
			return d.Register(context.Background(), base, e.Username, e.PIN)
		})
		if err != nil {
			t.Fatalf("device %d: %v", i, err)
		}
		devs = append(devs, d)
	}
	return devs
}

func deviceIDs(devs []*sim.Device) []int64 {
	ids := make([]int64, len(devs))
	for i, d := range devs {
		ids[i] = d.State().DeviceID
	}
	return ids
}

// pause keeps a writer whose server is gone from spinning.
func pause(ctx context.Context, status int) {
	if status == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// openDirect opens the server's database for the invariant checks (read-only queries).
func openDirect(t *testing.T, dataDir, databaseURL string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if databaseURL != "" {
		db, err = sql.Open("pgx", databaseURL)
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(dataDir, "steward.db")+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	return db
}

// The acknowledged writes.
type (
	ackAccount struct {
		ID               int64
		Email, FirstName string
		Roles            []string
	}
	ackGroup struct {
		ID      int64
		Name    string
		Roles   []string
		Members []int64 // added by acknowledged member changes
	}
	ackDeviceGroup struct {
		ID      int64
		Name    string
		Members []int64
	}
	ackPolicy struct {
		ID         int64
		Name, Rule string
	}
	ackAppReg struct {
		ID                            int64
		ClientID, Secret, Description string
	}
	ackLock struct {
		Devices []int64
		Message string
	}
)

type ledger struct {
	mu           sync.Mutex
	accounts     []ackAccount
	groups       map[int64]*ackGroup
	deviceGroups map[int64]*ackDeviceGroup
	policies     []ackPolicy
	appRegs      []ackAppReg
	locks        []ackLock
	androids     []*sim.Device // registered during the load, acknowledged
	iphones      []*ios.Device // enrolled during the load (profile, certificate, Authenticate, TokenUpdate)
	memberAdds   int
	checkinsOK   int
}

// size counts the acknowledged writes (check-ins aside).
func (l *ledger) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accounts) + len(l.groups) + len(l.deviceGroups) + l.memberAdds + len(l.policies) + len(l.appRegs) + len(l.locks) +
		len(l.androids) + len(l.iphones)
}

// registrationsWriter registers new devices of one platform, each for a new user with a fresh
// registration PIN: Android over the agent protocol, iOS the whole enrollment (profile, SCEP
// certificate, Authenticate, TokenUpdate).
func (l *ledger) registrationsWriter(ctx context.Context, api *crashAPI, client *http.Client, keys *ios.KeyPool, tag string) {
	for i := 0; ctx.Err() == nil; i++ {
		email := fmt.Sprintf("reg-%s-%d@%s", tag, i, crashDomain)
		var created struct {
			SearchResults []struct {
				ID int64 `json:"id"`
			} `json:"searchResults"`
		}
		st, ok := api.call(ctx, "POST", "/api/v1/accounts", map[string]any{"accounts": []map[string]string{{"emailAddress": email}}}, &created)
		if !ok || len(created.SearchResults) != 1 {
			pause(ctx, st)
			continue
		}
		var pin struct {
			PIN string `json:"pin"`
		}
		if st, ok := api.call(ctx, "POST", "/api/v1/account/regpin", map[string]int64{"accountId": created.SearchResults[0].ID}, &pin); !ok {
			pause(ctx, st)
			continue
		}
		seed := uint64(mrand.Int64())
		if keys == nil {
			d := sim.NewDevice(client, seed, sim.DeviceOptions{})
			if d.Register(ctx, api.base, email, pin.PIN) == nil {
				l.mu.Lock()
				l.androids = append(l.androids, d)
				l.mu.Unlock()
			}
			continue
		}
		d := ios.NewDevice(client, seed, ios.DeviceOptions{Key: keys.Key()})
		if d.Enroll(ctx, api.base, email, pin.PIN, "") == nil {
			l.mu.Lock()
			l.iphones = append(l.iphones, d)
			l.mu.Unlock()
		}
	}
}

// summary counts the acknowledged writes of each kind so far.
func (l *ledger) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("accounts %d, user groups %d, member changes %d, device groups %d, policies %d, App Registrations %d, "+
		"locks %d, Android registrations %d, iOS enrollments %d", len(l.accounts), len(l.groups), l.memberAdds, len(l.deviceGroups),
		len(l.policies), len(l.appRegs), len(l.locks), len(l.androids), len(l.iphones))
}

func (l *ledger) checkinCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checkinsOK
}

func (l *ledger) someAccounts(n int) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []int64
	for i := len(l.accounts) - 1; i >= 0 && len(ids) < n; i-- {
		ids = append(ids, l.accounts[i].ID)
	}
	return ids
}

// accountsWriter creates two invited accounts per request, one with a role; the accounts, their
// username claims, audit rows and invitations are one transaction.
func (l *ledger) accountsWriter(ctx context.Context, api *crashAPI, tag string) {
	for i := 0; ctx.Err() == nil; i++ {
		in := []map[string]any{
			{"emailAddress": fmt.Sprintf("%s-%d-a@%s", tag, i, crashDomain), "firstName": "A" + tag, "lastName": "Crash",
				"roles": []string{"DEVICE_READ_ONLY"}},
			{"emailAddress": fmt.Sprintf("%s-%d-b@%s", tag, i, crashDomain), "firstName": "B" + tag, "lastName": "Crash"},
		}
		var out struct {
			SearchResults []struct {
				ID           int64    `json:"id"`
				EmailAddress string   `json:"emailAddress"`
				FirstName    string   `json:"firstName"`
				Roles        []string `json:"roles"`
			} `json:"searchResults"`
		}
		st, ok := api.call(ctx, "POST", "/api/v1/accounts?sendInvite=true", map[string]any{"accounts": in}, &out)
		if ok {
			l.mu.Lock()
			for _, a := range out.SearchResults {
				l.accounts = append(l.accounts, ackAccount{ID: a.ID, Email: a.EmailAddress, FirstName: a.FirstName, Roles: a.Roles})
			}
			l.mu.Unlock()
		}
		pause(ctx, st)
	}
}

// groupsWriter creates static user groups with a role, then adds acknowledged accounts to them.
func (l *ledger) groupsWriter(ctx context.Context, api *crashAPI, tag string) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("Group %s-%d", tag, i)
		var g struct {
			ID    int64    `json:"id"`
			Roles []string `json:"roles"`
		}
		st, ok := api.call(ctx, "POST", "/api/v1/usergroups", map[string]any{"name": name, "kind": "STATIC",
			"roles": []string{"USER_READ_ONLY"}}, &g)
		if !ok {
			pause(ctx, st)
			continue
		}
		l.mu.Lock()
		rec := &ackGroup{ID: g.ID, Name: name, Roles: g.Roles}
		l.groups[g.ID] = rec
		l.mu.Unlock()
		members := l.someAccounts(3)
		if len(members) == 0 {
			continue
		}
		if _, ok := api.call(ctx, "PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", g.ID), map[string]any{"accountIds": members}, nil); ok {
			l.mu.Lock()
			rec.Members = append(rec.Members, members...)
			l.memberAdds++
			l.mu.Unlock()
		}
	}
}

// deviceGroupsWriter creates static device groups and adds the devices to them.
func (l *ledger) deviceGroupsWriter(ctx context.Context, api *crashAPI, tag string, devices []int64) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("Devices %s-%d", tag, i)
		var g struct {
			ID int64 `json:"id"`
		}
		st, ok := api.call(ctx, "POST", "/api/v1/devicegroups", map[string]any{"name": name, "description": "crash"}, &g)
		if !ok {
			pause(ctx, st)
			continue
		}
		l.mu.Lock()
		rec := &ackDeviceGroup{ID: g.ID, Name: name}
		l.deviceGroups[g.ID] = rec
		l.mu.Unlock()
		members := devices[:1+i%len(devices)]
		if _, ok := api.call(ctx, "PUT", fmt.Sprintf("/api/v1/devicegroups/%d/members", g.ID), map[string]any{"deviceIds": members}, nil); ok {
			l.mu.Lock()
			rec.Members = append(rec.Members, members...)
			l.memberAdds++
			l.mu.Unlock()
		}
	}
}

// policiesWriter creates compliance policies (a policy write re-evaluates the fleet).
func (l *ledger) policiesWriter(ctx context.Context, api *crashAPI, tag string) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("Policy %s-%d", tag, i)
		rule := fmt.Sprintf("availableCapacity < %d", 10+i)
		var p struct {
			ID int64 `json:"id"`
		}
		st, ok := api.call(ctx, "POST", "/api/v1/policies", map[string]any{"name": name, "type": "CUSTOM", "rule": rule,
			"enabled": true, "platforms": []string{"ANDROID"}, "actions": []map[string]any{{"kind": "MONITOR"}}}, &p)
		if ok {
			l.mu.Lock()
			l.policies = append(l.policies, ackPolicy{ID: p.ID, Name: name, Rule: rule})
			l.mu.Unlock()
		}
		pause(ctx, st)
	}
}

// appRegsWriter creates App Registrations; their secret, shown once, must still work after the crash.
func (l *ledger) appRegsWriter(ctx context.Context, api *crashAPI, tag string) {
	for i := 0; ctx.Err() == nil; i++ {
		desc := fmt.Sprintf("crash %s-%d", tag, i)
		var r struct {
			ID           int64  `json:"id"`
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
		}
		st, ok := api.call(ctx, "POST", "/api/v1/appregistrations", map[string]any{"appType": "CUSTOM", "description": desc}, &r)
		if ok {
			l.mu.Lock()
			l.appRegs = append(l.appRegs, ackAppReg{ID: r.ID, ClientID: r.ClientID, Secret: r.ClientSecret, Description: desc})
			l.mu.Unlock()
		}
		pause(ctx, st)
	}
}

// locksWriter queues a lock with a unique message on a few devices at once: one command per device,
// all or none.
func (l *ledger) locksWriter(ctx context.Context, api *crashAPI, tag string, devices []int64) {
	for i := 0; ctx.Err() == nil; i++ {
		msg := fmt.Sprintf("crash-%s-%d.", tag, i)
		ids := devices[i%2:]
		q := url.Values{"message": {msg}}
		for _, id := range ids {
			q.Add("ids", strconv.FormatInt(id, 10))
		}
		st, ok := api.call(ctx, "PUT", "/api/v1/device/lock?"+q.Encode(), nil, nil)
		if ok {
			l.mu.Lock()
			l.locks = append(l.locks, ackLock{Devices: slices.Clone(ids), Message: msg})
			l.mu.Unlock()
		}
		pause(ctx, st)
		// A lock queues a command per device; fewer of them keep the devices' queues short.
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Millisecond):
		}
	}
}

// checkins has one device check in again and again (reporting drifting facts and apps, answering
// the locks).
func (l *ledger) checkins(ctx context.Context, d *sim.Device) {
	for ctx.Err() == nil {
		err := d.CheckIn(ctx)
		if err == nil {
			l.mu.Lock()
			l.checkinsOK++
			l.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(20+mrand.IntN(40)) * time.Millisecond):
		}
	}
}

// verify checks every acknowledged write after the restart, through the API and in the database, and
// returns how many it checked.
func (l *ledger) verify(t *testing.T, api *crashAPI, db *sql.DB, tenantID string) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx := context.Background()
	n := 0
	for _, a := range l.accounts {
		var got struct {
			EmailAddress string   `json:"emailAddress"`
			FirstName    string   `json:"firstName"`
			Roles        []string `json:"roles"`
		}
		if st, ok := api.call(ctx, "GET", fmt.Sprintf("/api/v1/account/%d", a.ID), nil, &got); !ok {
			t.Errorf("acknowledged account %d (%s) is gone: %d", a.ID, a.Email, st)
			continue
		}
		if got.EmailAddress != a.Email || got.FirstName != a.FirstName || !slices.Equal(got.Roles, a.Roles) {
			t.Errorf("account %d = %+v, acknowledged as %+v", a.ID, got, a)
		}
		// The PIN invitation, and the admin invitation when the account holds an admin role.
		want := 1
		if len(a.Roles) > 0 {
			want = 2
		}
		if c := count(t, db, `SELECT COUNT(*) FROM mail_outbox WHERE tenant_id = $1 AND to_addr = $2`, tenantID, a.Email); c != want {
			t.Errorf("account %s was acknowledged invited with roles %v: %d invitations in the outbox, want %d", a.Email, a.Roles, c, want)
		}
		n++
	}
	for _, g := range l.groups {
		var got struct {
			Name  string   `json:"name"`
			Roles []string `json:"roles"`
		}
		if st, ok := api.call(ctx, "GET", fmt.Sprintf("/api/v1/usergroups/%d", g.ID), nil, &got); !ok {
			t.Errorf("acknowledged user group %d (%s) is gone: %d", g.ID, g.Name, st)
			continue
		}
		if got.Name != g.Name || !slices.Equal(got.Roles, g.Roles) {
			t.Errorf("user group %d = %+v, acknowledged as %+v", g.ID, got, g)
		}
		for _, m := range g.Members {
			if c := count(t, db, `SELECT COUNT(*) FROM user_group_members WHERE tenant_id = $1 AND group_id = $2 AND account_id = $3`,
				tenantID, g.ID, m); c != 1 {
				t.Errorf("user group %d lost acknowledged member %d", g.ID, m)
			}
		}
		n++
	}
	for _, g := range l.deviceGroups {
		var got struct {
			Name string `json:"name"`
		}
		if st, ok := api.call(ctx, "GET", fmt.Sprintf("/api/v1/devicegroups/%d", g.ID), nil, &got); !ok {
			t.Errorf("acknowledged device group %d (%s) is gone: %d", g.ID, g.Name, st)
			continue
		}
		if got.Name != g.Name {
			t.Errorf("device group %d is named %q, acknowledged as %q", g.ID, got.Name, g.Name)
		}
		for _, m := range g.Members {
			if c := count(t, db, `SELECT COUNT(*) FROM device_group_members WHERE tenant_id = $1 AND group_id = $2 AND device_id = $3`,
				tenantID, g.ID, m); c != 1 {
				t.Errorf("device group %d lost acknowledged member %d", g.ID, m)
			}
		}
		n++
	}
	for _, p := range l.policies {
		var got struct {
			Name string `json:"name"`
			Rule string `json:"rule"`
		}
		if st, ok := api.call(ctx, "GET", fmt.Sprintf("/api/v1/policies/%d", p.ID), nil, &got); !ok {
			t.Errorf("acknowledged policy %d (%s) is gone: %d", p.ID, p.Name, st)
			continue
		}
		if got.Name != p.Name || got.Rule != p.Rule {
			t.Errorf("policy %d = %+v, acknowledged as %+v", p.ID, got, p)
		}
		n++
	}
	for i, r := range l.appRegs {
		if c := count(t, db, `SELECT COUNT(*) FROM app_registrations WHERE tenant_id = $1 AND id = $2 AND client_id = $3 AND description = $4`,
			tenantID, r.ID, r.ClientID, r.Description); c != 1 {
			t.Errorf("acknowledged App Registration %d (%s) is gone or changed", r.ID, r.ClientID)
			continue
		}
		// The secret shown once still gets a token (a few per round: each is a token request).
		if i%5 == 0 {
			if st := tokenStatus(t, api, tenantID, r.ClientID, r.Secret); st != http.StatusOK {
				t.Errorf("App Registration %s: its acknowledged secret gets %d at the token endpoint", r.ClientID, st)
			}
		}
		n++
	}
	for _, lk := range l.locks {
		for _, d := range lk.Devices {
			if c := count(t, db, `SELECT COUNT(*) FROM device_commands WHERE tenant_id = $1 AND device_id = $2 AND type = 'LOCK' AND payload LIKE $3`,
				tenantID, d, "%"+lk.Message+"%"); c != 1 {
				t.Errorf("acknowledged lock %q of device %d: %d commands", lk.Message, d, c)
			}
		}
		n++
	}
	for _, d := range l.androids {
		st := d.State()
		if c := count(t, db, `SELECT COUNT(*) FROM devices WHERE tenant_id = $1 AND id = $2 AND guid = $3 AND registration_state = 'ACTIVE'
			AND credential_hash IS NOT NULL`, tenantID, st.DeviceID, st.GUID); c != 1 {
			t.Errorf("acknowledged Android registration of device %d is gone or incomplete", st.DeviceID)
		}
		if err := d.CheckIn(ctx); err != nil {
			t.Errorf("Android device %d registered before the crash cannot check in: %v", st.DeviceID, err)
		}
		n++
	}
	for _, d := range l.iphones {
		st := d.State()
		if c := count(t, db, `SELECT COUNT(*) FROM devices d JOIN apple_devices a ON a.tenant_id = d.tenant_id AND a.device_id = d.id
			WHERE d.tenant_id = $1 AND d.serial_number = $2 AND a.udid = $3 AND d.registration_state = 'ACTIVE' AND d.push_token <> ''`,
			tenantID, st.SerialNumber, st.UDID); c != 1 {
			t.Errorf("acknowledged iOS enrollment of %s is gone or incomplete", st.UDID)
		}
		if err := d.CheckIn(ctx); err != nil {
			t.Errorf("iOS device %s enrolled before the crash cannot check in: %v", st.UDID, err)
		}
		n++
	}
	return n + l.memberAdds
}

func tokenStatus(t *testing.T, api *crashAPI, tenantID, clientID, secret string) int {
	t.Helper()
	res, err := api.client.PostForm(api.base+"/"+tenantID+"/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {clientID}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// crashInvariants are queries that count rows breaking what one transaction promises: each must be 0.
var crashInvariants = []struct{ what, query string }{
	{"accounts without their username claim",
		`SELECT COUNT(*) FROM accounts a WHERE a.tenant_id = $1 AND NOT EXISTS
		   (SELECT 1 FROM usernames u WHERE u.tenant_id = a.tenant_id AND u.account_id = a.id)`},
	{"username claims without their account",
		`SELECT COUNT(*) FROM usernames u WHERE u.tenant_id = $1 AND NOT EXISTS
		   (SELECT 1 FROM accounts a WHERE a.tenant_id = u.tenant_id AND a.id = u.account_id)`},
	{"accounts created through the API without their audit entry",
		`SELECT COUNT(*) FROM accounts a WHERE a.tenant_id = $1 AND a.email <> 'ta@crash.example.com' AND NOT EXISTS
		   (SELECT 1 FROM audit_log l WHERE l.tenant_id = a.tenant_id AND l.action = 'account.create' AND l.target_id = a.username)`},
	{"account audit entries without their account",
		`SELECT COUNT(*) FROM audit_log l WHERE l.tenant_id = $1 AND l.action = 'account.create' AND NOT EXISTS
		   (SELECT 1 FROM accounts a WHERE a.tenant_id = l.tenant_id AND a.username = l.target_id)`},
	{"invited accounts without their invitation",
		`SELECT COUNT(*) FROM accounts a WHERE a.tenant_id = $1 AND a.email LIKE 'inv-%' AND NOT EXISTS
		   (SELECT 1 FROM mail_outbox m WHERE m.tenant_id = a.tenant_id AND m.to_addr = a.email)`},
	{"invitations without their account",
		`SELECT COUNT(*) FROM mail_outbox m WHERE m.tenant_id = $1 AND m.to_addr LIKE 'inv-%' AND NOT EXISTS
		   (SELECT 1 FROM accounts a WHERE a.tenant_id = m.tenant_id AND a.email = m.to_addr)`},
	{"user groups without their audit entry",
		`SELECT COUNT(*) FROM user_groups g WHERE g.tenant_id = $1 AND g.name LIKE 'Group r%' AND NOT EXISTS
		   (SELECT 1 FROM audit_log l WHERE l.tenant_id = g.tenant_id AND l.action = 'group.create' AND l.target_id = g.name)`},
	{"user group members outside the tenant or without their group or account",
		`SELECT COUNT(*) FROM user_group_members m WHERE m.tenant_id = $1 AND (
		   NOT EXISTS (SELECT 1 FROM user_groups g WHERE g.tenant_id = m.tenant_id AND g.id = m.group_id) OR
		   NOT EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = m.tenant_id AND a.id = m.account_id))`},
	{"device group members without their group or device",
		`SELECT COUNT(*) FROM device_group_members m WHERE m.tenant_id = $1 AND (
		   NOT EXISTS (SELECT 1 FROM device_groups g WHERE g.tenant_id = m.tenant_id AND g.id = m.group_id) OR
		   NOT EXISTS (SELECT 1 FROM devices d WHERE d.tenant_id = m.tenant_id AND d.id = m.device_id))`},
	{"device commands without their device",
		`SELECT COUNT(*) FROM device_commands c WHERE c.tenant_id = $1 AND NOT EXISTS
		   (SELECT 1 FROM devices d WHERE d.tenant_id = c.tenant_id AND d.id = c.device_id)`},
	{"lock requests queued for only some of their devices",
		`SELECT COUNT(*) FROM (SELECT payload FROM device_commands WHERE tenant_id = $1 AND type = 'LOCK' AND payload LIKE '%crash-r%'
		   GROUP BY payload HAVING COUNT(*) NOT IN (5, 6)) x`},
	{"active devices without their credential or owner",
		`SELECT COUNT(*) FROM devices d WHERE d.tenant_id = $1 AND d.registration_state = 'ACTIVE' AND (d.credential_hash IS NULL OR
		   NOT EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = d.tenant_id AND a.id = d.account_id))`},
	{"Apple device records without their device",
		`SELECT COUNT(*) FROM apple_devices a WHERE a.tenant_id = $1 AND NOT EXISTS
		   (SELECT 1 FROM devices d WHERE d.tenant_id = a.tenant_id AND d.id = a.device_id AND d.platform = 'IOS')`},
	{"enrolled iOS devices without their Apple record",
		`SELECT COUNT(*) FROM devices d WHERE d.tenant_id = $1 AND d.platform = 'IOS' AND d.registration_state = 'ACTIVE' AND NOT EXISTS
		   (SELECT 1 FROM apple_devices a WHERE a.tenant_id = d.tenant_id AND a.device_id = d.id)`},
	{"Apple enrollments naming a device that does not exist",
		`SELECT COUNT(*) FROM apple_enrollments e WHERE e.tenant_id = $1 AND e.device_id IS NOT NULL AND NOT EXISTS
		   (SELECT 1 FROM devices d WHERE d.tenant_id = e.tenant_id AND d.id = e.device_id)`},
	{"App Registrations without their audit entry",
		`SELECT COUNT(*) FROM app_registrations r WHERE r.tenant_id = $1 AND NOT EXISTS
		   (SELECT 1 FROM audit_log l WHERE l.tenant_id = r.tenant_id AND l.action = 'appregistration.create' AND l.target_id = CAST(r.id AS TEXT))`},
}

func checkInvariants(t *testing.T, db *sql.DB, tenantID string) {
	t.Helper()
	for _, inv := range crashInvariants {
		if n := count(t, db, inv.query, tenantID); n != 0 {
			t.Errorf("%d %s", n, inv.what)
		}
	}
}

// crashDeviceFacts checks that what each device reported in its last check-in is what the server
// shows.
func crashDeviceFacts(t *testing.T, api *crashAPI, devs []*sim.Device) {
	t.Helper()
	for _, d := range devs {
		st := d.State()
		var got struct {
			OSVersion string `json:"platformVersion"`
			AppCount  int    `json:"appCount"`
		}
		if code, ok := api.call(context.Background(), "GET", fmt.Sprintf("/api/v1/device/%d", st.DeviceID), nil, &got); !ok {
			t.Errorf("device %d: %d", st.DeviceID, code)
			continue
		}
		if got.OSVersion != st.Facts.OSVersion || got.AppCount != len(st.Apps) {
			t.Errorf("device %d: server shows OS %q and %d apps, the device reported %q and %d", st.DeviceID,
				got.OSVersion, got.AppCount, st.Facts.OSVersion, len(st.Apps))
		}
	}
}
