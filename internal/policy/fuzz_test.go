package policy

import (
	"errors"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzParse: Parse never panics; its errors are *Error with a position inside the rule (or none, for
// whole-rule bounds); a rule that parses re-parses from its String() to the same text, fields and
// results on two devices.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`jailbroken = true`,
		`platformType = "IOS" and platformVersion < 17.2`,
		`lastCheckin older than 7d or lastCheckin not exists and lastRegistrationTime older than 1d12h`,
		`custom.department in ("sales", 'support') and not encrypted`,
		`app("com.example.vpn") not installed or app("com.example.vpn").version < "2.0"`,
		`custom("cost center") not exists or custom.level >= 3 or custom.agent < v2.0`,
		`deviceName = "it's \"x\"\n\u00e9\x01"`,
		`not (roaming or jailbroken) and (encrypted or passcodeCompliant)`,
		`totalCapacity in (16000, 32000.5) and manufacturer startsWith "Sam"`,
		`platformVersion >= `,
		`(((roaming)`,
	} {
		f.Add(s)
	}
	blank := Input{Now: now}
	full := device()
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("%q: error %T is not *Error", s, err)
			}
			if pe.Pos < 0 || pe.Pos > utf8.RuneCountInString(s)+1 || pe.Msg == "" {
				t.Fatalf("%q: error position %d out of the rule: %v", s, pe.Pos, err)
			}
			return
		}
		text := r.String()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("%q: String() %q does not parse: %v", s, text, err)
		}
		if again.String() != text {
			t.Fatalf("%q: String() %q re-parses to %q", s, text, again.String())
		}
		if !slices.Equal(r.Fields(), again.Fields()) || r.UsesTime() != again.UsesTime() {
			t.Fatalf("%q: fields %v, re-parsed %v", s, r.Fields(), again.Fields())
		}
		for _, in := range []Input{blank, full} {
			a, err1 := r.Evaluate(in)
			b, err2 := again.Evaluate(in)
			if a != b || err1 != nil || err2 != nil {
				t.Fatalf("%q: evaluates to %v, %v; re-parsed %v, %v", s, a, err1, b, err2)
			}
		}
	})
}
