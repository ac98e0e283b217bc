package server

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"steward/internal/mdm"
)

// apnsRequest is one push the fake APNs received.
type apnsRequest struct {
	Path, Topic, PushType, Body string
	ProtoMajor                  int
	ClientCert                  []byte // the leaf the sender presented
}

// fakeAPNs is a local HTTP/2 TLS server standing in for APNs: it requires a client certificate, records
// each push and answers with status (200 by default).
type fakeAPNs struct {
	srv    *httptest.Server
	got    chan apnsRequest
	status atomic.Int32
	caFile string
}

func newFakeAPNs(t *testing.T) *fakeAPNs {
	t.Helper()
	f := &fakeAPNs{got: make(chan apnsRequest, 16)}
	f.status.Store(http.StatusOK)
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := apnsRequest{Path: r.URL.Path, Topic: r.Header.Get("apns-topic"), PushType: r.Header.Get("apns-push-type"),
			Body: string(body), ProtoMajor: r.ProtoMajor}
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			req.ClientCert = r.TLS.PeerCertificates[0].Raw
		}
		status := int(f.status.Load())
		w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000001")
		if status != http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, `{"reason":"Unregistered","timestamp":1700000000000}`)
		}
		f.got <- req
	}))
	f.srv.EnableHTTP2 = true
	f.srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	f.caFile = filepath.Join(t.TempDir(), "apns-ca.pem")
	if err := os.WriteFile(f.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// next waits for the next push; the pusher sends in the background.
func (f *fakeAPNs) next(t *testing.T) apnsRequest {
	t.Helper()
	select {
	case r := <-f.got:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("the fake APNs received no push")
		return apnsRequest{}
	}
}

// TestAPNsWakesIOSDevices runs the server against a fake APNs (--apns-url, --apns-ca-file): a lock of
// an iOS device through the API sends POST /3/device/<token> over HTTP/2 with the tenant's push
// certificate as client certificate, apns-topic = its topic and body {"mdm": <push magic>}; an Android
// device is not pushed through APNs; a 410 answer clears the device's push token.
func TestAPNsWakesIOSDevices(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			fake := newFakeAPNs(t)
			e := newAPIEnv(t, db(t), func(c *Config) { c.APNsURL = fake.srv.URL; c.APNsCAFile = fake.caFile })
			a, ta := e.createTenant("Apnsco")
			tenant := mdm.TenantID(a.ID)
			cert := makePushCert(t, newTestTopic(), yearFromNow())
			e.call("PUT", pushPath, ta, uploadBody(cert.PEM, "", false)).must(t, 200, nil)

			const token = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
			id := createIOSDevice(t, e, tenant, e.accountID(ta, "ta@apnsco.example.com"), cert.Topic, token, "magic-e2e-1")
			android := e.enrolled(ta, "droid@apnsco.example.com", "APNS-ANDROID-1")

			e.act(ta, "lock", int64(id), android.DeviceID)
			got := fake.next(t)
			if got.Path != "/3/device/"+token || got.Topic != cert.Topic || got.PushType != "mdm" || got.ProtoMajor != 2 {
				t.Errorf("push = %+v, want POST /3/device/%s over HTTP/2 with topic %s", got, token, cert.Topic)
			}
			if got.Body != `{"mdm":"magic-e2e-1"}` {
				t.Errorf("push body %s, want the push magic", got.Body)
			}
			if !bytes.Equal(got.ClientCert, cert.Leaf.Raw) {
				t.Error("the sender did not present the tenant's push certificate")
			}

			// APNs no longer knows the token: the device's push token is cleared.
			fake.status.Store(http.StatusGone)
			e.act(ta, "forceCheckin", int64(id))
			if r := fake.next(t); r.Path != "/3/device/"+token {
				t.Errorf("second push to %s", r.Path)
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				d, err := e.srv.Store().Devices().Get(t.Context(), tenant, id)
				if err != nil {
					t.Fatal(err)
				}
				if d.PushToken == "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("push token still %q after APNs answered 410", d.PushToken)
				}
				time.Sleep(20 * time.Millisecond)
			}
			// Nothing else reached APNs (the Android device in particular).
			select {
			case r := <-fake.got:
				t.Errorf("unexpected push %+v", r)
			default:
			}
			if body := e.call("GET", "/metrics", "", "").Body; !strings.Contains(body, "steward_apns_pushes_queued") {
				t.Error("/metrics lacks steward_apns_pushes_queued")
			}
		})
	}
}

// TestAPNsInvalidTokenKeepsAFreshOne: when APNs refuses a device's token, that token is cleared, but a
// token the device reported after the refused push was queued is kept.
func TestAPNsInvalidTokenKeepsAFreshOne(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	a, ta := e.createTenant("Freshco")
	tenant := mdm.TenantID(a.ID)
	owner := e.accountID(ta, "ta@freshco.example.com")
	topic := newTestTopic()
	stale, fresh := strings.Repeat("01", 32), strings.Repeat("02", 32)
	refused := createIOSDevice(t, e, tenant, owner, topic, stale, "magic-old")
	renewed := createIOSDevice(t, e, tenant, owner, topic, fresh, "magic-fresh")
	e.srv.dropAPNsToken(t.Context(), tenant, refused, stale)
	e.srv.dropAPNsToken(t.Context(), tenant, renewed, stale) // refused an older token than the one stored now
	e.srv.dropAPNsToken(t.Context(), tenant, 999999, stale)  // unknown: nothing to do
	for id, want := range map[mdm.DeviceID]string{refused: "", renewed: fresh} {
		d, err := e.srv.Store().Devices().Get(t.Context(), tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.PushToken != want {
			t.Errorf("device %d: push token %q, want %q", id, d.PushToken, want)
		}
	}
}
