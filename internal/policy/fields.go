package policy

import (
	"sort"
	"strings"
	"time"
)

// fieldDef is one device field a rule can read.
type fieldDef struct {
	name    string
	typ     typ
	text    func(*Input) string    // tyText, tyVersion ("" is missing)
	boolean func(*Input) bool      // tyBool
	num     func(*Input) float64   // tyNumber (0 is missing)
	time    func(*Input) time.Time // tyTime (zero is missing)
}

func textField(name string, f func(*Input) string) *fieldDef {
	return &fieldDef{name: name, typ: tyText, text: f}
}

func versionField(name string, f func(*Input) string) *fieldDef {
	return &fieldDef{name: name, typ: tyVersion, text: f}
}

func boolField(name string, f func(*Input) bool) *fieldDef {
	return &fieldDef{name: name, typ: tyBool, boolean: f}
}

// fieldDefs are the device fields, named as mdm.DeviceFields names them where it has them.
var fieldDefs = []*fieldDef{
	textField("platformType", func(in *Input) string { return in.Platform }),
	textField("deviceKind", func(in *Input) string { return in.Kind }),
	textField("registrationState", func(in *Input) string { return in.RegistrationState }),
	textField("deviceName", func(in *Input) string { return in.Facts.DeviceName }),
	textField("deviceModel", func(in *Input) string { return in.Facts.Model }),
	textField("prettyModel", func(in *Input) string { return in.Facts.PrettyModel }),
	textField("manufacturer", func(in *Input) string { return in.Facts.Manufacturer }),
	versionField("platformVersion", func(in *Input) string { return in.Facts.OSVersion }),
	textField("osBuildVersion", func(in *Input) string { return in.Facts.OSBuild }),
	textField("serialNumber", func(in *Input) string { return in.Facts.SerialNumber }),
	textField("imei", func(in *Input) string { return in.Facts.IMEI }),
	textField("wifiMacAddress", func(in *Input) string { return in.Facts.WifiMAC }),
	textField("formFactor", func(in *Input) string { return in.Facts.FormFactor }),
	versionField("clientVersion", func(in *Input) string { return in.Facts.ClientVersion }),
	textField("uid", func(in *Input) string { return in.OwnerUID }),
	textField("emailAddress", func(in *Input) string { return in.OwnerEmail }),
	boolField("jailbroken", func(in *Input) bool { return in.Facts.Jailbroken }),
	boolField("passcodeCompliant", func(in *Input) bool { return in.Facts.PasscodeCompliant }),
	boolField("encrypted", func(in *Input) bool { return in.Facts.Encrypted }),
	boolField("roaming", func(in *Input) bool { return in.Facts.Roaming }),
	boolField("mdmRemoved", func(in *Input) bool { return in.MDMRemoved }),
	{name: "totalCapacity", typ: tyNumber, num: func(in *Input) float64 { return float64(in.Facts.TotalCapacityMB) }},
	{name: "availableCapacity", typ: tyNumber, num: func(in *Input) float64 { return float64(in.Facts.AvailableCapMB) }},
	{name: "lastCheckin", typ: tyTime, time: func(in *Input) time.Time { return in.LastCheckin }},
	{name: "lastRegistrationTime", typ: tyTime, time: func(in *Input) time.Time { return in.RegisteredAt }},
}

var fieldsByLower = func() map[string]*fieldDef {
	m := make(map[string]*fieldDef, len(fieldDefs))
	for _, f := range fieldDefs {
		m[strings.ToLower(f.name)] = f
	}
	return m
}()

// FieldNames lists the device fields a rule can read (custom.<name> and app("id") aside), sorted.
func FieldNames() []string {
	names := make([]string, len(fieldDefs))
	for i, f := range fieldDefs {
		names[i] = f.name
	}
	sort.Strings(names)
	return names
}

// suggest returns the known field names close to name (edit distance, case-insensitive).
func suggest(name string) []string {
	low := strings.ToLower(name)
	var out []string
	for _, f := range FieldNames() {
		fl := strings.ToLower(f)
		limit := 2
		if len(fl) >= 12 {
			limit = 3
		}
		if distance(low, fl) <= limit || len(low) >= 4 && (strings.Contains(fl, low) || strings.Contains(low, fl)) {
			out = append(out, f)
		}
	}
	return out
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
