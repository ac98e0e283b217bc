package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"steward/internal/apple"
	"steward/internal/applemdm"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// The HTTP fuzz targets feed arbitrary bodies and queries to the real handlers of one running server
// (started once per target: a server per input would be far too slow) and fail on any 5xx, on a
// panic, and on a 4xx of the API that does not say what was wrong.

// fuzzEnv is one server for a whole fuzz target. setup runs once, under the first input's test, and
// what it creates serves every later input.
type fuzzEnv struct {
	base  *apiEnv
	once  sync.Once
	setup func(e *apiEnv)
	// sources hands each input its own client address (X-Forwarded-For from loopback, a trusted
	// proxy here), so that the guessing limits, which a fuzzer trips at once, do not hide the handlers.
	sources atomic.Uint32
}

func newFuzzEnv(f *testing.F, setup func(e *apiEnv)) *fuzzEnv {
	f.Helper()
	base := startAPIEnv(f, "", func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	return &fuzzEnv{base: base, setup: setup}
}

// env is the server for one input, with t as its test.
func (fe *fuzzEnv) env(t *testing.T) *apiEnv {
	e := *fe.base
	e.t = t
	fe.once.Do(func() { fe.setup(&e) })
	return &e
}

// source is a client address no other input of this process uses.
func (fe *fuzzEnv) source() string {
	n := fe.sources.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

// checkAnswer fails on a server error, and on a JSON 4xx that names no error.
func checkAnswer(t *testing.T, what string, r *response) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("%s: status %d: %.300s", what, r.Status, r.Body)
	}
	if r.Status >= 400 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") && !strings.Contains(r.Body, "error") {
		t.Fatalf("%s: status %d without an error in the answer: %.300s", what, r.Status, r.Body)
	}
}

// FuzzAPIWrite sends arbitrary bodies, JSON or indexed form, to write routes of the REST API as the
// tenant's admin (and to the tenant routes as the System Admin). {account} and {device} in the input
// stand for a real account's and device's ids.
func FuzzAPIWrite(f *testing.F) {
	routes := []struct{ method, path string }{
		{"POST", "/api/v1/accounts"},
		{"PUT", "/api/v1/account/{account}"},
		{"POST", "/api/v1/account/regpin"},
		{"POST", "/api/v1/usergroups"},
		{"POST", "/api/v1/devicegroups"},
		{"POST", "/api/v1/categories"},
		{"POST", "/api/v1/policies"},
		{"POST", "/api/v1/configurations"},
		{"PUT", "/api/v1/registrationsettings"},
		{"PUT", "/api/v1/device/lock"},
		{"POST", "/api/v1/emailtemplates/invitation_pin/preview"},
		{"POST", "/api/v1/tenants"},
	}
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"accounts":[{"emailAddress":"new@fuzz.example.com","firstName":"N","lastName":"U"}]}`},
		{0, `accounts[0].emailAddress=form%40fuzz.example.com&accounts[0].firstName=F&accounts[0].lastName=L`},
		{0, `accounts[99999].emailAddress=x`},
		{0, `{"accounts":[{"emailAddress":"not an address"}]}`},
		{1, `{"firstName":"Renamed"}`},
		{2, `{"accountId":{account}}`},
		{2, `accountId=-1`},
		{3, `{"name":"Group","description":"d"}`},
		{4, `{"name":"Kiosks","kind":"STATIC"}`},
		{4, `{"name":"Nokias","kind":"DYNAMIC","rule":"manufacturer=Nokia"}`},
		{4, `{"name":"Bad","kind":"DYNAMIC","rule":"platform = "}`},
		{5, `{"name":"Productivity","kind":"APP"}`},
		{6, `{"name":"Rooted","type":"CUSTOM","rule":"jailbroken = true","actions":[{"kind":"MONITOR"}]}`},
		{6, `{"name":"Roaming","type":"ROAMING","actions":[{"kind":"MONITOR"}]}`},
		{7, `{"name":"W","type":"WIFI","attributes":{"ssid":"Corp","securityType":"WPA2","password":"long-enough-pw"}}`},
		{7, `{"name":"P","type":"PASSCODE","attributes":{"minLength":99}}`},
		{8, `{"authType":"pin_only","pinLength":8,"pinLifetimeDays":3}`},
		{9, `ids={device}&message=Call+IT&phoneNumber=%2B1+555+0100`},
		{10, `{"subject":"{{.Name}}","body":"{{"}`},
		{11, `{"name":"Other","adminEmail":"a@other.example.com","adminFirstName":"A","adminLastName":"B","licenseDevices":5}`},
		{11, `{"name":"\u0000","licenseDevices":1e400}`},
		{11, `{} {}`},
		{11, `{"name":[]}`},
	} {
		f.Add(s.route, s.body)
	}
	var ta string
	var fill *strings.Replacer
	fe := newFuzzEnv(f, func(e *apiEnv) {
		_, ta = e.createTenant("Fuzzwrite")
		id, _ := e.deviceUser(ta, "user@fuzzwrite.example.com")
		dev := e.enrolled(ta, "dev@fuzzwrite.example.com", "FW1")
		fill = strings.NewReplacer("{account}", fmt.Sprint(id), "{device}", fmt.Sprint(dev.DeviceID))
	})
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		e := fe.env(t)
		rt := routes[int(route)%len(routes)]
		auth := ta
		if rt.path == "/api/v1/tenants" {
			auth = e.admin()
		}
		path := fill.Replace(rt.path)
		checkAnswer(t, rt.method+" "+path, e.call(rt.method, path, auth, fill.Replace(body)))
	})
}

// FuzzAPIQuery sends arbitrary query strings (start, rows, sortFields, fq, and the OData options of
// Data Services) to list routes.
func FuzzAPIQuery(f *testing.F) {
	paths := []string{"/api/v1/device", "/api/v1/account", "/api/v1/devicegroups", "/api/v1/policies",
		"/api/apigatewaydataservices/v1/devices", "/api/apigatewaydataservices/v1/people", "/api/v1/tenants"}
	for _, s := range []struct {
		path  uint8
		query string
	}{
		{0, `rows=10&start=0&sortFields[0].name=lastCheckin&sortFields[0].order=DESC&fq=registrationState=ACTIVE`},
		{0, `fq=registrationState=ACTIVE and (quarantined=true or jailbroken=true)&q=pixel`},
		{0, `rows=100000`},
		{1, `q=user&fq=emailAddress='user@fuzzquery.example.com'`},
		{2, `fq=((((`},
		{3, `sortFields[0].name=nope`},
		{4, `$filter=contains(DeviceName,'pix') and (OS/Version eq '15' or not Compliant eq true)&$top=10&$orderby=LastSeen desc`},
		{4, `$filter=LastSeen ge 2025-01-31T12:00:00Z and LastSeen ne null&$count=true&$skip=1`},
		{4, `$top=1000&$skip=-1`},
		{5, `$filter=DeviceName eq 'it''s'&$top=0`},
		{6, `rows=1&fq=name=%00`},
	} {
		f.Add(s.path, s.query)
	}
	var ta, token string
	fe := newFuzzEnv(f, func(e *apiEnv) {
		var tn createdTenant
		tn, ta = e.createTenant("Fuzzquery")
		e.enrolled(ta, "user@fuzzquery.example.com", "FQ1")
		app := e.registerApp(mdm.TenantID(tn.ID), authz.AppTypeITSM)
		token = e.clientToken(tn.ID, app.Registration.ClientID, app.Secret, "").AccessToken
	})
	f.Fuzz(func(t *testing.T, path uint8, query string) {
		e := fe.env(t)
		p := paths[int(path)%len(paths)]
		req, err := http.NewRequest("GET", e.url+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = queryEscape(query)
		switch auth := ta; {
		case strings.HasPrefix(p, "/api/apigatewaydataservices/"):
			req.Header.Set("Authorization", "Bearer "+token)
		case p == "/api/v1/tenants":
			auth = e.admin()
			fallthrough
		default:
			user, pw, _ := strings.Cut(auth, ":")
			req.SetBasicAuth(user, pw)
		}
		checkAnswer(t, "GET "+p+"?"+req.URL.RawQuery, e.send(req))
	})
}

// FuzzAgentHTTP sends arbitrary bodies to the Android agent's endpoints, with a real device credential
// (or without one), from a new address each time.
func FuzzAgentHTTP(f *testing.F) {
	for _, s := range []struct {
		op     uint8
		signed bool
		body   string
	}{
		{0, false, `{"username":"reg@fuzzagent.example.com","pin":"000000","facts":{"deviceModel":"Pixel 8","osVersion":"15","serialNumber":"X1"}}`},
		{0, false, `{"username":"reg@fuzzagent.example.com","facts":{"totalCapacityMB":1e30}}`},
		{0, false, `{"username":"a","apps":[{"appId":"x"},{"appId":"x"}]}`},
		{1, true, `{"facts":{"deviceModel":"Pixel 8","rooted":true},"pushToken":"t","apps":[{"appId":"a","name":"A","version":"1"}]}`},
		{1, true, `{"results":[{"id":1,"status":"ACKNOWLEDGED"},{"id":"x"}]}`},
		{1, true, `{"results":[{"id":9223372036854775807,"status":"ERROR","error":"e"}]}`},
		{1, false, `{}`},
		{2, true, `{"status":"ACKNOWLEDGED","result":"ok"}`},
		{2, true, `{"id":3,"status":"NOT_NOW"}`},
		{3, true, ``},
	} {
		f.Add(s.op, s.signed, s.body)
	}
	var cred string
	fe := newFuzzEnv(f, func(e *apiEnv) {
		_, ta := e.createTenant("Fuzzagent")
		e.deviceUser(ta, "reg@fuzzagent.example.com")
		cred = e.enrolled(ta, "dev@fuzzagent.example.com", "FA1").Credential
	})
	f.Fuzz(func(t *testing.T, op uint8, signed bool, body string) {
		e := fe.env(t)
		method, path := "POST", "/api/agent/v1/register"
		switch op % 4 {
		case 1:
			path = "/api/agent/v1/checkin"
		case 2:
			method, path = "PUT", "/api/agent/v1/commands/1"
		case 3:
			method, path = "GET", "/api/agent/v1/commands?limit="+url.QueryEscape(body)
		}
		req := newRequest(t, method, e.url+path, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fe.source())
		if signed {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		checkAnswer(t, method+" "+path, e.send(req))
	})
}

// FuzzTokenEndpoint sends arbitrary forms and Basic credentials to the OAuth token endpoint. {client}
// and {secret} in the input stand for a real App Registration's, so that inputs reach past the
// client's authentication.
func FuzzTokenEndpoint(f *testing.F) {
	for _, s := range []struct{ form, basic string }{
		{`grant_type=client_credentials&client_id={client}&client_secret={secret}&scope=openid`, ``},
		{`grant_type=client_credentials&scope=dataservices.read`, `{client}:{secret}`},
		{`grant_type=client_credentials&client_id={client}&client_secret=wrong`, ``},
		{`grant_type=refresh_token&refresh_token=x&client_id={client}&client_secret={secret}`, ``},
		{`grant_type=password&username=a&password=b`, ``},
		{`grant_type=client_credentials&grant_type=client_credentials`, ``},
		{`%zz`, ``},
		{``, `:`},
		{`scope=` + strings.Repeat("a ", 200), `{client}:`},
	} {
		f.Add(s.form, s.basic)
	}
	var tenant, client, secret string
	fe := newFuzzEnv(f, func(e *apiEnv) {
		tn, _ := e.createTenant("Fuzztoken")
		c := e.registerApp(mdm.TenantID(tn.ID), authz.AppTypeITSM)
		tenant, client, secret = tn.ID, c.Registration.ClientID, c.Secret
	})
	f.Fuzz(func(t *testing.T, form, basicAuth string) {
		e := fe.env(t)
		fill := strings.NewReplacer("{client}", client, "{secret}", secret)
		req := newRequest(t, "POST", e.url+"/"+tenant+"/connect/token", fill.Replace(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fe.source())
		if basicAuth != "" {
			req.Header.Set("Authorization", "Basic "+basic(fill.Replace(basicAuth)))
		}
		checkAnswer(t, "token", e.send(req))
	})
}

// FuzzAppleCheckin sends arbitrary messages, correctly signed by an enrolled device's identity, to
// the Apple check-in and connect endpoints. {udid} and {topic} stand for the device's.
func FuzzAppleCheckin(f *testing.F) {
	plistOf := func(body string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>` + body + `</dict></plist>`
	}
	for _, s := range []struct {
		connect bool
		body    string
	}{
		{false, plistOf(`<key>MessageType</key><string>Authenticate</string><key>UDID</key><string>{udid}</string><key>Topic</key><string>{topic}</string><key>SerialNumber</key><string>SN1</string>`)},
		{false, plistOf(`<key>MessageType</key><string>TokenUpdate</string><key>UDID</key><string>{udid}</string><key>Topic</key><string>{topic}</string><key>Token</key><data>dG9rZW4=</data><key>PushMagic</key><string>m</string>`)},
		{false, plistOf(`<key>MessageType</key><string>CheckOut</string><key>UDID</key><string>other</string>`)},
		{false, plistOf(`<key>MessageType</key><integer>5</integer>`)},
		{false, `<plist><dict><key>`},
		{false, "bplist00\xd1\x01\x02"},
		{true, plistOf(`<key>UDID</key><string>{udid}</string><key>Status</key><string>Idle</string>`)},
		{true, plistOf(`<key>UDID</key><string>{udid}</string><key>Status</key><string>Acknowledged</string><key>CommandUUID</key><string>x</string><key>QueryResponses</key><dict><key>OSVersion</key><array/></dict>`)},
		{true, plistOf(`<key>UDID</key><string>{udid}</string><key>Status</key><string>Error</string><key>ErrorChain</key><string>e</string>`)},
		{true, ``},
	} {
		f.Add(s.connect, s.body)
	}
	var dev *appleDevice
	fe := newFuzzEnv(f, func(e *apiEnv) {
		_, ta := e.createTenant("Fuzzapple")
		e.uploadPushCertificate(ta)
		_, pin := e.deviceUser(ta, "mac@fuzzapple.example.com")
		dev = e.newAppleDevice("mac@fuzzapple.example.com", pin, "", hexUDID(77))
		if s := dev.authenticate(); s != 200 {
			t := e.t
			t.Fatalf("Authenticate: %d", s)
		}
		dev.tokenUpdate()
	})
	f.Fuzz(func(t *testing.T, connect bool, body string) {
		e := fe.env(t)
		d := *dev
		d.e = e
		path, ct := applemdm.CheckinPath, apple.CheckinContentType
		if connect {
			path, ct = applemdm.ConnectPath, "application/x-apple-aspen-mdm"
		}
		msg := strings.NewReplacer("{udid}", d.udid, "{topic}", d.topic).Replace(body)
		status, out := d.put(path, ct, []byte(msg))
		if status >= 500 {
			t.Fatalf("%s: status %d: %.300s", path, status, bytes.TrimSpace(out))
		}
	})
}

// queryEscape percent-encodes what cannot stand in a request line (spaces, controls, non-ASCII, '#'),
// leaving the rest, malformed escapes included, for the server to judge.
func queryEscape(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
