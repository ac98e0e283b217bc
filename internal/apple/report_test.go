package apple

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"steward/internal/mdm"
)

func TestDecodeReport(t *testing.T) {
	const udid = "00008110-000A1B2C3D4E5F60"
	tests := []struct {
		name       string
		want       Report
		wantResult mdm.CommandResult
		wantOK     bool
	}{
		{"report_idle", Report{UDID: "U1", Status: StatusIdle}, mdm.CommandResult{}, false},
		{"report_error", Report{UDID: "U1", Status: StatusError, CommandUUID: "42", ErrorChain: []ErrorChainItem{
			{ErrorCode: 12021, ErrorDomain: "MCMDMErrorDomain", LocalizedDescription: "Unknown command"},
		}}, mdm.CommandResult{ID: 42, Status: mdm.CmdError, Error: "MCMDMErrorDomain 12021: Unknown command"}, true},
		{"deviceinformation", Report{UDID: "U1", Status: StatusAcknowledged, CommandUUID: "7"},
			mdm.CommandResult{ID: 7, Status: mdm.CmdAcknowledged}, true},
		{"report_acknowledged", Report{UDID: udid, Status: StatusAcknowledged, CommandUUID: "31"},
			mdm.CommandResult{ID: 31, Status: mdm.CmdAcknowledged}, true},
		{"report_notnow", Report{UDID: udid, Status: StatusNotNow, CommandUUID: "32"},
			mdm.CommandResult{ID: 32, Status: mdm.CmdNotNow}, true},
		{"report_error_chain", Report{UDID: udid, Status: StatusError, CommandUUID: "33", ErrorChain: []ErrorChainItem{
			{ErrorCode: 4001, ErrorDomain: "MCInstallationErrorDomain",
				LocalizedDescription: "Le profil « Wi-Fi » n’a pas pu être installé.", USEnglishDescription: "The profile “Wi-Fi” could not be installed."},
			{ErrorCode: 2003, ErrorDomain: "MCProfileErrorDomain",
				LocalizedDescription: "Le profil est mal formé.", USEnglishDescription: "The profile is malformed."},
		}}, mdm.CommandResult{ID: 33, Status: mdm.CmdError,
			Error: "MCInstallationErrorDomain 4001: The profile “Wi-Fi” could not be installed.; MCProfileErrorDomain 2003: The profile is malformed."}, true},
		{"deviceinformation_full", Report{UDID: udid, Status: StatusAcknowledged, CommandUUID: "34"},
			mdm.CommandResult{ID: 34, Status: mdm.CmdAcknowledged}, true},
		{"deviceinformation_sparse", Report{UDID: "U4", Status: StatusAcknowledged, CommandUUID: "8"},
			mdm.CommandResult{ID: 8, Status: mdm.CmdAcknowledged}, true},
		{"installedapps", Report{UDID: "U1", Status: StatusAcknowledged, CommandUUID: "9"},
			mdm.CommandResult{ID: 9, Status: mdm.CmdAcknowledged}, true},
		{"installedapps_many", Report{UDID: udid, Status: StatusAcknowledged, CommandUUID: "35"},
			mdm.CommandResult{ID: 35, Status: mdm.CmdAcknowledged}, true},
	}
	for _, tt := range tests {
		for _, ext := range formats {
			t.Run(tt.name+ext, func(t *testing.T) {
				body := sample(t, tt.name, ext)
				got, err := DecodeReport(body)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(Report{}, "Raw")); diff != "" {
					t.Errorf("(-want +got)\n%s", diff)
				}
				if string(got.Raw) != string(body) {
					t.Error("Raw is not the body")
				}
				res, ok, err := got.Result()
				if err != nil || ok != tt.wantOK {
					t.Fatalf("Result() ok = %v, err = %v; want ok = %v", ok, err, tt.wantOK)
				}
				if diff := cmp.Diff(tt.wantResult, res); diff != "" {
					t.Errorf("Result (-want +got)\n%s", diff)
				}
			})
		}
	}
}

func TestReportResultStatuses(t *testing.T) {
	for status, want := range map[string]string{
		StatusAcknowledged: mdm.CmdAcknowledged, StatusError: mdm.CmdError,
		StatusCommandFormatError: mdm.CmdError, StatusNotNow: mdm.CmdNotNow,
	} {
		r, err := DecodeReport(xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><string>` + status +
			`</string><key>CommandUUID</key><string>5</string>`))
		if err != nil {
			t.Fatal(err)
		}
		res, ok, err := r.Result()
		if err != nil || !ok || res.Status != want || res.ID != 5 {
			t.Errorf("%s: Result() = %+v, %v, %v; want status %s for id 5", status, res, ok, err, want)
		}
	}
}

func TestReportForeignCommandUUID(t *testing.T) {
	for _, uuid := range []string{"6F9619FF-8B86-D011-B42D-00C04FC964FF", "0", "-3", "007", " 7"} {
		r, err := DecodeReport(xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><string>Acknowledged</string>` +
			`<key>CommandUUID</key><string>` + uuid + `</string>`))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = r.Result()
		wantInvalid(t, err)
	}
}

func TestDecodeReportRefuses(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"empty", []byte("  ")},
		{"no UDID", xmlPlist(`<key>Status</key><string>Idle</string>`)},
		{"no status", xmlPlist(`<key>UDID</key><string>U</string>`)},
		{"unknown status", xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><string>Busy</string>`)},
		{"answer without command", xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><string>Acknowledged</string>`)},
		{"status not a string", xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><true/>`)},
		{"error chain not an array", xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><string>Error</string>` +
			`<key>CommandUUID</key><string>1</string><key>ErrorChain</key><string>boom</string>`)},
		{"error code not an integer", xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><string>Error</string>` +
			`<key>CommandUUID</key><string>1</string><key>ErrorChain</key><array><dict><key>ErrorCode</key><string>x</string></dict></array>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReport(tt.body)
			if err == nil {
				t.Fatalf("decoded %#v, want an error", got)
			}
			wantInvalid(t, err)
		})
	}
}
