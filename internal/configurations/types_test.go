package configurations

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/micromdm/plist"

	"steward/internal/mdm"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func fieldsOf(err error) []string {
	var out []string
	var e *mdm.Error
	if err == nil {
		return nil
	}
	if me, ok := err.(*mdm.Error); ok {
		e = me
	}
	if e == nil {
		return []string{"?" + err.Error()}
	}
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func testCert(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Corp Root"},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(1900000000, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestValidation(t *testing.T) {
	cert := testCert(t)
	tests := []struct {
		typ    string
		attrs  map[string]any
		fields []string // the field errors expected, in order; nil: valid
	}{
		{TypePasscode, map[string]any{}, nil},
		{TypePasscode, map[string]any{"minLength": 6.0, "requireAlphanumeric": true, "maxFailedAttempts": "10"}, nil},
		{TypePasscode, map[string]any{"minLength": 17.0}, []string{"attributes.minLength"}},
		{TypePasscode, map[string]any{"minLength": 4.5}, []string{"attributes.minLength"}},
		{TypePasscode, map[string]any{"maxFailedAttempts": 1.0}, []string{"attributes.maxFailedAttempts"}},
		{TypePasscode, map[string]any{"allowSimple": "maybe"}, []string{"attributes.allowSimple"}},
		{TypePasscode, map[string]any{"colour": "red"}, []string{"attributes.colour"}},
		{TypeWiFi, map[string]any{"ssid": "Corp", "password": "corp-pass-1"}, nil},
		{TypeWiFi, map[string]any{"ssid": "Guest", "securityType": "none"}, nil},
		{TypeWiFi, map[string]any{}, []string{"attributes.ssid"}},
		{TypeWiFi, map[string]any{"ssid": "   "}, []string{"attributes.ssid"}},
		{TypeWiFi, map[string]any{"ssid": strings.Repeat("x", 33)}, []string{"attributes.ssid"}},
		{TypeWiFi, map[string]any{"ssid": "Corp"}, []string{"attributes.password"}},
		{TypeWiFi, map[string]any{"ssid": "Corp", "password": "short"}, []string{"attributes.password"}},
		{TypeWiFi, map[string]any{"ssid": "Guest", "securityType": "NONE", "password": "x"}, []string{"attributes.password"}},
		{TypeWiFi, map[string]any{"ssid": "Corp", "securityType": "WPA9"}, []string{"attributes.securityType"}},
		{TypeWiFi, map[string]any{"ssid": "Co\x00rp"}, []string{"attributes.ssid"}},
		{TypeRestrictions, map[string]any{"allowCamera": false}, nil},
		{TypeRestrictions, map[string]any{"allowCamera": 0.0}, []string{"attributes.allowCamera"}},
		{TypeExchange, map[string]any{"accountName": "Work", "host": "mail.example.com"}, nil},
		{TypeExchange, map[string]any{"accountName": "Work"}, []string{"attributes.host"}},
		{TypeExchange, map[string]any{"accountName": "Work", "host": "mail example.com"}, []string{"attributes.host"}},
		{TypeVPN, map[string]any{"connectionName": "Corp", "server": "vpn.example.com"}, nil},
		{TypeVPN, map[string]any{"connectionName": "Corp", "server": "vpn.example.com", "vpnType": "L2TP"}, []string{"attributes.sharedSecret"}},
		{TypeVPN, map[string]any{"server": "vpn.example.com"}, []string{"attributes.connectionName"}},
		{TypeWebClip, map[string]any{"label": "Intranet", "url": "https://intra.example.com/"}, nil},
		{TypeWebClip, map[string]any{"label": "Intranet", "url": "javascript:alert(1)"}, []string{"attributes.url"}},
		{TypeWebClip, map[string]any{"url": "https://x.example.com"}, []string{"attributes.label"}},
		{TypeCertificate, map[string]any{"certificate": cert}, nil},
		{TypeCertificate, map[string]any{"pkcs12": "AAEC", "pkcs12Password": "pw"}, nil},
		{TypeCertificate, map[string]any{}, []string{"attributes.certificate"}},
		{TypeCertificate, map[string]any{"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, []string{"attributes.certificate"}},
		{TypeCertificate, map[string]any{"certificate": cert, "pkcs12": "AAEC"}, []string{"attributes.certificate"}},
		{TypeCertificate, map[string]any{"pkcs12": "not base64!"}, []string{"attributes.pkcs12"}},
		{TypeCustom, map[string]any{"payloadType": "com.apple.notificationsettings", "content": map[string]any{"a": 1.0}}, nil},
		{TypeCustom, map[string]any{"payloadType": "com.apple.x", "content": `{"a":1}`}, nil},
		{TypeCustom, map[string]any{"payloadType": "nodots", "content": map[string]any{}}, []string{"attributes.payloadType"}},
		{TypeCustom, map[string]any{"payloadType": "com.apple.x", "content": "[1]"}, []string{"attributes.content"}},
		{TypeCustom, map[string]any{"payloadType": "com.apple.x"}, []string{"attributes.content"}},
	}
	for _, tc := range tests {
		var v mdm.Validator
		typ := TypeNamed(tc.typ)
		plain, secrets := typ.normalize(&v, tc.attrs, nil)
		got := fieldsOf(v.Err())
		if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("%s %v: field errors %v, want %v", tc.typ, tc.attrs, got, tc.fields)
			continue
		}
		if tc.fields != nil {
			continue
		}
		for _, a := range typ.Attrs {
			_, inPlain := plain[a.Name]
			if a.Secret() && inPlain {
				t.Errorf("%s: secret %s kept with the plain attributes", tc.typ, a.Name)
			}
			if !a.Secret() && !inPlain {
				t.Errorf("%s: %s has no value (defaults are filled in)", tc.typ, a.Name)
			}
		}
		for k := range secrets {
			if !typ.Attr(k).Secret() {
				t.Errorf("%s: %s among the secrets", tc.typ, k)
			}
		}
	}
}

func TestUpdateKeepsOmittedValues(t *testing.T) {
	typ := TypeNamed(TypeWiFi)
	var v mdm.Validator
	old := map[string]any{"ssid": "Corp", "securityType": "WPA2", "password": "corp-pass-1", "hidden": true, "autoJoin": true}
	plain, secrets := typ.normalize(&v, map[string]any{"ssid": "Corp2"}, old)
	if err := v.Err(); err != nil {
		t.Fatal(err)
	}
	if plain["ssid"] != "Corp2" || plain["hidden"] != true || secrets["password"] != "corp-pass-1" {
		t.Fatalf("plain %v secrets %v", plain, secrets)
	}
	plain, secrets = typ.normalize(&v, map[string]any{"securityType": "NONE", "password": ""}, old)
	if err := v.Err(); err != nil || len(secrets) != 0 || plain["securityType"] != "NONE" {
		t.Fatalf("clearing the password: %v %v %v", err, plain, secrets)
	}
}

func TestPickPriorityAndPlatform(t *testing.T) {
	cs := map[mdm.ConfigurationID]*mdm.Configuration{
		1: {ID: 1, Type: TypePasscode, Priority: 2},
		2: {ID: 2, Type: TypePasscode, Priority: 1},
		3: {ID: 3, Type: TypeWiFi, Priority: 1},
		4: {ID: 4, Type: TypeWiFi, Priority: 2},
		5: {ID: 5, Type: TypeWebClip, Priority: 1},
		6: {ID: 6, Type: TypeRestrictions, Priority: 3},
		7: {ID: 7, Type: "GONE", Priority: 1},
	}
	ids := func(platform string) []mdm.ConfigurationID {
		var out []mdm.ConfigurationID
		for _, c := range pick(cs, platform) {
			out = append(out, c.ID)
		}
		return out
	}
	if got := ids(mdm.PlatformIOS); !equalIDs(got, []mdm.ConfigurationID{2, 3, 4, 5, 6}) {
		t.Errorf("iOS: %v", got)
	}
	if got := ids(mdm.PlatformAndroid); !equalIDs(got, []mdm.ConfigurationID{2, 3, 4, 6}) {
		t.Errorf("Android: %v", got)
	}
}

func equalIDs(a, b []mdm.ConfigurationID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAppleProfiles builds one profile per type and compares it with its golden file, then parses it
// back: the identifier is stable, the UUID changes with the version, the payload type is Apple's.
func TestAppleProfiles(t *testing.T) {
	cases := []struct {
		typ   string
		attrs map[string]any
		want  string // PayloadType
	}{
		{TypePasscode, map[string]any{"minLength": 6.0, "requireAlphanumeric": true, "maxFailedAttempts": 10.0}, "com.apple.mobiledevice.passwordpolicy"},
		{TypeWiFi, map[string]any{"ssid": "Corp", "securityType": "WPA2", "password": "corp-pass-1"}, "com.apple.wifi.managed"},
		{TypeRestrictions, map[string]any{"allowCamera": false}, "com.apple.applicationaccess"},
		{TypeExchange, map[string]any{"accountName": "Work", "host": "mail.example.com", "password": "ex-pw"}, "com.apple.eas.account"},
		{TypeVPN, map[string]any{"connectionName": "Corp VPN", "server": "vpn.example.com", "sharedSecret": "psk", "password": "vpn-pw"}, "com.apple.vpn.managed"},
		{TypeWebClip, map[string]any{"label": "Intranet", "url": "https://intra.example.com/"}, "com.apple.webClip.managed"},
		{TypeCertificate, map[string]any{"pkcs12": "AAEC", "pkcs12Password": "p12-pw"}, "com.apple.security.pkcs12"},
		{TypeCustom, map[string]any{"payloadType": "com.apple.notificationsettings", "content": map[string]any{"NotificationSettings": []any{map[string]any{"BundleIdentifier": "com.example", "AlertType": 1.0}}}}, "com.apple.notificationsettings"},
	}
	for i, tc := range cases {
		typ := TypeNamed(tc.typ)
		var v mdm.Validator
		plain, secrets := typ.normalize(&v, tc.attrs, nil)
		if err := v.Err(); err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		c := &mdm.Configuration{ID: mdm.ConfigurationID(10 + i), TenantID: "0b9d0f3e-1c2a-4d5e-8f60-7a8b9c0d1e2f",
			Name: "Test " + typ.Label, Description: "golden", Type: tc.typ, Version: 3, Attributes: plain}
		all := values(typ, plain, secrets)
		owner := Owner{Email: "ann@example.com", Username: "ann"}
		got, err := AppleProfile(c, all, owner)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		golden := filepath.Join("testdata", strings.ToLower(tc.typ)+".mobileconfig")
		if *update {
			os.WriteFile(golden, got, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%s: %v (run with -update)", tc.typ, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: profile differs from %s:\n%s", tc.typ, golden, got)
		}
		var back struct {
			PayloadType       string           `plist:"PayloadType"`
			PayloadIdentifier string           `plist:"PayloadIdentifier"`
			PayloadUUID       string           `plist:"PayloadUUID"`
			PayloadContent    []map[string]any `plist:"PayloadContent"`
		}
		if err := plist.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: parse back: %v", tc.typ, err)
		}
		if back.PayloadType != "Configuration" || back.PayloadIdentifier != Identifier(c.TenantID, c.ID) ||
			len(back.PayloadContent) != 1 || back.PayloadContent[0]["PayloadType"] != tc.want {
			t.Errorf("%s: parsed back %+v", tc.typ, back)
		}
		c.Version++
		next, _ := AppleProfile(c, all, owner)
		var back2 struct {
			PayloadIdentifier string `plist:"PayloadIdentifier"`
			PayloadUUID       string `plist:"PayloadUUID"`
		}
		plist.Unmarshal(next, &back2)
		if back2.PayloadIdentifier != back.PayloadIdentifier || back2.PayloadUUID == back.PayloadUUID {
			t.Errorf("%s: a new version keeps the identifier and changes the UUID: %+v %+v", tc.typ, back, back2)
		}
	}
}

func TestCertificateProfile(t *testing.T) {
	typ := TypeNamed(TypeCertificate)
	pemText := testCert(t)
	c := &mdm.Configuration{ID: 1, TenantID: "t", Name: "Root", Type: TypeCertificate, Version: 1}
	got, err := AppleProfile(c, values(typ, map[string]any{"certificate": pemText}, nil), Owner{})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		PayloadContent []struct {
			PayloadType    string `plist:"PayloadType"`
			PayloadContent []byte `plist:"PayloadContent"`
		} `plist:"PayloadContent"`
	}
	if err := plist.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	cert, _ := parseCertificate(pemText)
	if p := back.PayloadContent[0]; p.PayloadType != "com.apple.security.pkcs1" || !bytes.Equal(p.PayloadContent, cert.Raw) {
		t.Fatalf("payload %+v", p.PayloadType)
	}
}

func TestExchangeProfileExpandsOwner(t *testing.T) {
	typ := TypeNamed(TypeExchange)
	all := values(typ, map[string]any{"accountName": "Work", "host": "mail.example.com", "emailAddress": "${EMAIL}",
		"username": "${USERNAME}", "useSSL": true}, nil)
	_, p, err := ApplePayload(typ, all, Owner{Email: "ann@example.com", Username: "ann"})
	if err != nil || p["EmailAddress"] != "ann@example.com" || p["UserName"] != "ann" {
		t.Fatalf("%v %v", p, err)
	}
}
