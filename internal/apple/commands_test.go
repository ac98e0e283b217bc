package apple

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/micromdm/plist"

	"steward/internal/mdm"
)

var update = flag.Bool("update", false, "rewrite the golden command bodies under testdata/golden")

func TestBuildCommandGolden(t *testing.T) {
	opt := CommandOptions{UnlockToken: []byte{1, 2, 3, 4, 5, 6, 7, 8}, MDMProfileID: "com.example.steward.mdm"}
	tests := []struct {
		golden string
		cmd    mdm.Command
		want   request
	}{
		{"lock", mdm.Command{ID: 11, Type: mdm.CmdLock, Payload: map[string]string{"message": "Return to IT <desk 4> & call", "phoneNumber": "+1 555 0100"}},
			request{RequestType: RequestDeviceLock, Message: "Return to IT <desk 4> & call", PhoneNumber: "+1 555 0100"}},
		{"lock_pin", mdm.Command{ID: 12, Type: mdm.CmdLock, Payload: map[string]string{"pin": "123456"}},
			request{RequestType: RequestDeviceLock, PIN: "123456"}},
		{"unlock", mdm.Command{ID: 13, Type: mdm.CmdUnlock},
			request{RequestType: RequestClearPasscode, UnlockToken: opt.UnlockToken}},
		{"wipe", mdm.Command{ID: 14, Type: mdm.CmdWipe}, request{RequestType: RequestEraseDevice}},
		{"retire", mdm.Command{ID: 15, Type: mdm.CmdRetire},
			request{RequestType: RequestRemoveProfile, Identifier: "com.example.steward.mdm"}},
		{"force_checkin", mdm.Command{ID: 16, Type: mdm.CmdForceCheckin},
			request{RequestType: RequestDeviceInformation, Queries: DeviceInformationQueries}},
		{"device_information", mdm.Command{ID: 17, Type: mdm.CmdDeviceInformation},
			request{RequestType: RequestDeviceInformation, Queries: DeviceInformationQueries}},
		{"installed_application_list", mdm.Command{ID: 18, Type: mdm.CmdInstalledApps},
			request{RequestType: RequestInstalledApplicationList, Items: InstalledApplicationListItems}},
		{"install_profile", mdm.Command{ID: 19, Type: mdm.CmdInstallProfile, Payload: map[string]string{"profile": testProfileB64}},
			request{RequestType: RequestInstallProfile, Payload: []byte(testProfile)}},
		{"remove_profile", mdm.Command{ID: 20, Type: mdm.CmdRemoveProfile, Payload: map[string]string{"identifier": "com.example.wifi"}},
			request{RequestType: RequestRemoveProfile, Identifier: "com.example.wifi"}},
		{"install_application_store", mdm.Command{ID: 21, Type: mdm.CmdInstallApp,
			Payload: map[string]string{"identifier": "com.example.notes", "itunesStoreId": "1234567890"}},
			request{RequestType: RequestInstallApplication, ITunesStoreID: 1234567890, ManagementFlags: 1}},
		{"install_application_manifest", mdm.Command{ID: 22, Type: mdm.CmdInstallApp,
			Payload: map[string]string{"identifier": "com.example.inhouse", "manifestUrl": "https://apps.example.com/inhouse/manifest.plist?v=2&x=1"}},
			request{RequestType: RequestInstallApplication, ManifestURL: "https://apps.example.com/inhouse/manifest.plist?v=2&x=1", ManagementFlags: 1}},
		{"remove_application", mdm.Command{ID: 23, Type: mdm.CmdRemoveApp, Payload: map[string]string{"identifier": "com.example.notes"}},
			request{RequestType: RequestRemoveApplication, Identifier: "com.example.notes"}},
		{"os_update", mdm.Command{ID: 24, Type: mdm.CmdOSUpdate,
			Payload: map[string]string{"productVersion": "17.4.1", "patchId": "5d0f6a3e-1b8c-4f7e-9a21-0c1b2d3e4f07"}},
			request{RequestType: RequestScheduleOSUpdate, Updates: []OSUpdate{{ProductVersion: "17.4.1", InstallAction: InstallASAP}}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := BuildCommand(tt.cmd, opt)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.golden, got)
			checkRoundTrip(t, got, command{CommandUUID: CommandUUID(tt.cmd.ID), Command: tt.want})
		})
	}
}

func TestBuildQueryGolden(t *testing.T) {
	for golden, rt := range map[string]string{
		"deviceinformation": RequestDeviceInformation, "installedapplicationlist": RequestInstalledApplicationList,
	} {
		t.Run(golden, func(t *testing.T) {
			got, err := BuildQuery(21, rt)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, golden, got)
			want := request{RequestType: rt}
			switch rt {
			case RequestDeviceInformation:
				want.Queries = DeviceInformationQueries
			case RequestInstalledApplicationList:
				want.Items = InstalledApplicationListItems
			}
			checkRoundTrip(t, got, command{CommandUUID: "21", Command: want})
		})
	}
	_, err := BuildQuery(21, "SecurityInfo")
	wantInvalid(t, err)
}

func TestBuildCommandRefuses(t *testing.T) {
	full := CommandOptions{UnlockToken: []byte{1}, MDMProfileID: "p"}
	tests := []struct {
		name string
		cmd  mdm.Command
		opt  CommandOptions
	}{
		{"unlock without token", mdm.Command{ID: 1, Type: mdm.CmdUnlock}, CommandOptions{MDMProfileID: "p"}},
		{"retire without profile", mdm.Command{ID: 1, Type: mdm.CmdRetire}, CommandOptions{UnlockToken: []byte{1}}},
		{"unknown type", mdm.Command{ID: 1, Type: "REBOOT"}, full},
		{"no id", mdm.Command{Type: mdm.CmdWipe}, full},
		{"NUL in message", mdm.Command{ID: 1, Type: mdm.CmdLock, Payload: map[string]string{"message": "a\x00b"}}, full},
		{"profile missing", mdm.Command{ID: 1, Type: mdm.CmdInstallProfile}, full},
		{"profile blank", mdm.Command{ID: 1, Type: mdm.CmdInstallProfile, Payload: map[string]string{"profile": " \n"}}, full},
		{"profile not base64", mdm.Command{ID: 1, Type: mdm.CmdInstallProfile, Payload: map[string]string{"profile": "<?xml version"}}, full},
		{"profile base64url", mdm.Command{ID: 1, Type: mdm.CmdInstallProfile, Payload: map[string]string{"profile": "-_-_"}}, full},
		{"remove profile without identifier", mdm.Command{ID: 1, Type: mdm.CmdRemoveProfile}, full},
		{"identifier with a control character", mdm.Command{ID: 1, Type: mdm.CmdRemoveProfile, Payload: map[string]string{"identifier": "a\x01b"}}, full},
		{"identifier too long", mdm.Command{ID: 1, Type: mdm.CmdRemoveApp, Payload: map[string]string{"identifier": strings.Repeat("a", 256)}}, full},
		{"os update without version", mdm.Command{ID: 1, Type: mdm.CmdOSUpdate}, full},
		{"os update with a patch level", mdm.Command{ID: 1, Type: mdm.CmdOSUpdate, Payload: map[string]string{"productVersion": "2024-03-01"}}, full},
		{"os update with four parts", mdm.Command{ID: 1, Type: mdm.CmdOSUpdate, Payload: map[string]string{"productVersion": "17.4.1.1"}}, full},
		{"remove app without identifier", mdm.Command{ID: 1, Type: mdm.CmdRemoveApp, Payload: map[string]string{"itunesStoreId": "1"}}, full},
		{"install app without identifier", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"itunesStoreId": "1"}}, full},
		{"install app without source", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b"}}, full},
		{"install app with both sources", mdm.Command{ID: 1, Type: mdm.CmdInstallApp,
			Payload: map[string]string{"identifier": "a.b", "itunesStoreId": "1", "manifestUrl": "https://x.example/m.plist"}}, full},
		{"store id not a number", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b", "itunesStoreId": "12ab"}}, full},
		{"store id zero", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b", "itunesStoreId": "0"}}, full},
		{"store id negative", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b", "itunesStoreId": "-5"}}, full},
		{"manifest over http", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b", "manifestUrl": "http://x.example/m.plist"}}, full},
		{"manifest without host", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b", "manifestUrl": "https:///m.plist"}}, full},
		{"manifest not a URL", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b", "manifestUrl": "::"}}, full},
		{"manifest with credentials", mdm.Command{ID: 1, Type: mdm.CmdInstallApp, Payload: map[string]string{"identifier": "a.b", "manifestUrl": "https://u:p@x.example/m.plist"}}, full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildCommand(tt.cmd, tt.opt)
			if err == nil {
				t.Fatalf("built %s, want an error", got)
			}
			wantInvalid(t, err)
		})
	}
}

// testProfile stands for a .mobileconfig; InstallProfile carries it byte for byte.
const testProfile = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>PayloadIdentifier</key><string>com.example.wifi</string></dict></plist>
`

var testProfileB64 = base64.StdEncoding.EncodeToString([]byte(testProfile))

// A profile's base64 may come wrapped in lines, as tools write it.
func TestInstallProfileTakesWrappedBase64(t *testing.T) {
	wrapped := ""
	for i := 0; i < len(testProfileB64); i += 64 {
		wrapped += testProfileB64[i:min(i+64, len(testProfileB64))] + "\r\n"
	}
	got, err := BuildCommand(mdm.Command{ID: 5, Type: mdm.CmdInstallProfile, Payload: map[string]string{"profile": wrapped}}, CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, got, command{CommandUUID: "5", Command: request{RequestType: RequestInstallProfile, Payload: []byte(testProfile)}})
}

func TestBuildCommandMessage(t *testing.T) {
	_, err := BuildCommand(mdm.Command{ID: 1, Type: mdm.CmdMessage, Payload: map[string]string{"message": "hi"}}, CommandOptions{})
	if !errors.Is(err, ErrNoAppleCommand) {
		t.Fatalf("err = %v, want ErrNoAppleCommand", err)
	}
	wantInvalid(t, err)
}

func TestCommandUUIDRoundTrip(t *testing.T) {
	for _, id := range []mdm.CommandID{1, 42, 1<<63 - 1} {
		got, err := ParseCommandUUID(CommandUUID(id))
		if err != nil || got != id {
			t.Errorf("ParseCommandUUID(CommandUUID(%d)) = %d, %v", id, got, err)
		}
	}
}

// checkGolden compares a built body with testdata/golden/name.plist (rewritten with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".plist")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +built)\n%s", path, diff)
	}
}

// checkRoundTrip decodes a built body back and compares it with what was meant.
func checkRoundTrip(t *testing.T, body []byte, want command) {
	t.Helper()
	var got command
	if err := plist.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
}

// TestInstalledApplicationListItems checks that the app list asks for exactly the keys the parser
// reads, and that a device with many apps answering with those keys only stays under MaxBody, where
// the same apps described with all their keys would not.
func TestInstalledApplicationListItems(t *testing.T) {
	var read []string
	typ := reflect.TypeOf(installedApp{})
	for i := range typ.NumField() {
		read = append(read, strings.Split(typ.Field(i).Tag.Get("plist"), ",")[0])
	}
	if diff := cmp.Diff(read, InstalledApplicationListItems); diff != "" {
		t.Errorf("Items differ from what ParseInstalledApplicationList reads (-read +asked)\n%s", diff)
	}

	const apps = 3000
	var asked, full strings.Builder
	for i := range apps {
		app := fmt.Sprintf(`<dict><key>Identifier</key><string>com.example.vendor.product%04d</string>`+
			`<key>Name</key><string>Example Product %04d: Long Display Name</string>`+
			`<key>ShortVersion</key><string>12.%d.1</string><key>Version</key><string>12%04d.17</string>`, i, i, i, i)
		asked.WriteString(app + `</dict>`)
		full.WriteString(app + `<key>ExternalVersionIdentifier</key><integer>856123456</integer>` +
			`<key>DistributorIdentifier</key><string>com.apple.AppStore</string>` +
			`<key>BundleSize</key><integer>123456789</integer><key>DynamicSize</key><integer>98765432</integer>` +
			`<key>IsValidated</key><false/><key>Installing</key><false/><key>AppStoreVendable</key><true/>` +
			`<key>DeviceBasedVPP</key><false/><key>BetaApp</key><false/><key>AdHocCodeSigned</key><false/>` +
			`<key>HasUpdateAvailable</key><false/><key>IsAppClip</key><false/></dict>`)
	}
	body := xmlPlist(`<key>Status</key><string>Acknowledged</string><key>InstalledApplicationList</key><array>` + asked.String() + `</array>`)
	if len(body) > MaxBody {
		t.Fatalf("%d apps with the asked keys take %d bytes, over MaxBody (%d)", apps, len(body), MaxBody)
	}
	got, err := ParseInstalledApplicationList(body)
	if err != nil || len(got) != apps {
		t.Fatalf("parsed %d apps (%v), want %d", len(got), err, apps)
	}
	if want := (mdm.InstalledApp{AppID: "com.example.vendor.product0007", Name: "Example Product 0007: Long Display Name", Version: "12.7.1"}); got[7] != want {
		t.Errorf("app 7 = %+v, want %+v", got[7], want)
	}
	if n := len(xmlPlist(`<key>InstalledApplicationList</key><array>` + full.String() + `</array>`)); n <= MaxBody {
		t.Errorf("the full answer takes %d bytes, not over MaxBody: the example no longer shows why Items matter", n)
	}
}
