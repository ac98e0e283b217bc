package apple

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/micromdm/plist"

	"steward/internal/mdm"
)

// Request types of the commands built here.
const (
	RequestDeviceLock               = "DeviceLock"
	RequestClearPasscode            = "ClearPasscode"
	RequestEraseDevice              = "EraseDevice"
	RequestRemoveProfile            = "RemoveProfile"
	RequestDeviceInformation        = "DeviceInformation"
	RequestInstalledApplicationList = "InstalledApplicationList"
)

// ErrNoAppleCommand is returned (wrapped) for a command type the Apple protocol has no command for
// (mdm.CmdMessage): the caller should not queue it for an Apple device.
var ErrNoAppleCommand = errors.New("apple: no MDM command for this command type")

// DeviceInformationQueries are the DeviceInformation keys asked for: those ParseDeviceInformation
// reads.
var DeviceInformationQueries = []string{
	"DeviceName", "Model", "ModelName", "ProductName", "OSVersion", "BuildVersion", "SerialNumber",
	"IMEI", "WiFiMAC", "DeviceCapacity", "AvailableDeviceCapacity", "IsRoaming",
}

// CommandOptions are what some commands need besides the queued command: ClearPasscode the
// device's UnlockToken (from its TokenUpdate), RemoveProfile the identifier of the enrollment's MDM
// profile.
type CommandOptions struct {
	UnlockToken  []byte
	MDMProfileID string
}

// CommandUUID is the CommandUUID of a queued command: its id in decimal.
func CommandUUID(id mdm.CommandID) string { return strconv.FormatInt(int64(id), 10) }

// ParseCommandUUID reads back a CommandUUID made by CommandUUID.
func ParseCommandUUID(s string) (mdm.CommandID, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || CommandUUID(mdm.CommandID(id)) != s {
		return 0, mdm.Errorf(mdm.Invalid, "command UUID %q is not one of ours", clip(s))
	}
	return mdm.CommandID(id), nil
}

// command is the body of a command sent to a device. Fields a request does not use are left out.
type command struct {
	CommandUUID string  `plist:"CommandUUID"`
	Command     request `plist:"Command"`
}

type request struct {
	RequestType string   `plist:"RequestType"`
	Message     string   `plist:"Message,omitempty"`
	PhoneNumber string   `plist:"PhoneNumber,omitempty"`
	PIN         string   `plist:"PIN,omitempty"`
	UnlockToken []byte   `plist:"UnlockToken,omitempty"`
	Identifier  string   `plist:"Identifier,omitempty"`
	Queries     []string `plist:"Queries,omitempty"`
}

// BuildCommand turns a queued command into the plist body sent to the device. Lock takes the
// payload's message, phoneNumber and pin (the PIN only macOS uses); FORCE_CHECKIN asks for the
// device's information (the app list is a separate BuildQuery). MESSAGE wraps ErrNoAppleCommand;
// missing options or an unknown type are invalid errors.
func BuildCommand(c mdm.Command, opt CommandOptions) ([]byte, error) {
	var r request
	switch c.Type {
	case mdm.CmdLock:
		r = request{RequestType: RequestDeviceLock, Message: c.Payload["message"],
			PhoneNumber: c.Payload["phoneNumber"], PIN: c.Payload["pin"]}
	case mdm.CmdUnlock:
		if len(opt.UnlockToken) == 0 {
			return nil, mdm.Errorf(mdm.Invalid, "the device has sent no unlock token, so its passcode cannot be cleared")
		}
		r = request{RequestType: RequestClearPasscode, UnlockToken: opt.UnlockToken}
	case mdm.CmdWipe:
		r = request{RequestType: RequestEraseDevice, PIN: c.Payload["pin"]}
	case mdm.CmdRetire:
		if opt.MDMProfileID == "" {
			return nil, mdm.Errorf(mdm.Invalid, "the MDM profile identifier is needed to retire the device")
		}
		r = request{RequestType: RequestRemoveProfile, Identifier: opt.MDMProfileID}
	case mdm.CmdForceCheckin:
		return BuildQuery(c.ID, RequestDeviceInformation)
	case mdm.CmdMessage:
		return nil, mdm.Wrap(mdm.Invalid, ErrNoAppleCommand, "Apple devices have no message command")
	default:
		return nil, mdm.Errorf(mdm.Invalid, "command type %q is not known", clip(c.Type))
	}
	return marshal(c.ID, r)
}

// BuildQuery builds an inventory query: RequestDeviceInformation or RequestInstalledApplicationList.
func BuildQuery(id mdm.CommandID, requestType string) ([]byte, error) {
	switch requestType {
	case RequestDeviceInformation:
		return marshal(id, request{RequestType: requestType, Queries: DeviceInformationQueries})
	case RequestInstalledApplicationList:
		return marshal(id, request{RequestType: requestType})
	}
	return nil, mdm.Errorf(mdm.Invalid, "query %q is not known", clip(requestType))
}

func marshal(id mdm.CommandID, r request) ([]byte, error) {
	if id <= 0 {
		return nil, mdm.Errorf(mdm.Invalid, "a command needs an id")
	}
	if strings.ContainsRune(r.Message+r.PhoneNumber+r.PIN, 0) {
		return nil, mdm.Errorf(mdm.Invalid, "the command's text has a NUL character")
	}
	b, err := plist.MarshalIndent(command{CommandUUID: CommandUUID(id), Command: r}, "\t")
	if err != nil {
		return nil, fmt.Errorf("apple: encode %s: %w", r.RequestType, err)
	}
	return b, nil
}
