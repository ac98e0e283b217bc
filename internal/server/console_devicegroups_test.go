package server

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"steward/internal/assign"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// TestConsoleDeviceGroups drives the Device groups pages as a browser without JavaScript: the list with
// its built-ins, creating static and dynamic groups, members by id or serial, editing, deleting with
// confirmation, permissions and tenant isolation.
func TestConsoleDeviceGroups(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	s, base := e.srv, e.url
	_, hooli := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	_, other := consoleTenant(t, s, "Endframe", "kevin@endframe.example.com")
	ann := newTestAgent(t, s, hooli, "ann@hooli.example.com", "Ann's <Pixel>")
	bob := newTestAgent(t, s, hooli, "bob@hooli.example.com", "Bob's Pixel")
	newTestAgent(t, s, other, "eve@endframe.example.com", "Eve's Pixel")

	admin := signInAt(t, base, &http.Client{}, "gavin@hooli.example.com", testAdminPassword)
	list := admin.do("GET", "/console/devicegroups", nil).expect(t, http.StatusOK, "the Device groups list",
		`data-name="All Devices"`, `data-name="iOS Devices"`, `data-name="Android Devices"`, `data-name="tvOS Devices"`,
		"Built-in", `href="/console/devicegroups" aria-current="page"`, `id="create-device-group"`)
	_ = list

	// A refused form comes back with its error next to the field.
	admin.do("POST", "/console/devicegroups", url.Values{"name": {"Bad"}, "kind": {"DYNAMIC"}, "rule": {"shoeSize=9"}}).
		expect(t, http.StatusBadRequest, "a bad rule", `value="shoeSize=9"`, "shoeSize")

	// A static group: add by serial and by id, all or none.
	loc := admin.do("POST", "/console/devicegroups", url.Values{"name": {"Kiosks"}, "kind": {"STATIC"}, "description": {"lobby"}}).
		location(t, "/console/devicegroups/")
	kiosks := "/console/devicegroups/" + pathIDOf(t, loc)
	admin.do("GET", loc, nil).expect(t, http.StatusOK, "the new group", "The device group was created.", "No devices yet.",
		`id="add-devices"`, `id="delete-device-group"`)
	admin.do("POST", kiosks+"/members", url.Values{"action": {"add"}, "devices": {"SN-ANN\nNO-SUCH-SERIAL"}}).
		expect(t, http.StatusBadRequest, "an unknown serial", "Line 2 (NO-SUCH-SERIAL)", "No device was added or removed")
	admin.do("POST", kiosks+"/members", url.Values{"action": {"add"}, "devices": {"SN-ANN\n" + strconv.FormatInt(int64(bob.id), 10)}}).
		location(t, kiosks+"?done=members")
	page := admin.do("GET", kiosks, nil).expect(t, http.StatusOK, "the members", `data-device-id="`+strconv.FormatInt(int64(ann.id), 10)+`"`,
		`data-device-id="`+strconv.FormatInt(int64(bob.id), 10)+`"`, "Ann&#39;s &lt;Pixel&gt;")
	page.lacks(t, "the members", "Ann's <Pixel>")
	admin.do("POST", kiosks+"/members", url.Values{"action": {"remove"}, "devices": {strconv.FormatInt(int64(ann.id), 10)}}).
		location(t, kiosks+"?done=members")
	admin.do("GET", kiosks, nil).lacks(t, "after removing ann's", `data-device-id="`+strconv.FormatInt(int64(ann.id), 10)+`"`)
	// The member search swaps only the list.
	admin.do("GET", kiosks+"?q=Bob", nil, "HX-Request", "true", "HX-Target", "device-member-list").
		expect(t, http.StatusOK, "the member search", `id="device-member-list"`).lacks(t, "the member search", "<html")

	// A dynamic group shows its current matches and no member form.
	loc = admin.do("POST", "/console/devicegroups", url.Values{"name": {"Ann's devices"}, "kind": {"DYNAMIC"},
		"rule": {"emailAddress=ann@*"}}).location(t, "/console/devicegroups/")
	dyn := "/console/devicegroups/" + pathIDOf(t, loc)
	admin.do("GET", dyn, nil).expect(t, http.StatusOK, "the dynamic group", "emailAddress=ann@*",
		`data-device-id="`+strconv.FormatInt(int64(ann.id), 10)+`"`).lacks(t, "the dynamic group", `id="add-devices"`,
		`data-device-id="`+strconv.FormatInt(int64(bob.id), 10)+`"`)
	admin.do("POST", dyn, url.Values{"name": {"Bob's devices"}, "rule": {"emailAddress=bob@*"}}).location(t, dyn+"?done=updated")
	admin.do("GET", dyn, nil).expect(t, http.StatusOK, "the changed rule", `data-device-id="`+strconv.FormatInt(int64(bob.id), 10)+`"`)
	admin.do("POST", dyn, url.Values{"name": {"kiosks"}}).expect(t, http.StatusConflict, "a taken name", "already exists")

	// Built-ins: no edit form, no delete, and a direct delete is refused.
	admin.do("GET", "/console/devicegroups", nil).expect(t, http.StatusOK, "the list", `data-name="Kiosks"`)
	allID := builtInGroupID(t, e, "All Devices")
	admin.do("GET", "/console/devicegroups/"+allID, nil).expect(t, http.StatusOK, "All Devices", "Every device of the tenant.").
		lacks(t, "All Devices", `id="delete-device-group"`, `id="save-device-group"`)
	if r := admin.do("POST", "/console/devicegroups/"+allID+"/delete", nil); r.status != http.StatusConflict {
		t.Errorf("deleting All Devices: %d", r.status)
	}

	// Delete asks first.
	admin.do("GET", kiosks+"/delete", nil).expect(t, http.StatusOK, "the confirmation", "Delete the device group Kiosks?")
	admin.do("POST", kiosks+"/delete", nil).location(t, "/console/devicegroups?done=dgdeleted")
	if r := admin.do("GET", kiosks, nil); r.status != http.StatusNotFound {
		t.Errorf("deleted group page: %d", r.status)
	}

	// Another tenant's admin sees none of it; a read-only admin sees but cannot change.
	kevin := signInAt(t, base, &http.Client{}, "kevin@endframe.example.com", testAdminPassword)
	if r := kevin.do("GET", dyn, nil); r.status != http.StatusNotFound {
		t.Errorf("other tenant opens the group: %d", r.status)
	}
	ro := consoleUserWithRoles(t, s, base, hooli, "ro@hooli.example.com", authz.RoleDeviceReadOnly)
	ro.do("GET", dyn, nil).expect(t, http.StatusOK, "read only", "Bob&#39;s devices").
		lacks(t, "read only", `id="save-device-group"`, `id="delete-device-group"`)
	ro.do("GET", "/console/devicegroups", nil).lacks(t, "read only list", `id="create-device-group"`)
	if r := ro.do("POST", "/console/devicegroups", url.Values{"name": {"Mine"}}); r.status != http.StatusForbidden {
		t.Errorf("read only creates: %d", r.status)
	}
	// A user group's page lists what is distributed to it.
	var allUsersID int64
	if err := s.Store().DB().QueryRowContext(t.Context(), `SELECT id FROM user_groups WHERE tenant_id=$1 AND kind='ALL_USERS'`,
		hooli.TenantID).Scan(&allUsersID); err != nil {
		t.Fatal(err)
	}
	groupPage := "/console/groups/" + strconv.FormatInt(allUsersID, 10)
	admin.do("GET", groupPage, nil).expect(t, http.StatusOK, "a user group", `id="group-distributed">Nothing yet.`)
	if err := s.Store().InTx(t.Context(), func(tx mdm.Stores) error {
		_, err := assign.SetDistribution(t.Context(), tx, hooli.TenantID, mdm.ItemConfiguration, 9,
			[]mdm.Distribution{{Target: mdm.TargetUserGroup, TargetID: allUsersID, Required: true}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	admin.do("GET", groupPage, nil).expect(t, http.StatusOK, "a user group", `id="group-distributed">CONFIGURATION 9 (required)`)
	apps := consoleUserWithRoles(t, s, base, hooli, "apps@hooli.example.com", authz.RoleAppContentManagement)
	if r := apps.do("GET", "/console/devicegroups", nil); r.status != http.StatusForbidden {
		t.Errorf("app admin opens device groups: %d", r.status)
	}
	apps.do("GET", "/console/categories", nil).expect(t, http.StatusOK, "app admin's categories", `href="/console/categories"`).
		lacks(t, "app admin's nav", `href="/console/devicegroups"`)
}

// builtInGroupID returns the id of the first tenant's built-in device group named name.
func builtInGroupID(t *testing.T, e *apiEnv, name string) string {
	t.Helper()
	var id int64
	if err := e.srv.Store().DB().QueryRowContext(t.Context(), `SELECT MIN(id) FROM device_groups WHERE name=$1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(id, 10)
}

// TestConsoleCategories: both sets on one page, adding to each, the case-insensitive name clash,
// renaming, deleting with confirmation, and who may do what.
func TestConsoleCategories(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	s, base := e.srv, e.url
	_, hooli := consoleTenant(t, s, "Hooli", "gavin@hooli.example.com")
	consoleTenant(t, s, "Endframe", "kevin@endframe.example.com")
	admin := signInAt(t, base, &http.Client{}, "gavin@hooli.example.com", testAdminPassword)

	admin.do("GET", "/console/categories", nil).expect(t, http.StatusOK, "the categories page", `id="app-categories"`,
		`id="content-categories"`, `id="create-category"`, `id="kind-app"`, `id="kind-content"`)
	admin.do("POST", "/console/categories", url.Values{"kind": {"APP"}, "name": {"Games"}}).location(t, "/console/categories?done=ccreated")
	admin.do("POST", "/console/categories", url.Values{"kind": {"CONTENT"}, "name": {"Games"}}).location(t, "/console/categories?done=ccreated")
	admin.do("POST", "/console/categories", url.Values{"kind": {"APP"}, "name": {"GAMES"}}).
		expect(t, http.StatusConflict, "the same name in other case", `value="GAMES"`, "already exists")
	admin.do("POST", "/console/categories", url.Values{"kind": {"CONTENT"}, "name": {""}}).
		expect(t, http.StatusBadRequest, "no name", `id="f-name-error"`, `value="CONTENT" id="kind-content" checked`)
	page := admin.do("GET", "/console/categories", nil).expect(t, http.StatusOK, "the lists", `data-name="Games"`)
	id := firstMatch(t, page.body, `<tr data-name="Games" data-id="(\d+)">`)
	cat := "/console/categories/" + id
	admin.do("POST", cat, url.Values{"name": {"Fun & Games"}}).location(t, cat+"?done=updated")
	admin.do("GET", cat, nil).expect(t, http.StatusOK, "the category", "Fun &amp; Games", `id="delete-category"`)
	admin.do("GET", cat+"/delete", nil).expect(t, http.StatusOK, "the confirmation", "Delete the category Fun &amp; Games?")
	admin.do("POST", cat+"/delete", nil).location(t, "/console/categories?done=cdeleted")

	kevin := signInAt(t, base, &http.Client{}, "kevin@endframe.example.com", testAdminPassword)
	kevin.do("GET", "/console/categories", nil).expect(t, http.StatusOK, "other tenant").lacks(t, "other tenant", `data-name="Games"`)

	ro := consoleUserWithRoles(t, s, base, hooli, "ro@hooli.example.com", authz.RoleAppContentReadOnly)
	ro.do("GET", "/console/categories", nil).expect(t, http.StatusOK, "read only", `data-name="Games"`).
		lacks(t, "read only", `id="create-category"`)
	if r := ro.do("POST", "/console/categories", url.Values{"kind": {"APP"}, "name": {"Mine"}}); r.status != http.StatusForbidden {
		t.Errorf("read only adds a category: %d", r.status)
	}
	dev := consoleUserWithRoles(t, s, base, hooli, "dev@hooli.example.com", authz.RoleDeviceManagement)
	if r := dev.do("GET", "/console/categories", nil); r.status != http.StatusForbidden {
		t.Errorf("device admin opens categories: %d", r.status)
	}
}

// firstMatch returns the first group of pattern's first match in s.
func firstMatch(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no match for %s", pattern)
	}
	return m[1]
}
