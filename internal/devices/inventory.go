package devices

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"steward/internal/mdm"
)

// Limits on what a device reports, one set for every protocol: the agent protocol checks them on the
// wire to name the wire field, the service checks them again, and the store keeps texts of these sizes
// whole. A value at a limit is accepted; one byte (or one item) more is refused.
const (
	MaxFactBytes      = 256      // each text fact, and each app's id, name and version
	MaxApps           = 5000     // apps in one report
	MaxPushTokenBytes = 4096     // a push token
	MaxResults        = 100      // command results in one check-in
	MaxResultBytes    = 64 << 10 // a command's result text
	MaxErrorBytes     = 4 << 10  // a command's error text
)

// maxResults is the name the check-in code uses.
const maxResults = MaxResults

// printable reports whether s is valid UTF-8 of printable characters (spaces allowed) and at most max
// bytes long.
func printable(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// cleanFacts checks and normalises reported facts: trimmed text, a lower-case MAC address.
func cleanFacts(v *mdm.Validator, f mdm.DeviceFacts) mdm.DeviceFacts {
	text := []struct {
		name string
		p    *string
	}{
		{"deviceName", &f.DeviceName}, {"deviceModel", &f.Model}, {"prettyModel", &f.PrettyModel},
		{"manufacturer", &f.Manufacturer}, {"platformVersion", &f.OSVersion}, {"osBuildVersion", &f.OSBuild},
		{"serialNumber", &f.SerialNumber}, {"imei", &f.IMEI}, {"wifiMacAddress", &f.WifiMAC},
		{"formFactor", &f.FormFactor}, {"clientVersion", &f.ClientVersion},
	}
	for _, t := range text {
		*t.p = strings.TrimSpace(*t.p)
		v.Check(printable(*t.p, MaxFactBytes), "facts."+t.name, "Invalid",
			fmt.Sprintf("must be at most %d printable characters", MaxFactBytes))
	}
	f.WifiMAC = strings.ToLower(f.WifiMAC)
	v.Check(f.WifiMAC == "" || macAddress(f.WifiMAC), "facts.wifiMacAddress", "Invalid",
		"must be a MAC address like aa:bb:cc:dd:ee:ff")
	f.FormFactor = strings.ToLower(f.FormFactor)
	v.Check(f.FormFactor == "" || f.FormFactor == "phone" || f.FormFactor == "tablet", "facts.formFactor",
		"Invalid", "must be phone or tablet")
	v.Check(f.TotalCapacityMB >= 0 && f.AvailableCapMB >= 0, "facts.capacity", "Invalid", "must not be negative")
	return f
}

func macAddress(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
		} else if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// cleanApps checks a reported app list and returns it sorted by app id, one entry per app id.
func cleanApps(v *mdm.Validator, apps []mdm.InstalledApp) []mdm.InstalledApp {
	if len(apps) > MaxApps {
		v.Check(false, "apps", "Size", fmt.Sprintf("at most %d apps", MaxApps))
		return nil
	}
	out := make([]mdm.InstalledApp, 0, len(apps))
	bad := false
	for _, a := range apps {
		a.AppID, a.Name, a.Version = strings.TrimSpace(a.AppID), strings.TrimSpace(a.Name), strings.TrimSpace(a.Version)
		if a.AppID == "" || !printable(a.AppID, MaxFactBytes) || !printable(a.Name, MaxFactBytes) || !printable(a.Version, MaxFactBytes) {
			bad = true
			continue
		}
		out = append(out, a)
	}
	v.Check(!bad, "apps", "Invalid",
		fmt.Sprintf("every app needs an app id; ids, names and versions are at most %d printable characters", MaxFactBytes))
	slices.SortStableFunc(out, func(a, b mdm.InstalledApp) int { return cmp.Compare(a.AppID, b.AppID) })
	return slices.CompactFunc(out, func(a, b mdm.InstalledApp) bool { return a.AppID == b.AppID })
}

func cleanPushToken(v *mdm.Validator, token string) string {
	token = strings.TrimSpace(token)
	v.Check(printable(token, MaxPushTokenBytes) && !strings.Contains(token, " "), "pushToken", "Invalid",
		fmt.Sprintf("must be at most %d printable characters without spaces", MaxPushTokenBytes))
	return token
}

// factsHash and appsHash fingerprint inventory in a canonical form (fixed field order, apps sorted
// by cleanApps), so that an unchanged report is recognised without a write.
func factsHash(f mdm.DeviceFacts) []byte { return fingerprint("facts v1", f) }

func appsHash(apps []mdm.InstalledApp) []byte { return fingerprint("apps v1", apps) }

func fingerprint(label string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // plain structs of strings, bools and numbers always encode
		panic(err)
	}
	h := sha256.New()
	h.Write([]byte(label + "\x00"))
	h.Write(b)
	return h.Sum(nil)
}

// cleanResult checks a device's answer to a command.
func cleanResult(v *mdm.Validator, field string, r mdm.CommandResult) {
	v.Check(r.ID > 0, field+".id", "Invalid", "must be the id of a command sent to this device")
	v.Check(r.Status == mdm.CmdAcknowledged || r.Status == mdm.CmdError || r.Status == mdm.CmdNotNow,
		field+".status", "Invalid", "must be ACKNOWLEDGED, ERROR or NOT_NOW")
	v.Check(mdm.CleanText(r.Result) && len(r.Result) <= MaxResultBytes, field+".result", "Size",
		fmt.Sprintf("must be at most %d bytes of text", MaxResultBytes))
	v.Check(mdm.CleanText(r.Error) && len(r.Error) <= MaxErrorBytes, field+".error", "Size",
		fmt.Sprintf("must be at most %d bytes of text", MaxErrorBytes))
}
