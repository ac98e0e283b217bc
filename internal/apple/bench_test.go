package apple

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkDecodeCheckin(b *testing.B) {
	for _, ext := range formats {
		body := sample(b, "authenticate", ext)
		b.Run(ext[1:], func(b *testing.B) {
			for b.Loop() {
				if _, err := DecodeCheckin(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeReportIdle(b *testing.B) {
	body := sample(b, "report_idle", ".xml")
	for b.Loop() {
		if _, err := DecodeReport(body); err != nil {
			b.Fatal(err)
		}
	}
}

// A device with 300 apps: about the size of a large real InstalledApplicationList.
func BenchmarkParseInstalledApplicationList300(b *testing.B) {
	var sb strings.Builder
	for i := range 300 {
		fmt.Fprintf(&sb, `<dict><key>Identifier</key><string>com.example.app%d</string><key>Name</key><string>App %d</string>`+
			`<key>ShortVersion</key><string>1.%d</string><key>Version</key><string>%d</string><key>BundleSize</key><integer>%d</integer></dict>`, i, i, i, i, i*1000)
	}
	body := xmlPlist(`<key>InstalledApplicationList</key><array>` + sb.String() + `</array>`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		apps, err := ParseInstalledApplicationList(body)
		if err != nil || len(apps) != 300 {
			b.Fatal(len(apps), err)
		}
	}
}
