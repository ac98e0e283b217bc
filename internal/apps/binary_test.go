package apps_test

import (
	"bytes"
	"errors"
	"testing"

	"steward/internal/apps"
	"steward/internal/apps/appstest"
)

func TestReadBinary(t *testing.T) {
	for _, c := range []struct {
		name string
		file []byte
		want apps.Binary
	}{
		{"ipa", appstest.IPA("com.example.mail", "Mail", "1.2.3", "123"),
			apps.Binary{Platform: "IOS", BundleID: "com.example.mail", Name: "Mail", Version: "1.2.3", BuildNumber: "123"}},
		{"apk", appstest.APK("com.example.chat", "5.0.1", 501),
			apps.Binary{Platform: "ANDROID", BundleID: "com.example.chat", Version: "5.0.1", BuildNumber: "501"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := apps.ReadBinary(bytes.NewReader(c.file), int64(len(c.file)))
			if err != nil {
				t.Fatal(err)
			}
			if *got != c.want {
				t.Errorf("got %+v, want %+v", *got, c.want)
			}
		})
	}
}

func TestReadBinaryRefusesJunk(t *testing.T) {
	apk := appstest.APK("com.example.chat", "5.0.1", 501)
	manifest := appstest.Manifest("com.example.chat", "5.0.1", 501)
	for name, file := range map[string][]byte{
		"empty":     {},
		"not a zip": []byte("hello"),
		"truncated": apk[:len(apk)/2],
	} {
		if _, err := apps.ReadBinary(bytes.NewReader(file), int64(len(file))); !errors.Is(err, apps.ErrNotApp) {
			t.Errorf("%s: %v, want ErrNotApp", name, err)
		}
	}
	// Every truncation and single-byte corruption of the manifest fails cleanly or parses; never panics.
	for i := range manifest {
		_, _ = apps.ParseManifest(manifest[:i])
		bad := bytes.Clone(manifest)
		bad[i] ^= 0xff
		_, _ = apps.ParseManifest(bad)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add(appstest.Manifest("com.example.chat", "5.0.1", 501))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = apps.ParseManifest(b) })
}
