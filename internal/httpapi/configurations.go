package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/configurations"
	"steward/internal/mdm"
)

// configurationJSON is a configuration as the API shows it: the attributes that are not secret, and
// the names of the secret ones that are set (never their values).
type configurationJSON struct {
	ID                   mdm.ConfigurationID `json:"id"`
	Name                 string              `json:"name"`
	Description          string              `json:"description"`
	Type                 string              `json:"type"`
	Platforms            []string            `json:"platforms"`
	Priority             int                 `json:"priority"`
	Version              int64               `json:"version"`
	Attributes           map[string]any      `json:"attributes"`
	SecretsSet           []string            `json:"secretsSet"`
	TotalDeviceCount     int                 `json:"totalDeviceCount"`
	InstalledDeviceCount int                 `json:"installedDeviceCount"`
	ViolationDeviceCount int                 `json:"violationDeviceCount"`
	PendingDeviceCount   int                 `json:"pendingDeviceCount"`
	CreatedAt            int64               `json:"createdAt"`
	ModifiedAt           int64               `json:"modifiedAt"`
}

func (a *API) configurationOut(c mdm.Configuration, n mdm.ConfigCounts) configurationJSON {
	j := configurationJSON{ID: c.ID, Name: c.Name, Description: c.Description, Type: c.Type, Platforms: []string{},
		Priority: c.Priority, Version: c.Version, Attributes: c.Attributes, SecretsSet: a.configs.SecretsSet(&c),
		TotalDeviceCount: n.Total, InstalledDeviceCount: n.Installed, ViolationDeviceCount: n.Error,
		PendingDeviceCount: n.Pending, CreatedAt: millis(c.CreatedAt), ModifiedAt: millis(c.ModifiedAt)}
	if t := configurations.TypeNamed(c.Type); t != nil {
		j.Platforms = t.Platforms
	}
	if j.SecretsSet == nil {
		j.SecretsSet = []string{}
	}
	if j.Attributes == nil {
		j.Attributes = map[string]any{}
	}
	return j
}

// configPolicyJSON is a configuration in the Neurons for MDM shape of GET /api/v1/policy?tag=DEVICE_CONFIGURATION.
type configPolicyJSON struct {
	ID                   mdm.ConfigurationID `json:"id"`
	Name                 string              `json:"name"`
	SystemName           string              `json:"systemName"`
	Description          string              `json:"description"`
	PolicyType           string              `json:"policyType"`
	PolicyRuleType       string              `json:"policyRuleType"`
	UUID                 string              `json:"uuid"`
	Enabled              bool                `json:"enabled"`
	Priority             int                 `json:"priority"`
	TotalDeviceCount     int                 `json:"totalDeviceCount"`
	InstalledDeviceCount int                 `json:"installedDeviceCount"`
	ViolationDeviceCount int                 `json:"violationDeviceCount"`
	PendingDeviceCount   int                 `json:"pendingDeviceCount"`
	ModifiedAt           int64               `json:"modifiedAt"`
	Actions              []string            `json:"actions"`
}

type typeAttrJSON struct {
	Name     string   `json:"name"`
	Label    string   `json:"label"`
	Input    string   `json:"input"` // text, password (secret), checkbox, number, select, textarea
	Required bool     `json:"required"`
	Secret   bool     `json:"secret"`
	Min      int      `json:"min,omitempty"`
	Max      int      `json:"max,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Default  any      `json:"default,omitempty"`
	Help     string   `json:"help,omitempty"`
}

type typeJSON struct {
	Type       string         `json:"type"`
	Label      string         `json:"label"`
	Platforms  []string       `json:"platforms"`
	Multiple   bool           `json:"multiple"` // several of this type apply to one device; otherwise the highest priority wins
	Attributes []typeAttrJSON `json:"attributes"`
}

type priorityJSON struct {
	Priority int `json:"priority"`
}

type deviceStatusJSON struct {
	DeviceID   mdm.DeviceID `json:"deviceId"`
	DeviceName string       `json:"deviceName"`
	Platform   string       `json:"platformType"`
	Owner      string       `json:"uid"`
	Version    int64        `json:"version"`
	Status     string       `json:"status"` // PENDING, INSTALLED or ERROR
	Removing   bool         `json:"removing"`
	Error      string       `json:"error"`
	UpdatedAt  int64        `json:"updatedAt"`
}

type deviceConfigurationJSON struct {
	ConfigurationID mdm.ConfigurationID `json:"configurationId"`
	Name            string              `json:"name"`
	Type            string              `json:"type"`
	Version         int64               `json:"version"`
	Status          string              `json:"status"`
	Removing        bool                `json:"removing"`
	Error           string              `json:"error"`
	UpdatedAt       int64               `json:"updatedAt"`
}

func (a *API) configurationRoutes() {
	const tag = "Configurations"
	a.add(Route{Method: "GET", Path: "/api/v1/policy", Tag: tag, Needs: authz.ConfigRead,
		Summary:     "List device configurations (Neurons for MDM shape)",
		Description: "tag=DEVICE_CONFIGURATION lists configurations as policy objects with their device counts.",
		Query:       append(append([]Param{}, listParams...), Param{"tag", "string", "DEVICE_CONFIGURATION"}, dmPartitionParam),
		Result:      configPolicyJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			if t := r.URL.Query().Get("tag"); t != "DEVICE_CONFIGURATION" {
				return mdm.FieldErrors(mdm.FieldError{Code: "Enum", Field: "tag", Message: "must be DEVICE_CONFIGURATION"})
			}
			return listHandler(mdm.ConfigurationFields, nil, a.configs.List, func(l configurations.Listed) configPolicyJSON {
				c := l.Configuration
				return configPolicyJSON{ID: c.ID, Name: c.Name, SystemName: strings.ToLower(c.Type) + "_" + strconv.FormatInt(int64(c.ID), 10),
					Description: c.Description, PolicyType: c.Type, PolicyRuleType: "NONE",
					UUID: configurations.Identifier(c.TenantID, c.ID), Enabled: true, Priority: c.Priority,
					TotalDeviceCount: l.Counts.Total, InstalledDeviceCount: l.Counts.Installed,
					ViolationDeviceCount: l.Counts.Error, PendingDeviceCount: l.Counts.Pending,
					ModifiedAt: millis(c.ModifiedAt), Actions: []string{}}
			})(w, r)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/configurations/types", Tag: tag, Needs: authz.ConfigRead,
		Summary:     "List the configuration types and their attributes",
		Description: "Secret attributes (passwords, keys) are accepted but never returned.",
		Result:      []typeJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			out := []typeJSON{}
			for _, t := range configurations.Types {
				j := typeJSON{Type: t.Name, Label: t.Label, Platforms: t.Platforms, Multiple: t.Multi, Attributes: []typeAttrJSON{}}
				for _, at := range t.Attrs {
					j.Attributes = append(j.Attributes, typeAttrJSON{Name: at.Name, Label: at.Label, Input: at.Input(),
						Required: at.Required, Secret: at.Secret(), Min: at.Min, Max: at.Max, Enum: at.Enum, Default: at.Default, Help: at.Help})
				}
				out = append(out, j)
			}
			return ok(w, out)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/configurations", Tag: tag, Needs: authz.ConfigRead,
		Summary:     "List configurations with their device counts",
		Description: "Sorted by type then priority unless asked otherwise. Filter and sort fields: " + fieldList(mdm.ConfigurationFields) + ".",
		Query:       listParams, Result: configurationJSON{}, List: true},
		listHandler(mdm.ConfigurationFields, nil, a.configs.List, func(l configurations.Listed) configurationJSON {
			return a.configurationOut(l.Configuration, l.Counts)
		}))

	a.add(Route{Method: "POST", Path: "/api/v1/configurations", Tag: tag, Needs: authz.ConfigManage,
		Summary: "Create a configuration",
		Description: "type is one of PASSCODE, WIFI, RESTRICTIONS, EXCHANGE, VPN, WEBCLIP, CERTIFICATE, CUSTOM; attributes " +
			"are the type's (GET /api/v1/configurations/types). It reaches no device until distributed.",
		Body: configurations.Input{}, Result: configurationJSON{}, JSONOnly: true},
		func(w http.ResponseWriter, r *http.Request) error {
			var in configurations.Input
			if err := decode(w, r, &in); err != nil {
				return err
			}
			c, err := a.configs.Create(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, a.configurationOut(*c, mdm.ConfigCounts{}))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/configurations/{id}", Tag: tag, Needs: authz.ConfigRead,
		Summary: "Get a configuration", Result: configurationJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ConfigurationID](r, "configuration")
			if err != nil {
				return err
			}
			c, err := a.configs.Get(r.Context(), id)
			if err != nil {
				return err
			}
			n, err := a.configs.Counts(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, a.configurationOut(*c, n))
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/configurations/{id}", Tag: tag, Needs: authz.ConfigManage,
		Summary: "Change a configuration",
		Description: "Attributes left out keep their values (secrets need not be sent again; an empty secret clears it). " +
			"A change makes a new version, which the devices it reaches install.",
		Body: configurations.Input{}, Result: configurationJSON{}, JSONOnly: true},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ConfigurationID](r, "configuration")
			if err != nil {
				return err
			}
			var in configurations.Input
			if err := decode(w, r, &in); err != nil {
				return err
			}
			c, err := a.configs.Update(r.Context(), id, in)
			if err != nil {
				return err
			}
			n, err := a.configs.Counts(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, a.configurationOut(*c, n))
		})

	a.add(Route{Method: "DELETE", Path: "/api/v1/configurations/{id}", Tag: tag, Needs: authz.ConfigManage,
		Summary: "Delete a configuration", Description: "The devices that have it remove it."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ConfigurationID](r, "configuration")
			if err != nil {
				return err
			}
			if err := a.configs.Delete(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/configurations/{id}/priority", Tag: tag, Needs: authz.ConfigManage,
		Summary: "Move a configuration in its type's priority order",
		Description: "1 is the highest. When two configurations of a single-instance type (PASSCODE, RESTRICTIONS) reach " +
			"a device, the higher priority wins.",
		Body: priorityJSON{}, Result: configurationJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ConfigurationID](r, "configuration")
			if err != nil {
				return err
			}
			var in priorityJSON
			if err := decode(w, r, &in); err != nil {
				return err
			}
			c, err := a.configs.SetPriority(r.Context(), id, in.Priority)
			if err != nil {
				return err
			}
			n, err := a.configs.Counts(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, a.configurationOut(*c, n))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/configurations/{id}/distribution", Tag: tag, Needs: authz.ConfigRead,
		Summary: "Who a configuration is distributed to", Result: distributionJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ConfigurationID](r, "configuration")
			if err != nil {
				return err
			}
			ds, err := a.configs.Distribution(r.Context(), id)
			if err != nil {
				return err
			}
			return ok(w, distributionOut(ds))
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/configurations/{id}/distribution", Tag: tag, Needs: authz.ConfigManage,
		Summary: "Distribute a configuration",
		Description: "targets replaces the distribution: ALL_USERS, USER_GROUP (id: a user group) or DEVICE_GROUP (id: a " +
			"device group, All Devices included). Devices reached before or after converge without further steps.",
		Body: distributionInput{}, Result: distributionJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ConfigurationID](r, "configuration")
			if err != nil {
				return err
			}
			ds, err := a.decodeDistribution(w, r, mdm.ItemConfiguration)
			if err != nil {
				return err
			}
			out, err := a.configs.SetDistribution(r.Context(), id, ds)
			if err != nil {
				return err
			}
			return ok(w, distributionOut(out))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/configurations/{id}/devices", Tag: tag, Needs: authz.ConfigRead,
		Summary:     "A configuration's devices and their status",
		Description: "status is PENDING, INSTALLED or ERROR (with the device's error); removing marks a removal under way. Pages by device id: after, rows (1-500).",
		Query:       []Param{{"after", "integer", "the last device id of the previous page"}, {"rows", "integer", "page size, 1-500"}},
		Result:      []deviceStatusJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.ConfigurationID](r, "configuration")
			if err != nil {
				return err
			}
			after, rows, err := afterRows(r)
			if err != nil {
				return err
			}
			st, err := a.configs.Statuses(r.Context(), id, after, rows)
			if err != nil {
				return err
			}
			out := make([]deviceStatusJSON, len(st))
			for i, s := range st {
				out[i] = deviceStatusJSON{DeviceID: s.DeviceID, DeviceName: s.DeviceName, Platform: s.Platform, Owner: s.Owner,
					Version: s.Version, Status: s.Status, Removing: s.Remove, Error: s.Error, UpdatedAt: millis(s.UpdatedAt)}
			}
			return ok(w, out)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/device/{id}/configurations", Tag: tag, Needs: authz.ConfigRead,
		Summary: "A device's configurations and their status", Result: []deviceConfigurationJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.DeviceID](r, "device")
			if err != nil {
				return err
			}
			dcs, err := a.configs.ForDevice(r.Context(), id)
			if err != nil {
				return err
			}
			out := make([]deviceConfigurationJSON, len(dcs))
			for i, d := range dcs {
				out[i] = deviceConfigurationJSON{ConfigurationID: d.ConfigurationID, Name: d.Name, Type: d.Type, Version: d.Version,
					Status: d.Status, Removing: d.Remove, Error: d.Error, UpdatedAt: millis(d.UpdatedAt)}
			}
			return ok(w, out)
		})
}

func afterRows(r *http.Request) (mdm.DeviceID, int, error) {
	q := r.URL.Query()
	var after int64
	rows := 100
	var v mdm.Validator
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		v.Check(err == nil && n >= 0, "after", "Type", "must be a device id")
		after = n
	}
	if s := q.Get("rows"); s != "" {
		n, err := strconv.Atoi(s)
		v.Check(err == nil && n >= 1 && n <= 500, "rows", "Range", "must be between 1 and 500")
		rows = n
	}
	return mdm.DeviceID(after), rows, v.Err()
}
