package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// deviceRecordJSON is a device in the Ivanti shape (§2.3). It never carries the push token or any hash.
type deviceRecordJSON struct {
	ID                   mdm.DeviceID `json:"id"`
	GUID                 string       `json:"guid"`
	DeviceName           string       `json:"deviceName"`
	DeviceModel          string       `json:"deviceModel"`
	PrettyModel          string       `json:"prettyModel"`
	Manufacturer         string       `json:"manufacturer"`
	SerialNumber         string       `json:"serialNumber"`
	IMEI                 string       `json:"imei"`
	WifiMacAddress       string       `json:"wifiMacAddress"`
	PlatformType         string       `json:"platformType"`
	PlatformVersion      string       `json:"platformVersion"`
	OSBuildVersion       string       `json:"osBuildVersion"`
	DeviceKind           string       `json:"deviceKind"`
	RegistrationState    string       `json:"registrationState"`
	LastCheckin          *int64       `json:"lastCheckin"`
	LastRegistrationTime int64        `json:"lastRegistrationTime"`
	ClientVersion        string       `json:"clientVersion"`
	UID                  string       `json:"uid"`
	EmailAddress         string       `json:"emailAddress"`
	DisplayName          string       `json:"displayName"`
	FirstName            string       `json:"firstName"`
	LastName             string       `json:"lastName"`
	OwnerID              *int64       `json:"ownerId"`
	ComplianceState      bool         `json:"complianceState"`
	Quarantined          bool         `json:"quarantined"`
	Jailbroken           bool         `json:"jailbroken"`
	PasscodeCompliant    bool         `json:"passcodeCompliant"`
	Encrypted            bool         `json:"encrypted"`
	Roaming              bool         `json:"roaming"`
	PolicyViolationCount int          `json:"policyViolationCount"`
	ViolatedPolicies     []string     `json:"violatedPolicies"`
	CustomAttributes     attrsJSON    `json:"customAttributes"`
	AppCount             int          `json:"appCount"`
	TotalCapacity        float64      `json:"totalCapacity"`     // GB
	AvailableCapacity    float64      `json:"availableCapacity"` // GB
	DmPartitionID        int64        `json:"dmPartitionId"`
	CreatedAt            int64        `json:"createdAt"`
	ModifiedAt           int64        `json:"modifiedAt"`
}

type attrsJSON struct {
	Attrs map[string]string `json:"attrs"`
}

// gigabytes renders megabytes as GB with two decimals, as the Ivanti device object reports capacity.
func gigabytes(mb int64) float64 { return float64(mb*100/1024) / 100 }

func deviceOut(d mdm.Device, space mdm.SpaceID) deviceRecordJSON {
	f := d.Facts
	j := deviceRecordJSON{ID: d.ID, GUID: d.GUID, DeviceName: f.DeviceName, DeviceModel: f.Model, PrettyModel: f.PrettyModel,
		Manufacturer: f.Manufacturer, SerialNumber: f.SerialNumber, IMEI: f.IMEI, WifiMacAddress: f.WifiMAC,
		PlatformType: d.Platform, PlatformVersion: f.OSVersion, OSBuildVersion: f.OSBuild, DeviceKind: d.Kind,
		RegistrationState: d.RegistrationState, LastRegistrationTime: millis(d.RegisteredAt), ClientVersion: f.ClientVersion,
		UID: d.OwnerUsername, EmailAddress: d.OwnerEmail, FirstName: d.OwnerFirstName, LastName: d.OwnerLastName,
		ComplianceState: d.ComplianceState, Quarantined: d.Quarantined, Jailbroken: f.Jailbroken,
		PasscodeCompliant: f.PasscodeCompliant, Encrypted: f.Encrypted, Roaming: f.Roaming,
		PolicyViolationCount: d.PolicyViolationCount, ViolatedPolicies: append([]string{}, d.ViolatedPolicies...),
		CustomAttributes: attrsJSON{Attrs: map[string]string{}}, AppCount: d.AppCount,
		TotalCapacity: gigabytes(f.TotalCapacityMB), AvailableCapacity: gigabytes(f.AvailableCapMB),
		DmPartitionID: int64(space), CreatedAt: millis(d.CreatedAt), ModifiedAt: millis(d.ModifiedAt)}
	for k, v := range d.CustomAttributes {
		j.CustomAttributes.Attrs[k] = v
	}
	if !d.LastCheckin.IsZero() {
		v := d.LastCheckin.UnixMilli()
		j.LastCheckin = &v
	}
	if d.AccountID != 0 {
		v := int64(d.AccountID)
		j.OwnerID = &v
	}
	j.DisplayName = strings.TrimSpace(j.FirstName + " " + j.LastName)
	if j.DisplayName == "" {
		j.DisplayName = j.UID
	}
	return j
}

// commandJSON is one queued command of a device's history.
type commandJSON struct {
	ID          mdm.CommandID     `json:"id"`
	DeviceID    mdm.DeviceID      `json:"deviceId"`
	Type        string            `json:"type"`
	Payload     map[string]string `json:"payload"`
	Status      string            `json:"status"`
	CreatedBy   string            `json:"createdBy"`
	CreatedAt   int64             `json:"createdAt"`
	SentAt      *int64            `json:"sentAt"`
	CompletedAt *int64            `json:"completedAt"`
	Result      string            `json:"result"`
	Error       string            `json:"error"`
}

// commandOut renders a command.
// commandOut renders a queued command. A profile or configuration policy is left out of the payload:
// it carries the configuration's secrets (passwords, keys), which the API never returns.
func commandOut(c mdm.Command) commandJSON {
	payload := map[string]string{}
	for k, v := range c.Payload {
		if (c.Type == mdm.CmdInstallProfile && k == "profile") || (c.Type == mdm.CmdApplyConfiguration && k == "policy") {
			continue
		}
		payload[k] = v
	}
	return commandJSON{ID: c.ID, DeviceID: c.DeviceID, Type: c.Type, Payload: payload, Status: c.Status,
		CreatedBy: c.CreatedBy, CreatedAt: millis(c.CreatedAt), SentAt: millisPtr(c.SentAt),
		CompletedAt: millisPtr(c.CompletedAt), Result: c.Result, Error: c.Error}
}

type appJSON struct {
	AppID   string `json:"appId"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

type attrsInput struct {
	Attrs map[string]attrValue `json:"attrs"`
}

// updateAccountInput is the JSON form of PUT /api/v1/device/updateAccount.
type updateAccountInput struct {
	AccountID int64   `json:"accountId"`
	DeviceIDs []int64 `json:"deviceIds"`
}

// MaxDeviceIDs bounds the devices one request names.
const MaxDeviceIDs = 10_000

var dmPartitionParam = Param{"dmPartitionId", "integer", "the device space: the tenant's default (defaultDmPartitionId of /api/v1/metadata/tenant)"}

const deviceIDText = "{id} is the device id or its guid."

func (a *API) deviceRoutes() {
	a.add(Route{Method: "GET", Path: "/api/v1/device", Tag: "Devices", Needs: authz.DeviceRead,
		Summary: "List and search devices",
		Description: "fq examples: registrationState=ACTIVE and (quarantined=true or jailbroken=true), emailAddress=ann@example.com, " +
			"serialNumber=R58N12345, wifiMacAddress=aa:bb:cc:dd:ee:ff. Filter and sort fields: " + fieldList(mdm.DeviceFields) +
			". Capacities are in GB; lastCheckin is null until the device first checks in. totalCount is exact but may be " +
			"up to 5 s old (a count reused for the same filter; a change made through this server shows at once).",
		Query: append(append([]Param{}, listParams...), dmPartitionParam), Result: deviceRecordJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			space, err := a.checkSpace(r)
			if err != nil {
				return err
			}
			return listHandler(mdm.DeviceFields, []mdm.SortField{{Field: "id"}}, a.devices.List,
				func(d mdm.Device) deviceRecordJSON { return deviceOut(d, space) })(w, r)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/device/{id}", Tag: "Devices", Needs: authz.DeviceRead,
		Summary: "Get a device", Description: deviceIDText, Query: []Param{dmPartitionParam}, Result: deviceRecordJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			space, err := a.checkSpace(r)
			if err != nil {
				return err
			}
			d, err := a.device(r)
			if err != nil {
				return err
			}
			return ok(w, deviceOut(*d, space))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/device/{id}/apps", Tag: "Devices", Needs: authz.DeviceRead,
		Summary: "The apps a device last reported as installed", Description: deviceIDText, Result: appJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.device(r)
			if err != nil {
				return err
			}
			apps, err := a.devices.Apps(r.Context(), d.ID)
			if err != nil {
				return err
			}
			out := make([]appJSON, 0, len(apps))
			for _, ap := range apps {
				out = append(out, appJSON{AppID: ap.AppID, Name: ap.Name, Version: ap.Version})
			}
			return ok(w, searchResult{SearchResults: out, TotalCount: len(out), Limit: len(out)})
		})

	a.add(Route{Method: "GET", Path: "/api/v1/device/{id}/commands", Tag: "Devices", Needs: authz.DeviceRead,
		Summary: "A device's command history, newest first",
		Description: deviceIDText + " Status is PENDING, SENT, ACKNOWLEDGED, ERROR, NOT_NOW or CANCELLED; a lock PIN is masked. " +
			"Filter and sort fields: " + fieldList(mdm.CommandFields) + ".",
		Query: listParams, Result: commandJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.device(r)
			if err != nil {
				return err
			}
			return listHandler(mdm.CommandFields, newestFirst,
				func(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Command], error) {
					return a.devices.Commands(ctx, d.ID, opts)
				}, commandOut)(w, r)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/device/{id}/customattributes", Tag: "Devices", Needs: authz.DeviceRead,
		Summary: "A device's custom attributes", Description: deviceIDText + ` Result: {"attrs":{"key":"value"}}.`,
		Result: attrsJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.device(r)
			if err != nil {
				return err
			}
			return ok(w, deviceOut(*d, 0).CustomAttributes)
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/device/{id}/customattributes", Tag: "Devices", Needs: authz.DeviceManage,
		Summary: "Replace a device's custom attributes",
		Description: deviceIDText + ` JSON {"attrs":{"key":"value"}} or {"attrs":{"key":["value"]}} (the first value counts). ` +
			"At most 50 attributes; keys of letters, digits, _ . - (1 to 64); values at most 256 characters. The result is the stored attributes.",
		Body: attrsJSON{}, Result: attrsJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			d, err := a.device(r)
			if err != nil {
				return err
			}
			var in attrsInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			if in.Attrs == nil {
				return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "attrs", Message: "is required"})
			}
			attrs := make(map[string]string, len(in.Attrs))
			for k, v := range in.Attrs {
				attrs[k] = string(v)
			}
			if err := a.devices.SetCustomAttributes(r.Context(), d.ID, attrs); err != nil {
				return err
			}
			return ok(w, attrsJSON{Attrs: attrs})
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/device/updateAccount", Tag: "Devices", Needs: authz.DeviceManage,
		Summary: "Give devices a new owner",
		Description: "Form or JSON: accountId (an account of the tenant) and deviceIds (repeat, or comma-separated; a JSON list). " +
			"All devices get the owner, or none if any is unknown.",
		Query: []Param{{"accountId", "integer", "the new owner"}, {"deviceIds", "integer", "device id (repeatable)"}},
		Body:  updateAccountInput{}},
		func(w http.ResponseWriter, r *http.Request) error {
			account, ids, err := updateAccountParams(w, r)
			if err != nil {
				return err
			}
			if err := a.devices.UpdateAccount(r.Context(), account, ids); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "DELETE", Path: "/api/v1/device", Tag: "Devices", Needs: authz.DeviceManage,
		Summary: "Delete device records",
		Description: "deviceIds=… (repeat, or comma-separated; a repeated id counts once). Removes the records, their apps " +
			"and command history; the devices' credentials stop working at once (retire or wipe first to remove management " +
			"from the device itself). All or nothing: when any id is no device of the tenant, the answer is 404 naming those " +
			"ids (\"device 7, 9 not found: nothing was deleted\") and no device is deleted. The result is 1.",
		Query: []Param{{"deviceIds", "integer", "device id (repeatable)"}}},
		func(w http.ResponseWriter, r *http.Request) error {
			ids, err := deviceIDs(r, "deviceIds")
			if err != nil {
				return err
			}
			if _, err := a.devices.Delete(r.Context(), ids); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.actionRoutes()
}

func (a *API) actionRoutes() {
	actions := []struct {
		action       devices.Action
		summary, how string
		query        []Param
	}{
		{devices.Lock, "Lock devices", "Queues LOCK. Optional message (≤ 256 characters) and phoneNumber (≤ 32 of 0-9 + ( ) - and space) " +
			"shown on the lock screen. osxLockPin is refused (400): it applies to Macs, which Steward does not manage.",
			[]Param{{"message", "string", "lock-screen message"}, {"phoneNumber", "string", "lock-screen phone number"},
				{"osxLockPin", "string", "macOS lock PIN: refused, no Macs are managed"}}},
		{devices.Unlock, "Clear the passcode of devices", "Queues UNLOCK.", nil},
		{devices.Wipe, "Factory-reset devices", "Queues WIPE; registrationState becomes WIPE_PENDING, then WIPED when the device " +
			"confirms (its credential then stops working). Devices must be ACTIVE or RETIRE_PENDING.", nil},
		{devices.WipeCancel, "Cancel a pending wipe", "Cancels the queued WIPE of WIPE_PENDING devices; they become ACTIVE again.", nil},
		{devices.Retire, "Retire devices", "Queues RETIRE (management removed, the user's data kept); registrationState becomes " +
			"RETIRE_PENDING, then RETIRED when the device confirms. Devices must be ACTIVE.", nil},
		{devices.ForceCheckin, "Make devices check in now", "Queues FORCE_CHECKIN and wakes the devices.", nil},
	}
	for _, ac := range actions {
		a.add(Route{Method: "PUT", Path: "/api/v1/device/" + string(ac.action), Tag: "Device actions", Needs: authz.DeviceAction,
			Summary: ac.summary,
			Description: "ids=… (repeat, or comma-separated; query or form body; at most 10,000). " + ac.how +
				" One command per device, all or none: an unknown id (404) or a device in the wrong state (409) queues nothing.",
			Query: append([]Param{{"ids", "integer", "device id (repeatable)"}}, ac.query...)},
			func(w http.ResponseWriter, r *http.Request) error {
				ids, err := deviceIDs(r, "ids")
				if err != nil {
					return err
				}
				var opts devices.ActionOptions
				if ac.action == devices.Lock { // the other actions take no options and ignore these
					opts = devices.ActionOptions{Message: r.Form.Get("message"), PhoneNumber: r.Form.Get("phoneNumber"),
						PIN: r.Form.Get("osxLockPin")}
				}
				if _, err := a.devices.Act(r.Context(), ac.action, ids, opts); err != nil {
					return renameFields(err, map[string]string{"pin": "osxLockPin"})
				}
				return ok(w, 1)
			})
	}

	a.add(Route{Method: "PUT", Path: "/api/v1/device/message", Tag: "Device actions", Needs: authz.DeviceAction,
		Summary: "Send a message to the owners of devices",
		Description: "deviceIds=… (repeat, or comma-separated). sendPushNotification=true queues a MESSAGE command showing " +
			"pushNotificationMessage on each device; sendEmail=true emails each distinct owner the Send Message template with " +
			"emailSubject (≤ 200) and emailBody (≤ 4000). At least one of the two is required.",
		Query: []Param{{"deviceIds", "integer", "device id (repeatable)"}, {"sendPushNotification", "boolean", "push the message"},
			{"pushNotificationMessage", "string", "the pushed text"}, {"sendEmail", "boolean", "email the owners"},
			{"emailSubject", "string", "subject"}, {"emailBody", "string", "body text"}, dmPartitionParam}},
		func(w http.ResponseWriter, r *http.Request) error {
			ids, err := deviceIDs(r, "deviceIds")
			if err != nil {
				return err
			}
			if _, err := a.checkSpace(r); err != nil {
				return err
			}
			var v mdm.Validator
			flag := func(name string) bool {
				s := r.Form.Get(name)
				b, err := strconv.ParseBool(s)
				v.Check(s == "" || err == nil, name, "Type", "must be true or false")
				return b
			}
			m := devices.Message{DeviceIDs: ids, Push: flag("sendPushNotification"), PushText: r.Form.Get("pushNotificationMessage"),
				Email: flag("sendEmail"), Subject: r.Form.Get("emailSubject"), Body: r.Form.Get("emailBody")}
			if err := v.Err(); err != nil {
				return err
			}
			if _, err := a.devices.SendMessage(r.Context(), m); err != nil {
				return renameFields(err, map[string]string{"push": "sendPushNotification", "pushText": "pushNotificationMessage",
					"subject": "emailSubject", "body": "emailBody"})
			}
			return ok(w, 1)
		})
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// device resolves the path's {id}: a device id, or a guid as Ivanti clients also send.
func (a *API) device(r *http.Request) (*mdm.Device, error) {
	s := r.PathValue("id")
	if guidPattern.MatchString(s) {
		p, err := a.devices.List(r.Context(), mdm.ListOptions{Rows: 1,
			Filter: mdm.Compare{Field: "guid", Op: mdm.Eq, Value: strings.ToLower(s)}})
		if err != nil {
			return nil, err
		}
		if len(p.Items) == 0 {
			return nil, mdm.Errorf(mdm.NotFound, "device not found")
		}
		return &p.Items[0], nil
	}
	id, err := pathID[mdm.DeviceID](r, "device")
	if err != nil {
		return nil, err
	}
	return a.devices.Get(r.Context(), id)
}

// checkSpace reads the optional dmPartitionId: the tenant has one device space, so any other value is
// refused. It returns the space for the device JSON.
func (a *API) checkSpace(r *http.Request) (mdm.SpaceID, error) {
	p := mdm.PrincipalFrom(r.Context())
	if p == nil || a.deviceSpace == nil {
		return 0, nil
	}
	space, err := a.deviceSpace(r.Context(), p.TenantID)
	if err != nil {
		return 0, err
	}
	if err := r.ParseForm(); err != nil {
		return 0, mdm.Wrap(mdm.Invalid, err, "malformed form body")
	}
	if s := r.Form.Get("dmPartitionId"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || mdm.SpaceID(n) != space {
			return 0, mdm.FieldErrors(mdm.FieldError{Code: "Unknown", Field: "dmPartitionId",
				Message: "is not this tenant's device space (" + strconv.FormatInt(int64(space), 10) + ")"})
		}
	}
	return space, nil
}

// deviceIDs reads device ids from name=… (repeated or comma-separated, query or form body): at least
// one, at most MaxDeviceIDs.
func deviceIDs(r *http.Request, name string) ([]mdm.DeviceID, error) {
	ns, err := int64s(r, name)
	if err != nil {
		return nil, err
	}
	return checkDeviceIDs(name, ns)
}

func checkDeviceIDs(name string, ns []int64) ([]mdm.DeviceID, error) {
	var v mdm.Validator
	v.Check(len(ns) > 0, name, "Required", "name at least one device id")
	v.Check(len(ns) <= MaxDeviceIDs, name, "Size", "name at most "+strconv.Itoa(MaxDeviceIDs)+" devices")
	for _, n := range ns {
		if n <= 0 {
			v.Check(false, name, "Type", "must be ids (whole numbers)")
			break
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ids := make([]mdm.DeviceID, 0, len(ns))
	for _, n := range ns {
		ids = append(ids, mdm.DeviceID(n))
	}
	return ids, nil
}

// updateAccountParams reads accountId and deviceIds from a JSON body, or from the query and a form body.
func updateAccountParams(w http.ResponseWriter, r *http.Request) (mdm.AccountID, []mdm.DeviceID, error) {
	var account int64
	var ids []int64
	if isJSON(r) {
		var in updateAccountInput
		if err := decode(w, r, &in); err != nil {
			return 0, nil, err
		}
		account, ids = in.AccountID, in.DeviceIDs
	} else {
		var err error
		if ids, err = int64s(r, "deviceIds"); err != nil {
			return 0, nil, err
		}
		if s := r.Form.Get("accountId"); s != "" {
			if account, err = strconv.ParseInt(s, 10, 64); err != nil {
				account = -1
			}
		}
	}
	if account <= 0 {
		return 0, nil, mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "accountId", Message: "must be an account id"})
	}
	dids, err := checkDeviceIDs("deviceIds", ids)
	return mdm.AccountID(account), dids, err
}

// renameFields names the service's field errors by the API's parameter names.
func renameFields(err error, names map[string]string) error {
	var e *mdm.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]mdm.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		if n, ok := names[f.Field]; ok {
			f.Field = n
		}
		out.Fields[i] = f
	}
	return &out
}

func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json")
}

// attrValue is one custom attribute value: a string, or a list whose first value counts.
type attrValue string

func (v *attrValue) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = attrValue(s)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeOf("")}
	}
	*v = ""
	if len(list) > 0 {
		*v = attrValue(list[0])
	}
	return nil
}
