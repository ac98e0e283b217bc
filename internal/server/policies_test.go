package server

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"steward/internal/android"
	"steward/internal/mdm"
)

type policyView struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Rule    string `json:"rule"`
	Enabled bool   `json:"enabled"`
}

type complianceView struct {
	ComplianceState      bool     `json:"complianceState"`
	Quarantined          bool     `json:"quarantined"`
	PolicyViolationCount int      `json:"policyViolationCount"`
	ViolatedPolicies     []string `json:"violatedPolicies"`
}

func (e *apiEnv) compliance(auth string, id int64) complianceView {
	e.t.Helper()
	var c complianceView
	e.call("GET", fmt.Sprintf("/api/v1/device/%d", id), auth, "").must(e.t, 200, &c)
	return c
}

const rootedPolicy = `{"name":"Rooted","type":"COMPROMISED","priority":1,"enabled":true,"platforms":["ANDROID"],
	"actions":[{"kind":"MONITOR"},{"kind":"MESSAGE","email":true,"push":true,"title":"Unroot your phone","message":"Rooted phones lose access"},
	{"kind":"QUARANTINE","afterMinutes":60,"removeApps":true}]}`

// TestPolicies drives a policy from creation through violation at check-in, escalation after the grace
// period, idempotence, filtering and release, on each database.
func TestPolicies(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Acme")
			_, other := e.createTenant("Other")

			var p policyView
			e.call("POST", "/api/v1/policies", ta, rootedPolicy).must(t, 200, &p)
			if p.Rule != "jailbroken = true" || !p.Enabled {
				t.Fatalf("policy %+v", p)
			}
			// Validation: a rule error names the field and the position.
			r := e.call("POST", "/api/v1/policies", ta, `{"name":"Bad","type":"CUSTOM","rule":"jailbroken = ","actions":[{"kind":"MONITOR"}]}`)
			if r.Status != 400 || r.field() != "rule" || !strings.Contains(r.Body, "at ") {
				t.Fatalf("bad rule: %d %s", r.Status, r.Body)
			}
			if r := e.call("POST", "/api/v1/policies", ta, `{"name":"Rooted","type":"ROAMING","actions":[{"kind":"MONITOR"}]}`); r.Status != 409 {
				t.Fatalf("duplicate name: %d %s", r.Status, r.Body)
			}
			if r := e.call("POST", "/api/v1/policies", ta, `{"name":"X","type":"ROAMING","actions":[]}`); r.Status != 400 || r.field() != "actions" {
				t.Fatalf("no actions: %d %s", r.Status, r.Body)
			}
			// Tenant isolation.
			if r := e.call("GET", fmt.Sprintf("/api/v1/policies/%d", p.ID), other, ""); r.Status != 404 {
				t.Fatalf("other tenant reads the policy: %d", r.Status)
			}
			if r := e.call("DELETE", fmt.Sprintf("/api/v1/policies/%d", p.ID), other, ""); r.Status != 404 {
				t.Fatalf("other tenant deletes the policy: %d", r.Status)
			}

			dev := e.enrolled(ta, "dee@acme.example.com", "SER1")
			facts := sampleFacts("SER1")
			e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
			if c := e.compliance(ta, dev.DeviceID); !c.ComplianceState || c.Quarantined {
				t.Fatalf("clean device: %+v", c)
			}
			// A configuration the device has installed: quarantine removes it, release brings it back.
			wifi := e.createConfig(ta, `{"name":"Office Wi-Fi","type":"WIFI","attributes":{"ssid":"Office","securityType":"NONE"}}`)
			e.distribute(ta, wifi.ID, `{"type":"ALL_USERS"}`)
			e.converge()
			if got := commandTypes(e.agentCommands(dev.Credential, nil)); !slices.Contains(got, mdm.CmdApplyConfiguration) {
				t.Fatalf("the configuration before quarantine: %v", got)
			}
			e.agentCommands(dev.Credential, ackAll(e.agentCommands(dev.Credential, nil)))
			// A required app Steward installed on the device: quarantine (removeApps) removes it, release
			// installs it again.
			e.call("POST", "/api/v1/apps", ta, `{"platformType":"ANDROID","bundleId":"com.steward.crm","name":"CRM",`+
				`"targets":[{"type":"ALL_USERS","required":true}]}`).must(t, 200, nil)
			installs := e.agentCommands(dev.Credential, nil)
			if got := commandTypes(installs); !slices.Contains(got, mdm.CmdInstallApp) {
				t.Fatalf("the required app before quarantine: %v", got)
			}
			e.agentCommands(dev.Credential, ackAll(installs))
			crm := []android.App{{AppID: "com.steward.crm", Name: "CRM", Version: "1"}}
			e.checkin(dev.Credential, android.CheckinRequest{Apps: &crm})
			if r := e.agent("GET", "/api/agent/v1/catalog", dev.Credential, nil); r.Status != 200 || !strings.Contains(r.Body, "com.steward.crm") {
				t.Fatalf("app catalog before quarantine: %d %s", r.Status, r.Body)
			}
			// A document distributed to the device: quarantine (removeApps) tells the agent to delete it.
			var doc contentOut
			e.upload("POST", "/api/v1/content", ta, "a.pdf", bytes.NewReader(testPDF), nil).must(t, 201, &doc)
			e.call("PUT", fmt.Sprintf("/api/v1/content/%d", doc.ID), ta, `{"targets":[{"type":"ALL_USERS"}]}`).must(t, 200, nil)

			facts.Rooted = true
			e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
			c := e.compliance(ta, dev.DeviceID)
			if c.ComplianceState || c.Quarantined || c.PolicyViolationCount != 1 || !slices.Equal(c.ViolatedPolicies, []string{"Rooted"}) {
				t.Fatalf("rooted device: %+v", c)
			}
			mails := `SELECT COUNT(*) FROM mail_outbox WHERE template='policy_compliance'`
			if n := e.count(mails); n != 1 {
				t.Fatalf("%d compliance emails, want 1", n)
			}
			if h := e.history(ta, dev.DeviceID); len(h) == 0 || h[0].Type != "MESSAGE" || !strings.Contains(h[0].Payload["message"], "Rooted phones") {
				t.Fatalf("history %+v", h)
			}

			// Idempotence: another change and a sweep send nothing more, and do not quarantine early.
			facts.OSVersion = "15.1"
			e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
			if _, err := e.srv.Compliance().Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := e.count(mails); n != 1 {
				t.Fatalf("%d compliance emails after re-evaluation, want 1", n)
			}
			if c := e.compliance(ta, dev.DeviceID); c.Quarantined {
				t.Fatal("quarantined before the grace period ended")
			}
			if got := e.listDevices(ta, "complianceState=false"); !slices.Equal(got, []int64{dev.DeviceID}) {
				t.Fatalf("fq complianceState=false: %v", got)
			}

			// Escalation: the violation began over an hour ago; the sweep quarantines, once.
			if _, err := e.srv.Store().DB().Exec(`UPDATE policy_violations SET since = since - 7200000`); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() { defer wg.Done(); e.srv.Compliance().Sweep(context.Background()) }()
			}
			wg.Wait()
			if c := e.compliance(ta, dev.DeviceID); !c.Quarantined {
				t.Fatalf("not quarantined after the grace period: %+v", c)
			}
			if got := e.listDevices(ta, "quarantined=true"); !slices.Equal(got, []int64{dev.DeviceID}) {
				t.Fatalf("fq quarantined=true: %v", got)
			}
			quarantined := e.agentCommands(dev.Credential, nil)
			if got := commandTypes(quarantined); !slices.Contains(got, mdm.CmdRemoveConfiguration) || !slices.Contains(got, mdm.CmdRemoveApp) {
				t.Fatalf("quarantine leaves the configuration or the app: %v", got)
			}
			var removeContent []string
			for _, c := range quarantined {
				if c.Type == mdm.CmdRemoveContent {
					removeContent = append(removeContent, c.Payload["contentIds"])
				}
			}
			if len(removeContent) != 1 || !slices.Contains(strings.Split(removeContent[0], ","), fmt.Sprint(doc.ID)) {
				t.Fatalf("quarantine should remove document %d once: REMOVE_CONTENT %q", doc.ID, removeContent)
			}
			e.agentCommands(dev.Credential, ackAll(quarantined))
			none := []android.App{}
			e.checkin(dev.Credential, android.CheckinRequest{Apps: &none}) // the app is gone
			e.converge()                                                   // a quarantined device gets nothing back from a reconciliation
			if _, err := e.srv.apps.ConvergeAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := commandTypes(e.agentCommands(dev.Credential, nil)); slices.Contains(got, mdm.CmdApplyConfiguration) || slices.Contains(got, mdm.CmdInstallApp) {
				t.Fatalf("a quarantined device got its configuration or app back: %v", got)
			}
			eventually(t, "the app catalog refuses the quarantined device", func() bool {
				r := e.agent("GET", "/api/agent/v1/catalog", dev.Credential, nil)
				return r.Status == 403 && strings.Contains(r.Body, "quarantined")
			})
			// The content catalog refuses a quarantined device (after the authentication cache's few seconds).
			eventually(t, "the content catalog refuses the quarantined device", func() bool {
				return e.agent("GET", "/api/agent/v1/content", dev.Credential, nil).Status == 403
			})
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action='device.quarantine'`); n != 1 {
				t.Fatalf("%d quarantine audit records, want 1", n)
			}
			if n := e.count(mails); n != 1 {
				t.Fatalf("%d compliance emails after escalation, want 1", n)
			}
			var o struct {
				Policies []struct {
					Violations int `json:"violations"`
				} `json:"policies"`
				Quarantined []int64 `json:"quarantinedDeviceIds"`
			}
			e.call("GET", "/api/v1/compliance", ta, "").must(t, 200, &o)
			if len(o.Policies) != 1 || o.Policies[0].Violations != 1 || !slices.Equal(o.Quarantined, []int64{dev.DeviceID}) {
				t.Fatalf("overview %+v", o)
			}

			// Fixed: released at the next check-in.
			facts.Rooted = false
			if got := commandTypes(e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts}).Commands); !slices.Contains(got, mdm.CmdApplyConfiguration) || !slices.Contains(got, mdm.CmdInstallApp) {
				t.Fatalf("release does not bring the configuration and the app back in that check-in: %v", got)
			}
			if c := e.compliance(ta, dev.DeviceID); !c.ComplianceState || c.Quarantined || c.PolicyViolationCount != 0 || len(c.ViolatedPolicies) != 0 {
				t.Fatalf("fixed device: %+v", c)
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action='device.release'`); n != 1 {
				t.Fatalf("%d release audit records, want 1", n)
			}
			if n := e.count(mails); n != 2 {
				t.Fatalf("%d compliance emails after the release, want 2 (the violation, compliant again)", n)
			}
			if r := e.agent("GET", "/api/agent/v1/content", dev.Credential, nil); r.Status != 200 {
				t.Fatalf("content catalog after release: %d %s", r.Status, r.Body)
			}
			if r := e.agent("GET", "/api/agent/v1/catalog", dev.Credential, nil); r.Status != 200 || !strings.Contains(r.Body, "com.steward.crm") {
				t.Fatalf("app catalog after release: %d %s", r.Status, r.Body)
			}

			// A new violation is a new one: it emails again.
			facts.Rooted = true
			e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
			if n := e.count(mails); n != 3 {
				t.Fatalf("%d compliance emails after a second violation, want 3", n)
			}
			// Deleting the policy releases the device at the next sweep.
			e.call("DELETE", fmt.Sprintf("/api/v1/policies/%d", p.ID), ta, "").must(t, 200, nil)
			if _, err := e.srv.Compliance().Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			if c := e.compliance(ta, dev.DeviceID); !c.ComplianceState || c.PolicyViolationCount != 0 {
				t.Fatalf("after the policy was deleted: %+v", c)
			}
		})
	}
}

// TestPolicyInputs checks that a check-in evaluates only the policies whose inputs changed.
func TestPolicyInputs(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Acme")
	dev := e.enrolled(ta, "dee@acme.example.com", "SER1")
	facts := sampleFacts("SER1")
	facts.Encrypted = false
	e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
	// The policy exists after the facts were stored: a check-in that changes another input leaves it
	// to the sweep.
	e.call("POST", "/api/v1/policies", ta, `{"name":"Encrypt","type":"ENCRYPTION_OFF","enabled":true,"actions":[{"kind":"MONITOR"}]}`).must(t, 200, nil)
	facts.Roaming = true
	e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
	if c := e.compliance(ta, dev.DeviceID); !c.ComplianceState {
		t.Fatalf("evaluated a policy whose input did not change: %+v", c)
	}
	if _, err := e.srv.Compliance().Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := e.compliance(ta, dev.DeviceID); c.ComplianceState {
		t.Fatalf("the sweep did not find the violation: %+v", c)
	}
	// An out-of-contact policy is the sweep's: the device checked in just now.
	e.call("POST", "/api/v1/policies", ta, `{"name":"Gone","type":"OUT_OF_CONTACT","params":{"duration":"7d"},"enabled":true,"actions":[{"kind":"MONITOR"}]}`).must(t, 200, nil)
	if _, err := e.srv.Compliance().Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := e.compliance(ta, dev.DeviceID); c.PolicyViolationCount != 1 {
		t.Fatalf("out of contact after a check-in: %+v", c)
	}
	// Ten days without contact: the sweep finds it; a check-in (with news) ends it at once.
	time.Sleep(1500 * time.Millisecond) // let the coalesced check-in time be written first
	if _, err := e.srv.Store().DB().Exec(`UPDATE devices SET last_checkin = last_checkin - 864000000`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Compliance().Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := e.compliance(ta, dev.DeviceID); c.PolicyViolationCount != 2 {
		t.Fatalf("not out of contact after ten days: %+v", c)
	}
	facts.DeviceName = "Renamed"
	e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
	if c := e.compliance(ta, dev.DeviceID); c.PolicyViolationCount != 1 || !slices.Equal(c.ViolatedPolicies, []string{"Encrypt"}) {
		t.Fatalf("still out of contact after a check-in: %+v", c)
	}
}

// TestSweepOnceAcrossReplicas runs two servers on one database: one sweep per interval between them,
// and the last sweep's time survives a restart.
func TestSweepOnceAcrossReplicas(t *testing.T) {
	for name, db := range databases(t) {
		if name == "sqlite" {
			continue // one process per SQLite file
		}
		t.Run(name, func(t *testing.T) {
			url := db(t)
			dir := t.TempDir() // one server key, as replicas share
			slow := func(c *Config) { c.ComplianceSweep, c.DataDir = time.Hour, dir }
			a := newAPIEnv(t, url, slow)
			b := newAPIEnv(t, url, slow)
			ctx := context.Background()
			// Both ran their first check at start; exactly one of them swept.
			eventually(t, "a first sweep", func() bool {
				return e2eCount(t, a, `SELECT COUNT(*) FROM job_leases WHERE name = 'compliance.sweep' AND last_run > 0`) == 1
			})
			var mu sync.Mutex
			swept := 0
			var wg sync.WaitGroup
			for _, e := range []*apiEnv{a, b, a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := e.srv.Compliance().SweepIfDue(ctx)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						swept++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if swept != 0 {
				t.Fatalf("%d sweeps within the interval, want 0", swept)
			}
			// A restarted replica (a new holder) neither sweeps early nor takes the live lease.
			c := newAPIEnv(t, url, slow)
			if ok, err := c.srv.Compliance().SweepIfDue(ctx); err != nil || ok {
				t.Fatalf("restarted replica swept: %v %v", ok, err)
			}
		})
	}
}

func e2eCount(t *testing.T, e *apiEnv, q string) int {
	t.Helper()
	var n int
	if err := e.srv.Store().DB().QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func commandTypes(cmds []android.Command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Type)
	}
	return out
}
