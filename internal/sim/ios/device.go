// Package ios simulates Apple devices that speak Apple's MDM protocol to Steward as a real iPhone, iPad
// or Apple TV does: they download an enrollment profile, get an identity certificate over SCEP, check in
// (Authenticate, TokenUpdate), then connect when woken by a push or on an interval and carry out the
// commands they are given. A fleet of them is paced by internal/sim (they are sim.Members).
package ios

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/micromdm/plist"
	"software.sslmate.com/src/go-pkcs12"

	"steward/internal/apple"
	"steward/internal/apple/enroll"
	"steward/internal/apple/identity"
)

// EnrollPath is where a device asks for its enrollment profile, below the server's base URL.
const EnrollPath = "/mdm/apple/enroll"

// ErrStopped is returned by CheckIn once the device is erased, unenrolled or no longer known to the server.
var ErrStopped = errors.New("device stopped")

// ErrNotEnrolled is returned by CheckIn before Enroll succeeded.
var ErrNotEnrolled = errors.New("device not enrolled")

// HTTPError is an answer other than 2xx.
type HTTPError struct {
	Op      string
	Status  int
	Message string // the start of the body
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s: HTTP %d", e.Op, e.Status)
	}
	return fmt.Sprintf("%s: HTTP %d: %s", e.Op, e.Status, e.Message)
}

// HTTPStatus is the answer's status (the fleet's stats file errors by it).
func (e *HTTPError) HTTPStatus() int { return e.Status }

// Observer hears what devices do (sim.Stats is one). Its methods must be safe for concurrent use.
type Observer interface {
	// Request is one HTTP exchange: op is "profile", "scep", "authenticate", "tokenupdate", "enroll"
	// (the whole enrollment, reported once it succeeded), "connect" or "checkout"; err is nil on 2xx.
	Request(op string, took time.Duration, err error)
	// Command is one command the device carried out (or refused), with the status it answered.
	Command(typ, status string)
}

// How a device shows its identity certificate on each check-in and connect.
const (
	IdentitySignature = "signature" // an Mdm-Signature header: a CMS signature over each body (RSA per message)
	IdentityHeader    = "header"    // the certificate in an RFC 9440 header, as a TLS-terminating proxy forwards it
	IdentityTLS       = "tls"       // the TLS client certificate (the server must serve TLS)
)

// DeviceOptions shape a new device.
type DeviceOptions struct {
	Model    int             // 1..Models(): that catalogue entry; 0: one drawn by how common it is
	Key      *rsa.PrivateKey // the identity key (from a KeyPool); nil: made at enrollment
	Observer Observer
	// Identity is IdentitySignature (""), IdentityHeader or IdentityTLS.
	Identity string
	// CertHeader names the header of IdentityHeader (default Client-Cert).
	CertHeader string
}

// Device is one simulated Apple device. Its methods are safe for concurrent use; it makes one
// connection at a time.
type Device struct {
	mu     sync.Mutex
	client *http.Client
	rng    *mrand.Rand
	obs    Observer
	hw     hardware
	key    *rsa.PrivateKey

	udid      string
	token     []byte // the APNs device token
	pushMagic string
	unlock    []byte
	facts     facts
	apps      []App

	// From the profile and SCEP.
	cert       *x509.Certificate
	serverURL  string
	checkinURL string
	topic      string
	profileID  string

	enrolled    bool
	stopped     bool
	erased      bool
	unenrolled  bool
	locked      bool
	lockMessage string

	// Counters, under their own lock: d.mu is held through a whole connect, and a load run reads these
	// while devices connect.
	shows      string // the Identity option
	certHeader string
	mdmClient  *http.Client // check-ins and connects: the shared client, or the device's own with IdentityTLS

	cmu          sync.Mutex
	executed     map[string]int
	profiles     map[string]string // installed configuration profiles: PayloadUUID by PayloadIdentifier
	acknowledged int               // commands acknowledged, of any type
	unsent       map[string]any    // a command's answer whose delivery failed: sent first next time
}

// NewDevice makes a device drawn from seed; client is shared by the whole fleet.
func NewDevice(client *http.Client, seed uint64, opts DeviceOptions) *Device {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x10510510))
	hw := pickModel(rng)
	if opts.Model > 0 && opts.Model <= len(models) {
		hw = models[opts.Model-1]
	}
	token := make([]byte, 32)
	for i := range token {
		token[i] = byte(rng.IntN(256))
	}
	udid := fmt.Sprintf("%08X-%016X", rng.Uint32(), rng.Uint64())
	header := opts.CertHeader
	if header == "" {
		header = "Client-Cert"
	}
	return &Device{client: client, rng: rng, obs: opts.Observer, hw: hw, key: opts.Key, udid: udid, token: token,
		facts: newFacts(rng, hw), apps: newApps(rng, hw), executed: map[string]int{}, profiles: map[string]string{},
		shows: opts.Identity, certHeader: header, mdmClient: client}
}

// PushToken is the device's APNs token in hex, as the push path names it.
func (d *Device) PushToken() string { return hex.EncodeToString(d.token) }

// Enroll downloads the enrollment profile at baseURL as username (with pin and/or password), gets its
// identity certificate over SCEP (or takes the profile's PKCS#12 identity) and checks in (Authenticate, then TokenUpdate).
func (d *Device) Enroll(ctx context.Context, baseURL, username, pin, password string) error {
	start := time.Now()
	if err := d.Prepare(ctx, baseURL, username, pin, password); err != nil {
		return err
	}
	return d.authenticate(ctx, start)
}

// Prepare is the first part of Enroll: the profile from Steward's enrollment page at baseURL, and the
// identity. Authenticate then checks in.
func (d *Device) Prepare(ctx context.Context, baseURL, username, pin, password string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureKey(); err != nil {
		return err
	}
	prof, err := d.downloadProfile(ctx, strings.TrimRight(baseURL, "/")+EnrollPath, username, pin, password)
	if err != nil {
		return err
	}
	return d.takeProfile(ctx, prof)
}

// PrepareWithProfile is Prepare with an enrollment profile (signed or not) got elsewhere, from any
// Apple MDM server: its SCEP payload (or PKCS#12 identity) gives the identity, its MDM payload the
// check-in and server URLs.
func (d *Device) PrepareWithProfile(ctx context.Context, raw []byte) error {
	prof, err := readProfile(raw)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureKey(); err != nil {
		return err
	}
	return d.takeProfile(ctx, prof)
}

func (d *Device) ensureKey() error {
	if d.erased { // enrolling again after an erase: the stock apps are back
		d.apps = newApps(d.rng, d.hw)
	}
	if d.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		d.key = k
	}
	return nil
}

func (d *Device) takeProfile(ctx context.Context, prof *profile) error {
	cert, err := d.identity(ctx, prof)
	if err != nil {
		return err
	}
	d.cert, d.serverURL, d.checkinURL, d.topic, d.profileID = cert, prof.serverURL, prof.checkinURL, prof.topic, prof.id
	if d.shows == IdentityTLS {
		d.mdmClient = tlsClient(d.client, cert, d.key)
	}
	return nil
}

// tlsClient is shared's settings with the device's certificate as its TLS client certificate: a
// transport of its own, since connections are per certificate.
func tlsClient(shared *http.Client, cert *x509.Certificate, key *rsa.PrivateKey) *http.Client {
	var t *http.Transport
	if st, ok := shared.Transport.(*http.Transport); ok {
		t = st.Clone()
	} else {
		t = http.DefaultTransport.(*http.Transport).Clone()
	}
	t.MaxIdleConnsPerHost = 2
	tc := &tls.Config{}
	if t.TLSClientConfig != nil {
		tc = t.TLSClientConfig.Clone()
	}
	tc.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}
	t.TLSClientConfig = tc
	return &http.Client{Transport: t, Timeout: shared.Timeout}
}

// Authenticate is the second part of Enroll, after Prepare: the check-in (Authenticate, then TokenUpdate).
// Sent again it is a device enrolling again with the same identity.
func (d *Device) Authenticate(ctx context.Context) error {
	return d.authenticate(ctx, time.Now())
}

func (d *Device) authenticate(ctx context.Context, start time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cert == nil {
		return errors.New("authenticate: the device has no identity yet")
	}
	auth := map[string]any{"MessageType": "Authenticate", "UDID": d.udid, "Topic": d.topic,
		"ProductName": d.hw.ProductName, "SerialNumber": d.facts.SerialNumber, "DeviceName": d.facts.DeviceName,
		"OSVersion": d.facts.OSVersion, "BuildVersion": d.facts.BuildVersion, "Model": d.hw.Model, "ModelName": d.hw.ModelName}
	if d.facts.IMEI != "" {
		auth["IMEI"] = d.facts.IMEI
	}
	if _, err := d.put(ctx, "authenticate", d.checkinURL, apple.CheckinContentType, auth); err != nil {
		return err
	}
	if d.pushMagic == "" {
		d.pushMagic = strings.ToUpper(rand.Text())
		d.unlock = []byte(rand.Text() + rand.Text())
	}
	tu := map[string]any{"MessageType": "TokenUpdate", "UDID": d.udid, "Topic": d.topic, "Token": d.token,
		"PushMagic": d.pushMagic, "UnlockToken": d.unlock}
	if _, err := d.put(ctx, "tokenupdate", d.checkinURL, apple.CheckinContentType, tu); err != nil {
		return err
	}
	d.enrolled, d.stopped, d.erased, d.unenrolled = true, false, false, false
	d.observe(ctx, "enroll", time.Since(start), nil)
	return nil
}

// identity gets the device's identity: over SCEP with its own key, or from the profile's PKCS#12
// identity (made by the server), whose key then replaces the device's.
func (d *Device) identity(ctx context.Context, prof *profile) (*x509.Certificate, error) {
	if prof.pkcs12 != nil {
		key, cert, _, err := pkcs12.DecodeChain(prof.pkcs12, prof.pkcs12Password)
		if err != nil {
			return nil, fmt.Errorf("the profile's PKCS#12 identity: %w", err)
		}
		rsaKey, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the profile's PKCS#12 identity has a %T key, want RSA", key)
		}
		d.key = rsaKey
		return cert, nil
	}
	t := time.Now()
	cert, err := enroll.RequestCertificate(ctx, d.client, prof.scepURL, prof.challenge, prof.subject, d.key)
	d.observe(ctx, "scep", time.Since(t), err)
	if err != nil {
		return nil, fmt.Errorf("scep: %w", err)
	}
	return cert, nil
}

// profile is what the simulator needs of an enrollment profile: its identity (SCEP, or PKCS#12) and
// where and how to check in.
type profile struct {
	id                           string
	scepURL, challenge, subject  string
	pkcs12                       []byte
	pkcs12Password               string
	serverURL, checkinURL, topic string
	signMessage                  bool
}

func (d *Device) downloadProfile(ctx context.Context, enrollURL, username, pin, password string) (*profile, error) {
	form := url.Values{"username": {username}}
	if pin != "" {
		form.Set("pin", pin)
	}
	if password != "" {
		form.Set("password", password)
	}
	start := time.Now()
	body, err := d.do(ctx, "profile", http.MethodPost, enrollURL, "application/x-www-form-urlencoded", []byte(form.Encode()), false)
	d.observe(ctx, "profile", time.Since(start), err)
	if err != nil {
		return nil, err
	}
	p, err := readProfile(body)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return p, nil
}

// readProfile checks a signed enrollment profile (or takes an unsigned one) and reads its SCEP and MDM payloads.
func readProfile(signed []byte) (*profile, error) {
	raw := signed
	if !bytes.HasPrefix(bytes.TrimSpace(signed), []byte("<?xml")) {
		var err error
		if raw, _, err = enroll.ReadSignedProfile(signed); err != nil {
			return nil, err
		}
	}
	var top struct {
		PayloadIdentifier string           `plist:"PayloadIdentifier"`
		PayloadContent    []map[string]any `plist:"PayloadContent"`
	}
	if err := plist.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("the profile is not a plist: %w", err)
	}
	p := &profile{id: top.PayloadIdentifier}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	for _, pl := range top.PayloadContent {
		switch str(pl, "PayloadType") {
		case "com.apple.security.scep":
			c, _ := pl["PayloadContent"].(map[string]any)
			p.scepURL, p.challenge, p.subject = str(c, "URL"), str(c, "Challenge"), commonName(c["Subject"])
		case "com.apple.security.pkcs12":
			p.pkcs12, _ = pl["PayloadContent"].([]byte)
			p.pkcs12Password = str(pl, "Password")
		case "com.apple.mdm":
			p.serverURL, p.checkinURL, p.topic = str(pl, "ServerURL"), str(pl, "CheckInURL"), str(pl, "Topic")
			p.signMessage, _ = pl["SignMessage"].(bool)
		}
	}
	switch {
	case p.pkcs12 == nil && (p.scepURL == "" || p.challenge == ""):
		return nil, errors.New("the profile has neither a SCEP payload with a URL and a challenge nor a PKCS#12 identity")
	case p.serverURL == "" || p.checkinURL == "" || p.topic == "":
		return nil, errors.New("the profile has no MDM payload with ServerURL, CheckInURL and Topic")
	}
	return p, nil
}

// commonName finds CN in a SCEP Subject: an array of RDNs, each an array of [OID-or-name, value] pairs.
func commonName(subject any) string {
	rdns, _ := subject.([]any)
	for _, rdn := range rdns {
		pairs, _ := rdn.([]any)
		for _, pair := range pairs {
			kv, _ := pair.([]any)
			if len(kv) == 2 {
				if k, _ := kv[0].(string); k == "CN" || k == "2.5.4.3" {
					v, _ := kv[1].(string)
					return v
				}
			}
		}
	}
	return ""
}

// CheckIn connects: it reports Idle, then carries out each command it is answered with and reports its
// result, until an answer is empty. An erase or an unenrollment ends the device's management.
func (d *Device) CheckIn(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.stopped:
		return ErrStopped
	case !d.enrolled:
		return ErrNotEnrolled
	}
	msg := map[string]any{"UDID": d.udid, "Status": apple.StatusIdle}
	if d.unsent != nil {
		msg, d.unsent = d.unsent, nil
	}
	for round := 0; round < 64; round++ {
		body, err := d.put(ctx, "connect", d.serverURL, "application/x-apple-aspen-mdm", msg)
		if err != nil {
			if msg["Status"] != apple.StatusIdle {
				d.unsent = msg // the command was carried out: its answer is owed
			}
			var he *HTTPError
			if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
				d.stop() // the server no longer knows this device
			}
			return err
		}
		if d.erased {
			d.stop()
			return nil
		}
		if d.unenrolled {
			_, err := d.put(ctx, "checkout", d.checkinURL, apple.CheckinContentType,
				map[string]any{"MessageType": "CheckOut", "UDID": d.udid, "Topic": d.topic})
			d.stop()
			return err
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		msg = d.execute(body)
	}
	return nil
}

// execute carries out one command and returns the report that answers it.
func (d *Device) execute(body []byte) map[string]any {
	var c struct {
		CommandUUID string         `plist:"CommandUUID"`
		Command     map[string]any `plist:"Command"`
	}
	if err := plist.Unmarshal(body, &c); err != nil || c.Command == nil {
		return map[string]any{"UDID": d.udid, "Status": apple.StatusCommandFormatError, "CommandUUID": c.CommandUUID}
	}
	typ, _ := c.Command["RequestType"].(string)
	r := map[string]any{"UDID": d.udid, "Status": apple.StatusAcknowledged, "CommandUUID": c.CommandUUID}
	switch typ {
	case apple.RequestDeviceInformation:
		r["QueryResponses"] = d.queryResponses(c.Command["Queries"])
	case apple.RequestInstalledApplicationList:
		var list []map[string]any
		for _, a := range d.apps {
			list = append(list, map[string]any{"Identifier": a.Identifier, "Name": a.Name,
				"ShortVersion": a.ShortVersion, "Version": a.Version})
		}
		r["InstalledApplicationList"] = list
	case apple.RequestDeviceLock:
		d.locked = true
		d.lockMessage, _ = c.Command["Message"].(string)
	case apple.RequestClearPasscode:
		d.locked = false
	case apple.RequestEraseDevice:
		d.erased = true
	case apple.RequestRemoveProfile:
		id, _ := c.Command["Identifier"].(string)
		if id == d.profileID || id == enroll.ProfileIdentifier {
			d.unenrolled = true
		}
		d.cmu.Lock()
		delete(d.profiles, id)
		d.cmu.Unlock()
	case apple.RequestInstallProfile:
		ident, uuid, err := readConfigProfile(c.Command["Payload"])
		if err != nil {
			r["Status"] = apple.StatusError
			r["ErrorChain"] = []map[string]any{{"ErrorCode": int64(1000), "ErrorDomain": "MCProfileErrorDomain",
				"LocalizedDescription": err.Error()}}
			break
		}
		d.cmu.Lock()
		d.profiles[ident] = uuid
		d.cmu.Unlock()
	case apple.RequestScheduleOSUpdate:
		// The update installs at once (InstallASAP); the next DeviceInformation reports the new version.
		var results []map[string]any
		updates, _ := c.Command["Updates"].([]any)
		for _, u := range updates {
			m, _ := u.(map[string]any)
			v, _ := m["ProductVersion"].(string)
			action, _ := m["InstallAction"].(string)
			if v != "" {
				d.facts.OSVersion = v
			}
			results = append(results, map[string]any{"ProductKey": "iOSUpdate" + v, "InstallAction": action, "Status": "Installing"})
		}
		r["UpdateResults"] = results
	case apple.RequestInstallApplication:
		if u, _ := c.Command["ManifestURL"].(string); u != "" {
			if err := d.installFromManifest(u); err != nil {
				r["Status"] = apple.StatusError
				r["ErrorChain"] = []map[string]any{{"ErrorCode": int64(12024), "ErrorDomain": "MCMDMErrorDomain",
					"LocalizedDescription": "Could not install the app: " + err.Error()}}
			}
		}
	case apple.RequestRemoveApplication:
	default:
		r["Status"] = apple.StatusError
		r["ErrorChain"] = []map[string]any{{"ErrorCode": int64(12021), "ErrorDomain": "MCMDMErrorDomain",
			"LocalizedDescription": "Unknown or unsupported request type: " + typ}}
	}
	status := r["Status"].(string)
	d.cmu.Lock()
	if status == apple.StatusAcknowledged {
		d.acknowledged++
	}
	d.executed[typ]++
	d.cmu.Unlock()
	if d.obs != nil {
		d.obs.Command(typ, status)
	}
	return r
}

// queryResponses answers DeviceInformation: the keys asked for (all it knows when none are named).
func (d *Device) queryResponses(queries any) map[string]any {
	all := map[string]any{
		"DeviceName": d.facts.DeviceName, "Model": d.hw.Model, "ModelName": d.hw.ModelName, "ProductName": d.hw.ProductName,
		"OSVersion": d.facts.OSVersion, "BuildVersion": d.facts.BuildVersion, "SerialNumber": d.facts.SerialNumber,
		"UDID": d.udid, "WiFiMAC": d.facts.WiFiMAC, "DeviceCapacity": d.hw.CapacityGB,
		"AvailableDeviceCapacity": d.facts.AvailableGB, "IsRoaming": false,
	}
	if d.facts.IMEI != "" {
		all["IMEI"] = d.facts.IMEI
	}
	asked, _ := queries.([]any)
	if len(asked) == 0 {
		return all
	}
	out := map[string]any{}
	for _, q := range asked {
		if k, ok := q.(string); ok {
			if v, ok := all[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

// put sends msg as an XML plist, signed with the identity (Mdm-Signature), and returns the answer body.
func (d *Device) put(ctx context.Context, op, to, contentType string, msg map[string]any) ([]byte, error) {
	body, err := plist.Marshal(msg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := d.do(ctx, op, http.MethodPut, to, contentType, body, true)
	d.observe(ctx, op, time.Since(start), err)
	return out, err
}

func (d *Device) do(ctx context.Context, op, method, to, contentType string, body []byte, sign bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, to, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "MDM/1.0 steward-sim")
	client := d.client
	if sign { // an MDM message: the device shows its identity
		switch d.shows {
		case IdentityHeader:
			req.Header.Set(d.certHeader, ":"+base64.StdEncoding.EncodeToString(d.cert.Raw)+":")
		case IdentityTLS:
			client = d.mdmClient
		default:
			sig, err := identity.Sign(body, d.cert, d.key)
			if err != nil {
				return nil, err
			}
			req.Header.Set(identity.SignatureHeader, sig)
		}
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, apple.MaxBody))
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, &HTTPError{Op: op, Status: res.StatusCode, Message: strings.TrimSpace(string(raw[:min(len(raw), 200)]))}
	}
	return raw, nil
}

func (d *Device) stop() { d.stopped, d.enrolled = true, false }

func (d *Device) observe(ctx context.Context, op string, took time.Duration, err error) {
	if d.obs != nil && ctx.Err() == nil {
		d.obs.Request(op, took, err)
	}
}

// State is a snapshot of a device, for tests and reports.
type State struct {
	UDID         string
	SerialNumber string
	ProductName  string
	ModelName    string
	DeviceName   string
	OSVersion    string
	Topic        string // from the profile
	PushToken    string // hex
	Enrolled     bool
	Stopped      bool
	Erased       bool
	Unenrolled   bool
	Locked       bool
	LockMessage  string
	Executed     map[string]int // commands carried out, by RequestType
	Acknowledged int            // commands acknowledged
	Apps         []App
	Profiles     map[string]string // installed configuration profiles: PayloadUUID by PayloadIdentifier
}

// State returns a snapshot of the device.
func (d *Device) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cmu.Lock()
	defer d.cmu.Unlock()
	ex := make(map[string]int, len(d.executed))
	for k, v := range d.executed {
		ex[k] = v
	}
	return State{UDID: d.udid, SerialNumber: d.facts.SerialNumber, ProductName: d.hw.ProductName, ModelName: d.hw.ModelName,
		DeviceName: d.facts.DeviceName, OSVersion: d.facts.OSVersion, Topic: d.topic, PushToken: hex.EncodeToString(d.token),
		Enrolled: d.enrolled, Stopped: d.stopped, Erased: d.erased, Unenrolled: d.unenrolled, Locked: d.locked,
		LockMessage: d.lockMessage, Executed: ex, Acknowledged: d.acknowledged, Apps: slices.Clone(d.apps),
		Profiles: maps.Clone(d.profiles)}
}

// readConfigProfile reads an InstallProfile payload, signed (CMS) or not, and returns its identifier and UUID.
func readConfigProfile(payload any) (identifier, uuid string, err error) {
	raw, ok := payload.([]byte)
	if !ok || len(raw) == 0 {
		return "", "", errors.New("the profile is missing")
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("<?xml")) {
		if raw, _, err = enroll.ReadSignedProfile(raw); err != nil {
			return "", "", errors.New("the profile's signature does not verify")
		}
	}
	var p struct {
		PayloadIdentifier string           `plist:"PayloadIdentifier"`
		PayloadUUID       string           `plist:"PayloadUUID"`
		PayloadContent    []map[string]any `plist:"PayloadContent"`
	}
	if err := plist.Unmarshal(raw, &p); err != nil || p.PayloadIdentifier == "" || p.PayloadUUID == "" || len(p.PayloadContent) == 0 {
		return "", "", errors.New("the profile is malformed")
	}
	return p.PayloadIdentifier, p.PayloadUUID, nil
}

// Acknowledged is how many commands the device has acknowledged.
func (d *Device) Acknowledged() int {
	d.cmu.Lock()
	defer d.cmu.Unlock()
	return d.acknowledged
}

// Executed is how many commands of the RequestType typ the device has carried out.
func (d *Device) Executed(typ string) int {
	d.cmu.Lock()
	defer d.cmu.Unlock()
	return d.executed[typ]
}

// Registered reports whether the device is enrolled (a sim.Member).
func (d *Device) Registered() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.enrolled
}

// Stopped reports whether the device was erased or unenrolled or lost its enrollment.
func (d *Device) Stopped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopped
}
