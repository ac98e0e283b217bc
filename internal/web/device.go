package web

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/configurations"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// historyRows is how many commands the device page shows, newest first.
const historyRows = 50

type deviceView struct {
	Device   *mdm.Device
	Apps     []mdm.InstalledApp
	Commands commandsView
	Attrs    []attribute // custom attributes, by name
	// Configs are the configurations delivered to the device with their status (nil: the caller may
	// not read configurations).
	Configs []configurations.DeviceConfiguration
	Act     bool // the caller may take device actions
	Manage  bool // the caller may change the record
	// Forms shown again after a refusal.
	Lock    form
	Message form
	Owner   form
	AttrsIn form
}

// attribute is one custom attribute.
type attribute struct{ Name, Value string }

// commandsView is the command history fragment. While a command waits for the device, the fragment
// asks for itself again every few seconds (htmx polling); it stops once none waits.
type commandsView struct {
	DeviceID mdm.DeviceID
	Items    []mdm.Command
	Total    int
	Pending  bool
}

// waiting are the command states in which the device has not answered for good yet.
var waiting = []string{mdm.CmdPending, mdm.CmdSent, mdm.CmdNotNow}

// Allows reports whether the device's state allows action (the service decides again).
func (v *deviceView) Allows(action string) bool {
	return v.Act && devices.Applies(devices.Action(action), v.Device.RegistrationState)
}

func deviceID(r *http.Request) (mdm.DeviceID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.DeviceID(id), err
}

func (c *console) commandsView(r *http.Request, id mdm.DeviceID) (commandsView, error) {
	pg, err := c.Devices.Commands(r.Context(), id, mdm.ListOptions{Rows: historyRows,
		Sort: []mdm.SortField{{Field: "createdAt", Desc: true}, {Field: "id", Desc: true}}})
	if err != nil {
		return commandsView{}, err
	}
	v := commandsView{DeviceID: id, Items: pg.Items, Total: pg.TotalCount}
	for _, cmd := range pg.Items {
		v.Pending = v.Pending || slices.Contains(waiting, cmd.Status)
	}
	return v, nil
}

// deviceView loads what the device page shows.
func (c *console) deviceView(r *http.Request, id mdm.DeviceID) (*deviceView, error) {
	d, err := c.Devices.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	apps, err := c.Devices.Apps(r.Context(), id)
	if err != nil {
		return nil, err
	}
	sort.Slice(apps, func(i, j int) bool { return strings.ToLower(apps[i].Name) < strings.ToLower(apps[j].Name) })
	cmds, err := c.commandsView(r, id)
	if err != nil {
		return nil, err
	}
	p := mdm.PrincipalFrom(r.Context())
	v := &deviceView{Device: d, Apps: apps, Commands: cmds, Act: can(p, string(authz.DeviceAction)),
		Manage: can(p, string(authz.DeviceManage)), Lock: newForm(), Message: newForm(), Owner: newForm(), AttrsIn: newForm()}
	for k, val := range d.CustomAttributes {
		v.Attrs = append(v.Attrs, attribute{k, val})
	}
	sort.Slice(v.Attrs, func(i, j int) bool { return v.Attrs[i].Name < v.Attrs[j].Name })
	v.AttrsIn.Values["attributes"] = attributesText(v.Attrs)
	v.Owner.Values["email"] = d.OwnerEmail
	v.Message.Values["push"] = "on"
	if c.Configurations != nil && can(p, string(authz.ConfigRead)) {
		if v.Configs, err = c.Configurations.ForDevice(r.Context(), id); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// deviceName is what the console calls a device: its name, else its model, else its number.
func deviceName(d *mdm.Device) string {
	switch {
	case strings.TrimSpace(d.Facts.DeviceName) != "":
		return d.Facts.DeviceName
	case d.Facts.PrettyModel != "":
		return d.Facts.PrettyModel
	case d.Facts.Model != "":
		return d.Facts.Model
	}
	return "Device " + strconv.FormatInt(int64(d.ID), 10)
}

func (c *console) renderDevice(w http.ResponseWriter, r *http.Request, status int, v *deviceView, fl *flash) error {
	return render(w, r, status, "device", page{Title: deviceName(v.Device), Nav: "devices", Flash: fl, Data: v})
}

// deviceDone are the confirmations after a change on the device page; the device's name comes from
// the record, never from the link.
var deviceDone = map[string]string{
	"lock":         "Lock queued for %s.",
	"unlock":       "Unlock queued for %s.",
	"forceCheckin": "Check-in request queued for %s.",
	"retire":       "Retire queued for %s.",
	"wipe":         "Wipe queued for %s.",
	"wipeCancel":   "The wipe of %s was cancelled.",
	"message":      "Message sent to the owner of %s.",
	"owner":        "The owner of %s was changed.",
	"attributes":   "The custom attributes of %s were saved.",
}

// devicePage shows one device: facts, owner, custom attributes, apps, command history and actions.
func (c *console) devicePage(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	v, err := c.deviceView(r, id)
	if err != nil {
		return err
	}
	var fl *flash
	if text, ok := deviceDone[r.URL.Query().Get("done")]; ok {
		fl = &flash{Kind: "success", Text: strings.Replace(text, "%s", deviceName(v.Device), 1)}
	}
	return c.renderDevice(w, r, http.StatusOK, v, fl)
}

// deviceCommands is the command history fragment the page polls while commands wait.
func (c *console) deviceCommands(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	v, err := c.commandsView(r, id)
	if err != nil {
		return err
	}
	return fragment(w, http.StatusOK, "device", "device_commands", v)
}

// maxAttributes bounds the custom attributes form.
const maxAttributes = 50

// attributesText is the attributes as the edit box shows them: one "name = value" a line.
func attributesText(attrs []attribute) string {
	var b strings.Builder
	for _, a := range attrs {
		b.WriteString(a.Name + " = " + a.Value + "\n")
	}
	return b.String()
}

// parseAttributes reads the edit box; it names the first line it cannot read.
func parseAttributes(text string) (map[string]string, string) {
	out := map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, "Line " + strconv.Itoa(i+1) + " is not “name = value”."
		}
		if _, dup := out[name]; dup {
			return nil, "Line " + strconv.Itoa(i+1) + " repeats the attribute “" + name + "”."
		}
		out[name] = value
		if len(out) > maxAttributes {
			return nil, "At most " + strconv.Itoa(maxAttributes) + " attributes."
		}
	}
	return out, ""
}

// setDeviceAttributes replaces the custom attributes (DeviceManage).
func (c *console) setDeviceAttributes(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceManage); err != nil {
		return err
	}
	text := r.PostForm.Get("attributes")
	attrs, msg := parseAttributes(text)
	if msg == "" {
		err = c.Devices.SetCustomAttributes(r.Context(), id, attrs)
		if err == nil {
			redirectDevice(w, r, id, "attributes")
			return nil
		}
	}
	f := newForm()
	f.Values["attributes"] = text
	status := http.StatusBadRequest
	if msg != "" {
		f.Errors["attributes"] = msg
	} else {
		var ok bool
		if status, ok = f.setError(err, "attributes"); !ok {
			return err
		}
		if f.Global != "" {
			f.Errors["attributes"], f.Global = f.Global, ""
		}
	}
	v, verr := c.deviceView(r, id)
	if verr != nil {
		return verr
	}
	v.AttrsIn = f
	return c.renderDevice(w, r, status, v, nil)
}

// changeDeviceOwner gives the device to the user with the email address entered (DeviceManage).
func (c *console) changeDeviceOwner(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceManage); err != nil {
		return err
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	f := newForm()
	f.Values["email"] = email
	status := http.StatusBadRequest
	if email == "" {
		f.Errors["email"] = "Enter the new owner's email address."
	} else {
		pg, err := c.Accounts.ListAccounts(r.Context(), mdm.ListOptions{Rows: 1,
			Filter: mdm.Compare{Field: "emailAddress", Op: mdm.Eq, Value: email}})
		switch {
		case err != nil:
			return err
		case len(pg.Items) == 0:
			status = http.StatusNotFound
			f.Errors["email"] = "No user of this tenant has this email address."
		default:
			err = c.Devices.UpdateAccount(r.Context(), pg.Items[0].ID, []mdm.DeviceID{id})
			if err == nil {
				redirectDevice(w, r, id, "owner")
				return nil
			}
			var ok bool
			if status, ok = f.setError(err, "email"); !ok {
				return err
			}
		}
	}
	v, verr := c.deviceView(r, id)
	if verr != nil {
		return verr
	}
	v.Owner = f
	return c.renderDevice(w, r, status, v, nil)
}

// ownerChoices is how many users the owner picker suggests.
const ownerChoices = 10

// ownerOptions suggests users for the owner picker as the administrator types (a datalist's options).
func (c *console) ownerOptions(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("email"))
	if len(q) > 200 {
		q = q[:200]
	}
	var accounts []mdm.Account
	if q != "" {
		pg, err := c.Accounts.ListAccounts(r.Context(), mdm.ListOptions{Rows: ownerChoices, Query: q,
			Sort: []mdm.SortField{{Field: "emailAddress"}}})
		if err != nil {
			return err
		}
		accounts = pg.Items
	}
	return fragment(w, http.StatusOK, "device", "owner_options", accounts)
}

// redirectDevice sends the browser back to the device page with a confirmation.
func redirectDevice(w http.ResponseWriter, r *http.Request, id mdm.DeviceID, done string) {
	http.Redirect(w, r, "/console/devices/"+strconv.FormatInt(int64(id), 10)+"?done="+done, http.StatusSeeOther)
}

// actionButton is a one-click action's button.
type actionButton struct {
	ID                   mdm.DeviceID
	Action, Label, Class string
}

// Button is the button that takes action on the device.
func (v *deviceView) Button(action, label, class string) actionButton {
	return actionButton{ID: v.Device.ID, Action: action, Label: label, Class: class}
}

// Storage says how much of the device's storage is free, in GB ("" when it did not report it).
func (v *deviceView) Storage() string {
	f := v.Device.Facts
	if f.TotalCapacityMB <= 0 {
		return ""
	}
	gb := func(mb int64) string { return strconv.FormatFloat(float64(mb)/1024, 'f', 1, 64) }
	return gb(f.AvailableCapMB) + " GB free of " + gb(f.TotalCapacityMB) + " GB"
}
