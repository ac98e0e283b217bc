package android

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// fakeDevices records what the handler passed on; only credential "good" authenticates.
type fakeDevices struct {
	reg     devices.Registration
	checkin devices.CheckIn
	acked   mdm.CommandResult
}

var device = &mdm.Device{ID: 9, TenantID: "t1", RegistrationState: mdm.StateActive}

func (f *fakeDevices) Register(_ context.Context, r devices.Registration) (*devices.Registered, error) {
	f.reg = r
	return &devices.Registered{Device: &mdm.Device{ID: 9, GUID: "g", Kind: mdm.KindAndroidPhone,
		RegistrationState: mdm.StateActive}, Credential: "sdc_x", CheckinInterval: 15 * time.Minute}, nil
}

func (f *fakeDevices) AuthenticateDevice(_ context.Context, cred string) (*mdm.Device, error) {
	if cred != "good" {
		return nil, mdm.Errorf(mdm.Unauthenticated, "unknown device credential")
	}
	return device, nil
}

func (f *fakeDevices) CheckIn(_ context.Context, d *mdm.Device, c devices.CheckIn) (*devices.CheckInReply, error) {
	f.checkin = c
	return &devices.CheckInReply{Commands: []mdm.Command{{ID: 4, Type: mdm.CmdLock, Payload: map[string]string{"message": "m"}}},
		RegistrationState: d.RegistrationState, CheckinInterval: time.Minute}, nil
}

func (f *fakeDevices) FetchCommands(context.Context, *mdm.Device, int) ([]mdm.Command, error) {
	return nil, nil
}

func (f *fakeDevices) Acknowledge(_ context.Context, _ *mdm.Device, r mdm.CommandResult) error {
	f.acked = r
	return nil
}

// serve runs one handler method the way the API does: errors become a status by their code.
func serve(h func(http.ResponseWriter, *http.Request) error, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	if err := h(w, req); err != nil {
		status := map[mdm.Code]int{mdm.Invalid: 400, mdm.Unauthenticated: 401, mdm.NotFound: 404}[mdm.ErrorCode(err)]
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(err)
	}
	return w
}

func TestCheckinIgnoresUnknownFieldsAndMapsRooted(t *testing.T) {
	f := &fakeDevices{}
	h := NewHandler(f, slog.New(slog.DiscardHandler))
	body := `{"facts":{"deviceModel":"SM-T870","platformVersion":"14","rooted":true,"futureFact":1},
		"results":[{"id":3,"status":"ERROR","error":"busy"}],"fromAgentV2":{"x":1}}`
	req := httptest.NewRequest("POST", "/api/agent/v1/checkin", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "bearer good")
	w := serve(h.Checkin, req)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if f.checkin.Facts == nil || !f.checkin.Facts.Jailbroken || f.checkin.Facts.Model != "SM-T870" || f.checkin.Apps != nil {
		t.Errorf("check-in passed on: %+v", f.checkin)
	}
	if diff := cmp.Diff([]mdm.CommandResult{{ID: 3, Status: mdm.CmdError, Error: "busy"}}, f.checkin.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	var out struct{ Result CheckinResponse }
	json.Unmarshal(w.Body.Bytes(), &out)
	want := CheckinResponse{Commands: []Command{{ID: 4, Type: "LOCK", Payload: map[string]string{"message": "m"}}},
		RegistrationState: "ACTIVE", CheckinIntervalSeconds: 60}
	if diff := cmp.Diff(want, out.Result); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
}

func TestRegisterAnswers201(t *testing.T) {
	f := &fakeDevices{}
	h := NewHandler(f, slog.New(slog.DiscardHandler))
	req := httptest.NewRequest("POST", "/api/agent/v1/register", strings.NewReader(
		`{"username":"a@b.c","pin":"123456","facts":{"deviceModel":"Pixel 8","platformVersion":"15"},"apps":[{"appId":"x","name":"X","version":"1"}],"pushToken":"t"}`))
	req.Header.Set("Content-Type", "application/json")
	w := serve(h.Register, req)
	if w.Code != 201 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if f.reg.Platform != mdm.PlatformAndroid || f.reg.PIN != "123456" || len(f.reg.Apps) != 1 || f.reg.PushToken != "t" {
		t.Errorf("registration passed on: %+v", f.reg)
	}
	var out struct{ Result RegisterResponse }
	json.Unmarshal(w.Body.Bytes(), &out)
	if out.Result.Credential != "sdc_x" || out.Result.CheckinIntervalSeconds != 900 || out.Result.DeviceKind != "ANDROID_PHONE" {
		t.Errorf("answer %+v", out.Result)
	}
}

func TestProtocolRefusals(t *testing.T) {
	h := NewHandler(&fakeDevices{}, slog.New(slog.DiscardHandler))
	cases := []struct {
		name, ct, auth, body string
		status               int
	}{
		{"no credential", "application/json", "", `{}`, 401},
		{"Basic credential", "application/json", "Basic YTpi", `{}`, 401},
		{"unknown credential", "application/json", "Bearer bad", `{}`, 401},
		{"form body", "application/x-www-form-urlencoded", "Bearer good", `a=b`, 415},
		{"no content type", "", "Bearer good", `{}`, 415},
		{"too large", "application/json", "Bearer good", `{"pushToken":"` + strings.Repeat("x", MaxBody) + `"}`, 413},
		{"empty", "application/json", "Bearer good", ``, 400},
		{"two values", "application/json", "Bearer good", `{}{}`, 400},
		{"bad form factor", "application/json", "Bearer good", `{"facts":{"deviceModel":"m","platformVersion":"1","formFactor":"watch"}}`, 400},
		{"NUL in a fact", "application/json", "Bearer good", `{"facts":{"deviceModel":"m\u0000","platformVersion":"1"}}`, 400},
		{"too many results", "application/json", "Bearer good", `{"results":[` + strings.Repeat(`{"id":1,"status":"ACKNOWLEDGED"},`, 100) + `{"id":1,"status":"ACKNOWLEDGED"}]}`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/agent/v1/checkin", strings.NewReader(c.body))
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			w := serve(h.Checkin, req)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if c.status == 401 && w.Header().Get("WWW-Authenticate") != BearerChallenge {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestAcknowledgeTakesThePathID(t *testing.T) {
	f := &fakeDevices{}
	h := NewHandler(f, slog.New(slog.DiscardHandler))
	req := httptest.NewRequest("PUT", "/api/agent/v1/commands/12", strings.NewReader(`{"status":"NOT_NOW"}`))
	req.SetPathValue("id", "12")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer good")
	if w := serve(h.Acknowledge, req); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if f.acked != (mdm.CommandResult{ID: 12, Status: mdm.CmdNotNow}) {
		t.Errorf("acknowledged %+v", f.acked)
	}
}
