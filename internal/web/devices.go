package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"steward/internal/authz"
	"steward/internal/fq"
	"steward/internal/mdm"
)

// deviceRoutes adds the Devices list, the device page and the device actions.
func (c *console) deviceRoutes() {
	c.signedIn("GET /console/devices", c.devicesPage)
	c.signedIn("GET /console/devices/{id}", c.devicePage)
	c.signedIn("GET /console/devices/{id}/commands", c.deviceCommands)
	c.signedIn("POST /console/devices/{id}/attributes", c.setDeviceAttributes)
	c.signedIn("POST /console/devices/{id}/owner", c.changeDeviceOwner)
	c.signedIn("GET /console/devices/owners", c.ownerOptions)
	c.signedIn("POST /console/devices/{id}/message", c.messageDevice)
	c.signedIn("GET /console/devices/{id}/actions/{action}", c.confirmDeviceAction)
	c.signedIn("POST /console/devices/{id}/actions/{action}", c.deviceAction)
	c.signedIn("GET /console/devices/{id}/delete", c.deleteDevicePage)
	c.signedIn("POST /console/devices/{id}/delete", c.deleteDevice)
}

// deviceFilter is the Devices list's filter form. Every value is one of a fixed set, so that the fq
// expression built from it is always valid.
type deviceFilter struct {
	State       string // a registrationState, "" for any
	Platform    string // IOS, ANDROID or ""
	Kind        string // a deviceKind or ""
	Compliant   string // "true", "false" or ""
	Quarantined string
	Jailbroken  string
}

// filterChoice is one option of a filter's select box.
type filterChoice struct{ Value, Label string }

var (
	stateChoices = []filterChoice{{mdm.StateActive, "Active"}, {mdm.StateRetirePending, "Retire pending"},
		{mdm.StateRetired, "Retired"}, {mdm.StateWipePending, "Wipe pending"}, {mdm.StateWiped, "Wiped"}}
	platformChoices = []filterChoice{{mdm.PlatformAndroid, "Android"}, {mdm.PlatformIOS, "iOS"}}
	kindChoices     = []filterChoice{{mdm.KindAndroidPhone, "Android phone"}, {mdm.KindAndroidTablet, "Android tablet"},
		{mdm.KindIPhone, "iPhone"}, {mdm.KindIPad, "iPad"}, {mdm.KindIPadMini, "iPad mini"}, {mdm.KindAppleTV, "Apple TV"}}
	yesNoChoices = []filterChoice{{"true", "Yes"}, {"false", "No"}}
)

// choice keeps v when it is one of choices, else "".
func choice(v string, choices []filterChoice) string {
	for _, c := range choices {
		if c.Value == v {
			return v
		}
	}
	return ""
}

func readDeviceFilter(q url.Values) deviceFilter {
	return deviceFilter{
		State:       choice(q.Get("state"), stateChoices),
		Platform:    choice(q.Get("platform"), platformChoices),
		Kind:        choice(q.Get("kind"), kindChoices),
		Compliant:   choice(q.Get("compliant"), yesNoChoices),
		Quarantined: choice(q.Get("quarantined"), yesNoChoices),
		Jailbroken:  choice(q.Get("jailbroken"), yesNoChoices),
	}
}

// FQ is the filter as the API's fq expression ("" for none).
func (f deviceFilter) FQ() string {
	var terms []string
	for _, t := range []struct{ field, value string }{
		{"registrationState", f.State}, {"platformType", f.Platform}, {"deviceKind", f.Kind},
		{"complianceState", f.Compliant}, {"quarantined", f.Quarantined}, {"jailbroken", f.Jailbroken},
	} {
		if t.value != "" {
			terms = append(terms, t.field+"="+t.value)
		}
	}
	return strings.Join(terms, " and ")
}

// params are the filter's query parameters, for links that keep it.
func (f deviceFilter) params() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"state": f.State, "platform": f.Platform, "kind": f.Kind,
		"compliant": f.Compliant, "quarantined": f.Quarantined, "jailbroken": f.Jailbroken} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

// deviceSorts are the columns the list sorts on, by their sort parameter.
var deviceSorts = map[string]bool{
	"deviceName": true, "emailAddress": true, "deviceKind": true, "platformType": true, "deviceModel": true,
	"registrationState": true, "lastCheckin": true, "complianceState": true, "serialNumber": true,
}

// readSort reads sort=field or sort=-field (descending); anything else is the default, by name.
func readSort(s string) (string, mdm.SortField) {
	field := strings.TrimPrefix(s, "-")
	if !deviceSorts[field] {
		return "", mdm.SortField{Field: "deviceName"}
	}
	return s, mdm.SortField{Field: field, Desc: strings.HasPrefix(s, "-")}
}

type deviceList struct {
	Items    []mdm.Device
	Pager    pager
	Filter   deviceFilter
	Sort     string
	Filtered bool // a search or filter is applied (for the empty-state text)
}

// SortURL is the list sorted by field: ascending first, descending when it is already ascending.
func (l deviceList) SortURL(field string) string {
	v := l.Filter.params()
	if l.Pager.Query != "" {
		v.Set("q", l.Pager.Query)
	}
	if l.Sort == field {
		v.Set("sort", "-"+field)
	} else {
		v.Set("sort", field)
	}
	return "/console/devices?" + v.Encode()
}

// SortMark is the arrow of the column the list is sorted by.
func (l deviceList) SortMark(field string) string {
	switch l.Sort {
	case field:
		return "▲"
	case "-" + field:
		return "▼"
	}
	return ""
}

// AriaSort is the column's aria-sort value.
func (l deviceList) AriaSort(field string) string {
	switch l.Sort {
	case field:
		return "ascending"
	case "-" + field:
		return "descending"
	}
	return "none"
}

// filterSelect is one select box of the filter form.
type filterSelect struct {
	Name, Label, Selected string
	Choices               []filterChoice
}

// Select is the filter form's select box for the query parameter name.
func (l deviceList) Select(name, label string) filterSelect {
	f := l.Filter
	s := filterSelect{Name: name, Label: label}
	switch name {
	case "state":
		s.Choices, s.Selected = stateChoices, f.State
	case "platform":
		s.Choices, s.Selected = platformChoices, f.Platform
	case "kind":
		s.Choices, s.Selected = kindChoices, f.Kind
	case "compliant":
		s.Choices, s.Selected = yesNoChoices, f.Compliant
	case "quarantined":
		s.Choices, s.Selected = yesNoChoices, f.Quarantined
	case "jailbroken":
		s.Choices, s.Selected = yesNoChoices, f.Jailbroken
	default:
		panic("web: unknown device filter " + name)
	}
	return s
}

// sortHead is one sortable column heading.
type sortHead struct {
	List         deviceList
	Field, Label string
}

// Head is the heading of the column sorted by field.
func (l deviceList) Head(field, label string) sortHead {
	return sortHead{List: l, Field: field, Label: label}
}

func (c *console) deviceList(r *http.Request) (deviceList, error) {
	q := r.URL.Query()
	start, query := listRequest(q)
	f := readDeviceFilter(q)
	sortParam, sortField := readSort(q.Get("sort"))
	filter, err := fq.Parse(f.FQ(), mdm.DeviceFields)
	if err != nil {
		return deviceList{}, mdm.Wrap(mdm.Invalid, err, "the filter is not valid")
	}
	pg, err := c.Devices.List(r.Context(), mdm.ListOptions{Start: start, Rows: pageRows, Query: query, Filter: filter,
		Sort: []mdm.SortField{sortField, {Field: "id"}}})
	if err != nil {
		return deviceList{}, err
	}
	params := f.params()
	if sortParam != "" {
		params.Set("sort", sortParam)
	}
	return deviceList{Items: pg.Items, Filter: f, Sort: sortParam, Filtered: query != "" || filter != nil,
		Pager: pager{Path: "/console/devices", Query: query, Start: start, Rows: pageRows, Total: pg.TotalCount,
			Shown: len(pg.Items), HXTarget: "device-list", Params: params}}, nil
}

// devicesPage lists the tenant's devices with search, filters, sorting and paging. The search and
// filter form swaps only the list (HX-Target device-list).
func (c *console) devicesPage(w http.ResponseWriter, r *http.Request) error {
	list, err := c.deviceList(r)
	if err != nil {
		return err
	}
	w.Header().Set("Vary", "HX-Request, HX-Target")
	if hxTarget(r) == "device-list" {
		return fragment(w, http.StatusOK, "devices", "device_list", list)
	}
	var fl *flash
	if r.URL.Query().Get("done") == "deleted" {
		fl = &flash{Kind: "success", Text: "The device record was deleted."}
	}
	return render(w, r, http.StatusOK, "devices", page{Title: "Devices", Nav: "devices", Flash: fl, Data: list})
}

// userDevices lists an account's devices for the user page; nil when the caller may not read devices.
func (c *console) userDevices(r *http.Request, id mdm.AccountID) ([]mdm.Device, bool, error) {
	if c.Devices == nil || !can(mdm.PrincipalFrom(r.Context()), string(authz.DeviceRead)) {
		return nil, false, nil
	}
	pg, err := c.Devices.List(r.Context(), mdm.ListOptions{Rows: 100,
		Filter: mdm.Compare{Field: "ownerId", Op: mdm.Eq, Value: int64(id)},
		Sort:   []mdm.SortField{{Field: "lastCheckin", Desc: true}, {Field: "id"}}})
	if err != nil {
		return nil, false, err
	}
	return pg.Items, true, nil
}

// relativeTime says how long ago t was ("3 min ago"); the exact time goes in a title next to it.
func relativeTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	case d < 60*24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days ago"
	}
	return t.UTC().Format("2006-01-02")
}
