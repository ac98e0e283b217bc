package configurations

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/micromdm/plist"

	"steward/internal/mdm"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Identifier is the PayloadIdentifier of a configuration's Apple profile: stable for the
// configuration's life and scoped to its tenant, so that a new version replaces the old profile.
func Identifier(tenantID mdm.TenantID, id mdm.ConfigurationID) string {
	return fmt.Sprintf("com.steward.%s.config.%d", tenantID, id)
}

// payloadUUID derives a UUID from the configuration, its version and the part: it changes with every
// version and is the same every time the version is built.
func payloadUUID(c *mdm.Configuration, part string) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%d/%s", c.TenantID, c.ID, c.Version, part)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50 // version 5 style (name based)
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Owner is what profile variables (${EMAIL}, ${USERNAME}) stand for on one device.
type Owner struct {
	Email    string
	Username string
}

func (o Owner) expand(s string) string {
	return strings.NewReplacer("${EMAIL}", o.Email, "${USERNAME}", o.Username).Replace(s)
}

// usesOwner reports whether the configuration's text names a profile variable (so its profile is per device).
func usesOwner(attrs map[string]any) bool {
	for _, v := range attrs {
		if s, ok := v.(string); ok && strings.Contains(s, "${") {
			return true
		}
	}
	return false
}

// values merges the plain attributes and the opened secrets, with defaults for any missing.
func values(t *Type, plain, secrets map[string]any) map[string]any {
	all := map[string]any{}
	for _, a := range t.Attrs {
		v, ok := plain[a.Name]
		if !ok {
			v, ok = secrets[a.Name]
		}
		if !ok {
			v = zero(a)
		}
		// JSON numbers read back from the store are float64.
		if f, isF := v.(float64); isF && a.Kind == kInt {
			v = int64(f)
		}
		all[a.Name] = v
	}
	return all
}

func str(a map[string]any, k string) string { s, _ := a[k].(string); return s }
func boolean(a map[string]any, k string) bool {
	b, _ := a[k].(bool)
	return b
}
func integer(a map[string]any, k string) int64 { n, _ := a[k].(int64); return n }

// ApplePayload returns the content of the configuration's one payload (its PayloadType and keys),
// from all its values (secrets opened).
func ApplePayload(t *Type, a map[string]any, o Owner) (string, map[string]any, error) {
	switch t.Name {
	case TypePasscode:
		p := map[string]any{"forcePIN": true, "allowSimple": boolean(a, "allowSimple"),
			"requireAlphanumeric": boolean(a, "requireAlphanumeric")}
		for k, key := range map[string]string{"minLength": "minLength", "minComplexChars": "minComplexChars",
			"maxFailedAttempts": "maxFailedAttempts", "maxInactivityMinutes": "maxInactivity", "maxAgeDays": "maxPINAgeInDays",
			"history": "pinHistory"} {
			if n := integer(a, k); n > 0 {
				p[key] = n
			}
		}
		return "com.apple.mobiledevice.passwordpolicy", p, nil
	case TypeWiFi:
		enc := map[string]string{"NONE": "None", "WEP": "WEP", "WPA": "WPA", "WPA2": "WPA2", "WPA3": "WPA3", "ANY": "Any"}[str(a, "securityType")]
		p := map[string]any{"SSID_STR": str(a, "ssid"), "HIDDEN_NETWORK": boolean(a, "hidden"),
			"AutoJoin": boolean(a, "autoJoin"), "EncryptionType": enc}
		if pw := str(a, "password"); pw != "" {
			p["Password"] = pw
		}
		return "com.apple.wifi.managed", p, nil
	case TypeRestrictions:
		return "com.apple.applicationaccess", map[string]any{
			"allowCamera": boolean(a, "allowCamera"), "allowScreenShot": boolean(a, "allowScreenCapture"),
			"allowAppInstallation": boolean(a, "allowAppInstallation"), "allowSafari": boolean(a, "allowBrowser"),
			"allowCloudBackup": boolean(a, "allowCloudBackup"), "allowExplicitContent": boolean(a, "allowExplicitContent"),
		}, nil
	case TypeExchange:
		p := map[string]any{"Host": str(a, "host"), "SSL": boolean(a, "useSSL"),
			"EmailAddress": o.expand(str(a, "emailAddress")), "UserName": o.expand(str(a, "username"))}
		if pw := str(a, "password"); pw != "" {
			p["Password"] = pw
		}
		return "com.apple.eas.account", p, nil
	case TypeVPN:
		p := map[string]any{"UserDefinedName": str(a, "connectionName")}
		user := o.expand(str(a, "username"))
		if str(a, "vpnType") == "L2TP" {
			p["VPNType"] = "L2TP"
			ppp := map[string]any{"CommRemoteAddress": str(a, "server"), "AuthName": user}
			if pw := str(a, "password"); pw != "" {
				ppp["AuthPassword"] = pw
			}
			p["PPP"] = ppp
			p["IPSec"] = map[string]any{"AuthenticationMethod": "SharedSecret", "SharedSecret": []byte(str(a, "sharedSecret"))}
		} else {
			p["VPNType"] = "IKEv2"
			ike := map[string]any{"RemoteAddress": str(a, "server"), "RemoteIdentifier": str(a, "remoteIdentifier"),
				"LocalIdentifier": user, "AuthenticationMethod": "None", "ExtendedAuthEnabled": 1, "AuthName": user}
			if s := str(a, "sharedSecret"); s != "" {
				ike["AuthenticationMethod"], ike["SharedSecret"] = "SharedSecret", s
			}
			if pw := str(a, "password"); pw != "" {
				ike["AuthPassword"] = pw
			}
			p["IKEv2"] = ike
		}
		return "com.apple.vpn.managed", p, nil
	case TypeWebClip:
		return "com.apple.webClip.managed", map[string]any{"Label": str(a, "label"), "URL": str(a, "url"),
			"IsRemovable": boolean(a, "removable"), "FullScreen": boolean(a, "fullScreen")}, nil
	case TypeCertificate:
		if c := str(a, "certificate"); c != "" {
			cert, err := parseCertificate(c)
			if err != nil {
				return "", nil, err
			}
			return "com.apple.security.pkcs1", map[string]any{"PayloadCertificateFileName": "certificate.cer",
				"PayloadContent": cert.Raw}, nil
		}
		der, err := base64.StdEncoding.DecodeString(str(a, "pkcs12"))
		if err != nil {
			return "", nil, err
		}
		return "com.apple.security.pkcs12", map[string]any{"PayloadCertificateFileName": "identity.p12",
			"PayloadContent": der, "Password": str(a, "pkcs12Password")}, nil
	case TypeCustom:
		content, _ := a["content"].(map[string]any)
		p := map[string]any{}
		for k, v := range content {
			if !strings.HasPrefix(k, "Payload") {
				p[k] = plistValue(v)
			}
		}
		return str(a, "payloadType"), p, nil
	}
	return "", nil, fmt.Errorf("no Apple payload for %s", t.Name)
}

// plistValue turns JSON numbers that are whole into integers (plist <integer>, not <real>).
func plistValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = plistValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plistValue(e)
		}
		return out
	}
	return v
}

// AppleProfile builds the unsigned .mobileconfig (XML plist) of configuration c with all its values
// (secrets opened): a Configuration payload whose PayloadIdentifier is Identifier and whose
// PayloadUUID changes with each version, holding the type's one payload.
func AppleProfile(c *mdm.Configuration, all map[string]any, o Owner) ([]byte, error) {
	t := TypeNamed(c.Type)
	if t == nil {
		return nil, fmt.Errorf("unknown configuration type %q", c.Type)
	}
	typ, payload, err := ApplePayload(t, all, o)
	if err != nil {
		return nil, err
	}
	ident := Identifier(c.TenantID, c.ID)
	payload["PayloadType"] = typ
	payload["PayloadVersion"] = 1
	payload["PayloadIdentifier"] = ident + ".payload"
	payload["PayloadUUID"] = payloadUUID(c, "payload")
	payload["PayloadDisplayName"] = c.Name
	top := map[string]any{
		"PayloadType":              "Configuration",
		"PayloadVersion":           1,
		"PayloadIdentifier":        ident,
		"PayloadUUID":              payloadUUID(c, "profile"),
		"PayloadDisplayName":       c.Name,
		"PayloadDescription":       c.Description,
		"PayloadOrganization":      "Steward",
		"PayloadRemovalDisallowed": false,
		"PayloadContent":           []any{payload},
	}
	out, err := plist.MarshalIndent(top, "\t")
	if err != nil {
		return nil, fmt.Errorf("encode profile: %w", err)
	}
	return out, nil
}

// AndroidPolicy is the policy JSON the Android agent applies for configuration c: its type, id,
// version and all its values (secrets opened, variables expanded).
func AndroidPolicy(c *mdm.Configuration, all map[string]any, o Owner) (string, error) {
	settings := map[string]any{}
	for k, v := range all {
		if s, ok := v.(string); ok {
			v = o.expand(s)
		}
		settings[k] = v
	}
	b, err := json.Marshal(map[string]any{"type": c.Type, "configurationId": c.ID, "version": c.Version,
		"name": c.Name, "settings": settings})
	return string(b), err
}
