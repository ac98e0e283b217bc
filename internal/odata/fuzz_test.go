package odata

import (
	"net/url"
	"strings"
	"testing"

	"steward/internal/mdm"
)

// FuzzParseFilter: the parser never panics, answers every input within its bounds, reports errors with
// a position, and what it accepts names only known store fields with values of their kind.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"DeviceName eq 'Pixel'",
		"contains(DeviceName,'pix') and (OS/Version eq '15' or not Compliant eq true)",
		"startswith(System/SerialNumber,'SN') or endswith(Owner/Email,'@x.com')",
		"LastSeen ge 2025-01-31T12:00:00Z and LastSeen ne null",
		"DeviceName eq 'it''s'",
		"(DeviceName eq 'a'",
		"not not not Quarantined eq false",
		"DiscoveryId eq '3f2a' and Network/IMEI eq '35'",
	} {
		f.Add(s)
	}
	known := map[string]mdm.FieldKind{}
	for _, p := range Devices.Paths {
		known[p.Field] = p.Kind
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFilter(s, Devices)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "at ") && !strings.HasPrefix(msg, "longer than") && msg != "not valid UTF-8" {
				t.Fatalf("%q: error without a position: %v", s, err)
			}
			return
		}
		var check func(f mdm.Filter, depth int)
		check = func(f mdm.Filter, depth int) {
			if depth > 2*MaxDepth+2 {
				t.Fatalf("%q: filter deeper than the bound", s)
			}
			switch f := f.(type) {
			case nil:
				if strings.TrimSpace(s) != "" {
					t.Fatalf("%q: nil filter for a non-empty input", s)
				}
			case mdm.And:
				for _, x := range f {
					check(x, depth+1)
				}
			case mdm.Or:
				for _, x := range f {
					check(x, depth+1)
				}
			case mdm.Not:
				check(f.Term, depth+1)
			case mdm.Compare:
				kind, ok := known[f.Field]
				if !ok {
					t.Fatalf("%q: unknown field %s", s, f.Field)
				}
				switch f.Value.(type) {
				case string:
					ok = kind == mdm.StringField
				case bool:
					ok = kind == mdm.BoolField && (f.Op == mdm.Eq || f.Op == mdm.Ne)
				case int64:
					ok = kind == mdm.IntField || kind == mdm.TimeField
				default:
					ok = false
				}
				if !ok {
					t.Fatalf("%q: %s %s %#v does not fit the field's kind", s, f.Field, f.Op, f.Value)
				}
			default:
				t.Fatalf("%q: unexpected node %T", s, f)
			}
		}
		check(got, 0)
		// The whole query never panics either.
		Parse(url.Values{"$filter": {s}, "$orderby": {s}, "$select": {s}}, Devices)
	})
}

func BenchmarkParseFilter(b *testing.B) {
	for _, c := range []struct{ name, filter string }{
		{"simple", "DeviceName eq 'Pixel 8'"},
		{"typical", "contains(DeviceName,'pix') and (OS/Version eq '15' or not Compliant eq true) and LastSeen ge 2025-01-31T12:00:00Z"},
		{"max", strings.TrimSuffix(strings.Repeat("contains(DeviceName,'abcdef') or ", 60), " or ")},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.filter)))
			for b.Loop() {
				if _, err := ParseFilter(c.filter, Devices); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
