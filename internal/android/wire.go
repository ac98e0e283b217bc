// Package android serves Steward's Android agent protocol, version 1, under /api/agent/v1:
//
//	POST /api/agent/v1/register          RegisterRequest → RegisterResponse (201)
//	POST /api/agent/v1/checkin           CheckinRequest  → CheckinResponse
//	GET  /api/agent/v1/commands          → CommandsResponse (the due commands, now marked sent)
//	PUT  /api/agent/v1/commands/{id}     CommandResult   → {} (the answer to one command)
//
// Every body is JSON inside the API envelope ({"errors": …, "result": …}). Register authenticates the
// user with the credentials their registration setting asks for and returns the device's credential
// (shown once). Every other call carries it as "Authorization: Bearer <credential>"; an unknown,
// retired or wiped device's credential gets 401. A check-in may carry the full facts and app list (when
// they changed; omit them otherwise), answers to commands, and the device's push token; its reply holds
// the due commands, the registration state and the check-in interval. A device that is woken by a push
// (data message {"steward":"wake"}) checks in at once.
//
// Command types: LOCK (payload message, phoneNumber), UNLOCK, WIPE, RETIRE, FORCE_CHECKIN (report full
// facts and apps now), MESSAGE (payload message) and OS_UPDATE (payload productVersion: the security
// patch level, or OS version, the patch group deployment asked for, and patchId: the catalog patch).
// For OS_UPDATE the agent installs the system update the device offers (Android cannot pin one patch
// level), answers ACKNOWLEDGED once the install is started (ERROR when no update is available or the
// install is refused), and reports its new facts at the next check-in.
// The app commands of the app capability: INSTALL_APPLICATION (payload identifier — the package
// name —, name; for an in-house app also version, downloadUrl and sha256: download the .apk from
// downloadUrl with the device credential, check its SHA-256 and install it; a public app is installed
// from Google Play) and REMOVE_APPLICATION (payload identifier). Answer an install ACKNOWLEDGED once
// the app is installed (the next check-in reports it in apps), ERROR when it cannot be. GET
// /api/agent/v1/catalog lists the apps the device may install (its App Catalog).
// REMOVE_CONTENT (payload contentIds: comma-separated content item ids) asks the agent to delete the
// documents of those items it downloaded through the content routes; it is queued when a compliance
// quarantine asks for the removal of managed apps and content. Answer ACKNOWLEDGED once they are
// deleted (ids it never downloaded included); the content catalog refuses a quarantined device, and
// after release the agent downloads from it again.
// An agent answers ERROR "unsupported" to a type it does not know.
//
// Bodies are application/json only (415 otherwise) and at most 1 MiB (413). Fields the server does not
// know are ignored, so that an agent newer than the server keeps working against it; a field with a
// bad value gets 400 with fieldErrors naming it by its wire path (facts.deviceModel, results[0].status).
// Every 401 carries "WWW-Authenticate: Bearer".
//
// Limits (devices.Max…, the same for every protocol): each text fact and each app's appId, name and
// version at most 256 bytes; at most 5000 apps in one report; a push token at most 4096 bytes; at most
// 100 results in one check-in; a result's text at most 64 KiB (65536 bytes) and its error at most 4 KiB
// (4096 bytes). A value at its limit is accepted; one byte or item more gets 400 naming the field.
package android

// Facts is what the agent reports about the device. Booleans the agent cannot tell are false.
type Facts struct {
	DeviceName        string `json:"deviceName"`
	Model             string `json:"deviceModel"`
	PrettyModel       string `json:"prettyModel,omitempty"`
	Manufacturer      string `json:"manufacturer"`
	OSVersion         string `json:"platformVersion"`
	OSBuild           string `json:"osBuildVersion,omitempty"`
	SerialNumber      string `json:"serialNumber,omitempty"`
	IMEI              string `json:"imei,omitempty"`
	WifiMAC           string `json:"wifiMacAddress,omitempty"`
	FormFactor        string `json:"formFactor,omitempty"` // "phone" or "tablet"
	Rooted            bool   `json:"rooted"`
	PasscodeCompliant bool   `json:"passcodeCompliant"`
	Encrypted         bool   `json:"encrypted"`
	Roaming           bool   `json:"roaming"`
	TotalCapacityMB   int64  `json:"totalCapacityMB,omitempty"`
	AvailableCapMB    int64  `json:"availableCapacityMB,omitempty"`
	ClientVersion     string `json:"clientVersion,omitempty"`
}

// App is one installed app.
type App struct {
	AppID   string `json:"appId"` // package name
	Name    string `json:"name"`
	Version string `json:"version"`
}

// RegisterRequest registers a device for a user. PIN and Password are what the user's registration
// setting asks for (the invitation PIN on the first registration).
type RegisterRequest struct {
	Username  string `json:"username"`
	PIN       string `json:"pin,omitempty"`
	Password  string `json:"password,omitempty"`
	Facts     Facts  `json:"facts"`
	Apps      []App  `json:"apps,omitempty"`
	PushToken string `json:"pushToken,omitempty"`
}

// RegisterResponse carries the device's credential, shown this once.
type RegisterResponse struct {
	DeviceID               int64  `json:"deviceId"`
	GUID                   string `json:"guid"`
	Credential             string `json:"credential"`
	DeviceKind             string `json:"deviceKind"`
	RegistrationState      string `json:"registrationState"`
	CheckinIntervalSeconds int    `json:"checkinIntervalSeconds"`
}

// Command is one command for the device to carry out, in order.
type Command struct {
	ID      int64             `json:"id"`
	Type    string            `json:"type"` // LOCK, UNLOCK, WIPE, RETIRE, FORCE_CHECKIN, MESSAGE, OS_UPDATE, INSTALL_APPLICATION, REMOVE_APPLICATION, APPLY_CONFIGURATION, REMOVE_CONFIGURATION, REMOVE_CONTENT
	Payload map[string]string `json:"payload,omitempty"`
}

// CommandResult is the device's answer to one command.
type CommandResult struct {
	ID     int64  `json:"id"`
	Status string `json:"status"` // ACKNOWLEDGED, ERROR or NOT_NOW
	Error  string `json:"error,omitempty"`
	Result string `json:"result,omitempty"`
}

// CheckinRequest is one check-in. Facts and Apps are omitted when unchanged since the last report.
type CheckinRequest struct {
	Facts     *Facts          `json:"facts,omitempty"`
	Apps      *[]App          `json:"apps,omitempty"`
	Results   []CommandResult `json:"results,omitempty"`
	PushToken *string         `json:"pushToken,omitempty"`
}

// CheckinResponse tells the device what to do next.
type CheckinResponse struct {
	Commands               []Command `json:"commands"`
	RegistrationState      string    `json:"registrationState"`
	CheckinIntervalSeconds int       `json:"checkinIntervalSeconds"`
}

// CommandsResponse lists the due commands.
type CommandsResponse struct {
	Commands []Command `json:"commands"`
}
