package android

import (
	"strconv"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// The limits on what a device reports are the devices service's (devices.Max…), checked here too so
// that a refusal names the wire field. The rest bound what only the protocol carries.
const (
	maxUsername = 320
	maxPIN      = 64
	maxPassword = 1024
)

func validateRegister(r RegisterRequest) error {
	var v mdm.Validator
	v.Check(r.Username != "", "username", "Required", "is required")
	text(&v, "username", r.Username, maxUsername)
	text(&v, "pin", r.PIN, maxPIN)
	text(&v, "password", r.Password, maxPassword)
	text(&v, "pushToken", r.PushToken, devices.MaxPushTokenBytes)
	checkFacts(&v, "facts.", r.Facts)
	checkApps(&v, r.Apps)
	return v.Err()
}

func validateCheckin(r CheckinRequest) error {
	var v mdm.Validator
	if r.Facts != nil {
		checkFacts(&v, "facts.", *r.Facts)
	}
	if r.Apps != nil {
		checkApps(&v, *r.Apps)
	}
	if r.PushToken != nil {
		text(&v, "pushToken", *r.PushToken, devices.MaxPushTokenBytes)
	}
	v.Check(len(r.Results) <= devices.MaxResults, "results", "Size", "must hold at most "+strconv.Itoa(devices.MaxResults)+" results")
	for i, res := range r.Results {
		if i >= devices.MaxResults {
			break
		}
		prefix := "results[" + strconv.Itoa(i) + "]."
		v.Check(res.ID > 0, prefix+"id", "Required", "must be a command id")
		checkResult(&v, prefix, res)
	}
	return v.Err()
}

func checkResult(v *mdm.Validator, prefix string, r CommandResult) {
	switch r.Status {
	case mdm.CmdAcknowledged, mdm.CmdError, mdm.CmdNotNow:
	default:
		v.Check(false, prefix+"status", "Enum", "must be ACKNOWLEDGED, ERROR or NOT_NOW")
	}
	text(v, prefix+"result", r.Result, devices.MaxResultBytes)
	text(v, prefix+"error", r.Error, devices.MaxErrorBytes)
}

func checkFacts(v *mdm.Validator, prefix string, f Facts) {
	v.Check(f.Model != "", prefix+"deviceModel", "Required", "is required")
	v.Check(f.OSVersion != "", prefix+"platformVersion", "Required", "is required")
	for _, t := range [...]struct{ name, value string }{
		{"deviceName", f.DeviceName}, {"deviceModel", f.Model}, {"prettyModel", f.PrettyModel},
		{"manufacturer", f.Manufacturer}, {"platformVersion", f.OSVersion}, {"osBuildVersion", f.OSBuild},
		{"serialNumber", f.SerialNumber}, {"imei", f.IMEI}, {"wifiMacAddress", f.WifiMAC}, {"clientVersion", f.ClientVersion},
	} {
		text(v, prefix+t.name, t.value, devices.MaxFactBytes)
	}
	v.Check(f.FormFactor == "" || f.FormFactor == "phone" || f.FormFactor == "tablet", prefix+"formFactor", "Enum",
		"must be phone or tablet")
	v.Check(f.TotalCapacityMB >= 0, prefix+"totalCapacityMB", "Range", "must not be negative")
	v.Check(f.AvailableCapMB >= 0, prefix+"availableCapacityMB", "Range", "must not be negative")
}

func checkApps(v *mdm.Validator, apps []App) {
	v.Check(len(apps) <= devices.MaxApps, "apps", "Size", "must hold at most "+strconv.Itoa(devices.MaxApps)+" apps")
	for i, a := range apps {
		if i >= devices.MaxApps {
			break
		}
		prefix := "apps[" + strconv.Itoa(i) + "]."
		v.Check(a.AppID != "", prefix+"appId", "Required", "is required")
		text(v, prefix+"appId", a.AppID, devices.MaxFactBytes)
		text(v, prefix+"name", a.Name, devices.MaxFactBytes)
		text(v, prefix+"version", a.Version, devices.MaxFactBytes)
	}
}

// text checks that s is clean text of at most max bytes.
func text(v *mdm.Validator, field, s string, max int) {
	v.Check(len(s) <= max, field, "Size", "must be at most "+strconv.Itoa(max)+" bytes")
	v.Check(mdm.CleanText(s), field, "Encoding", "must be UTF-8 text without NUL characters")
}
