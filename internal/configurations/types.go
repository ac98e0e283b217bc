package configurations

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"steward/internal/mdm"
)

// Configuration types.
const (
	TypePasscode     = "PASSCODE"
	TypeWiFi         = "WIFI"
	TypeRestrictions = "RESTRICTIONS"
	TypeExchange     = "EXCHANGE"
	TypeVPN          = "VPN"
	TypeWebClip      = "WEBCLIP"
	TypeCertificate  = "CERTIFICATE"
	TypeCustom       = "CUSTOM"
)

// attrKind is what values an attribute takes.
type attrKind int

const (
	kString attrKind = iota
	kBool
	kInt
	kEnum
	kSecret // a string kept sealed, never returned
	kObject // a JSON object (custom payload content)
)

// Attr describes one attribute of a configuration type.
type Attr struct {
	Name     string
	Label    string
	Kind     attrKind
	Required bool
	Min, Max int      // kInt: the range; kString/kSecret: the length in characters (Max 0: 1000)
	Enum     []string // kEnum
	Default  any
	Help     string
}

// Secret reports whether the attribute is sealed and never returned.
func (a Attr) Secret() bool { return a.Kind == kSecret }

// Input names the console input kind of the attribute: text, password, checkbox, number, select or textarea.
func (a Attr) Input() string {
	switch a.Kind {
	case kBool:
		return "checkbox"
	case kInt:
		return "number"
	case kEnum:
		return "select"
	case kSecret:
		return "password"
	case kObject:
		return "textarea"
	}
	return "text"
}

// Type is a configuration type: its attributes, the platforms it applies to and whether one device
// takes several configurations of it (Wi-Fi networks) or only the one of highest priority (passcode).
type Type struct {
	Name      string
	Label     string
	Platforms []string // mdm.PlatformIOS, mdm.PlatformAndroid
	Multi     bool
	Attrs     []Attr
	check     func(v *mdm.Validator, a map[string]any)
}

// AppliesTo reports whether the type applies to devices of platform.
func (t *Type) AppliesTo(platform string) bool { return slices.Contains(t.Platforms, platform) }

// Attr returns the attribute called name, or nil.
func (t *Type) Attr(name string) *Attr {
	for i := range t.Attrs {
		if t.Attrs[i].Name == name {
			return &t.Attrs[i]
		}
	}
	return nil
}

var both = []string{mdm.PlatformIOS, mdm.PlatformAndroid}

// Types are the configuration types, in the order the console offers them.
var Types = []*Type{
	{Name: TypePasscode, Label: "Passcode", Platforms: both, Attrs: []Attr{
		{Name: "minLength", Label: "Minimum length", Kind: kInt, Min: 0, Max: 16, Default: int64(4)},
		{Name: "requireAlphanumeric", Label: "Require letters and numbers", Kind: kBool, Default: false},
		{Name: "allowSimple", Label: "Allow simple values (1234, 1111)", Kind: kBool, Default: true},
		{Name: "minComplexChars", Label: "Minimum complex characters", Kind: kInt, Min: 0, Max: 4, Default: int64(0)},
		{Name: "maxFailedAttempts", Label: "Failed attempts before wipe (0: no limit)", Kind: kInt, Min: 0, Max: 11, Default: int64(0)},
		{Name: "maxInactivityMinutes", Label: "Auto-lock after minutes (0: device default)", Kind: kInt, Min: 0, Max: 15, Default: int64(0)},
		{Name: "maxAgeDays", Label: "Maximum passcode age in days (0: none)", Kind: kInt, Min: 0, Max: 730, Default: int64(0)},
		{Name: "history", Label: "Passcode history (0: none)", Kind: kInt, Min: 0, Max: 50, Default: int64(0)},
	}, check: func(v *mdm.Validator, a map[string]any) {
		n := a["maxFailedAttempts"].(int64)
		v.Check(n == 0 || n >= 2, "attributes.maxFailedAttempts", "Range", "must be 0 (no limit) or between 2 and 11")
	}},
	{Name: TypeWiFi, Label: "Wi-Fi", Platforms: both, Multi: true, Attrs: []Attr{
		{Name: "ssid", Label: "Network name (SSID)", Kind: kString, Required: true, Min: 1, Max: 32},
		{Name: "securityType", Label: "Security", Kind: kEnum, Enum: []string{"NONE", "WEP", "WPA", "WPA2", "WPA3", "ANY"}, Default: "WPA2"},
		{Name: "password", Label: "Password", Kind: kSecret, Max: 63},
		{Name: "hidden", Label: "Hidden network", Kind: kBool, Default: false},
		{Name: "autoJoin", Label: "Join automatically", Kind: kBool, Default: true},
	}, check: func(v *mdm.Validator, a map[string]any) {
		v.Check(len(a["ssid"].(string)) <= 32, "attributes.ssid", "Size", "must be at most 32 bytes")
		sec, pw := a["securityType"].(string), a["password"].(string)
		switch sec {
		case "NONE":
			v.Check(pw == "", "attributes.password", "NotAllowed", "an open network has no password")
		case "WPA", "WPA2", "WPA3":
			v.Check(pw != "", "attributes.password", "Required", "is required for "+sec)
			v.Check(pw == "" || len(pw) >= 8, "attributes.password", "Size", "must be 8 to 63 characters for "+sec)
		case "WEP":
			v.Check(pw != "", "attributes.password", "Required", "is required for WEP")
		}
	}},
	{Name: TypeRestrictions, Label: "Restrictions", Platforms: both, Attrs: []Attr{
		{Name: "allowCamera", Label: "Allow the camera", Kind: kBool, Default: true},
		{Name: "allowScreenCapture", Label: "Allow screenshots", Kind: kBool, Default: true},
		{Name: "allowAppInstallation", Label: "Allow installing apps", Kind: kBool, Default: true},
		{Name: "allowBrowser", Label: "Allow the browser (Safari)", Kind: kBool, Default: true},
		{Name: "allowCloudBackup", Label: "Allow cloud backup", Kind: kBool, Default: true},
		{Name: "allowExplicitContent", Label: "Allow explicit content", Kind: kBool, Default: true},
	}},
	{Name: TypeExchange, Label: "Email (Exchange)", Platforms: both, Multi: true, Attrs: []Attr{
		{Name: "accountName", Label: "Account name", Kind: kString, Required: true, Min: 1, Max: 100},
		{Name: "host", Label: "Exchange server", Kind: kString, Required: true, Min: 1, Max: 253},
		{Name: "emailAddress", Label: "Email address", Kind: kString, Max: 254, Default: "${EMAIL}",
			Help: "${EMAIL} is the device owner's address"},
		{Name: "username", Label: "User name", Kind: kString, Max: 254, Default: "${USERNAME}"},
		{Name: "password", Label: "Password", Kind: kSecret, Max: 256},
		{Name: "useSSL", Label: "Use SSL", Kind: kBool, Default: true},
	}, check: func(v *mdm.Validator, a map[string]any) {
		v.Check(hostPattern.MatchString(a["host"].(string)), "attributes.host", "Pattern", "must be a host name")
	}},
	{Name: TypeVPN, Label: "VPN", Platforms: []string{mdm.PlatformIOS}, Multi: true, Attrs: []Attr{
		{Name: "connectionName", Label: "Connection name", Kind: kString, Required: true, Min: 1, Max: 100},
		{Name: "vpnType", Label: "Type", Kind: kEnum, Enum: []string{"IKEV2", "L2TP"}, Default: "IKEV2"},
		{Name: "server", Label: "Server", Kind: kString, Required: true, Min: 1, Max: 253},
		{Name: "remoteIdentifier", Label: "Remote identifier (IKEv2)", Kind: kString, Max: 253},
		{Name: "username", Label: "User name", Kind: kString, Max: 254, Default: "${USERNAME}"},
		{Name: "password", Label: "Password", Kind: kSecret, Max: 256},
		{Name: "sharedSecret", Label: "Shared secret", Kind: kSecret, Max: 256},
	}, check: func(v *mdm.Validator, a map[string]any) {
		v.Check(hostPattern.MatchString(a["server"].(string)), "attributes.server", "Pattern", "must be a host name or address")
		if a["vpnType"] == "L2TP" {
			v.Check(a["sharedSecret"].(string) != "", "attributes.sharedSecret", "Required", "is required for L2TP")
		}
	}},
	{Name: TypeWebClip, Label: "Web Clip", Platforms: []string{mdm.PlatformIOS}, Multi: true, Attrs: []Attr{
		{Name: "label", Label: "Label", Kind: kString, Required: true, Min: 1, Max: 100},
		{Name: "url", Label: "URL", Kind: kString, Required: true, Min: 1, Max: 2000},
		{Name: "removable", Label: "Removable", Kind: kBool, Default: true},
		{Name: "fullScreen", Label: "Full screen", Kind: kBool, Default: false},
	}, check: func(v *mdm.Validator, a map[string]any) {
		u, err := url.Parse(a["url"].(string))
		v.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "", "attributes.url", "Pattern",
			"must be an http or https URL")
	}},
	{Name: TypeCertificate, Label: "Certificate", Platforms: both, Multi: true, Attrs: []Attr{
		{Name: "certificate", Label: "Certificate (PEM)", Kind: kString, Max: 64 << 10,
			Help: "a PEM certificate; or leave empty and give a PKCS#12 identity"},
		{Name: "pkcs12", Label: "PKCS#12 identity (base64)", Kind: kSecret, Max: 64 << 10},
		{Name: "pkcs12Password", Label: "PKCS#12 password", Kind: kSecret, Max: 256},
	}, check: func(v *mdm.Validator, a map[string]any) {
		c, p := a["certificate"].(string), a["pkcs12"].(string)
		v.Check((c == "") != (p == ""), "attributes.certificate", "Required", "give either a PEM certificate or a PKCS#12 identity")
		if c != "" {
			_, err := parseCertificate(c)
			v.Add("attributes.certificate", "Invalid", err)
		}
		if p != "" {
			_, err := base64.StdEncoding.DecodeString(p)
			v.Check(err == nil, "attributes.pkcs12", "Invalid", "must be base64")
		}
	}},
	{Name: TypeCustom, Label: "Custom payload", Platforms: []string{mdm.PlatformIOS}, Multi: true, Attrs: []Attr{
		{Name: "payloadType", Label: "Payload type", Kind: kString, Required: true, Min: 3, Max: 200,
			Help: "e.g. com.apple.notificationsettings"},
		{Name: "content", Label: "Payload content (JSON object)", Kind: kObject, Required: true},
	}, check: func(v *mdm.Validator, a map[string]any) {
		v.Check(payloadTypePattern.MatchString(a["payloadType"].(string)), "attributes.payloadType", "Pattern",
			"must be a reverse-DNS payload type")
	}},
}

var (
	hostPattern        = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.:\-\[\]]*[A-Za-z0-9\]])?$`)
	payloadTypePattern = regexp.MustCompile(`^[A-Za-z0-9]+(\.[A-Za-z0-9\-]+)+$`)
)

// TypeNamed returns the type called name (any case), or nil.
func TypeNamed(name string) *Type {
	name = strings.ToUpper(strings.TrimSpace(name))
	for _, t := range Types {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func parseCertificate(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("is not a PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is not a readable certificate")
	}
	return c, nil
}

// normalize checks in against t and returns the full attributes (defaults filled in) split into the
// plain ones and the secret ones. old are the configuration's current values (plain and secret merged)
// for an update: attributes absent from in keep them. Field errors name attributes.<name>.
func (t *Type) normalize(v *mdm.Validator, in, old map[string]any) (plain, secrets map[string]any) {
	for k := range in {
		if t.Attr(k) == nil {
			v.Check(false, "attributes."+k, "Unknown", "is not an attribute of "+t.Label+" configurations")
		}
	}
	all := map[string]any{}
	for _, a := range t.Attrs {
		field := "attributes." + a.Name
		raw, given := in[a.Name]
		if !given || raw == nil {
			if ov, ok := old[a.Name]; ok {
				all[a.Name] = ov
				continue
			}
			if a.Required {
				v.Check(false, field, "Required", "is required")
			}
			all[a.Name] = zero(a)
			continue
		}
		val, msg := coerce(a, raw)
		if msg != "" {
			v.Check(false, field, "Invalid", msg)
			all[a.Name] = zero(a)
			continue
		}
		if s, ok := val.(string); ok && a.Required && strings.TrimSpace(s) == "" {
			v.Check(false, field, "Required", "is required")
		}
		all[a.Name] = val
	}
	if v.Err() != nil {
		return nil, nil
	}
	if t.check != nil {
		t.check(v, all)
	}
	plain, secrets = map[string]any{}, map[string]any{}
	for _, a := range t.Attrs {
		if a.Secret() {
			if s := all[a.Name].(string); s != "" {
				secrets[a.Name] = s
			}
			continue
		}
		plain[a.Name] = all[a.Name]
	}
	return plain, secrets
}

func zero(a Attr) any {
	if a.Default != nil {
		return a.Default
	}
	switch a.Kind {
	case kBool:
		return false
	case kInt:
		return int64(a.Min)
	case kEnum:
		return a.Enum[0]
	case kObject:
		return map[string]any{}
	}
	return ""
}

// coerce turns a JSON or form value into the attribute's Go value (string, bool, int64 or object),
// or explains why it cannot.
func coerce(a Attr, raw any) (any, string) {
	switch a.Kind {
	case kBool:
		switch x := raw.(type) {
		case bool:
			return x, ""
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, ""
			}
		}
		return nil, "must be true or false"
	case kInt:
		var n int64
		switch x := raw.(type) {
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1e9 {
				return nil, "must be a whole number"
			}
			n = int64(x)
		case int64:
			n = x
		case int:
			n = int64(x)
		case string:
			var err error
			if n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64); err != nil {
				return nil, "must be a whole number"
			}
		default:
			return nil, "must be a whole number"
		}
		if n < int64(a.Min) || n > int64(a.Max) {
			return nil, fmt.Sprintf("must be between %d and %d", a.Min, a.Max)
		}
		return n, ""
	case kEnum:
		s, ok := raw.(string)
		if !ok {
			return nil, "must be one of " + strings.Join(a.Enum, ", ")
		}
		s = strings.ToUpper(strings.TrimSpace(s))
		if !slices.Contains(a.Enum, s) {
			return nil, "must be one of " + strings.Join(a.Enum, ", ")
		}
		return s, ""
	case kObject:
		switch x := raw.(type) {
		case map[string]any:
			return x, ""
		case string:
			var m map[string]any
			if err := jsonUnmarshal([]byte(x), &m); err != nil || m == nil {
				return nil, "must be a JSON object"
			}
			return m, ""
		}
		return nil, "must be a JSON object"
	}
	s, ok := raw.(string)
	if !ok {
		return nil, "must be text"
	}
	if a.Kind == kString {
		s = strings.TrimSpace(s)
	}
	max := a.Max
	if max == 0 {
		max = 1000
	}
	switch n := utf8.RuneCountInString(s); {
	case !mdm.CleanText(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' }):
		return nil, "must be text without control characters"
	case n > max:
		return nil, fmt.Sprintf("must be at most %d characters", max)
	case s != "" && n < a.Min:
		return nil, fmt.Sprintf("must be at least %d characters", a.Min)
	}
	return s, ""
}
