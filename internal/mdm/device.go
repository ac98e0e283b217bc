package mdm

import (
	"context"
	"time"
)

// DeviceID identifies a device within its tenant.
type DeviceID int64

// Platforms (platformType).
const (
	PlatformIOS     = "IOS"
	PlatformAndroid = "ANDROID"
)

// Device kinds (deviceKind), derived from the model a device reports (see DeviceKindFor).
const (
	KindAndroidPhone  = "ANDROID_PHONE"
	KindAndroidTablet = "ANDROID_TABLET"
	KindIPhone        = "IPHONE"
	KindIPad          = "IPAD"
	KindIPadMini      = "IPAD_MINI"
	KindAppleTV       = "APPLE_TV"
)

// Registration states (registrationState). A device is ACTIVE once registered; a retire or wipe makes
// it *_PENDING until the device confirms, then RETIRED or WIPED, which ends its credential. Retired and
// wiped devices hold no license seat and count against no user's device limit.
const (
	StateActive        = "ACTIVE"
	StateRetirePending = "RETIRE_PENDING"
	StateRetired       = "RETIRED"
	StateWipePending   = "WIPE_PENDING"
	StateWiped         = "WIPED"
)

// DeviceFacts is what a device reports about itself at registration and check-in. A check-in that
// reports facts reports all of them (the record is replaced, not merged).
type DeviceFacts struct {
	DeviceName        string
	Model             string // deviceModel, e.g. "SM-G991B", "iPhone14,2"
	PrettyModel       string // prettyModel, e.g. "Galaxy S21", "iPhone 13 Pro"
	Manufacturer      string
	OSVersion         string // platformVersion
	OSBuild           string // osBuildVersion
	SerialNumber      string
	IMEI              string
	WifiMAC           string // wifiMacAddress, lower-case aa:bb:cc:dd:ee:ff
	FormFactor        string // "phone" or "tablet" as an Android agent reports it; "" when unknown
	Jailbroken        bool   // jailbroken (iOS) or rooted (Android)
	PasscodeCompliant bool   // a passcode that meets the requirements is set
	Encrypted         bool   // storage encryption is on
	Roaming           bool
	TotalCapacityMB   int64
	AvailableCapMB    int64
	ClientVersion     string // the agent's version
}

// InstalledApp is one app a device reports as installed.
type InstalledApp struct {
	AppID   string // package name or bundle id
	Name    string
	Version string
}

// Device is a registered device with its owner and its last reported facts.
type Device struct {
	ID                DeviceID
	TenantID          TenantID
	GUID              string    // a random UUID, stable for the device's life
	AccountID         AccountID // the owner; 0 when the device has none (its owner was deleted)
	Platform          string    // PlatformIOS or PlatformAndroid
	Kind              string    // one of the Kind* constants
	RegistrationState string
	Facts             DeviceFacts
	ComplianceState   bool // true when compliant (policies in the compliance capability set it)
	Quarantined       bool
	// PolicyViolationCount and ViolatedPolicies are kept by the compliance capability.
	PolicyViolationCount int
	ViolatedPolicies     []string
	CustomAttributes     map[string]string
	AppCount             int       // installed apps last reported
	PushToken            string    // where to wake the device (FCM registration token, APNs token); "" for none
	LastCheckin          time.Time // zero: never checked in since registering
	RegisteredAt         time.Time // lastRegistrationTime
	CreatedAt            time.Time
	ModifiedAt           time.Time
	// Owner fields, joined from the account on reads ("" when there is no owner).
	OwnerUsername  string // uid
	OwnerEmail     string
	OwnerFirstName string
	OwnerLastName  string
	// FactsHash and AppsHash fingerprint the last stored facts and app list, so that a check-in writes
	// inventory only when it changed.
	FactsHash []byte
	AppsHash  []byte
}

// DeviceFields are the device fields that lists filter and sort on, by their API names.
var DeviceFields = FieldSet{
	"id": IntField, "guid": StringField, "platformType": StringField, "deviceKind": StringField,
	"registrationState": StringField, "deviceName": StringField, "deviceModel": StringField,
	"prettyModel": StringField, "manufacturer": StringField, "platformVersion": StringField,
	"serialNumber": StringField, "imei": StringField, "wifiMacAddress": StringField,
	"jailbroken": BoolField, "passcodeCompliant": BoolField, "encrypted": BoolField, "roaming": BoolField,
	"complianceState": BoolField, "quarantined": BoolField, "policyViolationCount": IntField,
	"lastCheckin": TimeField, "lastRegistrationTime": TimeField, "createdAt": TimeField,
	"ownerId": IntField, "uid": StringField, "emailAddress": StringField, "clientVersion": StringField,
}

// NewDevice is a device to register: its owner, what it reported, and the keyed hash of the credential
// issued to it (the credential itself is shown to the device once and never stored).
type NewDevice struct {
	TenantID       TenantID
	AccountID      AccountID
	GUID           string
	Platform       string
	Kind           string
	Facts          DeviceFacts
	FactsHash      []byte
	CredentialHash []byte
	// Limits: at most PerAccount devices of AccountID and Seats devices in the tenant that are not
	// RETIRED or WIPED, this one included. 0 means no limit.
	PerAccount int
	Seats      int
}

// CheckinTouch is one coalesced last-seen time.
type CheckinTouch struct {
	TenantID TenantID
	ID       DeviceID
	At       time.Time
}

// DeviceStore keeps devices and their inventory.
//
// Create registers a device and returns it; it enforces both limits of NewDevice atomically (also
// between concurrent registrations on several replicas) and returns conflict, storing nothing, when one
// is reached, with a message that names the limit. ByCredential finds the device whose credential hash
// is hash in any tenant (a device names no tenant) and returns not_found for an unknown hash or a
// RETIRED or WIPED device. Get, SetFacts, SetApps, Apps, SetCustomAttributes return not_found for an
// unknown device of the tenant. List joins the owner (emailAddress, uid). TouchCheckins writes many
// last-seen times in one statement per tenant and never moves a time backwards. SetState moves those of
// ids whose state is one of from to state and returns their ids. SetAccount gives ids a new owner of the
// same tenant (not_found for an unknown account). Delete removes those of ids that exist, with their
// apps, commands and device group memberships, and returns how many. ClearAccount leaves an account's
// devices without an owner.
// SetPushToken stores where to wake the device (not_found for an unknown device). ClearPushToken clears
// the device's push token only while it still is token, and reports whether it did (false, not an
// error, for an unknown device or one that has reported another token since). States returns the
// registration state of each of ids that is a device of the tenant (unknown ids are left out), in one
// query.
type DeviceStore interface {
	Create(ctx context.Context, d NewDevice, now time.Time) (*Device, error)
	Get(ctx context.Context, tenantID TenantID, id DeviceID) (*Device, error)
	ByCredential(ctx context.Context, hash []byte) (*Device, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[Device], error)
	ForAccount(ctx context.Context, tenantID TenantID, accountID AccountID) ([]Device, error)
	CountForAccount(ctx context.Context, tenantID TenantID, accountID AccountID) (active, ever int, err error)
	CountSeats(ctx context.Context, tenantID TenantID) (int, error)
	SetFacts(ctx context.Context, tenantID TenantID, id DeviceID, kind string, f DeviceFacts, hash []byte, now time.Time) error
	SetApps(ctx context.Context, tenantID TenantID, id DeviceID, apps []InstalledApp, hash []byte, now time.Time) error
	Apps(ctx context.Context, tenantID TenantID, id DeviceID) ([]InstalledApp, error)
	TouchCheckins(ctx context.Context, touches []CheckinTouch) error
	SetState(ctx context.Context, tenantID TenantID, ids []DeviceID, from []string, state string, now time.Time) ([]DeviceID, error)
	SetAccount(ctx context.Context, tenantID TenantID, ids []DeviceID, accountID AccountID, now time.Time) (int, error)
	SetCustomAttributes(ctx context.Context, tenantID TenantID, id DeviceID, attrs map[string]string, now time.Time) error
	Delete(ctx context.Context, tenantID TenantID, ids []DeviceID) (int, error)
	ClearAccount(ctx context.Context, tenantID TenantID, accountIDs []AccountID) error
	SetPushToken(ctx context.Context, tenantID TenantID, id DeviceID, token string, now time.Time) error
	ClearPushToken(ctx context.Context, tenantID TenantID, id DeviceID, token string, now time.Time) (bool, error)
	States(ctx context.Context, tenantID TenantID, ids []DeviceID) (map[DeviceID]string, error)
	CountByAccounts(ctx context.Context, tenantID TenantID, accountIDs []AccountID) (map[AccountID]int, error)
}

// CommandID identifies a queued command within its tenant.
type CommandID int64

// Command types. Each action of the API queues one; a platform's protocol turns it into its own form.
const (
	CmdLock         = "LOCK"          // payload: message, phoneNumber, pin (macOS)
	CmdUnlock       = "UNLOCK"        // clear the passcode
	CmdWipe         = "WIPE"          // factory reset
	CmdRetire       = "RETIRE"        // remove management, keep the user's data
	CmdForceCheckin = "FORCE_CHECKIN" // report facts and apps now
	CmdMessage      = "MESSAGE"       // payload: message (a push notification shown to the user)

	// Inventory queries, queued by the protocols themselves (Apple: at enrollment, on a schedule and
	// after FORCE_CHECKIN), never by an administrator directly.
	CmdDeviceInformation = "DEVICE_INFORMATION"
	CmdInstalledApps     = "INSTALLED_APPLICATION_LIST"

	// Configurations and apps (queued by the catalog and configurations capabilities).
	CmdInstallProfile = "INSTALL_PROFILE"     // payload: profile (base64 of a .mobileconfig)
	CmdRemoveProfile  = "REMOVE_PROFILE"      // payload: identifier (the profile's PayloadIdentifier)
	CmdInstallApp     = "INSTALL_APPLICATION" // payload: identifier, and itunesStoreId or manifestUrl
	CmdRemoveApp      = "REMOVE_APPLICATION"  // payload: identifier

	// CmdOSUpdate installs an OS update (queued by a patch group deployment). Payload: productVersion
	// (the iOS version, or the Android security patch level, the update brings) and patchId (the
	// catalog patch). Apple: ScheduleOSUpdate InstallASAP; Android agent: install the pending system update.
	CmdOSUpdate = "OS_UPDATE"
	// Android configurations (the agent protocol): APPLY_CONFIGURATION carries configurationId,
	// version and policy (the configuration's Android policy JSON); REMOVE_CONFIGURATION carries
	// configurationId.
	CmdApplyConfiguration  = "APPLY_CONFIGURATION"
	CmdRemoveConfiguration = "REMOVE_CONFIGURATION"
	// CmdRemoveContent makes the Android agent delete documents Steward distributed to it (queued by
	// the content capability when a quarantine asks for the removal of managed apps and content).
	// Payload: contentIds (comma-separated content item ids).
	CmdRemoveContent = "REMOVE_CONTENT"
)

// Command states. A command is PENDING until a device fetches it (SENT), then ACKNOWLEDGED or ERROR
// when the device answers; NOT_NOW means the device will take it later (it is sent again). CANCELLED
// commands (a cancelled wipe) are never sent.
const (
	CmdPending      = "PENDING"
	CmdSent         = "SENT"
	CmdAcknowledged = "ACKNOWLEDGED"
	CmdError        = "ERROR"
	CmdNotNow       = "NOT_NOW"
	CmdCancelled    = "CANCELLED"
)

// Command is one command queued for one device.
type Command struct {
	ID          CommandID
	TenantID    TenantID
	DeviceID    DeviceID
	Type        string
	Payload     map[string]string
	Status      string
	CreatedBy   string // the username of whoever queued it, or "system"
	CreatedAt   time.Time
	SentAt      *time.Time
	CompletedAt *time.Time
	Result      string // what the device answered (JSON or plist text), bounded
	Error       string // the device's error message for ERROR
}

// NewCommand is a command to queue for several devices at once. Collapse skips a device whose newest
// command is a PENDING one of the same type and payload: repeating it would change nothing.
type NewCommand struct {
	Type      string
	Payload   map[string]string
	CreatedBy string
	Collapse  bool
}

// CommandResult is a device's answer to one command.
type CommandResult struct {
	ID     CommandID
	Status string // CmdAcknowledged, CmdError or CmdNotNow
	Result string
	Error  string
}

// CommandFields are the command fields that command history lists filter and sort on.
var CommandFields = FieldSet{
	"id": IntField, "type": StringField, "status": StringField, "createdAt": TimeField,
	"completedAt": TimeField, "createdBy": StringField,
}

// CommandStore is the per-device FIFO command queue.
//
// Enqueue adds one command for each of deviceIDs that exists in the tenant in one of states, in one
// statement, and returns the ids of the devices it queued for. Due returns, oldest first and at most
// limit, the device's commands to deliver now: PENDING and NOT_NOW ones, and SENT ones sent before
// resendBefore (the device never answered); MarkSent marks them SENT. Complete stores a device's
// answer to its own command (not_found when the command is not the device's, or is already
// ACKNOWLEDGED, ERROR or CANCELLED) and returns the command; the one exception is an ACKNOWLEDGED
// answer to a WIPE or RETIRE that was sent and then cancelled: the device carried it out, so it is
// stored. Cancel marks the device's PENDING, SENT
// or NOT_NOW commands of type typ CANCELLED and returns how many. History lists a device's commands.
// Prune deletes at most limit ACKNOWLEDGED, ERROR and CANCELLED commands completed before before, in
// every tenant, and returns how many. Counts returns the number of commands in each state, in every
// tenant (for metrics and the queue-size report). CancelOpen marks the commands of deviceIDs of type
// typ ("" for every type) whose status is one of statuses CANCELLED, in one statement, and returns how
// many. Having returns those of deviceIDs that have a command of type typ in one of statuses. Expire
// marks at most limit open (PENDING, SENT, NOT_NOW) commands created before before ERROR with reason,
// in every tenant, WIPE and RETIRE excepted (they wait for the device however long it is away), and
// returns how many; Prune deletes them once they are old enough.
type CommandStore interface {
	Enqueue(ctx context.Context, tenantID TenantID, deviceIDs []DeviceID, states []string, c NewCommand, now time.Time) ([]DeviceID, error)
	Due(ctx context.Context, tenantID TenantID, deviceID DeviceID, resendBefore time.Time, limit int) ([]Command, error)
	MarkSent(ctx context.Context, tenantID TenantID, ids []CommandID, now time.Time) ([]CommandID, error)
	Complete(ctx context.Context, tenantID TenantID, deviceID DeviceID, r CommandResult, now time.Time) (*Command, error)
	Cancel(ctx context.Context, tenantID TenantID, deviceID DeviceID, typ string, now time.Time) (int, error)
	History(ctx context.Context, tenantID TenantID, deviceID DeviceID, opts ListOptions) (Page[Command], error)
	Prune(ctx context.Context, before time.Time, limit int) (int, error)
	Counts(ctx context.Context) (map[string]int, error)
	CancelOpen(ctx context.Context, tenantID TenantID, deviceIDs []DeviceID, typ string, statuses []string, now time.Time) (int, error)
	Having(ctx context.Context, tenantID TenantID, deviceIDs []DeviceID, typ string, statuses []string) ([]DeviceID, error)
	Expire(ctx context.Context, before, now time.Time, reason string, limit int) (int, error)
}
