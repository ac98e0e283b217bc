package policy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// device is a typical iPhone as the evaluation tests see it.
func device() Input {
	return Input{
		Platform:          mdm.PlatformIOS,
		Kind:              mdm.KindIPhone,
		RegistrationState: mdm.StateActive,
		Facts: mdm.DeviceFacts{
			DeviceName:        "Ana's iPhone",
			Model:             "iPhone14,2",
			PrettyModel:       "iPhone 13 Pro",
			Manufacturer:      "Apple",
			OSVersion:         "17.10",
			OSBuild:           "21C62",
			SerialNumber:      "F2LXK0ABCD",
			WifiMAC:           "aa:bb:cc:dd:ee:ff",
			PasscodeCompliant: true,
			Encrypted:         true,
			TotalCapacityMB:   128000,
			AvailableCapMB:    5000,
			ClientVersion:     "2.10.0",
		},
		OwnerUID:         "ana",
		OwnerEmail:       "ana@example.com",
		LastCheckin:      now.Add(-3 * 24 * time.Hour),
		RegisteredAt:     now.Add(-90 * 24 * time.Hour),
		CustomAttributes: map[string]string{"department": "Sales", "level": "3", "agent": "2.10", "vip": "true", "empty": ""},
		Apps: []mdm.InstalledApp{
			{AppID: "com.example.chat", Name: "Chat", Version: "5.2.1"},
			{AppID: "com.example.vpn", Name: "VPN", Version: "1.9"},
			{AppID: "com.example.noversion", Name: "No version"},
		},
		Now: now,
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		rule string
		want bool
	}{
		// Booleans.
		{`jailbroken = true`, false},
		{`jailbroken = false`, true},
		{`jailbroken != true`, true},
		{`encrypted`, true},
		{`not encrypted`, false},
		{`passcodeCompliant and encrypted and not roaming and not mdmRemoved`, true},
		// Text: case-insensitive.
		{`platformType = "ios"`, true},
		{`platformType = IOS`, true},
		{`platformType != "ANDROID"`, true},
		{`platformType != "IOS"`, false},
		{`deviceModel contains "PHONE14"`, true},
		{`deviceModel contains "Pixel"`, false},
		{`deviceModel startsWith "iphone"`, true},
		{`deviceModel startsWith "Phone"`, false},
		{`deviceName endsWith "IPHONE"`, true},
		{`deviceName endsWith "iPad"`, false},
		{`manufacturer < "Samsung"`, true},
		{`manufacturer <= "apple"`, true},
		{`manufacturer > "apple"`, false},
		{`manufacturer >= "Apple"`, true},
		{`registrationState in ("RETIRED", "active")`, true},
		{`registrationState in ("RETIRED", "WIPED")`, false},
		{`registrationState not in ("RETIRED", "WIPED")`, true},
		{`registrationState not in ("ACTIVE")`, false},
		{`deviceName = "Ana's iPhone"`, true},
		{`deviceName = 'Ana\'s iPhone'`, true},
		// Versions: semantic.
		{`platformVersion > 17.9`, true},
		{`platformVersion < 17.9`, false},
		{`platformVersion = "17.10.0"`, true},
		{`platformVersion >= "17.10"`, true},
		{`platformVersion <= v17.10`, true},
		{`platformVersion != 17.10`, false},
		{`platformVersion < 17.10.1`, true},
		{`platformVersion < 18`, true},
		{`platformVersion in (17.9, 17.10)`, true},
		{`platformVersion not in (17.9, 17.11)`, true},
		{`platformVersion startsWith "17.1"`, true},
		{`clientVersion >= 2.9.9`, true},
		{`clientVersion < "2.10"`, false},
		// Numbers.
		{`totalCapacity >= 128000`, true},
		{`totalCapacity > 128000`, false},
		{`availableCapacity < 5000.5`, true},
		{`availableCapacity in (1, 5000)`, true},
		{`availableCapacity != 5000`, false},
		{`totalCapacity exists`, true},
		// Times, relative to Now.
		{`lastCheckin older than 2d`, true},
		{`lastCheckin older than 3d`, false}, // exactly 3 days: not older
		{`lastCheckin within 3d`, true},
		{`lastCheckin within 71h`, false},
		{`lastCheckin older than 1w`, false},
		{`lastRegistrationTime older than 12w`, true},
		{`lastCheckin exists`, true},
		{`lastCheckin not exists`, false},
		// Custom attributes.
		{`custom.department = "sales"`, true},
		{`custom.Department = "sales"`, false}, // names are exact
		{`custom.department in ("Support", "Sales")`, true},
		{`custom.department contains "ale"`, true},
		{`custom.level >= 3`, true},
		{`custom.level > 3`, false},
		{`custom.level = 3.0`, true},
		{`custom.level = "3"`, true},
		{`custom.department > 1`, false}, // not a number: missing
		{`custom.department < 1`, false},
		{`custom.agent > 2.9`, false}, // as numbers 2.10 < 2.9
		{`custom.agent > v2.9`, true}, // as versions 2.10 > 2.9
		{`custom.agent >= 2.10.0`, true},
		{`custom.department > v1`, false}, // not a version: missing
		{`custom.vip = true`, true},
		{`custom.vip != true`, false},
		{`custom.department = false`, false}, // not a boolean: missing
		{`custom.department != false`, false},
		{`custom.department exists`, true},
		{`custom.nope exists`, false},
		{`custom.nope not exists`, true},
		{`custom.empty exists`, false},
		{`custom("department") = "SALES"`, true},
		// Apps.
		{`app("com.example.chat") installed`, true},
		{`app("com.example.chat") not installed`, false},
		{`app("com.example.games") installed`, false},
		{`app("com.example.games") not installed`, true},
		{`app("COM.EXAMPLE.CHAT") installed`, false}, // ids are exact
		{`app("com.example.vpn").version < "2.0"`, true},
		{`app("com.example.vpn").version >= 1.10`, false},
		{`app("com.example.chat").version = 5.2.1`, true},
		{`app("com.example.games").version < 99`, false},
		{`app("com.example.games").version exists`, false},
		{`app("com.example.noversion").version exists`, false},
		{`app("com.example.noversion").version < 1`, false},
		// Logic.
		{`roaming or encrypted`, true},
		{`roaming and encrypted`, false},
		{`not (roaming or jailbroken)`, true},
		{`roaming or jailbroken or platformVersion < 17.2`, false},
		{`(roaming or encrypted) and platformType = "IOS"`, true},
		{`roaming and jailbroken or encrypted`, true},
		{`not not encrypted`, true},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r := MustParse(tt.rule)
			got, err := Evaluate(r, device())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEvaluateMissing pins the documented treatment of missing values: every comparison is false
// (!= and not in included), exists is false and not exists true.
func TestEvaluateMissing(t *testing.T) {
	blank := Input{Now: now}
	tests := []struct {
		rule string
		want bool
	}{
		{`platformVersion < 17.2`, false},
		{`platformVersion >= 17.2`, false},
		{`platformVersion != 17.2`, false},
		{`platformVersion in (17.2)`, false},
		{`platformVersion not in (17.2)`, false},
		{`not (platformVersion >= 17.2)`, true},
		{`platformVersion exists`, false},
		{`platformVersion not exists`, true},
		{`deviceModel = "x"`, false},
		{`deviceModel != "x"`, false},
		{`deviceModel contains ""`, false},
		{`deviceModel not in ("x")`, false},
		{`deviceModel not exists`, true},
		{`totalCapacity < 1000`, false},
		{`totalCapacity != 1000`, false},
		{`totalCapacity not exists`, true},
		{`lastCheckin older than 1s`, false},
		{`lastCheckin within 100w`, false},
		{`lastCheckin not exists`, true},
		{`custom.x = "a"`, false},
		{`custom.x != "a"`, false},
		{`custom.x not in ("a")`, false},
		{`custom.x not exists`, true},
		{`jailbroken = false`, true}, // booleans are never missing
		{`app("a") not installed`, true},
		{`app("a").version != 1`, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := MustParse(tt.rule).Evaluate(blank)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
	// An OS version that is not one (a device bug) counts as missing.
	odd := Input{Facts: mdm.DeviceFacts{OSVersion: "unknown"}}
	if got, _ := MustParse(`platformVersion < 99 or platformVersion >= 0`).Evaluate(odd); got {
		t.Error("an unparsable version compared true")
	}
}

func TestEvaluateErrors(t *testing.T) {
	if _, err := Evaluate(nil, device()); err == nil {
		t.Error("nil rule: no error")
	}
	if _, err := (&Rule{}).Evaluate(device()); err == nil {
		t.Error("zero rule: no error")
	}
	in := device()
	in.Now = time.Time{}
	if _, err := MustParse(`lastCheckin older than 7d`).Evaluate(in); err == nil {
		t.Error("time rule with zero Now: no error")
	}
	if _, err := MustParse(`lastCheckin exists`).Evaluate(in); err != nil {
		t.Errorf("exists needs no Now: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"17.10", "17.9", 1},
		{"17.9", "17.10", -1},
		{"14", "14.0", 0},
		{"14", "14.0.0", 0},
		{"14", "14.0.1", -1},
		{"14.0.1", "14", 1},
		{"1.0-beta", "1.0", -1},
		{"1.0-beta", "1.0-alpha", 1},
		{"2", "2a", 1},
		{"2b", "2a", 1},
		{"007", "7", 0},
		{"2024-05-01", "2024-04-30", 1},
		{"10.0.19045", "10.0.9999", 1},
		{"99999999999999999999999", "99999999999999999999998", 1},
		{"1_2", "1.2", 0},
	}
	for _, tt := range tests {
		a, _ := versionBody(tt.a)
		b, _ := versionBody(tt.b)
		if got := compareVersions(a, b); got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	for s, want := range map[string]string{"v17.2": "17.2", " 17.2 (21C62)": "17.2", "17.2(a)": "17.2"} {
		if got, ok := versionBody(s); !ok || got != want {
			t.Errorf("versionBody(%q) = %q, %v, want %q", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "v", "abc", "(17)", " "} {
		if _, ok := versionBody(s); ok {
			t.Errorf("versionBody(%q) is a version", s)
		}
	}
}

func TestDurations(t *testing.T) {
	for s, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "12h": 12 * time.Hour, "1d12h": 36 * time.Hour,
		"2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute, "30s": 30 * time.Second} {
		if got, ok := parseDuration(s); !ok || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "7", "d", "7x", "7dd", "1000000000d", "36501d"} {
		if _, ok := parseDuration(s); ok {
			t.Errorf("parseDuration(%q) ok", s)
		}
	}
	for d, want := range map[time.Duration]string{7 * 24 * time.Hour: "7d", 36 * time.Hour: "1d12h", 90 * time.Minute: "1h30m",
		0: "0s", 1500 * time.Millisecond: "1s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestInputForAndChanged(t *testing.T) {
	d := &mdm.Device{Platform: mdm.PlatformAndroid, Kind: mdm.KindAndroidPhone, RegistrationState: mdm.StateActive,
		Facts: mdm.DeviceFacts{OSVersion: "14"}, OwnerUsername: "bo", OwnerEmail: "bo@example.com",
		LastCheckin: now, RegisteredAt: now.Add(-time.Hour), CustomAttributes: map[string]string{"a": "1"}}
	apps := []mdm.InstalledApp{{AppID: "x", Version: "1"}}
	in := InputFor(d, apps, now)
	want := Input{Platform: "ANDROID", Kind: "ANDROID_PHONE", RegistrationState: "ACTIVE", Facts: d.Facts, OwnerUID: "bo",
		OwnerEmail: "bo@example.com", LastCheckin: now, RegisteredAt: now.Add(-time.Hour),
		CustomAttributes: map[string]string{"a": "1"}, Apps: apps, Now: now}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("InputFor (-want +got):\n%s", diff)
	}

	after := in
	after.Now = now.Add(time.Hour) // not an input
	if got := Changed(in, after); len(got) != 0 {
		t.Errorf("Changed with only Now moved = %v", got)
	}
	after.Facts.OSVersion = "15"
	after.Facts.Roaming = true
	after.Facts.TotalCapacityMB = 1
	after.LastCheckin = now.Add(time.Minute)
	after.CustomAttributes = map[string]string{"a": "2", "b": "x"}
	after.Apps = []mdm.InstalledApp{{AppID: "x", Version: "2"}, {AppID: "y"}}
	got := Changed(in, after)
	wantChanged := []string{"app.x", "app.y", "custom.a", "custom.b", "lastCheckin", "platformVersion", "roaming", "totalCapacity"}
	if diff := cmp.Diff(wantChanged, got); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
	if got := Changed(after, in); !cmp.Equal(got, wantChanged) {
		t.Errorf("Changed backwards = %v", got)
	}

	r := MustParse(`platformVersion < 15 or app("z") installed`)
	if !r.Reads(got) {
		t.Error("Reads: the rule reads platformVersion, which changed")
	}
	if MustParse(`encrypted or custom.c exists or app("z") installed`).Reads(got) {
		t.Error("Reads: nothing the rule reads changed")
	}
	if r.UsesTime() || !MustParse(`roaming or lastCheckin within 1h`).UsesTime() {
		t.Error("UsesTime")
	}
	fields := r.Fields()
	fields[0] = "mutated"
	if r.Fields()[0] == "mutated" {
		t.Error("Fields returns the rule's own slice")
	}
}

// TestFieldGetters checks that every field reads its own input.
func TestFieldGetters(t *testing.T) {
	in := Input{Platform: "p", Kind: "k", RegistrationState: "r", OwnerUID: "u", OwnerEmail: "e", MDMRemoved: true,
		LastCheckin: now, RegisteredAt: now.Add(time.Hour),
		Facts: mdm.DeviceFacts{DeviceName: "dn", Model: "m", PrettyModel: "pm", Manufacturer: "ma", OSVersion: "1", OSBuild: "b",
			SerialNumber: "s", IMEI: "i", WifiMAC: "w", FormFactor: "f", ClientVersion: "2", Jailbroken: true,
			PasscodeCompliant: true, Encrypted: true, Roaming: true, TotalCapacityMB: 1, AvailableCapMB: 2}}
	seen := map[any]string{}
	for i, f := range fieldDefs {
		if int(f.id) != i {
			t.Errorf("%s: id %d at index %d", f.name, f.id, i)
		}
		var v any
		switch f.typ {
		case tyText, tyVersion:
			v = f.text(&in)
		case tyNumber:
			v = f.num(&in)
		case tyTime:
			v = f.time(&in)
		case tyBool:
			if !f.boolean(&in) {
				t.Errorf("%s reads false", f.name)
			}
			continue
		}
		if prev, dup := seen[v]; dup || v == "" || v == 0.0 {
			t.Errorf("%s reads %v (as %s does)", f.name, v, prev)
		}
		seen[v] = f.name
	}
	// Every field changes alone.
	for _, f := range fieldDefs {
		if got := Changed(Input{}, in); !slicesContains(got, f.name) {
			t.Errorf("Changed misses %s", f.name)
		}
	}
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
