package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"steward/internal/android"
	"steward/internal/mdm"
)

type configView struct {
	ID                   int64          `json:"id"`
	Name                 string         `json:"name"`
	Type                 string         `json:"type"`
	Priority             int            `json:"priority"`
	Version              int64          `json:"version"`
	Attributes           map[string]any `json:"attributes"`
	SecretsSet           []string       `json:"secretsSet"`
	TotalDeviceCount     int            `json:"totalDeviceCount"`
	InstalledDeviceCount int            `json:"installedDeviceCount"`
	ViolationDeviceCount int            `json:"violationDeviceCount"`
	PendingDeviceCount   int            `json:"pendingDeviceCount"`
}

func (e *apiEnv) createConfig(ta, body string) configView {
	e.t.Helper()
	var c configView
	e.call("POST", "/api/v1/configurations", ta, body).must(e.t, 200, &c)
	return c
}

func (e *apiEnv) getConfig(ta string, id int64) configView {
	e.t.Helper()
	var c configView
	e.call("GET", fmt.Sprintf("/api/v1/configurations/%d", id), ta, "").must(e.t, 200, &c)
	return c
}

func (e *apiEnv) distribute(ta string, id int64, targets string) {
	e.t.Helper()
	e.call("PUT", fmt.Sprintf("/api/v1/configurations/%d/distribution", id), ta, `{"targets":[`+targets+`]}`).must(e.t, 200, nil)
}

// converge runs the reconciler once (the background one runs too; both are idempotent).
func (e *apiEnv) converge() {
	e.t.Helper()
	if _, err := e.srv.configs.ReconcileAll(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// agentCommands checks the device in, acknowledging results, and returns the commands it got.
func (e *apiEnv) agentCommands(cred string, results []android.CommandResult) []android.Command {
	e.t.Helper()
	return e.checkin(cred, android.CheckinRequest{Results: results}).Commands
}

func ackAll(cmds []android.Command) []android.CommandResult {
	var out []android.CommandResult
	for _, c := range cmds {
		out = append(out, android.CommandResult{ID: c.ID, Status: mdm.CmdAcknowledged})
	}
	return out
}

func cmdSummary(cmds []android.Command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Type+":"+c.Payload["configurationId"]+"@"+c.Payload["version"])
	}
	return out
}

func TestConfigurationsAPI(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), func(c *Config) { c.ConfigurationInterval = time.Hour })
			_, ta := e.createTenant("Cfg")
			_, tb := e.createTenant("Other")

			// Validation: clear field errors, nothing stored.
			for _, tc := range []struct{ body, field string }{
				{`{"name":"W","type":"WIFI","attributes":{}}`, "attributes.ssid"},
				{`{"name":"W","type":"WIFI","attributes":{"ssid":"Corp","securityType":"WPA2"}}`, "attributes.password"},
				{`{"name":"W","type":"WIFI","attributes":{"ssid":"Corp","securityType":"WPA2","password":"short"}}`, "attributes.password"},
				{`{"name":"W","type":"WIFI","attributes":{"ssid":"Corp","bogus":1}}`, "attributes.bogus"},
				{`{"name":"W","type":"TOASTER","attributes":{}}`, "type"},
				{`{"type":"PASSCODE"}`, "name"},
				{`{"name":"P","type":"PASSCODE","attributes":{"minLength":99}}`, "attributes.minLength"},
				{`{"name":"P","type":"PASSCODE","attributes":{"maxFailedAttempts":1}}`, "attributes.maxFailedAttempts"},
				{`{"name":"C","type":"WEBCLIP","attributes":{"label":"x","url":"javascript:alert(1)"}}`, "attributes.url"},
			} {
				r := e.call("POST", "/api/v1/configurations", ta, tc.body)
				if r.Status != 400 || r.field() != tc.field {
					t.Errorf("%s: status %d fields %v, want 400 %s", tc.body, r.Status, r.fields(), tc.field)
				}
			}
			var list page[configView]
			e.call("GET", "/api/v1/configurations", ta, "").must(t, 200, &list)
			if list.TotalCount != 0 {
				t.Fatalf("invalid configurations were stored: %+v", list)
			}

			// Secrets are sealed and never returned.
			wifi := e.createConfig(ta, `{"name":"Corp Wi-Fi","type":"WIFI","attributes":{"ssid":"Corp","securityType":"WPA2","password":"s3cret-wifi-pw"}}`)
			if _, ok := wifi.Attributes["password"]; ok || len(wifi.SecretsSet) != 1 || wifi.Priority != 1 {
				t.Fatalf("created: %+v", wifi)
			}
			for _, path := range []string{fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), "/api/v1/configurations",
				"/api/v1/policy?tag=DEVICE_CONFIGURATION"} {
				if r := e.call("GET", path, ta, ""); r.Status != 200 || strings.Contains(r.Body, "s3cret") {
					t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
				}
			}

			// Permissions: Device Read Only reads, never changes; User Read Only does not even read.
			e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"ro@cfg.example.com","firstName":"R","lastName":"O",`+
				`"password":"Read-only-pw-123","roles":["DEVICE_READ_ONLY"],"apiUser":true},{"emailAddress":"uro@cfg.example.com",`+
				`"firstName":"U","lastName":"R","password":"Read-only-pw-123","roles":["USER_READ_ONLY"],"apiUser":true}]}`).must(t, 200, nil)
			ro, uro := "ro@cfg.example.com:Read-only-pw-123", "uro@cfg.example.com:Read-only-pw-123"
			e.call("GET", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), ro, "").must(t, 200, nil)
			for _, c := range []struct{ who, method, path, body string }{
				{ro, "POST", "/api/v1/configurations", `{"name":"X","type":"PASSCODE"}`},
				{ro, "PUT", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), `{"name":"x"}`},
				{ro, "PUT", fmt.Sprintf("/api/v1/configurations/%d/distribution", wifi.ID), `{"targets":[{"type":"ALL_USERS"}]}`},
				{ro, "PUT", fmt.Sprintf("/api/v1/configurations/%d/priority", wifi.ID), `{"priority":1}`},
				{ro, "DELETE", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), ""},
				{uro, "GET", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), ""},
				{uro, "GET", "/api/v1/policy?tag=DEVICE_CONFIGURATION", ""},
			} {
				if r := e.call(c.method, c.path, c.who, c.body); r.Status != 403 {
					t.Errorf("%s %s %s: %d, want 403", c.who, c.method, c.path, r.Status)
				}
			}

			// Tenant isolation.
			for _, c := range []struct{ method, path, body string }{
				{"GET", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), ""},
				{"PUT", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), `{"name":"x"}`},
				{"PUT", fmt.Sprintf("/api/v1/configurations/%d/distribution", wifi.ID), `{"targets":[{"type":"ALL_USERS"}]}`},
				{"DELETE", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), ""},
				{"GET", fmt.Sprintf("/api/v1/configurations/%d/devices", wifi.ID), ""},
			} {
				if r := e.call(c.method, c.path, tb, c.body); r.Status != 404 {
					t.Errorf("other tenant %s %s: %d", c.method, c.path, r.Status)
				}
			}

			// A device gets the configuration once assigned, and reports it installed.
			dev := e.enrolled(ta, "ann@cfg.example.com", "CFG-1")
			e.distribute(ta, wifi.ID, `{"type":"ALL_USERS"}`)
			e.converge()
			cmds := e.agentCommands(dev.Credential, nil)
			if got := cmdSummary(cmds); len(got) != 1 || got[0] != fmt.Sprintf("APPLY_CONFIGURATION:%d@1", wifi.ID) {
				t.Fatalf("commands %v", got)
			}
			if !strings.Contains(cmds[0].Payload["policy"], `"ssid":"Corp"`) || !strings.Contains(cmds[0].Payload["policy"], "s3cret-wifi-pw") {
				t.Fatalf("policy %s", cmds[0].Payload["policy"])
			}
			if c := e.getConfig(ta, wifi.ID); c.TotalDeviceCount != 1 || c.PendingDeviceCount != 1 {
				t.Fatalf("pending counts %+v", c)
			}
			stored, err := e.srv.store.Commands().History(context.Background(), mdm.TenantID(e.tenantOf(ta)), mdm.DeviceID(dev.DeviceID), mdm.ListOptions{Rows: 50})
			if err != nil || len(stored.Items) == 0 || strings.Contains(fmt.Sprint(stored.Items[0].Payload), "s3cret") {
				t.Fatalf("the queue keeps the policy readable: %v %v", err, stored.Items)
			}
			if r := e.call("GET", fmt.Sprintf("/api/v1/device/%d/commands", dev.DeviceID), ta, ""); r.Status != 200 ||
				strings.Contains(r.Body, "s3cret") || !strings.Contains(r.Body, "APPLY_CONFIGURATION") {
				t.Fatalf("command history shows the secret or no command: %s", r.Body)
			}
			if more := e.agentCommands(dev.Credential, ackAll(cmds)); len(more) != 0 {
				t.Fatalf("more commands %v", cmdSummary(more))
			}
			if c := e.getConfig(ta, wifi.ID); c.TotalDeviceCount != 1 || c.InstalledDeviceCount != 1 {
				t.Fatalf("installed counts %+v", c)
			}
			// Idempotent: converging again queues nothing.
			e.srv.store.Generations().Bump(context.Background(), mdm.TenantID(e.tenantOf(ta)))
			e.converge()
			if more := e.agentCommands(dev.Credential, nil); len(more) != 0 {
				t.Fatalf("reconverging queued %v", cmdSummary(more))
			}

			// An edit makes a new version, installed in place of the old; the secret is kept.
			e.call("PUT", fmt.Sprintf("/api/v1/configurations/%d", wifi.ID), ta, `{"attributes":{"ssid":"Corp2"}}`).must(t, 200, nil)
			e.converge()
			cmds = e.agentCommands(dev.Credential, nil)
			if got := cmdSummary(cmds); len(got) != 1 || got[0] != fmt.Sprintf("APPLY_CONFIGURATION:%d@2", wifi.ID) ||
				!strings.Contains(cmds[0].Payload["policy"], "s3cret-wifi-pw") {
				t.Fatalf("after edit: %v %v", got, cmds)
			}
			e.agentCommands(dev.Credential, ackAll(cmds))

			// Priority: of two passcode configurations the higher one applies; moving the other up swaps them.
			p1 := e.createConfig(ta, `{"name":"Strict","type":"PASSCODE","attributes":{"minLength":8}}`)
			p2 := e.createConfig(ta, `{"name":"Loose","type":"PASSCODE","attributes":{"minLength":4}}`)
			if p1.Priority != 1 || p2.Priority != 2 {
				t.Fatalf("priorities %d %d", p1.Priority, p2.Priority)
			}
			// A web clip applies to iOS only: never sent to the Android device.
			clip := e.createConfig(ta, `{"name":"Intranet","type":"WEBCLIP","attributes":{"label":"Intranet","url":"https://intra.example.com"}}`)
			e.distribute(ta, p1.ID, `{"type":"ALL_USERS"}`)
			e.distribute(ta, p2.ID, `{"type":"ALL_USERS"}`)
			e.distribute(ta, clip.ID, `{"type":"ALL_USERS"}`)
			e.converge()
			cmds = e.agentCommands(dev.Credential, nil)
			if got := cmdSummary(cmds); len(got) != 1 || got[0] != fmt.Sprintf("APPLY_CONFIGURATION:%d@1", p1.ID) {
				t.Fatalf("priority: %v", got)
			}
			e.agentCommands(dev.Credential, ackAll(cmds))
			e.call("PUT", fmt.Sprintf("/api/v1/configurations/%d/priority", p2.ID), ta, `{"priority":1}`).must(t, 200, nil)
			if c := e.getConfig(ta, p1.ID); c.Priority != 2 {
				t.Fatalf("p1 priority %d", c.Priority)
			}
			e.converge()
			cmds = e.agentCommands(dev.Credential, nil)
			want := []string{fmt.Sprintf("APPLY_CONFIGURATION:%d@1", p2.ID), fmt.Sprintf("REMOVE_CONFIGURATION:%d@1", p1.ID)}
			if got := cmdSummary(cmds); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after priority change: %v, want %v", got, want)
			}
			e.agentCommands(dev.Credential, ackAll(cmds))
			if c := e.getConfig(ta, p1.ID); c.TotalDeviceCount != 0 {
				t.Fatalf("removed configuration still counts: %+v", c)
			}

			// Group membership: a configuration for a static user group reaches the device when its
			// owner joins and leaves when the owner does.
			var g struct {
				ID int64 `json:"id"`
			}
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Sales","kind":"STATIC"}`).must(t, 200, &g)
			vpn := e.createConfig(ta, `{"name":"Sales mail","type":"EXCHANGE","attributes":{"accountName":"Work","host":"mail.example.com","password":"xpw-123"}}`)
			e.distribute(ta, vpn.ID, fmt.Sprintf(`{"type":"USER_GROUP","id":%d}`, g.ID))
			e.converge()
			if more := e.agentCommands(dev.Credential, nil); len(more) != 0 {
				t.Fatalf("not a member yet: %v", cmdSummary(more))
			}
			owner := e.getDevice(ta, dev.DeviceID).OwnerID
			e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", g.ID), ta, fmt.Sprintf(`{"accountIds":[%d]}`, *owner)).must(t, 200, nil)
			e.converge()
			cmds = e.agentCommands(dev.Credential, nil)
			if got := cmdSummary(cmds); len(got) != 1 || got[0] != fmt.Sprintf("APPLY_CONFIGURATION:%d@1", vpn.ID) ||
				!strings.Contains(cmds[0].Payload["policy"], `"emailAddress":"ann@cfg.example.com"`) {
				t.Fatalf("member: %v %v", got, cmds)
			}
			e.agentCommands(dev.Credential, ackAll(cmds))
			e.call("DELETE", fmt.Sprintf("/api/v1/usergroups/%d/members?accountIds=%d", g.ID, *owner), ta, "").must(t, 200, nil)
			e.converge()
			if got := cmdSummary(e.agentCommands(dev.Credential, nil)); len(got) != 1 || got[0] != fmt.Sprintf("REMOVE_CONFIGURATION:%d@1", vpn.ID) {
				t.Fatalf("left the group: %v", got)
			}

			// An error answer is shown per device and counted as a violation.
			var devCfgs []struct {
				ConfigurationID int64  `json:"configurationId"`
				Status          string `json:"status"`
			}
			e.call("GET", fmt.Sprintf("/api/v1/device/%d/configurations", dev.DeviceID), ta, "").must(t, 200, &devCfgs)
			if len(devCfgs) != 3 { // Wi-Fi, Loose passcode, the Exchange removal under way
				t.Fatalf("device configurations %+v", devCfgs)
			}

			// Unassigning removes it from the device.
			e.distribute(ta, wifi.ID, ``)
			e.converge()
			cmds = e.agentCommands(dev.Credential, nil)
			if got := cmdSummary(cmds); len(got) != 1 || got[0] != fmt.Sprintf("REMOVE_CONFIGURATION:%d@2", wifi.ID) {
				t.Fatalf("unassigned: %v", got)
			}
			e.agentCommands(dev.Credential, ackAll(cmds))
			if c := e.getConfig(ta, wifi.ID); c.TotalDeviceCount != 0 {
				t.Fatalf("unassigned counts %+v", c)
			}

			// A device's error is shown per device and counted as a violation.
			restr := e.createConfig(ta, `{"name":"No camera","type":"RESTRICTIONS","attributes":{"allowCamera":false}}`)
			e.distribute(ta, restr.ID, `{"type":"ALL_USERS"}`)
			e.converge()
			cmds = e.agentCommands(dev.Credential, nil)
			if len(cmds) != 1 {
				t.Fatalf("restrictions: %v", cmdSummary(cmds))
			}
			e.agentCommands(dev.Credential, []android.CommandResult{{ID: cmds[0].ID, Status: mdm.CmdError, Error: "camera policy refused"}})
			if c := e.getConfig(ta, restr.ID); c.ViolationDeviceCount != 1 || c.InstalledDeviceCount != 0 {
				t.Fatalf("error counts %+v", c)
			}
			var statuses []struct {
				DeviceID int64  `json:"deviceId"`
				Status   string `json:"status"`
				Error    string `json:"error"`
			}
			e.call("GET", fmt.Sprintf("/api/v1/configurations/%d/devices", restr.ID), ta, "").must(t, 200, &statuses)
			if len(statuses) != 1 || statuses[0].Status != "ERROR" || statuses[0].Error != "camera policy refused" {
				t.Fatalf("statuses %+v", statuses)
			}
			// Converging again does not retry the same version; a new version does.
			e.converge()
			if more := e.agentCommands(dev.Credential, nil); len(more) != 0 {
				t.Fatalf("retried: %v", cmdSummary(more))
			}
			e.distribute(ta, restr.ID, ``)
			e.converge()
			e.agentCommands(dev.Credential, ackAll(e.agentCommands(dev.Credential, nil)))

			// A dynamic device group's rule change converges the devices it now matches.
			var dg struct {
				ID int64 `json:"id"`
			}
			e.call("POST", "/api/v1/devicegroups", ta, `{"name":"Samsungs","kind":"DYNAMIC","rule":"manufacturer=Nokia"}`).must(t, 200, &dg)
			clip2 := e.createConfig(ta, `{"name":"Samsung Wi-Fi","type":"WIFI","attributes":{"ssid":"S","securityType":"NONE"}}`)
			e.distribute(ta, clip2.ID, fmt.Sprintf(`{"type":"DEVICE_GROUP","id":%d}`, dg.ID))
			e.converge()
			if more := e.agentCommands(dev.Credential, nil); len(more) != 0 {
				t.Fatalf("not matched yet: %v", cmdSummary(more))
			}
			e.call("PUT", fmt.Sprintf("/api/v1/devicegroups/%d", dg.ID), ta, `{"rule":"platformType=ANDROID"}`).must(t, 200, nil)
			e.converge()
			if got := cmdSummary(e.agentCommands(dev.Credential, nil)); len(got) != 1 || got[0] != fmt.Sprintf("APPLY_CONFIGURATION:%d@1", clip2.ID) {
				t.Fatalf("rule change: %v", got)
			}
			e.agentCommands(dev.Credential, ackAll(e.agentCommands(dev.Credential, nil)))

			// A device whose reported facts now match a dynamic group's rule gets the group's configuration
			// in that same check-in, with nothing else moving; facts that no longer match remove it.
			var nokias struct {
				ID int64 `json:"id"`
			}
			e.call("POST", "/api/v1/devicegroups", ta, `{"name":"Nokias","kind":"DYNAMIC","rule":"manufacturer=Nokia"}`).must(t, 200, &nokias)
			nokiaWifi := e.createConfig(ta, `{"name":"Nokia Wi-Fi","type":"WIFI","attributes":{"ssid":"N","securityType":"NONE"}}`)
			e.distribute(ta, nokiaWifi.ID, fmt.Sprintf(`{"type":"DEVICE_GROUP","id":%d}`, nokias.ID))
			e.converge()
			if more := e.agentCommands(dev.Credential, nil); len(more) != 0 {
				t.Fatalf("not a Nokia yet: %v", cmdSummary(more))
			}
			facts := sampleFacts("CONF-NOKIA")
			facts.Manufacturer = "Nokia"
			reply := e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
			if got := cmdSummary(reply.Commands); len(got) != 1 || got[0] != fmt.Sprintf("APPLY_CONFIGURATION:%d@1", nokiaWifi.ID) {
				t.Fatalf("facts now match the rule: %v", got)
			}
			e.agentCommands(dev.Credential, ackAll(reply.Commands))
			facts.Manufacturer = "Google"
			reply = e.checkin(dev.Credential, android.CheckinRequest{Facts: &facts})
			if got := reply.Commands; len(got) != 1 || got[0].Type != mdm.CmdRemoveConfiguration {
				t.Fatalf("facts no longer match the rule: %v", cmdSummary(got))
			}
			e.agentCommands(dev.Credential, ackAll(reply.Commands))
			e.call("DELETE", fmt.Sprintf("/api/v1/configurations/%d", nokiaWifi.ID), ta, "").must(t, 200, nil)
			e.call("DELETE", fmt.Sprintf("/api/v1/configurations/%d", clip2.ID), ta, "").must(t, 200, nil)
			e.call("DELETE", fmt.Sprintf("/api/v1/configurations/%d", restr.ID), ta, "").must(t, 200, nil)
			e.converge()
			e.agentCommands(dev.Credential, ackAll(e.agentCommands(dev.Credential, nil)))

			// The Neurons shape.
			var pol page[struct {
				ID                   int64  `json:"id"`
				PolicyType           string `json:"policyType"`
				TotalDeviceCount     int    `json:"totalDeviceCount"`
				InstalledDeviceCount int    `json:"installedDeviceCount"`
			}]
			e.call("GET", "/api/v1/policy?tag=DEVICE_CONFIGURATION", ta, "").must(t, 200, &pol)
			if pol.TotalCount != 5 {
				t.Fatalf("policies %+v", pol)
			}
			if r := e.call("GET", "/api/v1/policy?tag=OTHER", ta, ""); r.Status != 400 || r.field() != "tag" {
				t.Fatalf("unknown tag: %d %s", r.Status, r.Body)
			}
			// Deleting a configuration removes it from devices; the next passcode configuration takes its place.
			e.call("DELETE", fmt.Sprintf("/api/v1/configurations/%d", p2.ID), ta, "").must(t, 200, nil)
			e.converge()
			want = []string{fmt.Sprintf("APPLY_CONFIGURATION:%d@1", p1.ID), fmt.Sprintf("REMOVE_CONFIGURATION:%d@1", p2.ID)}
			if got := cmdSummary(e.agentCommands(dev.Credential, nil)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("deleted: %v, want %v", got, want)
			}
		})
	}
}

// tenantOf returns the tenant id of the tenant admin ta.
func (e *apiEnv) tenantOf(ta string) string {
	e.t.Helper()
	user, _, _ := strings.Cut(ta, ":")
	var page struct {
		SearchResults []struct {
			ID string `json:"id"`
		} `json:"searchResults"`
	}
	e.call("GET", "/api/v1/tenants?q="+strings.TrimSuffix(strings.TrimPrefix(user, "ta@"), ".example.com"), e.admin(), "").must(e.t, 200, &page)
	return page.SearchResults[0].ID
}
