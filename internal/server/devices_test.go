package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/android"
	"steward/internal/mdm"
)

// TestDeviceListFilters: fq over the device fields, the owner's email, the serial number, and the
// custom attributes get/put round trip.
func TestDeviceListFilters(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Filters")
			clean := e.enrolled(ta, "clean@filters.example.com", "SER-CLEAN")
			rooted := e.enrolled(ta, "rooted@filters.example.com", "SER-ROOTED")
			f := sampleFacts("SER-ROOTED")
			f.Rooted = true
			e.checkin(rooted.Credential, android.CheckinRequest{Facts: &f})
			retired := e.enrolled(ta, "gone@filters.example.com", "SER-GONE")
			g := sampleFacts("SER-GONE")
			g.Rooted = true
			e.checkin(retired.Credential, android.CheckinRequest{Facts: &g})
			e.act(ta, "retire", retired.DeviceID)

			for _, c := range []struct {
				fq   string
				want []int64
			}{
				{"", []int64{clean.DeviceID, rooted.DeviceID, retired.DeviceID}},
				{"registrationState=ACTIVE and (quarantined=true or jailbroken=true)", []int64{rooted.DeviceID}},
				{"jailbroken=true", []int64{rooted.DeviceID, retired.DeviceID}},
				{"emailAddress=clean@filters.example.com", []int64{clean.DeviceID}},
				{"serialNumber=SER-ROOTED", []int64{rooted.DeviceID}},
				{"serialNumber=nothing-like-it", []int64{}},
				{"registrationState=RETIRE_PENDING", []int64{retired.DeviceID}},
			} {
				got := e.listDevices(ta, c.fq)
				slices.Sort(got)
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("fq %q (-want +got):\n%s", c.fq, diff)
				}
			}

			// Paging and sorting.
			var p page[deviceView]
			e.call("GET", "/api/v1/device?rows=2&start=0&sortFields[0].name=id&sortFields[0].order=DESC", ta, "").must(t, 200, &p)
			if p.TotalCount != 3 || len(p.SearchResults) != 2 || p.SearchResults[0].ID != retired.DeviceID {
				t.Errorf("page: %+v", p)
			}

			// Custom attributes: a string or a list (its first value), then read back by id and by guid.
			path := fmt.Sprintf("/api/v1/device/%d/customattributes", clean.DeviceID)
			e.call("PUT", path, ta, `{"attrs":{"cityId":"SF","carrier":["att","tmo"]}}`).must(t, 200, nil)
			var attrs struct {
				Attrs map[string]string `json:"attrs"`
			}
			e.call("GET", path, ta, "").must(t, 200, &attrs)
			want := map[string]string{"cityId": "SF", "carrier": "att"}
			if diff := cmp.Diff(want, attrs.Attrs); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			d := e.getDevice(ta, clean.DeviceID)
			e.call("GET", "/api/v1/device/"+d.GUID+"/customattributes", ta, "").must(t, 200, &attrs)
			if diff := cmp.Diff(want, attrs.Attrs); diff != "" {
				t.Errorf("attributes by guid (-want +got):\n%s", diff)
			}
			if got := d.CustomAttributes["attrs"]; !cmp.Equal(got, map[string]any{"cityId": "SF", "carrier": "att"}) {
				t.Errorf("device customAttributes %v", d.CustomAttributes)
			}

			// A new owner, then delete.
			owner, _ := e.deviceUser(ta, "new-owner@filters.example.com")
			e.call("PUT", "/api/v1/device/updateAccount", ta, fmt.Sprintf("accountId=%d&deviceIds=%d,%d", owner, clean.DeviceID, rooted.DeviceID)).
				must(t, 200, nil)
			if got := e.listDevices(ta, "emailAddress=new-owner@filters.example.com"); len(got) != 2 {
				t.Errorf("devices of the new owner: %v", got)
			}
			e.call("DELETE", fmt.Sprintf("/api/v1/device?deviceIds=%d", clean.DeviceID), ta, "").must(t, 200, nil)
			if r := e.call("GET", fmt.Sprintf("/api/v1/device/%d", clean.DeviceID), ta, ""); r.Status != 404 {
				t.Errorf("deleted device: %d", r.Status)
			}
			if r := e.agent("POST", "/api/agent/v1/checkin", clean.Credential, android.CheckinRequest{}); r.Status != 401 {
				t.Errorf("a deleted device's check-in: %d, want 401", r.Status)
			}
		})
	}
}

// TestDeviceTenantIsolation: tenant B's administrator cannot see or act on tenant A's device, and B's
// device credential cannot answer A's commands.
func TestDeviceTenantIsolation(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Alpha")
			_, tb := e.createTenant("Beta")
			a := e.enrolled(ta, "a@alpha.example.com", "ALPHA1")
			b := e.enrolled(tb, "b@beta.example.com", "BETA1")
			e.act(ta, "lock", a.DeviceID)
			lock := e.history(ta, a.DeviceID)[0]

			if got := e.listDevices(tb, ""); !cmp.Equal(got, []int64{b.DeviceID}) {
				t.Errorf("B's list: %v, want only B's device", got)
			}
			for _, c := range []struct{ method, path, body string }{
				{"GET", fmt.Sprintf("/api/v1/device/%d", a.DeviceID), ""},
				{"GET", fmt.Sprintf("/api/v1/device/%d/apps", a.DeviceID), ""},
				{"GET", fmt.Sprintf("/api/v1/device/%d/commands", a.DeviceID), ""},
				{"GET", fmt.Sprintf("/api/v1/device/%d/customattributes", a.DeviceID), ""},
				{"PUT", fmt.Sprintf("/api/v1/device/%d/customattributes", a.DeviceID), `{"attrs":{"k":"v"}}`},
				{"PUT", fmt.Sprintf("/api/v1/device/lock?ids=%d", a.DeviceID), ""},
				{"PUT", fmt.Sprintf("/api/v1/device/wipe?ids=%d", a.DeviceID), ""},
				{"PUT", fmt.Sprintf("/api/v1/device/retire?ids=%d,%d", b.DeviceID, a.DeviceID), ""},
				{"PUT", fmt.Sprintf("/api/v1/device/message?deviceIds=%d&sendPushNotification=true&pushNotificationMessage=hi", a.DeviceID), ""},
			} {
				if r := e.call(c.method, c.path, tb, c.body); r.Status != 404 {
					t.Errorf("B: %s %s: %d, want 404: %s", c.method, c.path, r.Status, r.Body)
				}
			}
			// B's device answers A's command: not its command.
			if r := e.agent("PUT", fmt.Sprintf("/api/agent/v1/commands/%d", lock.ID), b.Credential,
				android.CommandResult{Status: "ACKNOWLEDGED"}); r.Status != 404 {
				t.Errorf("B's device answering A's command: %d, want 404", r.Status)
			}
			e.checkin(b.Credential, android.CheckinRequest{Results: []android.CommandResult{{ID: lock.ID, Status: "ACKNOWLEDGED"}}})

			// Nothing changed on A's side; B's device is still ACTIVE with nothing queued.
			if h := e.history(ta, a.DeviceID); len(h) != 1 || h[0].Status != "PENDING" {
				t.Errorf("A's history: %+v", h)
			}
			if d := e.getDevice(ta, a.DeviceID); d.RegistrationState != "ACTIVE" || len(d.CustomAttributes["attrs"].(map[string]any)) != 0 {
				t.Errorf("A's device: %+v", d)
			}
			if d := e.getDevice(tb, b.DeviceID); d.RegistrationState != "ACTIVE" || len(e.history(tb, b.DeviceID)) != 0 {
				t.Errorf("B's device: %+v", d)
			}
		})
	}
}

// TestDeviceMessageMail: the message action emails the owner the Send Message template and queues the
// pushed text as a MESSAGE command.
func TestDeviceMessageMail(t *testing.T) {
	box := startInbox(t, "127.0.0.1:0")
	e := newAPIEnv(t, "", func(c *Config) { c.SMTPURL = "smtp://" + box.addr })
	_, ta := e.createTenant("Messages")
	d := e.enrolled(ta, "reader@messages.example.com", "MSG1")
	form := url.Values{"deviceIds": {fmt.Sprint(d.DeviceID)}, "sendPushNotification": {"true"},
		"pushNotificationMessage": {"Please update"}, "sendEmail": {"true"}, "emailSubject": {"Quarterly device check"},
		"emailBody": {"Bring your phone to IT on Friday."}}
	var result int
	e.call("PUT", "/api/v1/device/message", ta, form.Encode()).must(t, 200, &result)
	if result != 1 {
		t.Errorf("result %d", result)
	}
	msg := box.wait(t, regexp.MustCompile(`(?s)To: .*reader@messages\.example\.com.*Quarterly device check`))
	if !strings.Contains(unfold(msg), "Bring your phone to IT on Friday.") {
		t.Errorf("the mail lacks the body: %s", msg)
	}
	reply := e.checkin(d.Credential, android.CheckinRequest{})
	if len(reply.Commands) != 1 || reply.Commands[0].Type != "MESSAGE" || reply.Commands[0].Payload["message"] != "Please update" {
		t.Errorf("check-in after the message: %+v", reply)
	}
}

// TestDeviceAPIRefusesBadInput: each bad call gets its 4xx, and nothing changed afterwards.
func TestDeviceAPIRefusesBadInput(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	tenant, ta := e.createTenant("Badinput")
	d := e.enrolled(ta, "eve@badinput.example.com", "BAD1")
	id := fmt.Sprint(d.DeviceID)
	e.call("PUT", "/api/v1/device/"+id+"/customattributes", ta, `{"attrs":{"keep":"me"}}`).must(t, 200, nil)
	many := make([]string, 10_001)
	for i := range many {
		many[i] = fmt.Sprint(i + 1)
	}
	cases := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"PUT", "/api/v1/device/lock?ids=x", "", 400, "ids"},
		{"PUT", "/api/v1/device/lock?ids=0", "", 400, "ids"},
		{"PUT", "/api/v1/device/lock?ids=-3", "", 400, "ids"},
		{"PUT", "/api/v1/device/lock", "", 400, "ids"},
		{"PUT", "/api/v1/device/lock", "ids=" + strings.Join(many, ","), 400, "ids"},
		{"PUT", "/api/v1/device/lock?ids=999999", "", 404, ""},
		{"PUT", "/api/v1/device/lock?ids=" + id + ",999999", "", 404, ""},
		{"PUT", "/api/v1/device/lock?ids=" + id + "&message=" + strings.Repeat("m", 300), "", 400, "message"},
		{"PUT", "/api/v1/device/lock?ids=" + id + "&osxLockPin=123456", "", 400, "osxLockPin"},
		{"PUT", "/api/v1/device/wipeCancel?ids=" + id, "", 409, ""},
		{"PUT", "/api/v1/device/message?deviceIds=" + id, "", 400, "sendPushNotification"},
		{"PUT", "/api/v1/device/message?deviceIds=" + id + "&sendEmail=true&emailSubject=s", "", 400, "emailBody"},
		{"PUT", "/api/v1/device/message?deviceIds=" + id + "&sendEmail=maybe", "", 400, "sendEmail"},
		{"PUT", "/api/v1/device/" + id + "/customattributes", `{"attrs":{"bad key!":"v"}}`, 400, ""},
		{"PUT", "/api/v1/device/" + id + "/customattributes", `{"attrs":{"k":5}}`, 400, ""},
		{"PUT", "/api/v1/device/" + id + "/customattributes", `{}`, 400, "attrs"},
		{"PUT", "/api/v1/device/999999/customattributes", `{"attrs":{"k":"v"}}`, 404, ""},
		{"PUT", "/api/v1/device/updateAccount", "accountId=0&deviceIds=" + id, 400, "accountId"},
		{"PUT", "/api/v1/device/updateAccount", "accountId=999999&deviceIds=" + id, 404, ""},
		{"PUT", "/api/v1/device/updateAccount", `{"accountId":1,"deviceIds":["x"]}`, 400, ""},
		{"PUT", "/api/v1/device/updateAccount", "accountId=1&deviceIds=x", 400, "deviceIds"},
		{"DELETE", "/api/v1/device", "", 400, "deviceIds"},
		{"DELETE", "/api/v1/device?deviceIds=abc", "", 400, "deviceIds"},
		{"GET", "/api/v1/device?rows=0", "", 400, "rows"},
		{"GET", "/api/v1/device?fq=" + url.QueryEscape("bogus=1"), "", 400, "fq"},
		{"GET", "/api/v1/device?dmPartitionId=12345", "", 400, "dmPartitionId"},
		{"GET", "/api/v1/device/x", "", 404, ""},
		{"GET", "/api/v1/device/0", "", 404, ""},
		{"GET", "/api/v1/device/00000000-0000-4000-8000-000000000000", "", 404, ""},
	}
	for _, c := range cases {
		r := e.call(c.method, c.path, ta, c.body)
		if r.Status != c.status {
			t.Errorf("%s %.80s: %d, want %d: %s", c.method, c.path, r.Status, c.status, r.Body)
			continue
		}
		if c.field != "" && !contains(r.fields(), c.field) {
			t.Errorf("%s %.80s: field errors %v, want %s", c.method, c.path, r.fields(), c.field)
		}
	}
	// The tenant's own device space is accepted.
	e.call("GET", fmt.Sprintf("/api/v1/device?dmPartitionId=%d", tenant.DefaultDmPartitionID), ta, "").must(t, 200, nil)

	got := e.getDevice(ta, d.DeviceID)
	if got.RegistrationState != "ACTIVE" || got.EmailAddress != "eve@badinput.example.com" ||
		!cmp.Equal(got.CustomAttributes["attrs"], map[string]any{"keep": "me"}) {
		t.Errorf("device after the bad calls: %+v", got)
	}
	if h := e.history(ta, d.DeviceID); len(h) != 0 {
		t.Errorf("commands queued by bad calls: %+v", h)
	}
}

// TestDevicePermissions: reads need Device Read Only, actions Device Actions, record changes Device
// Management; a role that lacks them gets 403 and changes nothing.
func TestDevicePermissions(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	_, ta := e.createTenant("Perms")
	d := e.enrolled(ta, "owner@perms.example.com", "PERM1")
	users := map[string]string{}
	for _, role := range []string{"DEVICE_READ_ONLY", "DEVICE_ACTIONS", "USER_MANAGEMENT"} {
		email := strings.ToLower(role) + "@perms.example.com"
		e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"`+email+`","firstName":"P","lastName":"Q",`+
			`"password":"Perm-user-pw-12","roles":["`+role+`"]}]}`).must(t, 200, nil)
		users[role] = email + ":Perm-user-pw-12"
	}
	id := fmt.Sprint(d.DeviceID)
	for _, c := range []struct {
		role, method, path string
		status             int
	}{
		{"DEVICE_READ_ONLY", "GET", "/api/v1/device/" + id, 200},
		{"DEVICE_READ_ONLY", "PUT", "/api/v1/device/lock?ids=" + id, 403},
		{"DEVICE_ACTIONS", "PUT", "/api/v1/device/lock?ids=" + id, 200},
		{"DEVICE_ACTIONS", "DELETE", "/api/v1/device?deviceIds=" + id, 403},
		{"USER_MANAGEMENT", "GET", "/api/v1/device", 403},
	} {
		if r := e.call(c.method, c.path, users[c.role], ""); r.Status != c.status {
			t.Errorf("%s: %s %s: %d, want %d", c.role, c.method, c.path, r.Status, c.status)
		}
	}
	if h := e.history(ta, d.DeviceID); len(h) != 1 {
		t.Errorf("history %+v, want the one lock", h)
	}
}

// TestDeviceWakePush: with a push service configured, an action wakes the device through it (here a
// loopback double of the FCM HTTP v1 API); a token the service does not know is cleared from the device.
func TestDeviceWakePush(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	double := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Message struct {
				Token string            `json:"token"`
				Data  map[string]string `json:"data"`
			} `json:"message"`
		}
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/projects/steward-test/messages:send" || r.Header.Get("Authorization") != "Bearer push-key-1" ||
			json.Unmarshal(body, &m) != nil || m.Message.Data["steward"] != "wake" {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		tokens = append(tokens, m.Message.Token)
		mu.Unlock()
		if m.Message.Token == "stale-token" {
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":404,"status":"NOT_FOUND","message":"Requested entity was not found."}}`)
			return
		}
		io.WriteString(w, `{"name":"projects/steward-test/messages/1"}`)
	}))
	defer double.Close()
	e := newAPIEnv(t, "", func(c *Config) {
		c.PushURL, c.PushProject, c.PushKey = double.URL, "steward-test", "push-key-1"
	})
	tenant, ta := e.createTenant("Wakeup")
	d := e.enrolled(ta, "woken@wakeup.example.com", "WAKE1")
	token := "fcm-registration-token-1"
	e.checkin(d.Credential, android.CheckinRequest{PushToken: &token})
	e.act(ta, "lock", d.DeviceID)

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := append([]string(nil), tokens...)
		mu.Unlock()
		if len(got) > 0 {
			if !cmp.Equal(got, []string{token}) {
				t.Errorf("woken tokens %v, want [%s]", got, token)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the push double received no wake")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A stale token: the service answers 404 and the device's token is forgotten.
	stale := e.enrolled(ta, "stale@wakeup.example.com", "WAKE2")
	staleToken := "stale-token"
	e.checkin(stale.Credential, android.CheckinRequest{PushToken: &staleToken})
	e.act(ta, "forceCheckin", stale.DeviceID)
	for {
		dev, err := e.srv.Store().Devices().Get(context.Background(), mdm.TenantID(tenant.ID), mdm.DeviceID(stale.DeviceID))
		if err != nil {
			t.Fatal(err)
		}
		if dev.PushToken == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stale push token was not cleared")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The queue and the sender show in the metrics.
	m := e.call("GET", "/metrics", "", "").Body
	for _, want := range []string{`steward_device_commands{status="PENDING"} 2`, `steward_push_wakes_total{outcome="sent"} 1`,
		`steward_push_wakes_total{outcome="unregistered"} 1`, `steward_push_wakes_queued 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
