package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/android"
)

// TestAgentLifecycle drives one Android device through the agent protocol with plain net/http and the
// wire types, and an administrator through the API: registration with the invitation PIN, check-in with
// facts and apps, lock → acknowledged, force check-in over GET /commands, wipe → cancel → wipe →
// WIPED (credential dead), and retire → RETIRED.
func TestAgentLifecycle(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			tenant, ta := e.createTenant("Lifecycle")
			accountID, pin := e.deviceUser(ta, "ann@lifecycle.example.com")

			facts := sampleFacts("R58N0001")
			facts.Rooted = true
			apps := []android.App{{AppID: "com.example.mail", Name: "Mail", Version: "2.1"},
				{AppID: "com.example.chat", Name: "Chat", Version: "7.0.3"}}
			reg := e.registerDevice("ann@lifecycle.example.com", pin, facts, apps)
			if reg.Credential == "" || reg.DeviceID == 0 || reg.RegistrationState != "ACTIVE" ||
				reg.DeviceKind != "ANDROID_PHONE" || reg.CheckinIntervalSeconds != 900 {
				t.Fatalf("registration answered %+v", reg)
			}
			// The PIN was used up.
			if r := e.agent("POST", "/api/agent/v1/register", "", android.RegisterRequest{Username: "ann@lifecycle.example.com",
				PIN: pin, Facts: facts}); r.Status != 401 {
				t.Errorf("second registration with the same PIN: %d, want 401", r.Status)
			}

			token := "fcm-token-1"
			reply := e.checkin(reg.Credential, android.CheckinRequest{Facts: &facts, Apps: &apps, PushToken: &token})
			if len(reply.Commands) != 0 || reply.RegistrationState != "ACTIVE" {
				t.Errorf("first check-in: %+v", reply)
			}

			d := e.getDevice(ta, reg.DeviceID)
			if d.DeviceModel != "Pixel 8" || d.SerialNumber != "R58N0001" || !d.Jailbroken || !d.Encrypted ||
				d.AppCount != 2 || d.EmailAddress != "ann@lifecycle.example.com" || d.OwnerID == nil || *d.OwnerID != accountID ||
				d.PlatformType != "ANDROID" || d.LastCheckin == nil || d.DmPartitionID != tenant.DefaultDmPartitionID ||
				d.ViolatedPolicies == nil {
				t.Errorf("device record: %+v", d)
			}
			raw := e.call("GET", fmt.Sprintf("/api/v1/device/%d", reg.DeviceID), ta, "").Body
			for _, secret := range []string{token, reg.Credential, "ush", "ash"} {
				if strings.Contains(raw, secret) {
					t.Errorf("the device JSON shows %q: %s", secret, raw)
				}
			}
			var appPage page[android.App]
			e.call("GET", fmt.Sprintf("/api/v1/device/%d/apps", reg.DeviceID), ta, "").must(t, 200, &appPage)
			if appPage.TotalCount != 2 {
				t.Errorf("apps: %+v", appPage)
			}

			// Lock: the next check-in gets it, the device acknowledges it, the history shows it.
			var result int
			e.call("PUT", "/api/v1/device/lock", ta, fmt.Sprintf("ids=%d&message=Call+IT&phoneNumber=%%2B1+555+0100", reg.DeviceID)).
				must(t, 200, &result)
			reply = e.checkin(reg.Credential, android.CheckinRequest{})
			if len(reply.Commands) != 1 || reply.Commands[0].Type != "LOCK" || reply.Commands[0].Payload["message"] != "Call IT" {
				t.Fatalf("check-in after lock: %+v", reply)
			}
			lock := reply.Commands[0]
			if h := e.history(ta, reg.DeviceID); h[0].Status != "SENT" {
				t.Errorf("lock once fetched: %+v", h[0])
			}
			e.agent("PUT", fmt.Sprintf("/api/agent/v1/commands/%d", lock.ID), reg.Credential,
				android.CommandResult{Status: "ACKNOWLEDGED", Result: "locked"}).must(t, 200, nil)
			if h := e.history(ta, reg.DeviceID); h[0].ID != lock.ID || h[0].Status != "ACKNOWLEDGED" {
				t.Errorf("lock after the answer: %+v", h)
			}

			// Force check-in over GET /commands, answered in the next check-in.
			e.act(ta, "forceCheckin", reg.DeviceID)
			var cmds android.CommandsResponse
			e.agent("GET", "/api/agent/v1/commands", reg.Credential, nil).must(t, 200, &cmds)
			if len(cmds.Commands) != 1 || cmds.Commands[0].Type != "FORCE_CHECKIN" {
				t.Fatalf("commands: %+v", cmds)
			}
			reply = e.checkin(reg.Credential, android.CheckinRequest{Facts: &facts,
				Results: []android.CommandResult{{ID: cmds.Commands[0].ID, Status: "ACKNOWLEDGED"}}})
			if len(reply.Commands) != 0 {
				t.Errorf("nothing should be due: %+v", reply)
			}

			// Wipe, cancel, wipe again, confirm.
			e.act(ta, "wipe", reg.DeviceID)
			if d := e.getDevice(ta, reg.DeviceID); d.RegistrationState != "WIPE_PENDING" {
				t.Errorf("after wipe: %s", d.RegistrationState)
			}
			e.act(ta, "wipeCancel", reg.DeviceID)
			if d := e.getDevice(ta, reg.DeviceID); d.RegistrationState != "ACTIVE" {
				t.Errorf("after wipeCancel: %s", d.RegistrationState)
			}
			if h := e.history(ta, reg.DeviceID); h[0].Type != "WIPE" || h[0].Status != "CANCELLED" {
				t.Errorf("cancelled wipe: %+v", h[0])
			}
			e.act(ta, "wipe", reg.DeviceID)
			reply = e.checkin(reg.Credential, android.CheckinRequest{})
			if len(reply.Commands) != 1 || reply.Commands[0].Type != "WIPE" || reply.RegistrationState != "WIPE_PENDING" {
				t.Fatalf("check-in after wipe: %+v", reply)
			}
			e.checkin(reg.Credential, android.CheckinRequest{Results: []android.CommandResult{{ID: reply.Commands[0].ID, Status: "ACKNOWLEDGED"}}})
			if d := e.getDevice(ta, reg.DeviceID); d.RegistrationState != "WIPED" {
				t.Errorf("after the wipe was confirmed: %s", d.RegistrationState)
			}
			r := e.agent("POST", "/api/agent/v1/checkin", reg.Credential, android.CheckinRequest{})
			if r.Status != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("a wiped device's check-in: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
			}

			// Retire a second device of the same user (the account has registered before: a new PIN).
			reg2 := e.registerDevice("ann@lifecycle.example.com", e.regPIN(ta, accountID), sampleFacts("R58N0002"), nil)
			e.act(ta, "retire", reg2.DeviceID)
			reply = e.checkin(reg2.Credential, android.CheckinRequest{})
			if len(reply.Commands) != 1 || reply.Commands[0].Type != "RETIRE" || reply.RegistrationState != "RETIRE_PENDING" {
				t.Fatalf("check-in after retire: %+v", reply)
			}
			e.agent("PUT", fmt.Sprintf("/api/agent/v1/commands/%d", reply.Commands[0].ID), reg2.Credential,
				android.CommandResult{ID: reply.Commands[0].ID, Status: "ACKNOWLEDGED"}).must(t, 200, nil)
			if d := e.getDevice(ta, reg2.DeviceID); d.RegistrationState != "RETIRED" {
				t.Errorf("after the retire was confirmed: %s", d.RegistrationState)
			}
			if r := e.agent("GET", "/api/agent/v1/commands", reg2.Credential, nil); r.Status != 401 {
				t.Errorf("a retired device's fetch: %d", r.Status)
			}
			var states []string
			for _, id := range []int64{reg.DeviceID, reg2.DeviceID} {
				states = append(states, e.getDevice(ta, id).RegistrationState)
			}
			if diff := cmp.Diff([]string{"WIPED", "RETIRED"}, states); diff != "" {
				t.Errorf("final states (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAgentRefusesBadRequests: each bad agent call gets its 4xx and leaves the device as it was.
func TestAgentRefusesBadRequests(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Agentbad")
	_, pin := e.deviceUser(ta, "bob@agentbad.example.com")
	reg := e.registerDevice("bob@agentbad.example.com", pin, sampleFacts("S1"), nil)
	e.act(ta, "lock", reg.DeviceID)
	cred := reg.Credential
	huge := strings.Repeat("x", android.MaxBody+10)
	noModel := sampleFacts("S2")
	noModel.Model = ""
	raw := func(method, path, ct, auth, body string) *response {
		t.Helper()
		req := newRequest(t, method, e.url+path, body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return e.send(req)
	}
	cases := []struct {
		name   string
		res    func() *response
		status int
		field  string
	}{
		{"register with a wrong PIN", func() *response {
			return e.agent("POST", "/api/agent/v1/register", "", android.RegisterRequest{Username: "bob@agentbad.example.com", PIN: "000000", Facts: sampleFacts("S3")})
		}, 401, ""},
		{"register without a model", func() *response {
			return e.agent("POST", "/api/agent/v1/register", "", android.RegisterRequest{Username: "bob@agentbad.example.com", PIN: "1", Facts: noModel})
		}, 400, "facts.deviceModel"},
		{"register as a form", func() *response {
			return raw("POST", "/api/agent/v1/register", "application/x-www-form-urlencoded", "", "username=bob")
		}, 415, ""},
		{"register too large", func() *response {
			return raw("POST", "/api/agent/v1/register", "application/json", "", `{"username":"`+huge+`"}`)
		}, 413, ""},
		{"register malformed", func() *response {
			return raw("POST", "/api/agent/v1/register", "application/json", "", `{"username":`)
		}, 400, "body"},
		{"check-in without a credential", func() *response {
			return e.agent("POST", "/api/agent/v1/checkin", "", android.CheckinRequest{})
		}, 401, ""},
		{"check-in with an unknown credential", func() *response {
			return e.agent("POST", "/api/agent/v1/checkin", "sdc_not-a-real-one", android.CheckinRequest{})
		}, 401, ""},
		{"check-in with the admin's Basic credentials", func() *response {
			return raw("POST", "/api/agent/v1/checkin", "application/json", "Basic "+basic(ta), `{}`)
		}, 401, ""},
		{"check-in with a bad result status", func() *response {
			return e.agent("POST", "/api/agent/v1/checkin", cred, android.CheckinRequest{Results: []android.CommandResult{{ID: 1, Status: "DONE"}}})
		}, 400, "results[0].status"},
		{"check-in with a wrong type", func() *response {
			return raw("POST", "/api/agent/v1/checkin", "application/json", "Bearer "+cred, `{"facts":"x"}`)
		}, 400, "facts"},
		{"fetch with a bad limit", func() *response { return e.agent("GET", "/api/agent/v1/commands?limit=0", cred, nil) }, 400, "limit"},
		{"answer an unknown command", func() *response {
			return e.agent("PUT", "/api/agent/v1/commands/999999", cred, android.CommandResult{Status: "ACKNOWLEDGED"})
		}, 404, ""},
		{"answer with a mismatched id", func() *response {
			return e.agent("PUT", "/api/agent/v1/commands/5", cred, android.CommandResult{ID: 6, Status: "ACKNOWLEDGED"})
		}, 400, "id"},
		{"answer a non-numeric command", func() *response {
			return e.agent("PUT", "/api/agent/v1/commands/x", cred, android.CommandResult{Status: "ACKNOWLEDGED"})
		}, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.res()
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if c.field != "" && !contains(r.fields(), c.field) {
				t.Errorf("field errors %v, want %s", r.fields(), c.field)
			}
			if c.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q, want the Bearer challenge", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Nothing changed: one device, still ACTIVE, its lock still pending, nothing answered.
	if ids := e.listDevices(ta, ""); len(ids) != 1 {
		t.Errorf("devices %v, want only the one registered", ids)
	}
	h := e.history(ta, reg.DeviceID)
	if len(h) != 1 || h[0].Type != "LOCK" || h[0].Status != "PENDING" {
		t.Errorf("history after the bad calls: %+v", h)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
