package fq

import (
	"testing"

	"steward/internal/mdm"
)

func TestMatch(t *testing.T) {
	rec := map[string]any{"emailAddress": "Ann.Lee@Example.com", "registrationState": "ACTIVE", "quarantined": false,
		"jailbroken": true, "lastCheckin": int64(1000), "complianceState": true}
	value := func(f string) any { return rec[f] }
	tests := map[string]bool{
		"emailAddress=ann.lee@example.com":                                   true,
		"emailAddress=*@example.com":                                         true,
		"emailAddress=*@other.com":                                           false,
		"emailAddress!=*@other.com":                                          true,
		"emailAddress=ann?lee*":                                              false, // ? is literal
		"registrationState=ACTIVE and (quarantined=true or jailbroken=true)": true,
		"registrationState=ACTIVE and quarantined=true":                      false,
		"not quarantined=true":                                               true,
		"lastCheckin >= 1000 and lastCheckin < 1001":                         true,
		"lastCheckin > 1000":                                                 false,
		"emailAddress > 'a' and emailAddress < 'b'":                          true,
	}
	for in, want := range tests {
		f, err := Parse(in, deviceFields)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := Match(f, value); got != want {
			t.Errorf("Match(%s) = %v, want %v", in, got, want)
		}
	}
	if !Match(nil, value) {
		t.Error("a nil filter must match")
	}
}

// TestMatchTextOperators: contains, startswith and endswith (the Data Services functions) match
// literally and case-insensitively, as the database does.
func TestMatchTextOperators(t *testing.T) {
	value := func(string) any { return "Pixel *of* Ann" }
	for _, c := range []struct {
		op    mdm.Op
		value string
		want  bool
	}{
		{mdm.Contains, "*OF*", true},
		{mdm.Contains, "x*n", false},
		{mdm.Contains, "", true},
		{mdm.StartsWith, "pixel", true},
		{mdm.StartsWith, "*", false},
		{mdm.EndsWith, "ANN", true},
		{mdm.EndsWith, "pixel", false},
	} {
		if got := Match(mdm.Compare{Field: "deviceName", Op: c.op, Value: c.value}, value); got != c.want {
			t.Errorf("%s %q: %v, want %v", c.op, c.value, got, c.want)
		}
	}
}
