package enroll

import (
	"bytes"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/micromdm/plist"

	"steward/internal/mdm"
)

var update = flag.Bool("update", false, "rewrite the golden profiles under testdata")

// sequentialUUIDs makes BuildProfile's UUIDs predictable for the length of a test.
func sequentialUUIDs(t *testing.T) {
	t.Helper()
	orig := newUUID
	n := 0
	newUUID = func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
	t.Cleanup(func() { newUUID = orig })
}

func baseProfile() Profile {
	return Profile{
		Organization: "Acme Corp",
		ServerURL:    "https://mdm.example.com/apple/t1/connect",
		CheckInURL:   "https://mdm.example.com/apple/t1/checkin",
		Topic:        "com.apple.mgmt.External.0f0f0f0f-1111-2222-3333-444444444444",
		AccessRights: 8191,
		CACert:       &x509.Certificate{Raw: []byte("ca certificate DER")},
	}
}

func scepProfile() Profile {
	p := baseProfile()
	p.SCEPURL = "https://mdm.example.com/apple/t1/scep"
	p.Challenge = "challenge-123"
	p.Subject = "enrollment-abc"
	return p
}

func pkcs12Profile() Profile {
	p := baseProfile()
	p.PKCS12 = []byte("pkcs12 bytes")
	p.Password = "p12-password"
	return p
}

// parsed is the profile as a device reads it.
type parsed struct {
	PayloadType         string
	PayloadIdentifier   string
	PayloadUUID         string
	PayloadVersion      int
	PayloadDisplayName  string
	PayloadOrganization string
	PayloadContent      []map[string]any
}

func TestBuildProfileGolden(t *testing.T) {
	for name, p := range map[string]Profile{"scep": scepProfile(), "pkcs12": pkcs12Profile()} {
		t.Run(name, func(t *testing.T) {
			sequentialUUIDs(t)
			got, err := BuildProfile(p)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "profile_"+name+".plist")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("profile differs from %s (run with -update if intended):\n%s", path, got)
			}
		})
	}
}

func TestBuildProfileStructure(t *testing.T) {
	for name, p := range map[string]Profile{"scep": scepProfile(), "pkcs12": pkcs12Profile()} {
		t.Run(name, func(t *testing.T) {
			out, err := BuildProfile(p)
			if err != nil {
				t.Fatal(err)
			}
			var top parsed
			if err := plist.Unmarshal(out, &top); err != nil {
				t.Fatal(err)
			}
			if top.PayloadType != "Configuration" || top.PayloadIdentifier != ProfileIdentifier ||
				top.PayloadVersion != 1 || top.PayloadOrganization != p.Organization || top.PayloadDisplayName == "" {
				t.Errorf("top level = %+v", top)
			}
			byType := map[string]map[string]any{}
			uuids := map[any]bool{top.PayloadUUID: true}
			for _, pl := range top.PayloadContent {
				byType[pl["PayloadType"].(string)] = pl
				uuids[pl["PayloadUUID"]] = true
			}
			if len(uuids) != 4 {
				t.Errorf("payload UUIDs are not distinct: %v", uuids)
			}
			root := byType["com.apple.security.root"]
			if root == nil || !bytes.Equal(root["PayloadContent"].([]byte), p.CACert.Raw) {
				t.Errorf("root payload = %v", root)
			}
			identityType := "com.apple.security.scep"
			if p.SCEPURL == "" {
				identityType = "com.apple.security.pkcs12"
			}
			identity := byType[identityType]
			if identity == nil {
				t.Fatalf("no %s payload", identityType)
			}
			if p.SCEPURL != "" {
				c := identity["PayloadContent"].(map[string]any)
				subject := fmt.Sprint(c["Subject"])
				if c["URL"] != p.SCEPURL || c["Challenge"] != p.Challenge || subject != "[[[CN "+p.Subject+"]]]" ||
					c["Keysize"] != uint64(2048) || c["Key Type"] != "RSA" || c["Key Usage"] != uint64(5) {
					t.Errorf("SCEP payload content = %v", c)
				}
			} else if !bytes.Equal(identity["PayloadContent"].([]byte), p.PKCS12) || identity["Password"] != p.Password {
				t.Errorf("PKCS#12 payload = %v", identity)
			}
			m := byType["com.apple.mdm"]
			if m == nil {
				t.Fatal("no MDM payload")
			}
			want := map[string]any{
				"ServerURL": p.ServerURL, "CheckInURL": p.CheckInURL, "Topic": p.Topic,
				"IdentityCertificateUUID": identity["PayloadUUID"], "AccessRights": uint64(8191),
				"SignMessage": true, "CheckOutWhenRemoved": true,
			}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("MDM payload %s = %v, want %v", k, m[k], v)
				}
			}
		})
	}
}

func TestBuildProfileInvalid(t *testing.T) {
	for name, edit := range map[string]func(*Profile){
		"no organization":      func(p *Profile) { p.Organization = "" },
		"no server URL":        func(p *Profile) { p.ServerURL = "" },
		"no check-in URL":      func(p *Profile) { p.CheckInURL = "" },
		"no topic":             func(p *Profile) { p.Topic = "" },
		"no CA":                func(p *Profile) { p.CACert = nil },
		"no access rights":     func(p *Profile) { p.AccessRights = 0 },
		"too many rights":      func(p *Profile) { p.AccessRights = 8192 },
		"no identity":          func(p *Profile) { p.SCEPURL = "" },
		"no challenge":         func(p *Profile) { p.Challenge = "" },
		"no subject":           func(p *Profile) { p.Subject = "" },
		"both identities":      func(p *Profile) { p.PKCS12 = []byte("x"); p.Password = "x" },
		"PKCS#12 no password":  func(p *Profile) { p.SCEPURL = ""; p.PKCS12 = []byte("x") },
		"password, no PKCS#12": func(p *Profile) { p.SCEPURL = ""; p.Password = "x" },
	} {
		t.Run(name, func(t *testing.T) {
			p := scepProfile()
			edit(&p)
			out, err := BuildProfile(p)
			if mdm.ErrorCode(err) != mdm.Invalid || out != nil {
				t.Errorf("BuildProfile = %d bytes, %v; want an invalid error", len(out), err)
			}
		})
	}
}

func TestSignedProfileRoundTrip(t *testing.T) {
	ca := testCA(t)
	p := scepProfile()
	p.CACert = ca.Cert
	out, err := BuildProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ca.Sign(out)
	if err != nil {
		t.Fatal(err)
	}
	got, signer, err := ReadSignedProfile(signed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, out) || !signer.Equal(ca.Cert) {
		t.Error("signed profile does not read back as built")
	}
}
