package apple

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeCheckin(t *testing.T) {
	tests := []struct {
		name string
		want Checkin
	}{
		{"authenticate", &Authenticate{
			UDID: "00008110-000A1B2C3D4E5F60", Topic: "com.apple.mgmt.External.0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
			BuildVersion: "21A329", OSVersion: "17.0", ProductName: "iPhone14,2", SerialNumber: "F2LXK0AAAAAA",
			IMEI: "35 123456 789012 3", MEID: "35123456789012", DeviceName: "Ana’s iPhone", Model: "MLPF3", ModelName: "iPhone",
		}},
		{"authenticate_minimal", &Authenticate{UDID: "ATV-UDID-1", Topic: "com.apple.mgmt.External.x"}},
		{"tokenupdate", &TokenUpdate{
			UDID: "00008110-000A1B2C3D4E5F60", Topic: "com.apple.mgmt.External.x",
			Token:     []byte{0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90},
			PushMagic: "5C1F2A3B-0000-4000-8000-0123456789AB", UnlockToken: []byte{1, 2, 3, 4, 5, 6, 7, 8}, AwaitingConfiguration: true,
		}},
		{"tokenupdate_nounlock", &TokenUpdate{UDID: "U2", Topic: "com.apple.mgmt.External.x", Token: []byte{1, 2, 3}, PushMagic: "magic"}},
		{"checkout", &CheckOut{UDID: "U3", Topic: "com.apple.mgmt.External.x"}},
		{"authenticate_unicode", &Authenticate{UDID: "00008103-001C2D3E4F506172",
			Topic:        "com.apple.mgmt.External.0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
			BuildVersion: "22B83", OSVersion: "18.1", ProductName: "iPad14,3", SerialNumber: "H9KX2CCCCCCC",
			DeviceName: "Zoë’s iPad 📱 ✈︎", Model: "MPQ03", ModelName: "iPad"}},
		// A device enrolling through Setup Assistant: it waits for configuration and has no unlock token.
		{"tokenupdate_awaiting", &TokenUpdate{UDID: "00008103-001C2D3E4F506172", Topic: "com.apple.mgmt.External.x",
			Token: prand(32, "tok-a"), PushMagic: "0E6A7C5D-1B2C-4D3E-8F40-A1B2C3D4E5F6", AwaitingConfiguration: true}},
		// An unlock token as long as real ones (over 255 bytes: a two-byte length in the binary form).
		{"tokenupdate_unlock", &TokenUpdate{UDID: "00008110-000A1B2C3D4E5F60", Topic: "com.apple.mgmt.External.x",
			Token: prand(32, "tok-u"), PushMagic: "7D3F1A2B-9C8D-4E7F-A6B5-C4D3E2F1A0B9", UnlockToken: prand(1536, "unlock")}},
	}
	for _, tt := range tests {
		for _, ext := range formats {
			t.Run(tt.name+ext, func(t *testing.T) {
				got, err := DecodeCheckin(sample(t, tt.name, ext))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got)\n%s", diff)
				}
			})
		}
	}
}

func TestDecodeCheckinRefuses(t *testing.T) {
	const udidTopic = `<key>UDID</key><string>U</string><key>Topic</key><string>T</string>`
	tests := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"not a plist", []byte("hello")},
		{"truncated", xmlPlist(`<key>MessageType</key><string>Authenticate`)},
		{"no message type", xmlPlist(udidTopic)},
		{"message type not a string", xmlPlist(`<key>MessageType</key><integer>3</integer>` + udidTopic)},
		{"root is an array", []byte(`<plist version="1.0"><array><string>Authenticate</string></array></plist>`)},
		{"no UDID", xmlPlist(`<key>MessageType</key><string>CheckOut</string><key>Topic</key><string>T</string>`)},
		{"no topic", xmlPlist(`<key>MessageType</key><string>Authenticate</string><key>UDID</key><string>U</string>`)},
		{"UDID not a string", xmlPlist(`<key>MessageType</key><string>CheckOut</string><key>UDID</key><array/><key>Topic</key><string>T</string>`)},
		{"token not data", xmlPlist(`<key>MessageType</key><string>TokenUpdate</string>` + udidTopic +
			`<key>Token</key><integer>5</integer><key>PushMagic</key><string>m</string>`)},
		{"no token", xmlPlist(`<key>MessageType</key><string>TokenUpdate</string>` + udidTopic + `<key>PushMagic</key><string>m</string>`)},
		{"no push magic", xmlPlist(`<key>MessageType</key><string>TokenUpdate</string>` + udidTopic + `<key>Token</key><data>AQID</data>`)},
		{"awaiting configuration not a bool", xmlPlist(`<key>MessageType</key><string>TokenUpdate</string>` + udidTopic +
			`<key>Token</key><data>AQID</data><key>PushMagic</key><string>m</string><key>AwaitingConfiguration</key><string>yes</string>`)},
		{"too large", append(xmlPlist(`<key>MessageType</key><string>CheckOut</string>`+udidTopic), bytes.Repeat([]byte(" "), MaxBody)...)},
		{"binary garbage", []byte("bplist00\x00\x01\x02")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCheckin(tt.body)
			if err == nil {
				t.Fatalf("decoded %#v, want an error", got)
			}
			wantInvalid(t, err)
		})
	}
}

func TestDecodeCheckinUnknownType(t *testing.T) {
	_, err := DecodeCheckin(xmlPlist(`<key>MessageType</key><string>DeclarativeManagement</string><key>UDID</key><string>U</string>`))
	wantInvalid(t, err)
	if !errors.Is(err, ErrUnknownMessage) {
		t.Errorf("err = %v, want ErrUnknownMessage", err)
	}
}

func TestDecodeTooLarge(t *testing.T) {
	_, err := DecodeCheckin(make([]byte, MaxBody+1))
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
}

func TestTokenUpdateFormatsWithoutTokens(t *testing.T) {
	m := &TokenUpdate{UDID: "U", Topic: "T", Token: []byte("push-token-bytes"), UnlockToken: []byte("escrow-key-bytes"), PushMagic: "m"}
	for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%v %+v %#v %s", m, m, m, m)} {
		if strings.Contains(s, "escrow") || strings.Contains(s, "push-token") || strings.Contains(s, fmt.Sprint([]byte("escrow"))[1:10]) {
			t.Errorf("formatted TokenUpdate shows a token: %s", s)
		}
	}
}
