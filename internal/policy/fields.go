package policy

import (
	"sort"
	"strings"
	"time"
)

// fieldDef is one device field a rule can read.
type fieldDef struct {
	id   fieldID
	name string
	typ  typ
}

type fieldID int

const (
	fPlatformType fieldID = iota
	fDeviceKind
	fRegistrationState
	fDeviceName
	fDeviceModel
	fPrettyModel
	fManufacturer
	fPlatformVersion
	fOSBuildVersion
	fSerialNumber
	fIMEI
	fWifiMAC
	fFormFactor
	fClientVersion
	fUID
	fEmailAddress
	fJailbroken
	fPasscodeCompliant
	fEncrypted
	fRoaming
	fMDMRemoved
	fTotalCapacity
	fAvailableCapacity
	fLastCheckin
	fLastRegistrationTime
)

// fieldDefs are the device fields, named as mdm.DeviceFields names them where it has them.
var fieldDefs = []*fieldDef{
	{fPlatformType, "platformType", tyText},
	{fDeviceKind, "deviceKind", tyText},
	{fRegistrationState, "registrationState", tyText},
	{fDeviceName, "deviceName", tyText},
	{fDeviceModel, "deviceModel", tyText},
	{fPrettyModel, "prettyModel", tyText},
	{fManufacturer, "manufacturer", tyText},
	{fPlatformVersion, "platformVersion", tyVersion},
	{fOSBuildVersion, "osBuildVersion", tyText},
	{fSerialNumber, "serialNumber", tyText},
	{fIMEI, "imei", tyText},
	{fWifiMAC, "wifiMacAddress", tyText},
	{fFormFactor, "formFactor", tyText},
	{fClientVersion, "clientVersion", tyVersion},
	{fUID, "uid", tyText},
	{fEmailAddress, "emailAddress", tyText},
	{fJailbroken, "jailbroken", tyBool},
	{fPasscodeCompliant, "passcodeCompliant", tyBool},
	{fEncrypted, "encrypted", tyBool},
	{fRoaming, "roaming", tyBool},
	{fMDMRemoved, "mdmRemoved", tyBool},
	{fTotalCapacity, "totalCapacity", tyNumber},
	{fAvailableCapacity, "availableCapacity", tyNumber},
	{fLastCheckin, "lastCheckin", tyTime},
	{fLastRegistrationTime, "lastRegistrationTime", tyTime},
}

// The getters switch rather than call through function values, so that evaluating does not make
// the Input escape to the heap.

// text is a text or version field's value ("" is missing).
func (f *fieldDef) text(in *Input) string {
	switch f.id {
	case fPlatformType:
		return in.Platform
	case fDeviceKind:
		return in.Kind
	case fRegistrationState:
		return in.RegistrationState
	case fDeviceName:
		return in.Facts.DeviceName
	case fDeviceModel:
		return in.Facts.Model
	case fPrettyModel:
		return in.Facts.PrettyModel
	case fManufacturer:
		return in.Facts.Manufacturer
	case fPlatformVersion:
		return in.Facts.OSVersion
	case fOSBuildVersion:
		return in.Facts.OSBuild
	case fSerialNumber:
		return in.Facts.SerialNumber
	case fIMEI:
		return in.Facts.IMEI
	case fWifiMAC:
		return in.Facts.WifiMAC
	case fFormFactor:
		return in.Facts.FormFactor
	case fClientVersion:
		return in.Facts.ClientVersion
	case fUID:
		return in.OwnerUID
	case fEmailAddress:
		return in.OwnerEmail
	}
	return ""
}

func (f *fieldDef) boolean(in *Input) bool {
	switch f.id {
	case fJailbroken:
		return in.Facts.Jailbroken
	case fPasscodeCompliant:
		return in.Facts.PasscodeCompliant
	case fEncrypted:
		return in.Facts.Encrypted
	case fRoaming:
		return in.Facts.Roaming
	case fMDMRemoved:
		return in.MDMRemoved
	}
	return false
}

// num is a number field's value (0 is missing).
func (f *fieldDef) num(in *Input) float64 {
	switch f.id {
	case fTotalCapacity:
		return float64(in.Facts.TotalCapacityMB)
	case fAvailableCapacity:
		return float64(in.Facts.AvailableCapMB)
	}
	return 0
}

// time is a time field's value (zero is missing).
func (f *fieldDef) time(in *Input) time.Time {
	switch f.id {
	case fLastCheckin:
		return in.LastCheckin
	case fLastRegistrationTime:
		return in.RegisteredAt
	}
	return time.Time{}
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
