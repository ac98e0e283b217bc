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

// FuzzBuildCommand: whatever payload a command carries, BuildCommand refuses it as invalid or builds a
// well-formed plist body that reads back as the command it was built from.
func FuzzBuildCommand(f *testing.F) {
	seeds := []struct{ typ, k1, v1, k2, v2 string }{
		{mdm.CmdLock, "message", "Return to IT", "phoneNumber", "+1 555 0100"},
		{mdm.CmdUnlock, "", "", "", ""},
		{mdm.CmdWipe, "", "", "", ""},
		{mdm.CmdRetire, "", "", "", ""},
		{mdm.CmdForceCheckin, "", "", "", ""},
		{mdm.CmdDeviceInformation, "", "", "", ""},
		{mdm.CmdInstalledApps, "", "", "", ""},
		{mdm.CmdInstallProfile, "profile", "PD94bWw+", "", ""},
		{mdm.CmdRemoveProfile, "identifier", "com.example.wifi", "", ""},
		{mdm.CmdInstallApp, "identifier", "com.example.notes", "itunesStoreId", "1234567890"},
		{mdm.CmdInstallApp, "identifier", "com.example.inhouse", "manifestUrl", "https://apps.example.com/m.plist"},
		{mdm.CmdRemoveApp, "identifier", "com.example.notes", "", ""},
		{mdm.CmdMessage, "message", "hi", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.typ, int64(7), s.k1, s.v1, s.k2, s.v2)
	}
	f.Fuzz(func(t *testing.T, typ string, id int64, k1, v1, k2, v2 string) {
		payload := map[string]string{}
		for k, v := range map[string]string{k1: v1, k2: v2} {
			if k != "" {
				payload[k] = v
			}
		}
		body, err := BuildCommand(mdm.Command{ID: mdm.CommandID(id), Type: typ, Payload: payload},
			CommandOptions{UnlockToken: []byte{1, 2}, MDMProfileID: "com.example.mdm"})
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		var got command
		if err := decode(body, &got); err != nil {
			t.Fatalf("built body does not decode: %v\n%s", err, body)
		}
		if got.CommandUUID != CommandUUID(mdm.CommandID(id)) || got.Command.RequestType == "" {
			t.Fatalf("built %+v for command %d of type %s", got, id, typ)
		}
		switch typ {
		case mdm.CmdInstallProfile:
			if len(got.Command.Payload) == 0 {
				t.Fatalf("InstallProfile without a payload: %s", body)
			}
		case mdm.CmdInstallApp:
			if (got.Command.ITunesStoreID > 0) == (got.Command.ManifestURL != "") || got.Command.ManagementFlags != ManagedApp {
				t.Fatalf("InstallApplication must name one source and be managed: %+v", got.Command)
			}
		case mdm.CmdRemoveProfile, mdm.CmdRemoveApp:
			if got.Command.Identifier != payload["identifier"] {
				t.Fatalf("identifier %q came back as %q", payload["identifier"], got.Command.Identifier)
			}
		}
	})
}
