package apple

import (
	"errors"
	"testing"

	"steward/internal/mdm"
)

// The seed corpora under testdata/fuzz/ hold every sample of testdata/msg in both encodings.

func FuzzCheckin(f *testing.F) {
	f.Add(xmlPlist(`<key>MessageType</key><string>CheckOut</string><key>UDID</key><string>U</string><key>Topic</key><string>T</string>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := DecodeCheckin(body)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		if msg.DeviceUDID() == "" {
			t.Fatalf("decoded %#v without a UDID", msg)
		}
	})
}

func FuzzReport(f *testing.F) {
	f.Add(xmlPlist(`<key>UDID</key><string>U</string><key>Status</key><string>Acknowledged</string><key>CommandUUID</key><string>1</string>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := DecodeReport(body); err != nil {
			mustBeInvalid(t, err)
		} else if _, _, err := r.Result(); err != nil {
			mustBeInvalid(t, err)
		}
		if _, err := ParseDeviceInformation(body); err != nil {
			mustBeInvalid(t, err)
		}
		if _, err := ParseInstalledApplicationList(body); err != nil {
			mustBeInvalid(t, err)
		}
	})
}

func mustBeInvalid(t *testing.T, err error) {
	var me *mdm.Error
	if !errors.As(err, &me) || me.Code != mdm.Invalid {
		t.Fatalf("err = %v, want an invalid mdm.Error", err)
	}
}
