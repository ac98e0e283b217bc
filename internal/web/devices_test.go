package web

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/authz"
	"steward/internal/devices"
	"steward/internal/fq"
	"steward/internal/mdm"
)

func TestDeviceFilterFQ(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"", ""},
		{"state=ACTIVE", "registrationState=ACTIVE"},
		{"state=ACTIVE&platform=ANDROID&kind=ANDROID_TABLET&compliant=false&quarantined=true&jailbroken=true",
			"registrationState=ACTIVE and platformType=ANDROID and deviceKind=ANDROID_TABLET and complianceState=false and quarantined=true and jailbroken=true"},
		// Values outside the fixed choices are dropped, never passed on.
		{"state=ACTIVE'+or+1=1&platform=WINDOWS&compliant=maybe&kind=", ""},
		{"jailbroken=false", "jailbroken=false"},
	}
	for _, tc := range tests {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		f := readDeviceFilter(q)
		if got := f.FQ(); got != tc.want {
			t.Errorf("%q: fq %q, want %q", tc.query, got, tc.want)
		}
		if _, err := fq.Parse(f.FQ(), mdm.DeviceFields); err != nil {
			t.Errorf("%q: the API's parser refuses %q: %v", tc.query, f.FQ(), err)
		}
		// The filter survives a round trip through the links that keep it.
		if back := readDeviceFilter(f.params()); back != f {
			t.Errorf("%q: params round trip %+v, want %+v", tc.query, back, f)
		}
	}
}

func TestReadSort(t *testing.T) {
	tests := []struct {
		in        string
		wantParam string
		want      mdm.SortField
	}{
		{"", "", mdm.SortField{Field: "deviceName"}},
		{"lastCheckin", "lastCheckin", mdm.SortField{Field: "lastCheckin"}},
		{"-lastCheckin", "-lastCheckin", mdm.SortField{Field: "lastCheckin", Desc: true}},
		{"credentialHash", "", mdm.SortField{Field: "deviceName"}},
		{"--deviceName", "", mdm.SortField{Field: "deviceName"}},
	}
	for _, tc := range tests {
		param, got := readSort(tc.in)
		if param != tc.wantParam || got != tc.want {
			t.Errorf("readSort(%q) = %q, %+v; want %q, %+v", tc.in, param, got, tc.wantParam, tc.want)
		}
	}
	l := deviceList{Sort: "lastCheckin", Filter: deviceFilter{State: mdm.StateActive}, Pager: pager{Query: "pixel"}}
	if got, want := l.SortURL("lastCheckin"), "/console/devices?q=pixel&sort=-lastCheckin&state=ACTIVE"; got != want {
		t.Errorf("SortURL of the sorted column = %q, want %q", got, want)
	}
	if got, want := l.SortURL("deviceName"), "/console/devices?q=pixel&sort=deviceName&state=ACTIVE"; got != want {
		t.Errorf("SortURL of another column = %q, want %q", got, want)
	}
}

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		text string
		want map[string]string
		msg  string
	}{
		{"", map[string]string{}, ""},
		{"cost center = 42\r\n\n  site=Berlin = Mitte \n", map[string]string{"cost center": "42", "site": "Berlin = Mitte"}, ""},
		{"empty =", map[string]string{"empty": ""}, ""},
		{"a = 1\nno equals sign", nil, "Line 2 is not “name = value”."},
		{" = value", nil, "Line 1 is not “name = value”."},
		{"a = 1\na = 2", nil, "Line 2 repeats the attribute “a”."},
	}
	for _, tc := range tests {
		got, msg := parseAttributes(tc.text)
		if msg != tc.msg || !cmp.Equal(got, tc.want) {
			t.Errorf("parseAttributes(%q) = %v, %q; want %v, %q", tc.text, got, msg, tc.want, tc.msg)
		}
	}
	var many strings.Builder
	for i := range maxAttributes + 1 {
		many.WriteString("k" + string(rune('a'+i%26)) + strings.Repeat("x", i) + " = v\n")
	}
	if _, msg := parseAttributes(many.String()); msg == "" {
		t.Errorf("%d attributes were accepted", maxAttributes+1)
	}
	if got := attributesText([]attribute{{"a", "1"}, {"b", ""}}); got != "a = 1\nb = \n" {
		t.Errorf("attributesText = %q", got)
	}
	back, msg := parseAttributes(attributesText([]attribute{{"a", "1"}, {"b", "x = y"}}))
	if msg != "" || !cmp.Equal(back, map[string]string{"a": "1", "b": "x = y"}) {
		t.Errorf("round trip: %v %q", back, msg)
	}
}

func TestActionAllowed(t *testing.T) {
	all := []devices.Action{devices.Lock, devices.Unlock, devices.ForceCheckin, devices.Retire, devices.Wipe, devices.WipeCancel, devices.SendMessageAction}
	want := map[string][]devices.Action{
		mdm.StateActive:        {devices.Lock, devices.Unlock, devices.ForceCheckin, devices.Retire, devices.Wipe, devices.SendMessageAction},
		mdm.StateWipePending:   {devices.WipeCancel},
		mdm.StateRetirePending: {devices.Wipe},
		mdm.StateRetired:       nil,
		mdm.StateWiped:         nil,
	}
	for state, allowed := range want {
		var got []devices.Action
		for _, a := range all {
			if devices.Applies(a, state) {
				got = append(got, a)
			}
		}
		if !cmp.Equal(got, allowed) {
			t.Errorf("%s allows %v, want %v", state, got, allowed)
		}
	}
}

func TestRelativeTime(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(-10 * time.Second), "just now"},
		{now.Add(5 * time.Second), "just now"},
		{now.Add(-5*time.Minute - time.Second), "5 min ago"},
		{now.Add(-3*time.Hour - time.Second), "3 h ago"},
		{now.Add(-72*time.Hour - time.Second), "3 days ago"},
		{time.Date(2020, 1, 2, 23, 0, 0, 0, time.UTC), "2020-01-02"},
	} {
		if got := relativeTime(tc.at); got != tc.want {
			t.Errorf("relativeTime(%v) = %q, want %q", tc.at, got, tc.want)
		}
	}
}

// sampleDevice is an Android phone with everything filled in, and a hostile name.
func sampleDevice(state string) *mdm.Device {
	now := time.Now()
	return &mdm.Device{ID: 7, TenantID: "t1", GUID: "5c9b7a2e-0000-4000-8000-000000000001", AccountID: 3,
		Platform: mdm.PlatformAndroid, Kind: mdm.KindAndroidPhone, RegistrationState: state,
		Facts: mdm.DeviceFacts{DeviceName: "Pixel <b>8</b>", Model: "GKWS6", PrettyModel: "Pixel 8", Manufacturer: "Google",
			OSVersion: "14", SerialNumber: "SER123", IMEI: "359881234567890", WifiMAC: "aa:bb:cc:dd:ee:ff", Jailbroken: true},
		CustomAttributes: map[string]string{"site": "Berlin"}, LastCheckin: now.Add(-2 * time.Minute),
		RegisteredAt: now.Add(-time.Hour), OwnerEmail: "ann@example.com", OwnerFirstName: "Ann"}
}

func renderDeviceView(t *testing.T, v *deviceView) string {
	t.Helper()
	var b bytes.Buffer
	if err := pages["device"].ExecuteTemplate(&b, "layout", page{Title: "x", Nav: "devices", Data: v}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDevicePageShowsOnlyAllowedActions(t *testing.T) {
	buttons := []string{`id="action-lock"`, `id="action-unlock"`, `id="action-forceCheckin"`, `id="action-retire"`,
		`id="action-wipe"`, `id="action-wipeCancel"`, `id="action-message"`, `id="action-delete"`, `id="change-owner"`,
		`id="save-attributes"`}
	tests := []struct {
		name  string
		roles []string
		state string
		want  []string
	}{
		{"read only", []string{authz.RoleDeviceReadOnly}, mdm.StateActive, nil},
		{"actions, active", []string{authz.RoleDeviceActions}, mdm.StateActive, []string{`id="action-lock"`,
			`id="action-unlock"`, `id="action-forceCheckin"`, `id="action-retire"`, `id="action-wipe"`, `id="action-message"`}},
		{"actions, wipe pending", []string{authz.RoleDeviceActions}, mdm.StateWipePending,
			[]string{`id="action-wipeCancel"`}},
		{"management", []string{authz.RoleDeviceManagement}, mdm.StateActive,
			[]string{`id="action-delete"`, `id="change-owner"`, `id="save-attributes"`}},
		{"tenant admin, retired", []string{authz.RoleTenantAdmin}, mdm.StateRetired,
			[]string{`id="action-delete"`, `id="change-owner"`, `id="save-attributes"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &mdm.Principal{Kind: mdm.AccountPrincipal, ID: 1, TenantID: "t1", Roles: tc.roles, Session: true}
			d := sampleDevice(tc.state)
			v := &deviceView{Device: d, Act: can(p, string(authz.DeviceAction)), Manage: can(p, string(authz.DeviceManage)),
				Attrs: []attribute{{"site", "Berlin"}}, Lock: newForm(), Message: newForm(), Owner: newForm(), AttrsIn: newForm(),
				Commands: commandsView{DeviceID: 7}}
			body := renderDeviceView(t, v)
			var got []string
			for _, b := range buttons {
				if strings.Contains(body, b) {
					got = append(got, b)
				}
			}
			if !cmp.Equal(got, tc.want) {
				t.Errorf("buttons %v, want %v", got, tc.want)
			}
			if strings.Contains(body, "Pixel <b>8</b>") || !strings.Contains(body, "Pixel &lt;b&gt;8&lt;/b&gt;") {
				t.Errorf("the device name is not escaped")
			}
			for _, s := range []string{"SER123", "359881234567890", "aa:bb:cc:dd:ee:ff", `href="/console/users/3"`, "Berlin", "Rooted"} {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
		})
	}
}

func TestCommandHistoryPollsOnlyWhileWaiting(t *testing.T) {
	now := time.Now()
	done := now.Add(-time.Minute)
	for _, tc := range []struct {
		status string
		polls  bool
	}{
		{mdm.CmdPending, true}, {mdm.CmdSent, true}, {mdm.CmdNotNow, true},
		{mdm.CmdAcknowledged, false}, {mdm.CmdError, false}, {mdm.CmdCancelled, false},
	} {
		cmds := []mdm.Command{{ID: 2, DeviceID: 7, Type: mdm.CmdLock, Status: tc.status, CreatedBy: "ann@example.com", CreatedAt: now,
			Payload: map[string]string{"message": "Call IT"}},
			{ID: 1, DeviceID: 7, Type: mdm.CmdForceCheckin, Status: mdm.CmdError, CreatedAt: now.Add(-time.Hour), CompletedAt: &done, Error: "busy"}}
		v := commandsView{DeviceID: 7, Items: cmds, Total: 2}
		for _, c := range cmds {
			v.Pending = v.Pending || contains(waiting, c.Status)
		}
		var b bytes.Buffer
		if err := pages["device"].ExecuteTemplate(&b, "device_commands", v); err != nil {
			t.Fatal(err)
		}
		body := b.String()
		if polls := strings.Contains(body, `hx-trigger="every 2s"`); polls != tc.polls {
			t.Errorf("%s: polls %v, want %v", tc.status, polls, tc.polls)
		}
		for _, s := range []string{`data-status="` + tc.status + `"`, "Lock", "“Call IT”", "busy", "Force check-in"} {
			if !strings.Contains(body, s) {
				t.Errorf("%s: the history lacks %q\n%s", tc.status, s, body)
			}
		}
	}
}

func TestDeviceListRenders(t *testing.T) {
	d := sampleDevice(mdm.StateActive)
	d.Quarantined = true
	list := deviceList{Items: []mdm.Device{*d}, Filter: deviceFilter{Quarantined: "true"}, Sort: "-lastCheckin", Filtered: true,
		Pager: pager{Path: "/console/devices", Rows: pageRows, Total: 30, Shown: 1, HXTarget: "device-list",
			Params: url.Values{"quarantined": {"true"}, "sort": {"-lastCheckin"}}}}
	var b bytes.Buffer
	if err := pages["devices"].ExecuteTemplate(&b, "layout", page{Title: "Devices", Nav: "devices",
		User: &mdm.Principal{Kind: mdm.AccountPrincipal, TenantID: "t1", Roles: []string{authz.RoleDeviceReadOnly}, Session: true},
		Data: list}); err != nil {
		t.Fatal(err)
	}
	body := b.String()
	for _, s := range []string{`href="/console/devices/7"`, "ann@example.com", "Android phone", "Android 14", "Pixel 8",
		"SER123", "Quarantined", "Rooted", `aria-sort="descending"`, "quarantined=true", `<option value="true" selected>`,
		`href="/console/devices" aria-current="page"`, "2 min ago", "Filter: <code>quarantined=true</code>"} {
		if !strings.Contains(body, s) {
			t.Errorf("the list lacks %q", s)
		}
	}
	// The next page keeps the filter and the sort.
	if next := list.Pager.NextURL(); next != "/console/devices?quarantined=true&sort=-lastCheckin&start=25" {
		t.Errorf("next page %q", next)
	}

	empty := deviceList{Pager: pager{Path: "/console/devices", Query: "zzz"}, Filtered: true}
	b.Reset()
	if err := pages["devices"].ExecuteTemplate(&b, "device_list", empty); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No device matches “zzz”.") {
		t.Errorf("empty state: %s", b.String())
	}
}

func TestDeviceNavNeedsDeviceRead(t *testing.T) {
	for _, tc := range []struct {
		roles []string
		shows bool
	}{
		{[]string{authz.RoleUserReadOnly}, false},
		{[]string{authz.RoleDeviceReadOnly}, true},
		{[]string{authz.RoleDeviceActions}, true},
		{[]string{authz.RoleTenantAdmin}, true},
	} {
		p := &mdm.Principal{Kind: mdm.AccountPrincipal, TenantID: "t1", Roles: tc.roles, Session: true}
		var b bytes.Buffer
		if err := pages["error"].ExecuteTemplate(&b, "layout", page{Title: "x", User: p, Data: errorView{Status: 404}}); err != nil {
			t.Fatal(err)
		}
		if shows := strings.Contains(b.String(), `href="/console/devices"`); shows != tc.shows {
			t.Errorf("%v: Devices in the navigation %v, want %v", tc.roles, shows, tc.shows)
		}
	}
}
