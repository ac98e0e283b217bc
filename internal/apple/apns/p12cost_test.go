package apns

import (
	"bytes"
	"strings"
	"testing"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// A PKCS#12 file naming millions of key derivation rounds is refused before any is done; a file with
// an ordinary count parses.
func TestPKCS12IterationCap(t *testing.T) {
	k := ecKey(t)
	leaf := newCert(t, k, testTopic, farFuture)
	for _, enc := range []*gopkcs12.Encoder{gopkcs12.Modern, gopkcs12.LegacyDES} {
		// 65,536 rounds is the INTEGER 02 03 01 00 00, which the test can raise in place.
		data, err := enc.WithIterations(1<<16).Encode(k, leaf, nil, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParsePushCertificate(data, "pw"); err != nil {
			t.Fatalf("65,536 rounds: %v", err)
		}
		count := []byte{0x02, 0x03, 0x01, 0x00, 0x00}
		if bytes.Count(data, count) < 2 {
			t.Fatalf("the iteration counts are not where the test expects them")
		}
		costly := bytes.ReplaceAll(data, count, []byte{0x02, 0x03, 0x7f, 0xff, 0xff}) // 8,388,607 rounds
		if _, err := ParsePushCertificate(costly, "pw"); err == nil || !strings.Contains(err.Error(), "key derivation rounds") {
			t.Errorf("8,388,607 rounds: %v, want a refusal naming the rounds", err)
		}
	}
}
