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
			b.ReportAllocs()
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
	b.ReportAllocs()
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
	b.ReportAllocs()
	for b.Loop() {
		apps, err := ParseInstalledApplicationList(body)
		if err != nil || len(apps) != 300 {
			b.Fatal(len(apps), err)
		}
	}
}

// BenchmarkParseDeviceInformation decodes a full DeviceInformation answer (every query Steward asks)
// into device facts, as XML and as a binary property list.
func BenchmarkParseDeviceInformation(b *testing.B) {
	for _, ext := range formats {
		body := sample(b, "deviceinformation_full", ext)
		b.Run(ext[1:], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if info, err := ParseDeviceInformation(body); err != nil || info.Facts.SerialNumber == "" {
					b.Fatal(info, err)
				}
			}
		})
	}
}

// BenchmarkDecodeReportAcknowledged decodes the envelope of a command answer (what every connect
// with a result decodes first).
func BenchmarkDecodeReportAcknowledged(b *testing.B) {
	body := sample(b, "deviceinformation_full", ".xml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeReport(body); err != nil {
			b.Fatal(err)
		}
	}
}
