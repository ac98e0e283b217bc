package policy

import (
	"fmt"
	"testing"

	"steward/internal/mdm"
)

// typicalRule mixes what custom policies use: platform, version, booleans, time, custom attributes
// and apps.
const typicalRule = `platformType = "IOS" and platformVersion < 17.2 or jailbroken or not encrypted ` +
	`or lastCheckin older than 7d or custom.department in ("sales", "support") and app("com.example.vpn") not installed ` +
	`or app("com.example.chat").version < "5.0"`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(typicalRule); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate evaluates typicalRule on a device with 100 installed apps: every term is
// evaluated (none matches).
func BenchmarkEvaluate(b *testing.B) {
	r := MustParse(typicalRule)
	in := device()
	for i := range 97 {
		in.Apps = append(in.Apps, mdm.InstalledApp{AppID: fmt.Sprintf("com.vendor.app%d", i), Version: "1.0"})
	}
	in.Apps = append(in.Apps, mdm.InstalledApp{AppID: "com.example.vpn", Version: "2.0"})
	in.Apps[0].Version = "5.2.1"
	b.ReportAllocs()
	for b.Loop() {
		v, err := r.Evaluate(in)
		if err != nil || v {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkBuiltin(b *testing.B) {
	rules := make([]*Rule, 0, len(Types))
	for _, typ := range Types {
		if typ == Custom {
			continue
		}
		r, err := Build(typ, Params{Duration: 168 * 60 * 60 * 1e9, Version: "17.2", AppIDs: []string{"com.example.games"}})
		if err != nil {
			b.Fatal(err)
		}
		rules = append(rules, r)
	}
	in := device()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rules {
			if _, err := r.Evaluate(in); err != nil {
				b.Fatal(err)
			}
		}
	}
}
