package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// deviceActions are the actions the console offers by their path name, with the name of the result.
var deviceActions = map[string]struct {
	action  devices.Action
	label   string
	confirm bool // destructive: only after a confirmation page
}{
	"lock":         {devices.Lock, "Lock", false},
	"unlock":       {devices.Unlock, "Unlock", false},
	"forceCheckin": {devices.ForceCheckin, "Force check-in", false},
	"wipeCancel":   {devices.WipeCancel, "Cancel wipe", false},
	"retire":       {devices.Retire, "Retire", true},
	"wipe":         {devices.Wipe, "Wipe", true},
}

// confirmTexts say exactly what a destructive action does.
var confirmTexts = map[string]string{
	"retire": "The device is told to remove Steward's management: its configurations, managed apps and " +
		"the agent's registration. The user's own data stays. The record shows Retire pending until the " +
		"device confirms, then Retired; the device then no longer checks in and frees its license seat.",
	"wipe": "The device is told to erase itself back to factory settings: every app and all data on it, " +
		"the user's own included, are lost. The record shows Wipe pending until the device confirms; " +
		"until it fetches the command the wipe can still be cancelled here.",
}

// confirmDeviceAction asks before retiring or wiping.
func (c *console) confirmDeviceAction(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("action")
	a, ok := deviceActions[name]
	if !ok || !a.confirm {
		return mdm.Errorf(mdm.NotFound, "there is no device action %q to confirm", name)
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceAction); err != nil {
		return err
	}
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	d, err := c.Devices.Get(r.Context(), id)
	if err != nil {
		return err
	}
	devPath := "/console/devices/" + strconv.FormatInt(int64(id), 10)
	who := ""
	if d.OwnerEmail != "" {
		who = " (owned by " + d.OwnerEmail + ")"
	}
	return render(w, r, http.StatusOK, "confirm", page{Title: a.label + " " + deviceName(d), Nav: "devices", Data: confirmView{
		Heading: a.label + " " + deviceName(d) + who + "?",
		Text:    confirmTexts[name],
		Action:  devPath + "/actions/" + name, Button: a.label + " device", Back: devPath}})
}

// deviceAction queues one action for the device (DeviceAction) and goes back to its page.
func (c *console) deviceAction(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("action")
	a, ok := deviceActions[name]
	if !ok {
		return mdm.Errorf(mdm.NotFound, "there is no device action %q", name)
	}
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceAction); err != nil {
		return err
	}
	var opts devices.ActionOptions
	f := newForm()
	if a.action == devices.Lock {
		opts.Message = strings.TrimSpace(r.PostForm.Get("message"))
		opts.PhoneNumber = strings.TrimSpace(r.PostForm.Get("phoneNumber"))
		f.Values["message"], f.Values["phoneNumber"] = opts.Message, opts.PhoneNumber
	}
	n, err := c.Devices.Act(r.Context(), a.action, []mdm.DeviceID{id}, opts)
	// A cancelled wipe queues nothing; every other action queues one command.
	if err == nil && (n > 0 || a.action == devices.WipeCancel) {
		redirectDevice(w, r, id, name)
		return nil
	}
	v, verr := c.deviceView(r, id)
	if verr != nil {
		return verr
	}
	if err == nil {
		// Nothing queued: the device's state does not allow the action (it changed meanwhile).
		return c.renderDevice(w, r, http.StatusConflict, v, &flash{Kind: "error",
			Text: a.label + " was not queued: the device is " + stateLabel(v.Device.RegistrationState) + "."})
	}
	status, ok := f.setError(err, "message", "phoneNumber")
	if !ok {
		return err
	}
	if a.action == devices.Lock && (len(f.Errors) > 0) {
		v.Lock = f
		return c.renderDevice(w, r, status, v, nil)
	}
	return c.renderDevice(w, r, status, v, &flash{Kind: "error", Text: a.label + " was not queued: " + messageOf(err)})
}

// messageDevice pushes and/or emails a message to the device's owner (DeviceAction).
func (c *console) messageDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceAction); err != nil {
		return err
	}
	f := newForm()
	for _, k := range []string{"pushText", "subject", "body"} {
		f.Values[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	f.Values["push"], f.Values["email"] = r.PostForm.Get("push"), r.PostForm.Get("email")
	m := devices.Message{DeviceIDs: []mdm.DeviceID{id}, Push: f.Values["push"] == "on", PushText: f.Values["pushText"],
		Email: f.Values["email"] == "on", Subject: f.Values["subject"], Body: f.Values["body"]}
	status := http.StatusBadRequest
	if !m.Push && !m.Email {
		f.Global = "Choose a push notification, an email or both."
	} else {
		n, err := c.Devices.SendMessage(r.Context(), m)
		switch {
		case err == nil && n > 0:
			redirectDevice(w, r, id, "message")
			return nil
		case err == nil:
			status, f.Global = http.StatusConflict, "The message was not sent: the device is not active or has no owner."
		case mdm.IsCode(err, mdm.Unavailable):
			status, f.Global = statusOf(err), messageOf(err)
		default:
			var ok bool
			if status, ok = f.setError(err, "pushText", "subject", "body"); !ok {
				return err
			}
		}
	}
	v, verr := c.deviceView(r, id)
	if verr != nil {
		return verr
	}
	v.Message = f
	return c.renderDevice(w, r, status, v, nil)
}

// deleteDevicePage asks before deleting the record.
func (c *console) deleteDevicePage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceManage); err != nil {
		return err
	}
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	d, err := c.Devices.Get(r.Context(), id)
	if err != nil {
		return err
	}
	devPath := "/console/devices/" + strconv.FormatInt(int64(id), 10)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + deviceName(d), Nav: "devices", Data: confirmView{
		Heading: "Delete the record of " + deviceName(d) + "?",
		Text: "The record, its inventory, installed apps and command history are removed from Steward, and the " +
			"device's credential stops working at once. Nothing is sent to the device: it keeps its data and " +
			"whatever Steward installed. To remove management from the device itself, retire or wipe it first.",
		Action: devPath + "/delete", Button: "Delete record", Back: devPath}})
}

// deleteDevice removes the record after confirmation (DeviceManage).
func (c *console) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceManage); err != nil {
		return err
	}
	n, err := c.Devices.Delete(r.Context(), []mdm.DeviceID{id})
	if err != nil {
		return err
	}
	if n == 0 {
		return mdm.Errorf(mdm.NotFound, "no such device")
	}
	http.Redirect(w, r, "/console/devices?done=deleted", http.StatusSeeOther)
	return nil
}

// stateLabel names a registration state in words.
func stateLabel(s string) string {
	for _, c := range stateChoices {
		if c.Value == s {
			return strings.ToLower(c.Label)
		}
	}
	return s
}
