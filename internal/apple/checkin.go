package apple

import (
	"errors"
	"fmt"

	"steward/internal/mdm"
)

// CheckinContentType is the content type of check-in requests.
const CheckinContentType = "application/x-apple-aspen-mdm-checkin"

// ErrUnknownMessage is returned (wrapped) for a check-in whose MessageType is not one handled here.
var ErrUnknownMessage = errors.New("apple: unknown check-in message type")

// Checkin is a decoded check-in message: *Authenticate, *TokenUpdate or *CheckOut.
type Checkin interface {
	DeviceUDID() string
}

// Authenticate is the first check-in of an enrolling device.
type Authenticate struct {
	UDID         string `plist:"UDID"`
	Topic        string `plist:"Topic"`
	BuildVersion string `plist:"BuildVersion"`
	OSVersion    string `plist:"OSVersion"`
	ProductName  string `plist:"ProductName"`
	SerialNumber string `plist:"SerialNumber"`
	IMEI         string `plist:"IMEI"`
	MEID         string `plist:"MEID"`
	DeviceName   string `plist:"DeviceName"`
	Model        string `plist:"Model"`
	ModelName    string `plist:"ModelName"`
}

// TokenUpdate tells where to push the device. It comes after Authenticate and whenever the token
// changes. UnlockToken is the escrow key ClearPasscode needs; a secret, never to be logged.
type TokenUpdate struct {
	UDID                  string `plist:"UDID"`
	Topic                 string `plist:"Topic"`
	Token                 []byte `plist:"Token"`
	PushMagic             string `plist:"PushMagic"`
	UnlockToken           []byte `plist:"UnlockToken"`
	AwaitingConfiguration bool   `plist:"AwaitingConfiguration"`
}

// CheckOut says the device removed its MDM profile.
type CheckOut struct {
	UDID  string `plist:"UDID"`
	Topic string `plist:"Topic"`
}

func (m *Authenticate) DeviceUDID() string { return m.UDID }
func (m *TokenUpdate) DeviceUDID() string  { return m.UDID }
func (m *CheckOut) DeviceUDID() string     { return m.UDID }

// String and GoString leave out the token and the unlock token, so that a logged TokenUpdate gives
// away neither.
func (m *TokenUpdate) String() string {
	return fmt.Sprintf("TokenUpdate{UDID:%q Topic:%q Token:%d bytes UnlockToken:%d bytes AwaitingConfiguration:%v}",
		m.UDID, m.Topic, len(m.Token), len(m.UnlockToken), m.AwaitingConfiguration)
}

func (m *TokenUpdate) GoString() string { return m.String() }

// DecodeCheckin decodes a check-in body (XML or binary plist, at most MaxBody bytes). Errors are
// mdm.Error with code invalid; an unknown MessageType wraps ErrUnknownMessage.
func DecodeCheckin(body []byte) (Checkin, error) {
	var head struct {
		MessageType string `plist:"MessageType"`
	}
	if err := decode(body, &head); err != nil {
		return nil, err
	}
	var msg Checkin
	switch head.MessageType {
	case "Authenticate":
		msg = new(Authenticate)
	case "TokenUpdate":
		msg = new(TokenUpdate)
	case "CheckOut":
		msg = new(CheckOut)
	case "":
		return nil, mdm.Errorf(mdm.Invalid, "the check-in has no MessageType")
	default:
		return nil, mdm.Wrap(mdm.Invalid, ErrUnknownMessage, fmt.Sprintf("check-in message type %q is not supported", clip(head.MessageType)))
	}
	if err := decode(body, msg); err != nil {
		return nil, err
	}
	if err := validateCheckin(msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func validateCheckin(msg Checkin) error {
	if msg.DeviceUDID() == "" {
		return mdm.Errorf(mdm.Invalid, "the check-in has no UDID")
	}
	var topic string
	switch m := msg.(type) {
	case *Authenticate:
		topic = m.Topic
	case *TokenUpdate:
		topic = m.Topic
		if len(m.Token) == 0 {
			return mdm.Errorf(mdm.Invalid, "the TokenUpdate has no Token")
		}
		if m.PushMagic == "" {
			return mdm.Errorf(mdm.Invalid, "the TokenUpdate has no PushMagic")
		}
	case *CheckOut:
		topic = m.Topic
	}
	if topic == "" {
		return mdm.Errorf(mdm.Invalid, "the check-in has no Topic")
	}
	return nil
}

// clip bounds a device-supplied string quoted back in an error message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
