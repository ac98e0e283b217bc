package applemdm

import (
	"strings"
	"testing"
	"unicode/utf8"

	"steward/internal/devices"
	"steward/internal/mdm"
)

func TestMergeFacts(t *testing.T) {
	stored := mdm.DeviceFacts{DeviceName: "Sam's iPhone", Model: "iPhone15,2", Manufacturer: "Apple", OSVersion: "18.2",
		SerialNumber: "SN1", Jailbroken: true, PasscodeCompliant: true, Encrypted: true, Roaming: true,
		TotalCapacityMB: 128000, AvailableCapMB: 1000, ClientVersion: "x"}
	info := mdm.DeviceFacts{OSVersion: "18.3", WifiMAC: "aa:bb:cc:dd:ee:ff", AvailableCapMB: 2000,
		DeviceName: strings.Repeat("é", devices.MaxFactBytes)}
	got := mergeFacts(stored, info)
	want := stored
	want.OSVersion, want.WifiMAC, want.AvailableCapMB, want.Roaming = "18.3", "aa:bb:cc:dd:ee:ff", 2000, false
	want.DeviceName = got.DeviceName
	if got != want {
		t.Fatalf("merged\n%+v\nwant\n%+v", got, want)
	}
	if len(got.DeviceName) > devices.MaxFactBytes || !utf8.ValidString(got.DeviceName) || got.DeviceName == "" {
		t.Fatalf("a long device name is cut to %d bytes of valid text: %d bytes, valid %v", devices.MaxFactBytes,
			len(got.DeviceName), utf8.ValidString(got.DeviceName))
	}
}

func TestResultText(t *testing.T) {
	if got := resultText([]byte("<plist/>")); got != "<plist/>" {
		t.Errorf("XML kept as sent: %q", got)
	}
	if got := resultText([]byte("bplist00\x00\xd1")); !strings.HasPrefix(got, "binary property list") {
		t.Errorf("binary summarized: %q", got)
	}
	long := strings.Repeat("ü", devices.MaxResultBytes)
	if got := resultText([]byte(long)); len(got) > devices.MaxResultBytes || !utf8.ValidString(got) {
		t.Errorf("a long result: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
