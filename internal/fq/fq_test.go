package fq

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

var deviceFields = mdm.FieldSet{
	"registrationState": mdm.StringField, "quarantined": mdm.BoolField, "jailbroken": mdm.BoolField,
	"complianceState": mdm.BoolField, "emailAddress": mdm.StringField, "lastCheckin": mdm.TimeField,
}

func cmpf(field string, op mdm.Op, v any) mdm.Compare {
	return mdm.Compare{Field: field, Op: op, Value: v}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want mdm.Filter
	}{
		{"", nil},
		{"emailAddress=a@example.com", cmpf("emailAddress", mdm.Eq, "a@example.com")},
		{"EMAILADDRESS EQ 'a b@x.io'", cmpf("emailAddress", mdm.Eq, "a b@x.io")},
		{"registrationState=ACTIVE and (quarantined=true or jailbroken=true or complianceState=false)", mdm.And{
			cmpf("registrationState", mdm.Eq, "ACTIVE"),
			mdm.Or{
				cmpf("quarantined", mdm.Eq, true),
				cmpf("jailbroken", mdm.Eq, true),
				cmpf("complianceState", mdm.Eq, false),
			},
		}},
		{"lastCheckin >= 1596026443798 AND NOT quarantined != false", mdm.And{
			cmpf("lastCheckin", mdm.Ge, int64(1596026443798)),
			mdm.Not{Term: cmpf("quarantined", mdm.Ne, false)},
		}},
		{"emailAddress=Voilà\u00a0and emailAddress=à", mdm.And{ // a no-break space separates words too
			cmpf("emailAddress", mdm.Eq, "Voilà"),
			cmpf("emailAddress", mdm.Eq, "à"),
		}},
		{"emailAddress='it''s@x.io' or emailAddress=\"q@x.io\"", mdm.Or{
			cmpf("emailAddress", mdm.Eq, "it's@x.io"),
			cmpf("emailAddress", mdm.Eq, "q@x.io"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, deviceFields)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"bogus=1", `at position 1: unknown field "bogus"`},
		{"registrationState", "at position 18: expected an operator"},
		{"registrationState=", "at position 19: expected a value"},
		{"(quarantined=true", "at position 18: expected ')'"},
		{"quarantined=maybe", `at position 13: quarantined: "maybe" is not true or false`},
		{"quarantined>true", "use = or !="},
		{"lastCheckin=yesterday", "is not a whole number"},
		{"emailAddress='open", "unterminated quoted value"},
		{"emailAddress!x", `unknown operator "!"`},
		{"emailAddress==x", `unknown operator "=="`},
		{"emailAddress<>x", `unknown operator "<>"`},
		{"émailAddress=x", `at position 1: unknown field "émailAddress"`},
		{"emailAddress=à bogus", `at position 16: unexpected 'bogus'`},
		{"quarantined=true)", "unexpected ')'"},
		{"quarantined=true and", "expected a comparison"},
		{strings.Repeat("(", 40) + "quarantined=true" + strings.Repeat(")", 40), "nests deeper"},
		{strings.Repeat("x", MaxLength+1), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in, deviceFields)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"registrationState=ACTIVE and (quarantined=true or jailbroken=true)",
		"EMAILADDRESS EQ 'x'", "not (a=1", "lastCheckin>=5", "'", "((((", "x!=\"y\"\"\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Parse(s, deviceFields) // must not panic
	})
}
