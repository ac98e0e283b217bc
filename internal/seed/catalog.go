package seed

import "steward/internal/mdm"

// The catalog the generator draws from: common models with the OS versions they run, and apps that
// exist on both platforms.

var firstNames = []string{"Ann", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena",
	"Mia", "Nils", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Vik", "Wen", "Yara", "Zoe"}

var lastNames = []string{"Archer", "Brooks", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones",
	"Kim", "Larsen", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka", "Usman", "Varga",
	"Weber", "Xu", "Young"}

type model struct {
	platform, maker, model, pretty, form string
	versions                             []string // platformVersion values
	capacityGB                           int64
	serialPrefix, client                 string
}

var (
	androidVersions = []string{"11", "12", "13", "14", "14", "15", "15"}
	iosVersions     = []string{"16.7.10", "17.6.1", "17.7", "18.1", "18.3.2", "18.5", "18.5"}
)

var models = []model{
	{mdm.PlatformAndroid, "samsung", "SM-G991B", "Galaxy S21", "phone", androidVersions, 128, "R5C", "2.4.0"},
	{mdm.PlatformAndroid, "samsung", "SM-S918B", "Galaxy S23 Ultra", "phone", androidVersions[2:], 256, "R5C", "2.4.0"},
	{mdm.PlatformAndroid, "samsung", "SM-A546B", "Galaxy A54", "phone", androidVersions[2:], 128, "R5C", "2.4.0"},
	{mdm.PlatformAndroid, "Google", "Pixel 8", "Pixel 8", "phone", androidVersions[3:], 128, "3A1", "2.4.0"},
	{mdm.PlatformAndroid, "Google", "Pixel 7a", "Pixel 7a", "phone", androidVersions[2:], 128, "2B1", "2.3.1"},
	{mdm.PlatformAndroid, "motorola", "moto g84 5G", "moto g84", "phone", androidVersions[2:], 256, "ZY2", "2.3.1"},
	{mdm.PlatformAndroid, "samsung", "SM-X710", "Galaxy Tab S9", "tablet", androidVersions[2:], 128, "R9W", "2.4.0"},
	{mdm.PlatformAndroid, "Zebra", "TC52", "TC52", "phone", androidVersions[:4], 32, "ZEB", "2.2.0"},
	{mdm.PlatformIOS, "Apple", "iPhone14,2", "iPhone 13 Pro", "", iosVersions, 128, "F2L", ""},
	{mdm.PlatformIOS, "Apple", "iPhone15,4", "iPhone 15", "", iosVersions[1:], 128, "G6T", ""},
	{mdm.PlatformIOS, "Apple", "iPhone16,2", "iPhone 15 Pro Max", "", iosVersions[1:], 256, "H7Q", ""},
	{mdm.PlatformIOS, "Apple", "iPhone14,6", "iPhone SE (3rd generation)", "", iosVersions, 64, "F4K", ""},
	{mdm.PlatformIOS, "Apple", "iPad13,18", "iPad (10th generation)", "", iosVersions, 64, "DMP", ""},
	{mdm.PlatformIOS, "Apple", "iPad14,1", "iPad mini (6th generation)", "", iosVersions, 64, "DMQ", ""},
}

type app struct {
	name, android, ios string
	major              int
}

var appPool = func() []app {
	base := []app{{"Outlook", "com.microsoft.office.outlook", "com.microsoft.Office.Outlook", 4},
		{"Teams", "com.microsoft.teams", "com.microsoft.skype.teams", 1}, {"Slack", "com.Slack", "com.tinyspeck.chatlyio", 24},
		{"Zoom", "us.zoom.videomeetings", "us.zoom.videomeetings", 6}, {"Chrome", "com.android.chrome", "com.google.chrome.ios", 131},
		{"Google Maps", "com.google.android.apps.maps", "com.google.Maps", 11}, {"WhatsApp", "com.whatsapp", "net.whatsapp.WhatsApp", 2},
		{"Salesforce", "com.salesforce.chatter", "com.salesforce.chatter", 250}, {"Workday", "com.workday.workdroidapp", "com.workday.workday", 2024},
		{"Okta Verify", "com.okta.android.auth", "com.okta.mobile", 9}, {"OneDrive", "com.microsoft.skydrive", "com.microsoft.skydrive", 7},
		{"Box", "com.box.android", "net.box.BoxNet", 5}, {"Dropbox", "com.dropbox.android", "com.getdropbox.Dropbox", 390},
		{"Webex", "com.cisco.webex.meetings", "com.webex.meeting", 44}, {"Jira", "com.atlassian.android.jira.core", "com.atlassian.jira.core", 2024},
	}
	// Each app also comes in an internal line-of-business flavour, so that inventories have a long tail.
	out := append([]app{}, base...)
	for i, a := range base {
		for k, suffix := range []string{"beta", "lob", "legacy"} {
			out = append(out, app{a.name + " " + suffix, a.android + "." + suffix, a.ios + "." + suffix, a.major + k + i%3})
		}
	}
	return out
}()

// appSteps are coprime with len(appPool) (60), so that AppsPerDevice steps from any start meet no app twice.
var appSteps = []int{1, 7, 11, 13, 17, 19, 23, 29}
