package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"steward/internal/android"
)

// hardware is one device model the simulator can be.
type hardware struct {
	Manufacturer string
	Model        string // Build.MODEL, as the agent reports it
	Pretty       string // the marketing name
	FormFactor   string // "phone" or "tablet"
	Cellular     bool   // has a modem, so an IMEI
	TAC          string // the IMEI's type allocation code (8 digits)
	SerialFmt    string // 'A' a letter, '9' a digit, '*' either; anything else literal
	OUI          string // the Wi-Fi MAC's vendor prefix
	CapacityGB   int64
	OS           int // the Android major version it ships with today
	Weight       int // how common it is in a fleet
}

// fleetMix is the hardware a simulated fleet is drawn from: mostly phones, some tablets, a few rugged
// scanners, as an enterprise fleet looks.
var fleetMix = []hardware{
	{"samsung", "SM-G991B", "Galaxy S21 5G", "phone", true, "35289311", "R5CR9******", "8c:f5:a3", 128, 14, 12},
	{"samsung", "SM-S911B", "Galaxy S23", "phone", true, "35068634", "R5CW3******", "a4:c6:9a", 256, 14, 10},
	{"samsung", "SM-A546B", "Galaxy A54 5G", "phone", true, "35317675", "R58W1******", "f8:04:2e", 128, 14, 12},
	{"samsung", "SM-T870", "Galaxy Tab S7", "tablet", false, "", "R52N8******", "d0:c2:4e", 128, 13, 5},
	{"samsung", "SM-X706B", "Galaxy Tab S8 5G", "tablet", true, "35490847", "R54T2******", "5c:c1:d7", 128, 14, 3},
	{"Google", "Pixel 8", "Pixel 8", "phone", true, "35691553", "3A0*1FDJH00***", "3c:28:6d", 128, 14, 10},
	{"Google", "Pixel 7a", "Pixel 7a", "phone", true, "35544815", "2B1*1JEGR0****", "f0:5c:77", 128, 14, 8},
	{"Google", "Pixel Tablet", "Pixel Tablet", "tablet", false, "", "3B2*1HTPK0****", "48:d6:d5", 256, 14, 3},
	{"motorola", "moto g54 5G", "moto g54 5G", "phone", true, "35812763", "ZY22******", "e8:91:20", 256, 13, 5},
	{"Xiaomi", "2201117TG", "Redmi Note 11", "phone", true, "86496905", "9999*****", "64:a2:00", 128, 13, 4},
	{"LENOVO", "TB-X606F", "Tab M10 FHD Plus", "tablet", false, "", "HA1*****", "70:9c:d1", 64, 12, 3},
	{"Zebra Technologies", "TC52", "TC52", "phone", true, "35440910", "2*9999999999999", "94:fb:29", 32, 11, 3},
}

// osRelease is an Android release the simulator reports.
type osRelease struct {
	Version string
	Build   string
}

var releases = map[int]osRelease{
	11: {"11", "RKQ1.201217.002"},
	12: {"12", "SP1A.210812.016"},
	13: {"13", "TQ3A.230901.001"},
	14: {"14", "UP1A.231005.007"},
	15: {"15", "AP3A.241005.015"},
}

// newestOS is the last release an OS update brings.
const newestOS = 15

// catalogApp is an app the simulator may have installed, with the versions it moves through.
type catalogApp struct {
	ID, Name string
	Versions []string
}

// systemApps are on every device.
var systemApps = []catalogApp{
	{"com.android.chrome", "Chrome", []string{"119.0.6045.163", "120.0.6099.144", "121.0.6167.101"}},
	{"com.google.android.gm", "Gmail", []string{"2023.11.05.582436915", "2023.12.03.588212563"}},
	{"com.google.android.apps.maps", "Maps", []string{"11.105.0101", "11.108.0101"}},
	{"com.google.android.youtube", "YouTube", []string{"18.45.43", "19.02.39"}},
	{"com.google.android.calendar", "Calendar", []string{"2023.44.1", "2024.01.0"}},
	{"com.android.vending", "Google Play Store", []string{"38.5.24", "39.1.17"}},
	{"com.steward.agent", "Steward Agent", []string{"1.0.0"}},
}

// optionalApps are installed on some devices and come and go over time.
var optionalApps = []catalogApp{
	{"com.microsoft.teams", "Microsoft Teams", []string{"1416/1.0.0.2023226501", "1416/1.0.0.2024012401"}},
	{"com.microsoft.office.outlook", "Microsoft Outlook", []string{"4.2345.1", "4.2401.0"}},
	{"com.microsoft.office.word", "Microsoft Word", []string{"16.0.17029.20068", "16.0.17231.20100"}},
	{"com.microsoft.office.excel", "Microsoft Excel", []string{"16.0.17029.20068", "16.0.17231.20100"}},
	{"com.microsoft.skydrive", "OneDrive", []string{"7.2.2", "7.3"}},
	{"com.azure.authenticator", "Microsoft Authenticator", []string{"6.2311.7538", "6.2401.0113"}},
	{"com.Slack", "Slack", []string{"23.11.10.0", "24.01.10.0"}},
	{"us.zoom.videomeetings", "Zoom", []string{"5.16.10.17747", "5.17.5.19436"}},
	{"com.cisco.webex.meetings", "Webex", []string{"43.11.0", "44.1.0"}},
	{"com.whatsapp", "WhatsApp", []string{"2.23.24.76", "2.24.2.76"}},
	{"com.google.android.apps.docs", "Google Drive", []string{"2.23.437.0", "2.24.027.0"}},
	{"com.dropbox.android", "Dropbox", []string{"350.2.2", "356.2.2"}},
	{"com.box.android", "Box", []string{"5.31.2", "5.33.0"}},
	{"com.adobe.reader", "Adobe Acrobat Reader", []string{"23.11.0.30036", "24.1.0.31161"}},
	{"com.salesforce.chatter", "Salesforce", []string{"248.010", "250.020"}},
	{"com.linkedin.android", "LinkedIn", []string{"4.1.905", "4.1.920"}},
	{"com.okta.android.auth", "Okta Verify", []string{"8.1.0", "8.3.1"}},
	{"com.google.android.apps.authenticator2", "Google Authenticator", []string{"6.0", "7.0"}},
	{"com.evernote", "Evernote", []string{"10.66.2", "10.70.1"}},
	{"com.spotify.music", "Spotify", []string{"8.8.92.700", "8.9.2.571"}},
	{"com.servicenow.fulfiller", "ServiceNow Agent", []string{"17.2.1", "18.0.0"}},
	{"com.concur.breeze", "SAP Concur", []string{"9.121.0", "9.124.0"}},
}

// Models is how many device models the catalogue holds (see DeviceOptions.Model).
func Models() int { return len(fleetMix) }

// pick draws one hardware entry by weight.
func pick(rng *rand.Rand) hardware {
	total := 0
	for _, h := range fleetMix {
		total += h.Weight
	}
	n := rng.IntN(total)
	for _, h := range fleetMix {
		if n < h.Weight {
			return h
		}
		n -= h.Weight
	}
	return fleetMix[0]
}

// serialFrom fills a serial number pattern.
func serialFrom(rng *rand.Rand, pattern string) string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	const digits = "0123456789"
	var b strings.Builder
	for _, c := range pattern {
		switch c {
		case 'A':
			b.WriteByte(letters[rng.IntN(len(letters))])
		case '9':
			b.WriteByte(digits[rng.IntN(len(digits))])
		case '*':
			all := letters + digits
			b.WriteByte(all[rng.IntN(len(all))])
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// imeiFrom is a 15-digit IMEI: the TAC, a 6-digit serial and the Luhn check digit.
func imeiFrom(rng *rand.Rand, tac string) string {
	body := fmt.Sprintf("%s%06d", tac, rng.IntN(1_000_000))
	return body + string(rune('0'+luhnDigit(body)))
}

// luhnDigit is the check digit that makes digits+digit pass the Luhn check.
func luhnDigit(digits string) int {
	sum := 0
	// Walking from the right, the check digit will sit at position 0, so the doubled positions of the
	// body are the odd ones from its right end: the rightmost body digit is doubled.
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// luhnValid reports whether a digit string passes the Luhn check.
func luhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return luhnDigit(s[:len(s)-1]) == int(s[len(s)-1]-'0')
}

func macFrom(rng *rand.Rand, oui string) string {
	return fmt.Sprintf("%s:%02x:%02x:%02x", oui, rng.IntN(256), rng.IntN(256), rng.IntN(256))
}

// newFacts makes the facts of a fresh device of hardware h.
func newFacts(rng *rand.Rand, h hardware, nonCompliant bool) android.Facts {
	rel := releases[h.OS]
	f := android.Facts{
		DeviceName:        h.Pretty,
		Model:             h.Model,
		PrettyModel:       h.Pretty,
		Manufacturer:      h.Manufacturer,
		OSVersion:         rel.Version,
		OSBuild:           rel.Build,
		SerialNumber:      serialFrom(rng, h.SerialFmt),
		WifiMAC:           macFrom(rng, h.OUI),
		FormFactor:        h.FormFactor,
		PasscodeCompliant: true,
		Encrypted:         true,
		TotalCapacityMB:   h.CapacityGB * 1024,
		ClientVersion:     AgentVersion,
	}
	if h.Cellular {
		f.IMEI = imeiFrom(rng, h.TAC)
	}
	// Between a fifth and four fifths of the storage is free.
	f.AvailableCapMB = f.TotalCapacityMB * int64(20+rng.IntN(61)) / 100
	if nonCompliant {
		// A non-compliant device is rooted, has no passcode, or both.
		switch rng.IntN(3) {
		case 0:
			f.Rooted = true
		case 1:
			f.PasscodeCompliant = false
		default:
			f.Rooted, f.PasscodeCompliant = true, false
		}
	}
	return f
}

// newApps makes the installed apps of a fresh device: the system apps and a handful of others.
func newApps(rng *rand.Rand, h hardware) []android.App {
	apps := make([]android.App, 0, len(systemApps)+12)
	for _, a := range systemApps {
		apps = append(apps, android.App{AppID: a.ID, Name: a.Name, Version: a.Versions[rng.IntN(len(a.Versions))]})
	}
	if h.Manufacturer == "samsung" {
		apps = append(apps, android.App{AppID: "com.samsung.android.app.notes", Name: "Samsung Notes", Version: "4.4.18.11"})
	}
	for _, i := range rng.Perm(len(optionalApps))[:4+rng.IntN(9)] {
		a := optionalApps[i]
		apps = append(apps, android.App{AppID: a.ID, Name: a.Name, Version: a.Versions[0]})
	}
	return apps
}
