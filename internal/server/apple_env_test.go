package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/micromdm/plist"

	"steward/internal/apple"
	"steward/internal/apple/enroll"
	"steward/internal/apple/identity"
	"steward/internal/applemdm"
	"steward/internal/sim/ios"
)

// uploadPushCertificate gives the tenant whose admin is ta a push certificate and returns its topic.
func (e *apiEnv) uploadPushCertificate(ta string) string {
	e.t.Helper()
	pemData, topic, err := ios.PushCertificate()
	if err != nil {
		e.t.Fatal(err)
	}
	e.call("PUT", "/api/v1/apple/pushcertificate", ta,
		`{"certificate":"`+base64.StdEncoding.EncodeToString(pemData)+`"}`).must(e.t, 200, nil)
	return topic
}

// appleProfile is what a test device reads out of its enrollment profile.
type appleProfile struct {
	SCEPURL, Challenge, Subject string
	ServerURL, CheckInURL       string
	Topic                       string
}

// enrollPost submits the enrollment form and returns the status, content type and body.
func (e *apiEnv) enrollPost(form url.Values) (int, string, []byte) {
	e.t.Helper()
	res, err := http.PostForm(e.url+applemdm.EnrollPath, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), body
}

// downloadProfile signs in to the enrollment page and reads the signed profile.
func (e *apiEnv) downloadProfile(email, pin, password string) appleProfile {
	e.t.Helper()
	status, ct, body := e.enrollPost(url.Values{"username": {email}, "pin": {pin}, "password": {password}})
	if status != 200 || ct != applemdm.ProfileContentType {
		e.t.Fatalf("enrollment: %d %s: %.300s", status, ct, body)
	}
	inner, _, err := enroll.ReadSignedProfile(body)
	if err != nil {
		e.t.Fatal(err)
	}
	var top struct {
		PayloadContent []map[string]any `plist:"PayloadContent"`
	}
	if err := plist.Unmarshal(inner, &top); err != nil {
		e.t.Fatal(err)
	}
	var p appleProfile
	for _, pl := range top.PayloadContent {
		switch pl["PayloadType"] {
		case "com.apple.security.scep":
			c, _ := pl["PayloadContent"].(map[string]any)
			p.SCEPURL, _ = c["URL"].(string)
			p.Challenge, _ = c["Challenge"].(string)
			p.Subject = subjectCN(c["Subject"])
		case "com.apple.mdm":
			p.ServerURL, _ = pl["ServerURL"].(string)
			p.CheckInURL, _ = pl["CheckInURL"].(string)
			p.Topic, _ = pl["Topic"].(string)
		}
	}
	if p.SCEPURL == "" || p.Challenge == "" || p.Subject == "" || p.ServerURL == "" || p.Topic == "" {
		e.t.Fatalf("profile lacks SCEP or MDM settings: %+v", p)
	}
	return p
}

// subjectCN finds the CN in a SCEP payload's Subject ([[["CN", "…"]]]).
func subjectCN(v any) string {
	rdns, _ := v.([]any)
	for _, rdn := range rdns {
		atvs, _ := rdn.([]any)
		for _, atv := range atvs {
			pair, _ := atv.([]any)
			if len(pair) == 2 && pair[0] == "CN" {
				s, _ := pair[1].(string)
				return s
			}
		}
	}
	return ""
}

// appleDevice is a minimal protocol client for the cases the simulator does not take on: other
// devices' certificates, garbage, the TLS and proxy identity paths.
type appleDevice struct {
	e      *apiEnv
	udid   string
	topic  string
	key    *rsa.PrivateKey
	cert   *x509.Certificate
	base   string       // where to send (e.url unless a TLS listener)
	client *http.Client // nil: http.DefaultClient
	// how: "sign" (Mdm-Signature), "tls" (the client's certificate) or a header name (proxy).
	how string
}

// newAppleDevice downloads a profile and gets the identity certificate, without checking in.
func (e *apiEnv) newAppleDevice(email, pin, password, udid string) *appleDevice {
	e.t.Helper()
	p := e.downloadProfile(email, pin, password)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		e.t.Fatal(err)
	}
	cert, err := enroll.RequestCertificate(context.Background(), http.DefaultClient, p.SCEPURL, p.Challenge, p.Subject, key)
	if err != nil {
		e.t.Fatal(err)
	}
	if cert.Subject.CommonName != p.Subject {
		e.t.Fatalf("certificate CN %q, want the enrollment %q", cert.Subject.CommonName, p.Subject)
	}
	return &appleDevice{e: e, udid: udid, topic: p.Topic, key: key, cert: cert, base: e.url, how: "sign"}
}

// put sends a message body and returns the status and answer.
func (d *appleDevice) put(path, contentType string, body []byte) (int, []byte) {
	d.e.t.Helper()
	req, err := http.NewRequest("PUT", d.base+path, bytes.NewReader(body))
	if err != nil {
		d.e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch d.how {
	case "sign":
		sig, err := identity.Sign(body, d.cert, d.key)
		if err != nil {
			d.e.t.Fatal(err)
		}
		req.Header.Set(identity.SignatureHeader, sig)
	case "tls":
	default:
		req.Header.Set(d.how, ":"+base64.StdEncoding.EncodeToString(d.cert.Raw)+":")
	}
	client := d.client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		d.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (d *appleDevice) checkin(msg map[string]any) int {
	d.e.t.Helper()
	body, err := plist.MarshalIndent(msg, "  ")
	if err != nil {
		d.e.t.Fatal(err)
	}
	status, _ := d.put(applemdm.CheckinPath, apple.CheckinContentType, body)
	return status
}

func (d *appleDevice) authenticate() int {
	return d.checkin(map[string]any{"MessageType": "Authenticate", "UDID": d.udid, "Topic": d.topic,
		"ProductName": "iPhone15,2", "SerialNumber": "SN" + d.udid[:8], "DeviceName": "Test iPhone",
		"OSVersion": "18.2", "BuildVersion": "22C152"})
}

func (d *appleDevice) tokenUpdate() int {
	return d.checkin(map[string]any{"MessageType": "TokenUpdate", "UDID": d.udid, "Topic": d.topic,
		"Token": []byte("token-" + d.udid), "PushMagic": "magic-" + d.udid, "UnlockToken": []byte("unlock")})
}

func (d *appleDevice) checkOut() int {
	return d.checkin(map[string]any{"MessageType": "CheckOut", "UDID": d.udid, "Topic": d.topic})
}

// connect reports msg (UDID added) and returns the status and the command answered, if any.
func (d *appleDevice) connect(msg map[string]any) (int, map[string]any) {
	d.e.t.Helper()
	msg["UDID"] = d.udid
	body, err := plist.MarshalIndent(msg, "  ")
	if err != nil {
		d.e.t.Fatal(err)
	}
	status, out := d.put(applemdm.ConnectPath, "application/x-apple-aspen-mdm", body)
	if status != 200 || len(out) == 0 {
		return status, nil
	}
	var cmd map[string]any
	if err := plist.Unmarshal(out, &cmd); err != nil {
		d.e.t.Fatalf("connect answer is not a plist: %v: %.200s", err, out)
	}
	return status, cmd
}

// requestType is the RequestType of a connect answer ("" for none).
func requestType(cmd map[string]any) string {
	c, _ := cmd["Command"].(map[string]any)
	s, _ := c["RequestType"].(string)
	return s
}

// ack acknowledges cmd, with extra keys, and returns the next command.
func (d *appleDevice) ack(cmd map[string]any, extra map[string]any) (int, map[string]any) {
	msg := map[string]any{"Status": "Acknowledged", "CommandUUID": cmd["CommandUUID"]}
	for k, v := range extra {
		msg[k] = v
	}
	return d.connect(msg)
}

// tlsClient is a client presenting d's certificate over TLS, trusting any server (a test listener).
func (d *appleDevice) tlsClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // the test listener's self-signed certificate
		Certificates:       []tls.Certificate{{Certificate: [][]byte{d.cert.Raw}, PrivateKey: d.key}},
	}}}
}

// appleDeviceID finds the tenant's device with serial.
func (e *apiEnv) appleDeviceID(ta, serial string) int64 {
	e.t.Helper()
	ids := e.listDevices(ta, "serialNumber="+serial)
	if len(ids) != 1 {
		e.t.Fatalf("devices with serial %s: %v, want one", serial, ids)
	}
	return ids[0]
}

func hexUDID(n int) string { return fmt.Sprintf("%08X-%016X", n, n*7919) }
