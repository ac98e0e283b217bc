package fq

import (
	"strings"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct{ name, filter string }{
		{"simple", "registrationState=ACTIVE"},
		{"typical", "registrationState=ACTIVE and (quarantined=true or jailbroken=true) and emailAddress='*@example.com' and lastCheckin >= 1596026443798"},
		{"long", strings.TrimSuffix(strings.Repeat("emailAddress EQ 'someone@example.com' OR ", 90), " OR ")},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.filter)))
			for b.Loop() {
				if f, err := Parse(c.filter, deviceFields); err != nil || f == nil {
					b.Fatal(f, err)
				}
			}
		})
	}
}
