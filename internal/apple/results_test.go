package apple

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

func TestParseDeviceInformation(t *testing.T) {
	tests := []struct {
		name string
		want DeviceInformation
	}{
		{"deviceinformation", DeviceInformation{Kind: mdm.KindIPadMini, Facts: mdm.DeviceFacts{
			DeviceName: "Ana’s iPad", Model: "iPad14,1", PrettyModel: "iPad", Manufacturer: "Apple",
			OSVersion: "17.0.3", OSBuild: "21A329", SerialNumber: "DMPXK0BBBBBB", IMEI: "35 123456 789012 3",
			WifiMAC: "a4:83:e7:0f:11:22", Roaming: true, TotalCapacityMB: 122368, AvailableCapMB: 52480,
		}}},
		// Only the product name: the model identifier, standing in for the marketing name too, and the kind.
		{"deviceinformation_sparse", DeviceInformation{Kind: mdm.KindAppleTV, Facts: mdm.DeviceFacts{
			Model: "AppleTV6,2", PrettyModel: "AppleTV6,2", Manufacturer: "Apple", TotalCapacityMB: 65536,
		}}},
		// Every key a device may add (nested dictionaries and arrays, dates, reals) is read past.
		{"deviceinformation_full", DeviceInformation{Kind: mdm.KindIPhone, Facts: mdm.DeviceFacts{
			DeviceName: "Zoë’s iPhone 📱", Model: "iPhone15,3", PrettyModel: "iPhone", Manufacturer: "Apple",
			OSVersion: "18.1", OSBuild: "22B83", SerialNumber: "G6TZ3DDDDDDD", IMEI: "35 987654 321098 7",
			WifiMAC: "f0:18:98:11:22:33", TotalCapacityMB: 244132, AvailableCapMB: 192215,
		}}},
	}
	for _, tt := range tests {
		for _, ext := range formats {
			t.Run(tt.name+ext, func(t *testing.T) {
				got, err := ParseDeviceInformation(sample(t, tt.name, ext))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, *got); diff != "" {
					t.Errorf("(-want +got)\n%s", diff)
				}
			})
		}
	}
}

func TestParseDeviceInformationRefuses(t *testing.T) {
	q := func(inner string) []byte { return xmlPlist(`<key>QueryResponses</key><dict>` + inner + `</dict>`) }
	tests := []struct {
		name string
		body []byte
	}{
		{"no query responses", xmlPlist(`<key>Status</key><string>Acknowledged</string>`)},
		{"query responses not a dict", xmlPlist(`<key>QueryResponses</key><array/>`)},
		{"name not a string", q(`<key>DeviceName</key><integer>1</integer>`)},
		{"roaming not a bool", q(`<key>IsRoaming</key><string>no</string>`)},
		{"capacity not a number", q(`<key>DeviceCapacity</key><string>64 GB</string>`)},
		{"negative capacity", q(`<key>DeviceCapacity</key><real>-1</real>`)},
		{"absurd capacity", q(`<key>AvailableDeviceCapacity</key><real>1e300</real>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDeviceInformation(tt.body)
			if err == nil {
				t.Fatalf("parsed %#v, want an error", got)
			}
			wantInvalid(t, err)
		})
	}
}

func TestParseInstalledApplicationList(t *testing.T) {
	want := []mdm.InstalledApp{
		{AppID: "com.example.notes", Name: "Notes Pro", Version: "2.4"},
		{AppID: "com.example.build", Name: "Build", Version: "17"},
	}
	for _, ext := range formats {
		got, err := ParseInstalledApplicationList(sample(t, "installedapps", ext))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", ext, diff)
		}
	}
	got, err := ParseInstalledApplicationList(xmlPlist(`<key>InstalledApplicationList</key><array/>`))
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty list: got %#v, %v; want an empty, non-nil list", got, err)
	}
}

func TestParseInstalledApplicationListRefuses(t *testing.T) {
	for name, body := range map[string][]byte{
		"no list":           xmlPlist(`<key>Status</key><string>Acknowledged</string>`),
		"list not an array": xmlPlist(`<key>InstalledApplicationList</key><dict/>`),
		"entry not a dict":  xmlPlist(`<key>InstalledApplicationList</key><array><string>x</string></array>`),
		"name not a string": xmlPlist(`<key>InstalledApplicationList</key><array><dict><key>Name</key><integer>1</integer></dict></array>`),
		"binary truncated":  sample(t, "installedapps", ".bplist")[:100],
	} {
		got, err := ParseInstalledApplicationList(body)
		if err == nil {
			t.Errorf("%s: parsed %#v, want an error", name, got)
			continue
		}
		wantInvalid(t, err)
	}
}
