package android

import (
	"time"

	"steward/internal/devices"
	"steward/internal/mdm"
)

// factsIn maps what the agent reports to the device facts. An Android agent reports "rooted"; the
// device record calls it jailbroken, as the API does for both platforms.
func factsIn(f Facts) mdm.DeviceFacts {
	return mdm.DeviceFacts{
		DeviceName: f.DeviceName, Model: f.Model, PrettyModel: f.PrettyModel, Manufacturer: f.Manufacturer,
		OSVersion: f.OSVersion, OSBuild: f.OSBuild, SerialNumber: f.SerialNumber, IMEI: f.IMEI,
		WifiMAC: f.WifiMAC, FormFactor: f.FormFactor, Jailbroken: f.Rooted, PasscodeCompliant: f.PasscodeCompliant,
		Encrypted: f.Encrypted, Roaming: f.Roaming, TotalCapacityMB: f.TotalCapacityMB,
		AvailableCapMB: f.AvailableCapMB, ClientVersion: f.ClientVersion,
	}
}

func appsIn(apps []App) []mdm.InstalledApp {
	out := make([]mdm.InstalledApp, 0, len(apps))
	for _, a := range apps {
		out = append(out, mdm.InstalledApp{AppID: a.AppID, Name: a.Name, Version: a.Version})
	}
	return out
}

func registrationIn(r RegisterRequest) devices.Registration {
	return devices.Registration{Username: r.Username, PIN: r.PIN, Password: r.Password,
		Platform: mdm.PlatformAndroid, Facts: factsIn(r.Facts), Apps: appsIn(r.Apps), PushToken: r.PushToken}
}

func checkinIn(r CheckinRequest) devices.CheckIn {
	c := devices.CheckIn{PushToken: r.PushToken}
	if r.Facts != nil {
		f := factsIn(*r.Facts)
		c.Facts = &f
	}
	if r.Apps != nil {
		apps := appsIn(*r.Apps)
		c.Apps = &apps
	}
	for _, res := range r.Results {
		c.Results = append(c.Results, resultIn(res))
	}
	return c
}

func resultIn(r CommandResult) mdm.CommandResult {
	return mdm.CommandResult{ID: mdm.CommandID(r.ID), Status: r.Status, Result: r.Result, Error: r.Error}
}

func commandsOut(cmds []mdm.Command) []Command {
	out := make([]Command, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, Command{ID: int64(c.ID), Type: c.Type, Payload: c.Payload})
	}
	return out
}

func registeredOut(r *devices.Registered) RegisterResponse {
	return RegisterResponse{DeviceID: int64(r.Device.ID), GUID: r.Device.GUID, Credential: r.Credential,
		DeviceKind: r.Device.Kind, RegistrationState: r.Device.RegistrationState,
		CheckinIntervalSeconds: seconds(r.CheckinInterval)}
}

func replyOut(r *devices.CheckInReply) CheckinResponse {
	return CheckinResponse{Commands: commandsOut(r.Commands), RegistrationState: r.RegistrationState,
		CheckinIntervalSeconds: seconds(r.CheckinInterval)}
}

func seconds(d time.Duration) int { return int(d / time.Second) }
