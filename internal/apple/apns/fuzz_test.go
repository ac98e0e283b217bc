package apns

import (
	"os"
	"testing"
)

// FuzzParsePushCertificate: an upload is untrusted input; whatever it holds, parsing returns rather
// than panics, and a certificate without an error has a topic and a key.
func FuzzParsePushCertificate(f *testing.F) {
	k := ecKey(f)
	f.Add(cat(certPEM(newCert(f, k, testTopic, farFuture)), pkcs8PEM(f, k)), "")
	for _, file := range []string{"testdata/push.p12", "testdata/push-aes.p12"} {
		if p12, err := os.ReadFile(file); err == nil {
			f.Add(p12, "fixture-pw")
		}
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		pc, err := ParsePushCertificate(data, password)
		if err == nil && (pc == nil || pc.Topic == "" || pc.Cert.PrivateKey == nil || pc.Cert.Leaf == nil) {
			t.Fatalf("accepted an incomplete certificate: %+v", pc)
		}
	})
}
