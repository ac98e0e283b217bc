package policy

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

func TestBuild(t *testing.T) {
	ios := device()
	android := device()
	android.Platform, android.Kind, android.Facts.OSVersion = mdm.PlatformAndroid, mdm.KindAndroidPhone, "13"
	with := func(in Input, f func(*Input)) Input {
		in.CustomAttributes = map[string]string{"department": "Sales"}
		in.Apps = append([]mdm.InstalledApp(nil), in.Apps...)
		f(&in)
		return in
	}
	type check struct {
		name string
		in   Input
		want bool // a violation
	}
	tests := []struct {
		name   string
		typ    Type
		params Params
		rule   string
		checks []check
	}{
		{"compromised", Compromised, Params{}, `jailbroken = true`, []check{
			{"clean", ios, false},
			{"jailbroken", with(ios, func(in *Input) { in.Facts.Jailbroken = true }), true},
			{"rooted", with(android, func(in *Input) { in.Facts.Jailbroken = true }), true},
		}},
		{"out of contact 7d", OutOfContact, Params{Duration: 7 * 24 * time.Hour},
			`lastCheckin older than 7d or lastCheckin not exists and lastRegistrationTime older than 7d`, []check{
				{"checked in 3 days ago", ios, false},
				{"exactly 7 days", with(ios, func(in *Input) { in.LastCheckin = now.Add(-7 * 24 * time.Hour) }), false},
				{"8 days", with(ios, func(in *Input) { in.LastCheckin = now.Add(-8 * 24 * time.Hour) }), true},
				{"never, registered 90 days ago", with(ios, func(in *Input) { in.LastCheckin = time.Time{} }), true},
				{"never, registered today", with(ios, func(in *Input) { in.LastCheckin, in.RegisteredAt = time.Time{}, now.Add(-time.Hour) }), false},
			}},
		{"out of contact 36h", OutOfContact, Params{Duration: 36 * time.Hour},
			`lastCheckin older than 1d12h or lastCheckin not exists and lastRegistrationTime older than 1d12h`, []check{
				{"3 days", ios, true},
				{"1 day", with(ios, func(in *Input) { in.LastCheckin = now.Add(-24 * time.Hour) }), false},
			}},
		{"iOS below 17.2", OSVersionBelow, Params{Platform: "ios", Version: "17.2"},
			`platformType = "IOS" and platformVersion < "17.2"`, []check{
				{"17.10", ios, false},
				{"17.1.2", with(ios, func(in *Input) { in.Facts.OSVersion = "17.1.2" }), true},
				{"17.2", with(ios, func(in *Input) { in.Facts.OSVersion = "17.2" }), false},
				{"unknown", with(ios, func(in *Input) { in.Facts.OSVersion = "" }), false},
				{"android 13", android, false},
			}},
		{"android below 14", OSVersionBelow, Params{Platform: mdm.PlatformAndroid, Version: "14"},
			`platformType = "ANDROID" and platformVersion < "14"`, []check{
				{"android 13", android, true},
				{"android 14.0.1", with(android, func(in *Input) { in.Facts.OSVersion = "14.0.1" }), false},
				{"iOS", ios, false},
			}},
		{"any above 17.9", OSVersionAbove, Params{Version: " 17.9 "}, `platformVersion > "17.9"`, []check{
			{"iOS 17.10", ios, true},
			{"android 13", android, false},
		}},
		{"passcode", PasscodeNotSet, Params{}, `passcodeCompliant = false`, []check{
			{"set", ios, false},
			{"not set", with(ios, func(in *Input) { in.Facts.PasscodeCompliant = false }), true},
		}},
		{"encryption", EncryptionOff, Params{}, `encrypted = false`, []check{
			{"on", ios, false},
			{"off", with(ios, func(in *Input) { in.Facts.Encrypted = false }), true},
		}},
		{"disallowed apps", DisallowedApps, Params{AppIDs: []string{"com.example.games", " com.example.chat "}},
			`app("com.example.games") installed or app("com.example.chat") installed`, []check{
				{"chat installed", ios, true},
				{"none", with(ios, func(in *Input) { in.Apps = nil }), false},
			}},
		{"required apps", RequiredApps, Params{AppIDs: []string{"com.example.vpn", "com.example.mail"}},
			`app("com.example.vpn") not installed or app("com.example.mail") not installed`, []check{
				{"mail missing", ios, true},
				{"both", with(ios, func(in *Input) { in.Apps = append(in.Apps, mdm.InstalledApp{AppID: "com.example.mail"}) }), false},
				{"none", with(ios, func(in *Input) { in.Apps = nil }), true},
			}},
		{"roaming", Roaming, Params{}, `roaming = true`, []check{
			{"home", ios, false},
			{"roaming", with(ios, func(in *Input) { in.Facts.Roaming = true }), true},
		}},
		{"mdm removed", MDMRemoved, Params{},
			`mdmRemoved = true or registrationState in ("RETIRE_PENDING", "RETIRED", "WIPE_PENDING", "WIPED")`, []check{
				{"active", ios, false},
				{"profile removed", with(ios, func(in *Input) { in.MDMRemoved = true }), true},
				{"retired", with(ios, func(in *Input) { in.RegistrationState = mdm.StateRetired }), true},
				{"wipe pending", with(ios, func(in *Input) { in.RegistrationState = mdm.StateWipePending }), true},
			}},
		{"custom", Custom, Params{Rule: `custom.department = "sales" and not encrypted`},
			`custom.department = "sales" and not encrypted = true`, []check{
				{"encrypted", with(ios, func(*Input) {}), false},
				{"not encrypted", with(ios, func(in *Input) { in.Facts.Encrypted = false }), true},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Build(tt.typ, tt.params)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if r.String() != tt.rule {
				t.Errorf("rule\n got %s\nwant %s", r, tt.rule)
			}
			for _, c := range tt.checks {
				got, err := r.Evaluate(c.in)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if got != c.want {
					t.Errorf("%s: violation = %v, want %v", c.name, got, c.want)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name   string
		typ    Type
		params Params
		want   string
	}{
		{"unknown type", "NOPE", Params{}, `unknown policy type "NOPE"`},
		{"no duration", OutOfContact, Params{}, `duration: must be between one minute and 100 years`},
		{"short duration", OutOfContact, Params{Duration: time.Second}, `duration: must be between one minute and 100 years`},
		{"long duration", OutOfContact, Params{Duration: 200 * 365 * 24 * time.Hour}, `duration: must be between one minute and 100 years`},
		{"no version", OSVersionBelow, Params{}, `version: "" is not a version such as 17.2`},
		{"bad version", OSVersionAbove, Params{Version: "latest"}, `version: "latest" is not a version such as 17.2`},
		{"bad platform", OSVersionBelow, Params{Platform: "WINDOWS", Version: "10"}, `platform: "WINDOWS" is not IOS or ANDROID`},
		{"no apps", DisallowedApps, Params{}, `appIds: name at least one app`},
		{"empty app", RequiredApps, Params{AppIDs: []string{"a", " "}}, `appIds: an app id is empty`},
		{"bad custom", Custom, Params{Rule: "roaming ="}, `at 10: expected a value after '='`},
		{"empty custom", Custom, Params{}, `at 1: the rule is empty: expected a condition such as jailbroken = true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.typ, tt.params)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Build error = %v, want %s", err, tt.want)
			}
		})
	}
	for _, typ := range Types {
		if typ == Custom {
			continue
		}
		p := Params{Duration: time.Hour, Version: "1", AppIDs: []string{"a"}}
		if _, err := Build(typ, p); err != nil {
			t.Errorf("Build(%s): %v", typ, err)
		}
	}
}
