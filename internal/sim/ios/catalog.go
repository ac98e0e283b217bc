package ios

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// hardware is one Apple model the simulator can be.
type hardware struct {
	ProductName string // the model identifier, e.g. iPhone15,2
	ModelName   string // iPhone, iPad, iPad mini, Apple TV
	Name        string // marketing name, for the device name
	Model       string // the order number style model, e.g. MQ0G3LL/A
	CapacityGB  float64
	Cellular    bool // has an IMEI
	TV          bool // runs tvOS
	weight      int  // how common, relative
}

// models is the catalogue: iPhones most, then iPads, a few iPad minis and Apple TVs.
var models = []hardware{
	{"iPhone15,2", "iPhone", "iPhone 14 Pro", "MQ0G3LL/A", 128, true, false, 20},
	{"iPhone16,1", "iPhone", "iPhone 15 Pro", "MTU93LL/A", 256, true, false, 25},
	{"iPhone14,7", "iPhone", "iPhone 14", "MPUF3LL/A", 128, true, false, 15},
	{"iPhone17,3", "iPhone", "iPhone 16", "MYAP3LL/A", 128, true, false, 15},
	{"iPad13,18", "iPad", "iPad (10th generation)", "MPQ03LL/A", 64, false, false, 10},
	{"iPad14,3", "iPad", "iPad Pro 11-inch (4th generation)", "MNXD3LL/A", 256, false, false, 5},
	{"iPad14,1", "iPad mini", "iPad mini (6th generation)", "MK7M3LL/A", 64, false, false, 6},
	{"AppleTV14,1", "Apple TV", "Apple TV 4K (3rd generation)", "MN873LL/A", 64, false, true, 4},
}

// Models is how many models the catalogue holds (see DeviceOptions.Model).
func Models() int { return len(models) }

func pickModel(rng *rand.Rand) hardware {
	total := 0
	for _, m := range models {
		total += m.weight
	}
	n := rng.IntN(total)
	for _, m := range models {
		if n < m.weight {
			return m
		}
		n -= m.weight
	}
	return models[0]
}

// release is an OS version and its build.
type release struct{ Version, Build string }

var (
	iosReleases  = []release{{"17.5.1", "21F90"}, {"17.6.1", "21G93"}, {"18.1", "22B83"}, {"18.2", "22C152"}, {"18.3.1", "22D72"}}
	tvosReleases = []release{{"17.6", "21M71"}, {"18.2", "22K154"}, {"18.3", "22K557"}}
)

// App is an installed application as InstalledApplicationList reports it.
type App struct {
	Identifier   string
	Name         string
	ShortVersion string
	Version      string
}

var (
	stockApps = []App{
		{"com.apple.mobilesafari", "Safari", "18.0", "8619.1.26"},
		{"com.apple.mobilemail", "Mail", "18.0", "3826.100"},
		{"com.apple.MobileSMS", "Messages", "18.0", "1300"},
	}
	tvApps = []App{
		{"com.apple.TVWatchList", "TV", "18.0", "1.0"},
		{"com.apple.TVSettings", "Settings", "18.0", "1.0"},
	}
	optionalApps = []App{
		{"com.microsoft.Office.Outlook", "Microsoft Outlook", "4.2440.0", "4.2440.0.1"},
		{"com.microsoft.skype.teams", "Microsoft Teams", "6.21.1", "6.21.1.100"},
		{"com.tinyspeck.chatlyio", "Slack", "24.10.10", "24.10.10.0"},
		{"us.zoom.videomeetings", "Zoom", "6.2.5", "6.2.5.100"},
		{"com.google.chrome.ios", "Google Chrome", "130.0.6723.90", "130.0.6723.90"},
		{"com.salesforce.chatter", "Salesforce", "250.020", "250.020.1"},
		{"com.atlassian.jira.core", "Jira Cloud", "145.0.0", "145.0.0.1"},
		{"com.okta.mobile", "Okta Verify", "9.25.0", "9.25.0.1"},
	}
)

// facts are what DeviceInformation answers.
type facts struct {
	DeviceName   string
	OSVersion    string
	BuildVersion string
	SerialNumber string
	IMEI         string
	WiFiMAC      string
	AvailableGB  float64
}

func newFacts(rng *rand.Rand, hw hardware) facts {
	rel := iosReleases
	if hw.TV {
		rel = tvosReleases
	}
	r := rel[rng.IntN(len(rel))]
	f := facts{OSVersion: r.Version, BuildVersion: r.Build, SerialNumber: serial(rng),
		AvailableGB: float64(int(hw.CapacityGB*(0.2+0.6*rng.Float64())*10)) / 10,
		WiFiMAC:     fmt.Sprintf("f0:%02x:%02x:%02x:%02x:%02x", rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256))}
	names := []string{"Ann", "Bob", "Chen", "Dara", "Eve", "Femi", "Gus", "Hana"}
	f.DeviceName = names[rng.IntN(len(names))] + "’s " + hw.ModelName
	if hw.Cellular {
		f.IMEI = fmt.Sprintf("35 %06d %06d %d", rng.IntN(1_000_000), rng.IntN(1_000_000), rng.IntN(10))
	}
	return f
}

// serial is an Apple-style 10-character serial number.
func serial(rng *rand.Rand) string {
	const alphabet = "BCDFGHJKLMNPQRTVWXYZ0123456789"
	var b strings.Builder
	for range 10 {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

func newApps(rng *rand.Rand, hw hardware) []App {
	if hw.TV {
		return append([]App(nil), tvApps...)
	}
	apps := append([]App(nil), stockApps...)
	for _, a := range optionalApps {
		if rng.IntN(2) == 0 {
			apps = append(apps, a)
		}
	}
	return apps
}
