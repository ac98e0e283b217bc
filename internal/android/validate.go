package android

import (
	"strconv"

	"steward/internal/mdm"
)

// Protocol bounds. The devices service checks the domain rules again; these keep a request's size and
// shape sane and name the offending wire field.
const (
	maxText     = 256
	maxApps     = 5000
	maxResults  = 100
	maxResult   = 64 << 10
	maxError    = 4096
	maxPushTok  = 4096
	maxUsername = 320
)

func validateRegister(r RegisterRequest) error {
	var v mdm.Validator
	v.Check(r.Username != "", "username", "Required", "is required")
	text(&v, "username", r.Username, maxUsername)
	text(&v, "pin", r.PIN, 64)
	text(&v, "password", r.Password, 1024)
	text(&v, "pushToken", r.PushToken, maxPushTok)
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
		text(&v, "pushToken", *r.PushToken, maxPushTok)
	}
	v.Check(len(r.Results) <= maxResults, "results", "Size", "must hold at most "+strconv.Itoa(maxResults)+" results")
	for i, res := range r.Results {
		if i >= maxResults {
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
	text(v, prefix+"result", r.Result, maxResult)
	text(v, prefix+"error", r.Error, maxError)
}

func checkFacts(v *mdm.Validator, prefix string, f Facts) {
	v.Check(f.Model != "", prefix+"deviceModel", "Required", "is required")
	v.Check(f.OSVersion != "", prefix+"platformVersion", "Required", "is required")
	for _, t := range [...]struct{ name, value string }{
		{"deviceName", f.DeviceName}, {"deviceModel", f.Model}, {"prettyModel", f.PrettyModel},
		{"manufacturer", f.Manufacturer}, {"platformVersion", f.OSVersion}, {"osBuildVersion", f.OSBuild},
		{"serialNumber", f.SerialNumber}, {"imei", f.IMEI}, {"wifiMacAddress", f.WifiMAC}, {"clientVersion", f.ClientVersion},
	} {
		text(v, prefix+t.name, t.value, maxText)
	}
	v.Check(f.FormFactor == "" || f.FormFactor == "phone" || f.FormFactor == "tablet", prefix+"formFactor", "Enum",
		"must be phone or tablet")
	v.Check(f.TotalCapacityMB >= 0, prefix+"totalCapacityMB", "Range", "must not be negative")
	v.Check(f.AvailableCapMB >= 0, prefix+"availableCapacityMB", "Range", "must not be negative")
}

func checkApps(v *mdm.Validator, apps []App) {
	v.Check(len(apps) <= maxApps, "apps", "Size", "must hold at most "+strconv.Itoa(maxApps)+" apps")
	for i, a := range apps {
		if i >= maxApps {
			break
		}
		prefix := "apps[" + strconv.Itoa(i) + "]."
		v.Check(a.AppID != "", prefix+"appId", "Required", "is required")
		text(v, prefix+"appId", a.AppID, maxText)
		text(v, prefix+"name", a.Name, maxText)
		text(v, prefix+"version", a.Version, maxText)
	}
}

// text checks that s is clean text of at most max bytes.
func text(v *mdm.Validator, field, s string, max int) {
	v.Check(len(s) <= max, field, "Size", "must be at most "+strconv.Itoa(max)+" bytes")
	v.Check(mdm.CleanText(s), field, "Encoding", "must be UTF-8 text without NUL characters")
}
