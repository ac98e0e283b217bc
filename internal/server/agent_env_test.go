package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"steward/internal/android"
)

// deviceUser creates a half account (PIN registration only) in the tenant whose admin signs in as ta
// and returns its id and a fresh registration PIN.
func (e *apiEnv) deviceUser(ta, email string) (int64, string) {
	e.t.Helper()
	var created struct {
		SearchResults []struct {
			ID int64 `json:"id"`
		} `json:"searchResults"`
	}
	e.call("POST", "/api/v1/accounts", ta, `{"accounts":[{"emailAddress":"`+email+`","firstName":"Dee","lastName":"Vice"}]}`).
		must(e.t, 200, &created)
	id := created.SearchResults[0].ID
	return id, e.regPIN(ta, id)
}

// regPIN issues a registration PIN for account id.
func (e *apiEnv) regPIN(ta string, id int64) string {
	e.t.Helper()
	var pin struct {
		PIN string `json:"pin"`
	}
	e.call("POST", "/api/v1/account/regpin", ta, fmt.Sprintf(`{"accountId":%d}`, id)).must(e.t, 200, &pin)
	return pin.PIN
}

// agent calls the agent protocol with plain net/http: body (when not nil) as JSON, cred (when not "")
// as the Bearer device credential.
func (e *apiEnv) agent(method, path, cred string, body any) *response {
	e.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.url+path, &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	return e.send(req)
}

// sampleFacts is a plausible Android phone.
func sampleFacts(serial string) android.Facts {
	return android.Facts{DeviceName: "Pixel of " + serial, Model: "Pixel 8", PrettyModel: "Google Pixel 8",
		Manufacturer: "Google", OSVersion: "15", OSBuild: "AP4A.250105.002", SerialNumber: serial,
		IMEI: "35" + strings.Repeat("1", 13), WifiMAC: "02:00:00:aa:bb:cc", FormFactor: "phone", PasscodeCompliant: true,
		Encrypted: true, TotalCapacityMB: 131072, AvailableCapMB: 65536, ClientVersion: "1.0.0"}
}

// registerDevice registers a device for username with pin and returns what the server answered.
func (e *apiEnv) registerDevice(username, pin string, f android.Facts, apps []android.App) android.RegisterResponse {
	e.t.Helper()
	var reg android.RegisterResponse
	e.agent("POST", "/api/agent/v1/register", "", android.RegisterRequest{Username: username, PIN: pin, Facts: f, Apps: apps}).
		must(e.t, 201, &reg)
	return reg
}

// enrolled creates a user in the tenant of ta and registers one device for it.
func (e *apiEnv) enrolled(ta, email, serial string) android.RegisterResponse {
	e.t.Helper()
	_, pin := e.deviceUser(ta, email)
	return e.registerDevice(email, pin, sampleFacts(serial), nil)
}

// checkin checks the device in and returns the reply (status 200 required).
func (e *apiEnv) checkin(cred string, req android.CheckinRequest) android.CheckinResponse {
	e.t.Helper()
	var out android.CheckinResponse
	e.agent("POST", "/api/agent/v1/checkin", cred, req).must(e.t, 200, &out)
	return out
}

// deviceView is the part of the API's device JSON the tests look at.
type deviceView struct {
	ID                int64          `json:"id"`
	GUID              string         `json:"guid"`
	DeviceName        string         `json:"deviceName"`
	DeviceModel       string         `json:"deviceModel"`
	SerialNumber      string         `json:"serialNumber"`
	PlatformType      string         `json:"platformType"`
	PlatformVersion   string         `json:"platformVersion"`
	DeviceKind        string         `json:"deviceKind"`
	RegistrationState string         `json:"registrationState"`
	LastCheckin       *int64         `json:"lastCheckin"`
	EmailAddress      string         `json:"emailAddress"`
	UID               string         `json:"uid"`
	OwnerID           *int64         `json:"ownerId"`
	Jailbroken        bool           `json:"jailbroken"`
	PasscodeCompliant bool           `json:"passcodeCompliant"`
	Encrypted         bool           `json:"encrypted"`
	AppCount          int            `json:"appCount"`
	DmPartitionID     int64          `json:"dmPartitionId"`
	CustomAttributes  map[string]any `json:"customAttributes"`
	ViolatedPolicies  []string       `json:"violatedPolicies"`
}

type commandView struct {
	ID       int64             `json:"id"`
	DeviceID int64             `json:"deviceId"`
	Type     string            `json:"type"`
	Payload  map[string]string `json:"payload"`
	Status   string            `json:"status"`
}

type page[T any] struct {
	SearchResults []T `json:"searchResults"`
	TotalCount    int `json:"totalCount"`
}

// getDevice fetches a device as auth (status 200 required).
func (e *apiEnv) getDevice(auth string, id int64) deviceView {
	e.t.Helper()
	var d deviceView
	e.call("GET", fmt.Sprintf("/api/v1/device/%d", id), auth, "").must(e.t, 200, &d)
	return d
}

// history lists a device's commands, newest first.
func (e *apiEnv) history(auth string, id int64) []commandView {
	e.t.Helper()
	var p page[commandView]
	e.call("GET", fmt.Sprintf("/api/v1/device/%d/commands", id), auth, "").must(e.t, 200, &p)
	return p.SearchResults
}

// listDevices lists devices with fq as auth and returns their ids.
func (e *apiEnv) listDevices(auth, fq string) []int64 {
	e.t.Helper()
	var p page[deviceView]
	e.call("GET", "/api/v1/device?rows=500&fq="+url.QueryEscape(fq), auth, "").must(e.t, 200, &p)
	ids := []int64{}
	for _, d := range p.SearchResults {
		ids = append(ids, d.ID)
	}
	return ids
}

// act takes a device action as auth (status 200, result 1 required).
func (e *apiEnv) act(auth, action string, ids ...int64) {
	e.t.Helper()
	q := url.Values{}
	for _, id := range ids {
		q.Add("ids", fmt.Sprint(id))
	}
	var result int
	e.call("PUT", "/api/v1/device/"+action+"?"+q.Encode(), auth, "").must(e.t, 200, &result)
	if result != 1 {
		e.t.Fatalf("%s: result %d, want 1", action, result)
	}
}

func newRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// basic is the HTTP Basic token of "user:pw".
func basic(auth string) string { return base64.StdEncoding.EncodeToString([]byte(auth)) }
