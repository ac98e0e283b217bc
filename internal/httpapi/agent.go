package httpapi

import (
	"fmt"

	"steward/internal/android"
	"steward/internal/devices"
)

// agentAuth says how the agent protocol authenticates, in the route descriptions.
const agentAuth = "Authenticated by the device credential (Bearer) that registration returned: " +
	"Authorization: Bearer <credential>. A missing, unknown, retired or wiped device's credential gets 401 with " +
	"WWW-Authenticate: Bearer. "

// agentBody states the protocol's body rules, in the route descriptions.
const agentBody = "Bodies are JSON only (415 otherwise) and at most 1 MiB (413); fields the server does not know are ignored " +
	"(an agent newer than the server keeps working); bad fields get 400 with fieldErrors."

// agentLimits states the limits on what a device reports, in the route descriptions.
var agentLimits = fmt.Sprintf("Limits: each text fact and each app's appId, name and version at most %d bytes; at most %d apps; "+
	"pushToken at most %d bytes; at most %d results per check-in; a result's result at most %d bytes (64 KiB) and its "+
	"error at most %d bytes (4 KiB). A value at its limit is accepted; one byte or item more gets 400 naming the field. ",
	devices.MaxFactBytes, devices.MaxApps, devices.MaxPushTokenBytes, devices.MaxResults, devices.MaxResultBytes, devices.MaxErrorBytes)

// agentRoutes serves Steward's Android agent protocol, version 1 (package android has the wire types).
func (a *API) agentRoutes() {
	if a.agent == nil {
		return
	}
	a.add(Route{Method: "POST", Path: "/api/agent/v1/register", Tag: "Android agent",
		Summary: "Register an Android device (201)",
		Description: "username is the user's UID; pin and password are what the user's registration setting asks for (the " +
			"invitation PIN on the first registration). facts.deviceModel and facts.platformVersion are required; " +
			"rooted maps to jailbroken. The result holds the device's credential, shown this once: present it as a Bearer " +
			"credential on every other agent call. Limits (devices per user, license seats) give 409 and register nothing. " +
			agentLimits + agentBody,
		Body: android.RegisterRequest{}, Result: android.RegisterResponse{}, JSONOnly: true, Status: 201},
		a.agent.Register)

	const agentCommands = "Command types: LOCK (payload message, phoneNumber), UNLOCK, WIPE, RETIRE, FORCE_CHECKIN, " +
		"MESSAGE (payload message); APPLY_CONFIGURATION (payload configurationId, version and policy: a JSON object " +
		"{type, configurationId, version, name, settings} whose settings are the configuration's attributes, secrets " +
		"included) applies a configuration, replacing any earlier version of the same configurationId; " +
		"REMOVE_CONFIGURATION (payload configurationId, version) removes it. Answer ERROR with a message when a " +
		"configuration cannot be applied: the console shows it per device. "
	a.add(Route{Method: "POST", Path: "/api/agent/v1/checkin", Tag: "Android agent", DeviceAuth: true,
		Summary: "Check in: report facts, apps and command results; get the due commands",
		Description: agentAuth + "Send facts and apps only when they changed since the last report (the stored inventory " +
			"is replaced, not merged); results answer commands (ACKNOWLEDGED, ERROR or NOT_NOW); pushToken is where to " +
			"wake the device. The reply holds the due commands (now SENT), the registration state and the interval in " +
			"seconds until the next check-in. " + agentCommands + agentLimits + agentBody,
		Body: android.CheckinRequest{}, Result: android.CheckinResponse{}, JSONOnly: true},
		a.agent.Checkin)

	a.add(Route{Method: "GET", Path: "/api/agent/v1/commands", Tag: "Android agent", DeviceAuth: true,
		Summary:     "Fetch the due commands, oldest first (they become SENT)",
		Description: agentAuth + "Commands the device does not answer are sent again later.",
		Query:       []Param{{"limit", "integer", "at most this many, 1 to 100 (default 10)"}},
		Result:      android.CommandsResponse{}},
		a.agent.Commands)

	a.add(Route{Method: "PUT", Path: "/api/agent/v1/commands/{id}", Tag: "Android agent", DeviceAuth: true,
		Summary: "Answer one command",
		Description: agentAuth + "status ACKNOWLEDGED, ERROR (with error) or NOT_NOW (sent again later); result is free text " +
			fmt.Sprintf("(at most %d bytes, 64 KiB; error at most %d bytes, 4 KiB). ", devices.MaxResultBytes, devices.MaxErrorBytes) +
			"An acknowledged WIPE or RETIRE makes the device WIPED or RETIRED and ends its credential. A command " +
			"that is not this device's, or already answered, is 404. " + agentBody,
		Body: android.CommandResult{}, Result: struct{}{}, JSONOnly: true},
		a.agent.Acknowledge)
}
