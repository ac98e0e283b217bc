package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"

	"steward/internal/android"
	"steward/internal/apps/appstest"
	"steward/internal/mdm"
	"steward/internal/sim"
	"steward/internal/sim/ios"
)

// hasApp reports whether a simulated device's inventory holds appID.
func hasApp(d *sim.Device, appID string) bool {
	return slices.ContainsFunc(d.State().Apps, func(a android.App) bool { return a.AppID == appID })
}

// TestAppDelivery: required apps reach simulated Android devices with no manual step. Creating a
// required app, widening and narrowing its distribution, and deleting it queue INSTALL_APPLICATION and
// REMOVE_APPLICATION to exactly the devices concerned, once; the devices carry them out and report the
// change; an app the user installed themselves is never removed. On each database.
func TestAppDelivery(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Deliver")
			_, other := e.createTenant("Elsewhere")
			ctx := context.Background()
			client := &http.Client{}
			device := func(admin, email string, seed uint64) *sim.Device {
				t.Helper()
				_, pin := e.deviceUser(admin, email)
				d := sim.NewDevice(client, seed, sim.DeviceOptions{Static: true})
				if err := d.Register(ctx, e.url, email, pin); err != nil {
					t.Fatal(err)
				}
				return d
			}
			ann := device(ta, "ann@deliver.example.com", 1)
			bob := device(ta, "bob@deliver.example.com", 2)
			carl := device(ta, "carl@deliver.example.com", 3)
			// One of carl's own apps, which neither ann nor bob has: the user installed it, not Steward.
			var personal string
			for _, a := range carl.State().Apps {
				if !hasApp(ann, a.AppID) && !hasApp(bob, a.AppID) {
					personal = a.AppID
					break
				}
			}
			if personal == "" {
				t.Fatal("carl has no app of his own")
			}
			stranger := device(other, "sam@elsewhere.example.com", 4)
			// Two check-ins carry out the due commands, then report their answers and the new inventory.
			sync := func(ds ...*sim.Device) {
				t.Helper()
				for range 2 {
					for _, d := range ds {
						if err := d.CheckIn(ctx); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			commands := func(typ string) int {
				t.Helper()
				return e.count(fmt.Sprintf("SELECT COUNT(*) FROM device_commands WHERE type='%s'", typ))
			}
			sync(ann, bob, carl, stranger)

			var sales struct{ ID int64 }
			e.call("POST", "/api/v1/usergroups", ta, `{"name":"Sales","kind":"STATIC"}`).must(t, 200, &sales)
			e.call("PUT", fmt.Sprintf("/api/v1/usergroups/%d/members", sales.ID), ta,
				fmt.Sprintf(`{"accountIds":[%d]}`, e.accountID(ta, "ann@deliver.example.com"))).must(t, 200, nil)

			// Created required for Sales: only ann's device gets it.
			var crm appOutT
			e.uploadApp(ta, "crm.apk", appstest.APK("com.steward.crm", "2.4", 24), map[string]string{
				"targets[0].type": "USER_GROUP", "targets[0].id": fmt.Sprint(sales.ID), "targets[0].required": "true"}).must(t, 200, &crm)
			if n := commands("INSTALL_APPLICATION"); n != 1 {
				t.Fatalf("%d installs queued, want 1 (ann's)", n)
			}
			// Saving the same distribution again while the install is pending queues nothing more.
			dist := fmt.Sprintf("/api/v1/apps/%d/distribution", crm.ID)
			e.call("PUT", dist, ta, fmt.Sprintf(`{"targets":[{"type":"USER_GROUP","id":%d,"required":true}]}`, sales.ID)).must(t, 200, nil)
			if n := commands("INSTALL_APPLICATION"); n != 1 {
				t.Fatalf("%d installs after saving again, want 1", n)
			}
			sync(ann, bob, carl, stranger)
			if !hasApp(ann, "com.steward.crm") || hasApp(bob, "com.steward.crm") {
				t.Fatalf("after delivery: ann has it %v, bob %v", hasApp(ann, "com.steward.crm"), hasApp(bob, "com.steward.crm"))
			}
			if v := ann.State().Apps[slices.IndexFunc(ann.State().Apps, func(a android.App) bool { return a.AppID == "com.steward.crm" })].Version; v != "2.4" {
				t.Errorf("installed version %q, want 2.4 (from the .apk)", v)
			}
			if n := e.count("SELECT COUNT(*) FROM device_commands WHERE type='INSTALL_APPLICATION' AND status='ACKNOWLEDGED'"); n != 1 {
				t.Errorf("%d acknowledged installs, want 1", n)
			}
			var inv inventoryOutT
			e.call("GET", "/api/v1/appinventory?q=com.steward.crm", ta, "").must(t, 200, &inv)
			if inv.TotalCount != 1 || inv.SearchResults[0].DeviceCount != 1 || !inv.SearchResults[0].Managed {
				t.Errorf("inventory after delivery %+v", inv)
			}
			// The agent can fetch the in-house binary it was told to install; a device outside the
			// distribution cannot.
			if r := e.agent("GET", fmt.Sprintf("/api/agent/v1/apps/%d/file", crm.ID), ann.Credential(), nil); r.Status != 200 || len(r.Body) == 0 {
				t.Errorf("ann downloads the apk: %d", r.Status)
			}
			if r := e.agent("GET", fmt.Sprintf("/api/agent/v1/apps/%d/file", crm.ID), bob.Credential(), nil); r.Status != 404 {
				t.Errorf("bob downloads the apk: %d, want 404", r.Status)
			}

			// Widened to every user: bob and carl get it, ann (installed) not again, the other tenant never.
			e.call("PUT", dist, ta, fmt.Sprintf(`{"targets":[{"type":"USER_GROUP","id":%d,"required":true},{"type":"ALL_USERS","required":true}]}`, sales.ID)).must(t, 200, nil)
			if n := commands("INSTALL_APPLICATION"); n != 3 {
				t.Fatalf("%d installs after widening, want 3", n)
			}
			sync(ann, bob, carl, stranger)
			if !hasApp(bob, "com.steward.crm") || !hasApp(carl, "com.steward.crm") || hasApp(stranger, "com.steward.crm") {
				t.Fatal("widening did not reach bob and carl only")
			}
			// A device registered later gets it at the next convergence round; another round queues nothing.
			dan := device(ta, "dan@deliver.example.com", 5)
			if got, err := e.srv.apps.ConvergeAll(ctx); err != nil || got.Installs != 1 || got.Removals != 0 {
				t.Fatalf("ConvergeAll: %+v %v, want 1 install", got, err)
			}
			if got, err := e.srv.apps.ConvergeAll(ctx); err != nil || got.Installs+got.Removals != 0 {
				t.Fatalf("ConvergeAll again: %+v %v, want nothing", got, err)
			}
			sync(dan)
			if !hasApp(dan, "com.steward.crm") {
				t.Fatal("convergence did not reach the new device")
			}

			// Narrowed to Sales, optional: ann keeps it (still reached), bob and carl lose it.
			e.call("PUT", dist, ta, fmt.Sprintf(`{"targets":[{"type":"USER_GROUP","id":%d}]}`, sales.ID)).must(t, 200, nil)
			if n := commands("REMOVE_APPLICATION"); n != 3 {
				t.Fatalf("%d removals after narrowing, want 3 (bob, carl, dan)", n)
			}
			sync(ann, bob, carl, dan, stranger)
			if !hasApp(ann, "com.steward.crm") || hasApp(bob, "com.steward.crm") || hasApp(carl, "com.steward.crm") {
				t.Fatal("narrowing removed the wrong installs")
			}

			// An app the user installed themselves: required for everyone, nothing is queued to carl
			// (it is there), and removing the distribution leaves it alone.
			var pers appOutT
			e.call("POST", "/api/v1/apps", ta, `{"platformType":"ANDROID","bundleId":"`+personal+`","name":"Personal",`+
				`"targets":[{"type":"ALL_USERS","required":true}]}`).must(t, 200, &pers)
			if n := commands("INSTALL_APPLICATION"); n != 7 { // ann, bob and dan
				t.Fatalf("%d installs after the personal app, want 7", n)
			}
			sync(ann, bob, carl, dan)
			e.call("PUT", fmt.Sprintf("/api/v1/apps/%d/distribution", pers.ID), ta, `{"targets":[]}`).must(t, 200, nil)
			sync(ann, bob, carl, dan)
			if hasApp(ann, personal) || hasApp(bob, personal) || hasApp(dan, personal) || !hasApp(carl, personal) {
				t.Error("removing the distribution should remove Steward's installs and keep carl's own")
			}

			// Deleting the app removes it from the devices Steward installed it on.
			e.call("DELETE", fmt.Sprintf("/api/v1/apps/%d", crm.ID), ta, "").must(t, 200, nil)
			sync(ann, bob, carl, dan)
			if hasApp(ann, "com.steward.crm") {
				t.Error("deleting the app left it on ann's device")
			}
			if n := e.count("SELECT COUNT(*) FROM device_commands WHERE type IN ('INSTALL_APPLICATION','REMOVE_APPLICATION') AND status <> 'ACKNOWLEDGED'"); n != 0 {
				t.Errorf("%d app commands not acknowledged", n)
			}
		})
	}
}

// TestAppDeliveryApple: a required public iOS app with its App Store id reaches a simulated iPhone as
// an InstallApplication command, which the device carries out and acknowledges; an iOS app without an
// App Store id cannot be installed by command and queues nothing. On each database.
func TestAppDeliveryApple(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			e := newAPIEnv(t, db(t), nil)
			_, ta := e.createTenant("Applapps")
			e.uploadPushCertificate(ta)
			ctx := context.Background()
			_, pin := e.deviceUser(ta, "ivy@applapps.example.com")
			phone := ios.NewDevice(http.DefaultClient, 42, ios.DeviceOptions{Model: 1})
			if err := phone.Enroll(ctx, e.url, "ivy@applapps.example.com", pin, ""); err != nil {
				t.Fatal(err)
			}
			if err := phone.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			id := e.appleDeviceID(ta, phone.State().SerialNumber)

			e.call("POST", "/api/v1/apps", ta, `{"platformType":"IOS","bundleId":"com.steward.nostore","name":"No store id",`+
				`"targets":[{"type":"ALL_USERS","required":true}]}`).must(t, 200, nil)
			e.call("POST", "/api/v1/apps", ta, `{"platformType":"IOS","bundleId":"com.steward.notes","name":"Notes",`+
				`"itunesStoreId":"1110145109","targets":[{"type":"ALL_USERS","required":true}]}`).must(t, 200, nil)
			if err := phone.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			if n := phone.State().Executed["InstallApplication"]; n != 1 {
				t.Fatalf("the iPhone carried out %d InstallApplication, want 1", n)
			}
			var installs []commandView
			for _, c := range e.history(ta, id) {
				if c.Type == mdm.CmdInstallApp {
					installs = append(installs, c)
				}
			}
			if len(installs) != 1 || installs[0].Status != mdm.CmdAcknowledged || installs[0].Payload["itunesStoreId"] != "1110145109" {
				t.Fatalf("install commands %+v", installs)
			}
		})
	}
}

// TestAppDeliveryAppleInHouse: a required in-house .ipa reaches a simulated iPhone through its manifest
// URL (the server behind https, as iOS requires): the iPhone fetches the manifest and the .ipa, installs
// the app and reports it in the device's apps. The URLs refuse a tampered token, and every token once
// the device is retired. On each database.
func TestAppDeliveryAppleInHouse(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			front := httptest.NewUnstartedServer(nil)
			base := "https://" + front.Listener.Addr().String()
			e := newAPIEnv(t, db(t), func(c *Config) { c.BaseURL = base })
			back, err := url.Parse(e.url)
			if err != nil {
				t.Fatal(err)
			}
			front.Config.Handler = httputil.NewSingleHostReverseProxy(back)
			front.StartTLS()
			t.Cleanup(front.Close)
			client := front.Client()

			_, ta := e.createTenant("Inhouse")
			e.uploadPushCertificate(ta)
			ctx := context.Background()
			_, pin := e.deviceUser(ta, "una@inhouse.example.com")
			phone := ios.NewDevice(client, 43, ios.DeviceOptions{Model: 1})
			if err := phone.Enroll(ctx, e.url, "una@inhouse.example.com", pin, ""); err != nil {
				t.Fatal(err)
			}
			if err := phone.CheckIn(ctx); err != nil {
				t.Fatal(err)
			}
			id := e.appleDeviceID(ta, phone.State().SerialNumber)

			ipa := appstest.IPA("com.steward.field", "Field", "3.2", "320")
			e.uploadApp(ta, "field.ipa", ipa, map[string]string{"name": "Field Service",
				"targets[0].type": "ALL_USERS", "targets[0].required": "true"}).must(t, 200, nil)
			for range 2 {
				if err := phone.CheckIn(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var installs []commandView
			for _, c := range e.history(ta, id) {
				if c.Type == mdm.CmdInstallApp {
					installs = append(installs, c)
				}
			}
			if len(installs) != 1 || installs[0].Status != mdm.CmdAcknowledged {
				t.Fatalf("install commands %+v", installs)
			}
			manifestURL := openSealedPayload(t, e.srv.keys, installs[0].Payload["manifestUrl"])
			prefix := base + "/mdm/apple/apps/"
			if !strings.HasPrefix(manifestURL, prefix) || !strings.HasSuffix(manifestURL, "/manifest.plist") {
				t.Fatalf("manifest URL %q", manifestURL)
			}
			if !slices.ContainsFunc(phone.State().Apps, func(a ios.App) bool {
				return a.Identifier == "com.steward.field" && a.ShortVersion == "3.2"
			}) {
				t.Fatalf("the iPhone did not install the app: %+v", phone.State().Apps)
			}
			// Its next inventory (asked by a forced check-in here) reports it.
			e.act(ta, "forceCheckin", id)
			for range 2 {
				if err := phone.CheckIn(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var apps page[map[string]any]
			e.call("GET", fmt.Sprintf("/api/v1/device/%d/apps", id), ta, "").must(t, 200, &apps)
			if !strings.Contains(fmt.Sprint(apps.SearchResults), "com.steward.field") {
				t.Errorf("the device's apps do not list the app: %+v", apps.SearchResults)
			}

			get := func(u string) (int, []byte) {
				t.Helper()
				res, err := client.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, b
			}
			token := strings.TrimSuffix(strings.TrimPrefix(manifestURL, prefix), "/manifest.plist")
			status, body := get(manifestURL)
			if status != 200 || !strings.Contains(string(body), "<string>com.steward.field</string>") ||
				!strings.Contains(string(body), prefix+token+"/app.ipa") || !strings.Contains(string(body), "software-package") {
				t.Fatalf("manifest: %d %s", status, body)
			}
			if status, body := get(prefix + token + "/app.ipa"); status != 200 || !bytes.Equal(body, ipa) {
				t.Fatalf("ipa: %d, %d bytes", status, len(body))
			}
			tampered := []byte(token)
			tampered[len(tampered)/2] ^= 1
			for _, bad := range []string{string(tampered), "x", token + "A"} {
				for _, file := range []string{"/manifest.plist", "/app.ipa"} {
					if status, _ := get(prefix + bad + file); status != 404 {
						t.Errorf("token %q%s: status %d, want 404", bad, file, status)
					}
				}
			}

			e.act(ta, "retire", id)
			for _, file := range []string{"/manifest.plist", "/app.ipa"} {
				if status, _ := get(prefix + token + file); status != 404 {
					t.Errorf("retired device %s: status %d, want 404", file, status)
				}
			}
		})
	}
}
