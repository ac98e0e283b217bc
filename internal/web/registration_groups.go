package web

import (
	"net/http"
	"slices"
	"strconv"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// overrideFields are the override form's inputs: the group and the setting's fields.
var overrideFields = append([]string{"groupId"}, registrationFields...)

// overrideView is the page of one group's override, or of a new one (Override nil).
type overrideView struct {
	Override *mdm.GroupRegistrationSettings
	Groups   []mdm.UserGroup // a new override's choices: the groups that have none
	Form     form
	Manage   bool
}

func overridePath(id mdm.GroupID) string {
	return "/console/registration/groups/" + strconv.FormatInt(int64(id), 10)
}

// groupsWithoutOverride lists the groups an override can still be added for: all but All Users and
// those that have one, by name.
func (c *console) groupsWithoutOverride(r *http.Request, overrides []mdm.GroupRegistrationSettings) ([]mdm.UserGroup, error) {
	taken := map[mdm.GroupID]bool{}
	for _, o := range overrides {
		taken[o.GroupID] = true
	}
	var free []mdm.UserGroup
	for start := 0; ; {
		pg, err := c.Accounts.ListGroups(r.Context(), mdm.ListOptions{Start: start, Rows: 500, Sort: []mdm.SortField{{Field: "name"}}})
		if err != nil {
			return nil, err
		}
		for _, g := range pg.Items {
			if g.Kind != mdm.AllUsersGroup && !taken[g.ID] {
				free = append(free, g)
			}
		}
		start += len(pg.Items)
		if len(pg.Items) == 0 || start >= pg.TotalCount {
			return free, nil
		}
	}
}

func (c *console) renderOverride(w http.ResponseWriter, r *http.Request, status int, v *overrideView) error {
	title := "Add a group's registration setting"
	if v.Override != nil {
		title = "Registration setting of " + v.Override.GroupName
	}
	return render(w, r, status, "registration_group", page{Title: title, Nav: "registration", Data: v})
}

// newOverridePage offers the groups without an override and the setting's fields, filled with the default.
func (c *console) newOverridePage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	v, err := c.newOverrideView(r, nil)
	if err != nil {
		return err
	}
	return c.renderOverride(w, r, http.StatusOK, v)
}

// newOverrideView loads the Add page; refused, when set, is a refused form to show again.
func (c *console) newOverrideView(r *http.Request, refused *form) (*overrideView, error) {
	ov, err := c.Accounts.RegistrationSettingsList(r.Context())
	if err != nil {
		return nil, err
	}
	free, err := c.groupsWithoutOverride(r, ov.Overrides)
	if err != nil {
		return nil, err
	}
	v := &overrideView{Groups: free, Form: settingForm(&ov.Default), Manage: true}
	if refused != nil {
		v.Form = *refused
	}
	return v, nil
}

// createOverride adds a group's override at the lowest priority. The group must have none yet, so
// that this form never overwrites one.
func (c *console) createOverride(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	f := newForm()
	in := registrationInput(r, &f)
	f.Values["groupId"] = r.PostForm.Get("groupId")
	status := http.StatusBadRequest
	if id, err := pathID(f.Values["groupId"]); err != nil {
		f.Errors["groupId"] = "Choose a group."
	} else if _, err := c.Accounts.GetGroup(r.Context(), mdm.GroupID(id)); mdm.IsCode(err, mdm.NotFound) {
		f.Errors["groupId"] = "Choose one of the groups listed."
	} else if err != nil {
		return err
	} else if _, err := c.Accounts.GroupRegistrationSettings(r.Context(), mdm.GroupID(id)); err == nil {
		f.Errors["groupId"] = "This group already has its own setting: edit it from the list."
		status = http.StatusConflict
	} else if !mdm.IsCode(err, mdm.NotFound) && !mdm.IsCode(err, mdm.Invalid) {
		return err
	} else if len(f.Errors) == 0 {
		in.GroupID = ptr(mdm.GroupID(id))
		_, err := c.Accounts.SetRegistrationSettings(r.Context(), in)
		if err == nil {
			http.Redirect(w, r, "/console/registration?done=ocreated", http.StatusSeeOther)
			return nil
		}
		var ok bool
		if status, ok = f.setError(err, overrideFields...); !ok {
			return err
		}
	}
	v, err := c.newOverrideView(r, &f)
	if err != nil {
		return err
	}
	return c.renderOverride(w, r, status, v)
}

// override reads the group id from the path and loads that group's override: not_found without one.
func (c *console) override(r *http.Request) (*mdm.GroupRegistrationSettings, error) {
	id, err := groupID(r)
	if err != nil {
		return nil, err
	}
	o, err := c.Accounts.GroupRegistrationSettings(r.Context(), id)
	if mdm.IsCode(err, mdm.Invalid) { // All Users: the default is its setting
		return nil, mdm.Errorf(mdm.NotFound, "the All Users group follows the default setting")
	}
	return o, err
}

// overridePage shows one group's override: an edit form, or read-only fields for a viewer.
func (c *console) overridePage(w http.ResponseWriter, r *http.Request) error {
	o, err := c.override(r)
	if err != nil {
		return err
	}
	v := &overrideView{Override: o, Form: settingForm(&o.Settings), Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.UserManage))}
	return c.renderOverride(w, r, http.StatusOK, v)
}

// saveOverride changes an existing override; a group without one gets a 404, not a new override.
func (c *console) saveOverride(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	o, err := c.override(r)
	if err != nil {
		return err
	}
	f := newForm()
	in := registrationInput(r, &f)
	in.GroupID = &o.GroupID
	status := http.StatusBadRequest
	if len(f.Errors) == 0 {
		_, err := c.Accounts.SetRegistrationSettings(r.Context(), in)
		if err == nil {
			http.Redirect(w, r, "/console/registration?done=osaved", http.StatusSeeOther)
			return nil
		}
		var ok bool
		if status, ok = f.setError(err, registrationFields...); !ok {
			return err
		}
	}
	return c.renderOverride(w, r, status, &overrideView{Override: o, Form: f, Manage: true})
}

// deleteOverridePage asks for confirmation before deleting an override.
func (c *console) deleteOverridePage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	o, err := c.override(r)
	if err != nil {
		return err
	}
	path := overridePath(o.GroupID)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete the setting of " + o.GroupName, Nav: "registration",
		Data: confirmView{
			Heading: "Delete the registration setting of " + o.GroupName + "?",
			Text: "Its members then follow the next group's setting that reaches them, or the default. " +
				"The settings below it move up one place.",
			Action: path + "/delete", Button: "Delete setting", Back: "/console/registration"}})
}

// deleteOverride removes a group's override after confirmation.
func (c *console) deleteOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	if err := c.Accounts.DeleteGroupRegistrationSettings(r.Context(), id); err != nil {
		if mdm.IsCode(err, mdm.Invalid) {
			return mdm.Errorf(mdm.NotFound, "the All Users group follows the default setting")
		}
		return err
	}
	http.Redirect(w, r, "/console/registration?done=odeleted", http.StatusSeeOther)
	return nil
}

// moveOverride swaps a group's override with its neighbour above (direction=up) or below (down), and
// sends the service the whole new order.
func (c *console) moveOverride(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	id, err := groupID(r)
	if err != nil {
		return err
	}
	ov, err := c.Accounts.RegistrationSettingsList(r.Context())
	if err != nil {
		return err
	}
	order := make([]mdm.GroupID, len(ov.Overrides))
	for i, o := range ov.Overrides {
		order[i] = o.GroupID
	}
	i := slices.Index(order, id)
	if i < 0 {
		return mdm.Errorf(mdm.NotFound, "this group has no registration setting of its own")
	}
	j := i - 1
	switch r.PostForm.Get("direction") {
	case "up":
	case "down":
		j = i + 1
	default:
		return mdm.FieldErrors(mdm.FieldError{Code: "Enum", Field: "direction", Message: "must be up or down"})
	}
	if j < 0 || j >= len(order) {
		return mdm.Errorf(mdm.Invalid, "the setting of %s cannot move further %s", ov.Overrides[i].GroupName,
			r.PostForm.Get("direction"))
	}
	order[i], order[j] = order[j], order[i]
	if err := c.Accounts.SetRegistrationPriority(r.Context(), order); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/registration?done=moved#overrides", http.StatusSeeOther)
	return nil
}
