package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/assign"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// deviceGroupFields are the device group forms' inputs, named as the service names its field errors.
var deviceGroupFields = []string{"name", "description", "kind", "rule"}

type deviceGroupsView struct {
	List   deviceGroupList
	New    form
	Manage bool
}

type deviceGroupList struct {
	Items []mdm.DeviceGroup
	Pager pager
}

func (c *console) renderDeviceGroups(w http.ResponseWriter, r *http.Request, status int, nf *form) error {
	start, q := listRequest(r.URL.Query())
	pg, err := c.Assign.ListDeviceGroups(r.Context(), mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "builtIn", Desc: true}, {Field: "name"}}})
	if err != nil {
		return err
	}
	v := deviceGroupsView{Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.DeviceManage)),
		List: deviceGroupList{Items: pg.Items, Pager: pager{Path: "/console/devicegroups", Query: q, Start: start,
			Rows: pageRows, Total: pg.TotalCount, Shown: len(pg.Items)}}}
	if nf != nil {
		v.New = *nf
	} else {
		v.New = newForm()
		v.New.Values["kind"] = string(mdm.StaticDeviceGroup)
	}
	return render(w, r, status, "devicegroups", page{Title: "Device groups", Nav: "devicegroups", Flash: doneFlash(r.URL.Query()), Data: v})
}

// deviceGroupsPage lists the tenant's device groups, built-in ones first, with the New group form.
func (c *console) deviceGroupsPage(w http.ResponseWriter, r *http.Request) error {
	return c.renderDeviceGroups(w, r, http.StatusOK, nil)
}

// deviceGroupInput reads a device group form; a static group sends no rule.
func deviceGroupInput(r *http.Request, f *form) assign.DeviceGroupInput {
	for _, name := range deviceGroupFields {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	in := assign.DeviceGroupInput{Name: ptr(f.Values["name"]), Description: ptr(f.Values["description"])}
	if f.Values["rule"] != "" || strings.EqualFold(f.Values["kind"], string(mdm.DynamicDeviceGroup)) {
		in.Rule = ptr(f.Values["rule"])
	}
	return in
}

// createDeviceGroup handles the New device group form.
func (c *console) createDeviceGroup(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	in := deviceGroupInput(r, &f)
	in.Kind = ptr(f.Values["kind"])
	if !strings.EqualFold(f.Values["kind"], string(mdm.DynamicDeviceGroup)) && f.Values["rule"] == "" {
		in.Rule = nil
	}
	g, err := c.Assign.CreateDeviceGroup(r.Context(), in)
	if err != nil {
		status, ok := f.setError(err, deviceGroupFields...)
		if !ok {
			return err
		}
		return c.renderDeviceGroups(w, r, status, &f)
	}
	http.Redirect(w, r, deviceGroupPath(g.ID)+"?done=dgcreated", http.StatusSeeOther)
	return nil
}

func deviceGroupPath(id mdm.DeviceGroupID) string {
	return "/console/devicegroups/" + strconv.FormatInt(int64(id), 10)
}

func deviceGroupID(r *http.Request) (mdm.DeviceGroupID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.DeviceGroupID(id), err
}

type deviceGroupView struct {
	Group   *mdm.DeviceGroup
	Edit    form
	Members form
	Lines   []string // refused member lines
	List    deviceMemberList
	// Distributed is what is distributed to the group, by item kind.
	Distributed []mdm.Distribution
	Manage      bool
}

// deviceMemberList is one page of a device group's devices.
type deviceMemberList struct {
	Group  *mdm.DeviceGroup
	Items  []mdm.Device
	Pager  pager
	Remove bool // a static group and a caller who may change it
}

// deviceGroupView loads a device group page; edit, when set, is a refused form to show again.
func (c *console) deviceGroupView(r *http.Request, id mdm.DeviceGroupID, edit *form) (*deviceGroupView, error) {
	g, err := c.Assign.GetDeviceGroup(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &deviceGroupView{Group: g, Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.DeviceManage)), Members: newForm()}
	if edit != nil {
		v.Edit = *edit
	} else {
		v.Edit = newForm()
		v.Edit.Values["name"], v.Edit.Values["description"], v.Edit.Values["rule"] = g.Name, g.Description, g.Rule
	}
	start, q := listRequest(r.URL.Query())
	pg, err := c.Assign.DeviceGroupMembers(r.Context(), id, mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "deviceName"}}})
	if err != nil {
		return nil, err
	}
	v.List = deviceMemberList{Group: g, Items: pg.Items, Remove: v.Manage && g.Kind == mdm.StaticDeviceGroup,
		Pager: pager{Path: deviceGroupPath(id), Query: q, Start: start, Rows: pageRows, Total: pg.TotalCount,
			Shown: len(pg.Items), HXTarget: "device-member-list"}}
	if v.Distributed, err = c.Assign.DeviceGroupDistributions(r.Context(), id); err != nil {
		return nil, err
	}
	return v, nil
}

func (c *console) renderDeviceGroup(w http.ResponseWriter, r *http.Request, status int, v *deviceGroupView) error {
	return render(w, r, status, "devicegroup", page{Title: v.Group.Name, Nav: "devicegroups", Flash: doneFlash(r.URL.Query()), Data: v})
}

// deviceGroupPage shows one device group with its devices, edit, members and delete actions. The
// member search and pager swap only the list (HX-Target device-member-list).
func (c *console) deviceGroupPage(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceGroupID(r)
	if err != nil {
		return err
	}
	v, err := c.deviceGroupView(r, id, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Vary", "HX-Request, HX-Target")
	if hxTarget(r) == "device-member-list" {
		return fragment(w, http.StatusOK, "devicegroup", "device_member_list", v.List)
	}
	return c.renderDeviceGroup(w, r, http.StatusOK, v)
}

// updateDeviceGroup saves the edit form.
func (c *console) updateDeviceGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceGroupID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	g, err := c.Assign.GetDeviceGroup(r.Context(), id)
	if err != nil {
		return err
	}
	f := newForm()
	f.Values["kind"] = string(g.Kind)
	in := deviceGroupInput(r, &f)
	if g.Kind != mdm.DynamicDeviceGroup {
		in.Rule = nil
	}
	if _, err := c.Assign.UpdateDeviceGroup(r.Context(), id, in); err != nil {
		status, ok := f.setError(err, deviceGroupFields...)
		if !ok {
			return err
		}
		v, verr := c.deviceGroupView(r, id, &f)
		if verr != nil {
			return verr
		}
		return c.renderDeviceGroup(w, r, status, v)
	}
	http.Redirect(w, r, deviceGroupPath(id)+"?done=updated", http.StatusSeeOther)
	return nil
}

// changeDeviceMembers adds or removes static members named one per line by device id, serial number
// or GUID: all or none.
func (c *console) changeDeviceMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceGroupID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceManage); err != nil {
		return err
	}
	add := r.PostForm.Get("action") != "remove"
	text := r.PostForm.Get("devices")
	var ids []mdm.DeviceID
	var refused []string
	for _, l := range bulkLines(text) {
		d, err := c.deviceByName(r, l.Email)
		if mdm.IsCode(err, mdm.NotFound) {
			refused = append(refused, "Line "+strconv.Itoa(l.No)+" ("+l.Email+"): "+messageOf(err))
			continue
		}
		if err != nil {
			return err
		}
		ids = append(ids, d)
	}
	if len(refused) == 0 {
		err = c.Assign.ChangeDeviceGroupMembers(r.Context(), id, ids, add)
		if err == nil {
			http.Redirect(w, r, deviceGroupPath(id)+"?done=members", http.StatusSeeOther)
			return nil
		}
		if !mdm.IsCode(err, mdm.Invalid) && !mdm.IsCode(err, mdm.Conflict) && !mdm.IsCode(err, mdm.NotFound) {
			return err
		}
	}
	v, verr := c.deviceGroupView(r, id, nil)
	if verr != nil {
		return verr
	}
	v.Members.Values["devices"] = text
	v.Lines = refused
	status := http.StatusBadRequest
	if len(refused) == 0 {
		v.Members.Errors["devices"] = messageOf(err)
		status = statusOf(err)
	} else {
		v.Members.Global = "No device was added or removed. Correct these lines and try again."
	}
	return c.renderDeviceGroup(w, r, status, v)
}

// deviceByName finds the caller's tenant's device by id, serial number or GUID.
func (c *console) deviceByName(r *http.Request, s string) (mdm.DeviceID, error) {
	var f mdm.Filter = mdm.Or{mdm.Compare{Field: "serialNumber", Op: mdm.Eq, Value: strings.ReplaceAll(s, "*", "")},
		mdm.Compare{Field: "guid", Op: mdm.Eq, Value: strings.ReplaceAll(s, "*", "")}}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		f = append(f.(mdm.Or), mdm.Compare{Field: "id", Op: mdm.Eq, Value: n})
	}
	pg, err := c.Devices.List(r.Context(), mdm.ListOptions{Rows: 2, Filter: f})
	if err != nil {
		return 0, err
	}
	switch len(pg.Items) {
	case 0:
		return 0, mdm.Errorf(mdm.NotFound, "no device of this tenant has this id, serial number or GUID")
	case 1:
		return pg.Items[0].ID, nil
	}
	return 0, mdm.Errorf(mdm.NotFound, "several devices match: give the device id instead")
}

// deleteDeviceGroupPage asks for confirmation before deleting a device group.
func (c *console) deleteDeviceGroupPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceManage); err != nil {
		return err
	}
	id, err := deviceGroupID(r)
	if err != nil {
		return err
	}
	g, err := c.Assign.GetDeviceGroup(r.Context(), id)
	if err != nil {
		return err
	}
	if g.BuiltIn {
		return mdm.Errorf(mdm.Conflict, "%s is a built-in group and cannot be deleted", g.Name)
	}
	path := deviceGroupPath(id)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + g.Name, Nav: "devicegroups", Data: confirmView{
		Heading: "Delete the device group " + g.Name + "?",
		Text: "Its devices stay registered. Apps, content and configurations distributed to this group no longer " +
			"reach them through it.",
		Action: path + "/delete", Button: "Delete group", Back: path}})
}

// deleteDeviceGroup removes a device group after confirmation.
func (c *console) deleteDeviceGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := deviceGroupID(r)
	if err != nil {
		return err
	}
	if err := c.Assign.DeleteDeviceGroup(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/devicegroups?done=dgdeleted", http.StatusSeeOther)
	return nil
}
