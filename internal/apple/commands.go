package apple

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
	RequestInstallProfile           = "InstallProfile"
	RequestInstallApplication       = "InstallApplication"
	RequestRemoveApplication        = "RemoveApplication"
	RequestScheduleOSUpdate         = "ScheduleOSUpdate"
)

// InstallASAP is the ScheduleOSUpdate InstallAction that downloads the update if needed and installs
// it at once (on a supervised device without asking the user).
const InstallASAP = "InstallASAP"

// OSUpdate is one entry of a ScheduleOSUpdate command's Updates.
type OSUpdate struct {
	ProductVersion string `plist:"ProductVersion,omitempty"`
	InstallAction  string `plist:"InstallAction"`
}

// ManagedApp is the InstallApplication ManagementFlags value that makes the app a managed one that
// goes with management: removing the MDM profile (retire, CheckOut) removes the app and its data.
const ManagedApp = 1

// ErrNoAppleCommand is returned (wrapped) for a command type the Apple protocol has no command for
// (mdm.CmdMessage): the caller should not queue it for an Apple device.
var ErrNoAppleCommand = errors.New("apple: no MDM command for this command type")

// DeviceInformationQueries are the DeviceInformation keys asked for: those ParseDeviceInformation
// reads.
var DeviceInformationQueries = []string{
	"DeviceName", "Model", "ModelName", "ProductName", "OSVersion", "BuildVersion", "SerialNumber",
	"IMEI", "WiFiMAC", "DeviceCapacity", "AvailableDeviceCapacity", "IsRoaming",
}

// InstalledApplicationListItems are the keys each app of an InstalledApplicationList answer is asked
// to carry (the command's Items): those ParseInstalledApplicationList reads. Without Items a device
// describes every app with all of its keys, and the answer of a device with a thousand apps or more
// outgrows MaxBody. iOS and tvOS 14 and later honour Items (Identifier always comes back); earlier
// versions and macOS ignore the key and send everything.
var InstalledApplicationListItems = []string{"Identifier", "Name", "ShortVersion", "Version"}

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
	// InstalledApplicationList: the keys wanted for each app.
	Items []string `plist:"Items,omitempty"`
	// InstallProfile: the .mobileconfig (signed or not), as it is.
	Payload []byte `plist:"Payload,omitempty"`
	// InstallApplication: where the app comes from (exactly one of the two), and how it is managed.
	ITunesStoreID   int64  `plist:"iTunesStoreID,omitempty"`
	ManifestURL     string `plist:"ManifestURL,omitempty"`
	ManagementFlags int    `plist:"ManagementFlags,omitempty"`
	// ScheduleOSUpdate: the updates to install.
	Updates []OSUpdate `plist:"Updates,omitempty"`
}

// BuildCommand turns a queued command into the plist body sent to the device:
//
//   - LOCK: DeviceLock with the payload's message, phoneNumber and pin (the PIN only macOS uses).
//   - UNLOCK: ClearPasscode with opt.UnlockToken; WIPE: EraseDevice; RETIRE: RemoveProfile of
//     opt.MDMProfileID.
//   - FORCE_CHECKIN and DEVICE_INFORMATION: DeviceInformation (BuildQuery); INSTALLED_APPLICATION_LIST:
//     InstalledApplicationList asking for InstalledApplicationListItems only.
//   - INSTALL_PROFILE: InstallProfile whose Payload is the payload's "profile" decoded from base64.
//   - REMOVE_PROFILE and REMOVE_APPLICATION: RemoveProfile and RemoveApplication of the payload's
//     "identifier".
//   - INSTALL_APPLICATION: InstallApplication from the payload's "itunesStoreId" (a positive integer) or
//     "manifestUrl" (an https URL), exactly one, with ManagementFlags ManagedApp. The payload's
//     "identifier" (the app's bundle id) is required too, for the queue and RemoveApplication, but not
//     sent: Apple's InstallApplication takes one source only (store id, bundle id or manifest URL).
//   - OS_UPDATE: ScheduleOSUpdate of the payload's "productVersion" (an OS version such as 17.4.1)
//     with InstallAction InstallASAP.
//
// MESSAGE wraps ErrNoAppleCommand; missing options, a missing or malformed payload value or an
// unknown type are invalid errors.
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
	case mdm.CmdForceCheckin, mdm.CmdDeviceInformation:
		return BuildQuery(c.ID, RequestDeviceInformation)
	case mdm.CmdInstalledApps:
		return BuildQuery(c.ID, RequestInstalledApplicationList)
	case mdm.CmdInstallProfile:
		profile, err := profilePayload(c.Payload["profile"])
		if err != nil {
			return nil, err
		}
		r = request{RequestType: RequestInstallProfile, Payload: profile}
	case mdm.CmdRemoveProfile, mdm.CmdRemoveApp:
		id, err := identifier(c.Payload)
		if err != nil {
			return nil, err
		}
		r = request{RequestType: map[string]string{mdm.CmdRemoveProfile: RequestRemoveProfile,
			mdm.CmdRemoveApp: RequestRemoveApplication}[c.Type], Identifier: id}
	case mdm.CmdInstallApp:
		var err error
		if r, err = installApplication(c.Payload); err != nil {
			return nil, err
		}
	case mdm.CmdOSUpdate:
		v := c.Payload["productVersion"]
		if !osVersion(v) {
			return nil, mdm.Errorf(mdm.Invalid, "the OS update command needs a productVersion such as 17.4.1")
		}
		r = request{RequestType: RequestScheduleOSUpdate, Updates: []OSUpdate{{ProductVersion: v, InstallAction: InstallASAP}}}
	case mdm.CmdMessage:
		return nil, mdm.Wrap(mdm.Invalid, ErrNoAppleCommand, "Apple devices have no message command")
	default:
		return nil, mdm.Errorf(mdm.Invalid, "command type %q is not known", clip(c.Type))
	}
	return marshal(c.ID, r)
}

// Payload bounds of the commands built here.
const (
	maxIdentifier = 255
	maxURL        = 2048
)

// osVersion reports whether v is an Apple OS version: one to three dot-separated numbers.
func osVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// profilePayload decodes an INSTALL_PROFILE payload's profile: standard base64 (line breaks allowed),
// not empty.
func profilePayload(b64 string) ([]byte, error) {
	if strings.TrimSpace(b64) == "" {
		return nil, mdm.Errorf(mdm.Invalid, "the command has no profile to install")
	}
	clean := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b64)
	profile, err := base64.StdEncoding.DecodeString(clean)
	if err != nil || len(profile) == 0 {
		return nil, mdm.Errorf(mdm.Invalid, "the command's profile is not base64")
	}
	return profile, nil
}

// identifier is the payload's "identifier" (a profile's PayloadIdentifier or an app's bundle id).
func identifier(p map[string]string) (string, error) {
	id := p["identifier"]
	if id == "" {
		return "", mdm.Errorf(mdm.Invalid, "the command has no identifier")
	}
	if !plainText(id, maxIdentifier) {
		return "", mdm.Errorf(mdm.Invalid, "the command's identifier must be at most %d printable characters", maxIdentifier)
	}
	return id, nil
}

// installApplication builds InstallApplication from its payload (see BuildCommand).
func installApplication(p map[string]string) (request, error) {
	if _, err := identifier(p); err != nil {
		return request{}, err
	}
	storeID, manifest := p["itunesStoreId"], p["manifestUrl"]
	r := request{RequestType: RequestInstallApplication, ManagementFlags: ManagedApp}
	switch {
	case storeID != "" && manifest != "":
		return request{}, mdm.Errorf(mdm.Invalid, "give the app's itunesStoreId or its manifestUrl, not both")
	case storeID != "":
		id, err := strconv.ParseInt(storeID, 10, 64)
		if err != nil || id <= 0 {
			return request{}, mdm.Errorf(mdm.Invalid, "the app's itunesStoreId must be a positive integer")
		}
		r.ITunesStoreID = id
	case manifest != "":
		u, err := url.Parse(manifest)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || !plainText(manifest, maxURL) {
			return request{}, mdm.Errorf(mdm.Invalid, "the app's manifestUrl must be an https URL of at most %d characters", maxURL)
		}
		r.ManifestURL = manifest
	default:
		return request{}, mdm.Errorf(mdm.Invalid, "give the app's itunesStoreId or its manifestUrl")
	}
	return r, nil
}

// plainText reports whether s is valid UTF-8 of at most max bytes without control characters, so
// that it goes into an XML plist as it is.
func plainText(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// BuildQuery builds an inventory query: RequestDeviceInformation or RequestInstalledApplicationList.
func BuildQuery(id mdm.CommandID, requestType string) ([]byte, error) {
	switch requestType {
	case RequestDeviceInformation:
		return marshal(id, request{RequestType: requestType, Queries: DeviceInformationQueries})
	case RequestInstalledApplicationList:
		return marshal(id, request{RequestType: requestType, Items: InstalledApplicationListItems})
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
