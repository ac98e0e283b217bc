package fq

import "testing"

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
