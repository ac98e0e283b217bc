package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// groupFields are the group forms' inputs, named as the service names its field errors.
var groupFields = []string{"name", "description", "kind", "rule", "roles"}

type groupsView struct {
	List   groupList
	New    groupForm
	Manage bool
}

type groupList struct {
	Items []mdm.UserGroup
	Pager pager
}

type groupForm struct {
	Form  form
	Roles rolePicker
}

func (c *console) groupList(r *http.Request, start int, q string) (groupList, error) {
	pg, err := c.Accounts.ListGroups(r.Context(), mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "name"}}})
	if err != nil {
		return groupList{}, err
	}
	return groupList{Items: pg.Items, Pager: pager{Path: "/console/groups", Query: q, Start: start, Rows: pageRows,
		Total: pg.TotalCount, Shown: len(pg.Items)}}, nil
}

func (c *console) renderGroups(w http.ResponseWriter, r *http.Request, status int, start int, q string, nf *groupForm) error {
	list, err := c.groupList(r, start, q)
	if err != nil {
		return err
	}
	p := mdm.PrincipalFrom(r.Context())
	v := groupsView{List: list, Manage: can(p, string(authz.UserManage))}
	if nf != nil {
		v.New = *nf
	} else {
		f := newForm()
		f.Values["kind"] = string(mdm.StaticGroup)
		v.New = groupForm{Form: f, Roles: newRolePicker(p, "group-roles", "Roles members inherit", nil, "")}
	}
	return render(w, r, status, "groups", page{Title: "User groups", Nav: "groups", Flash: doneFlash(r.URL.Query()), Data: v})
}

// groupsPage lists the tenant's user groups with the New group form.
func (c *console) groupsPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	return c.renderGroups(w, r, http.StatusOK, start, q, nil)
}

// groupInput reads the group form; a static group sends no rule.
func groupInput(r *http.Request, f *form) accounts.GroupInput {
	for _, name := range groupFields[:4] {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	in := accounts.GroupInput{Name: ptr(f.Values["name"]), Description: ptr(f.Values["description"])}
	if f.Values["rule"] != "" || strings.EqualFold(f.Values["kind"], string(mdm.DynamicGroup)) {
		in.Rule = ptr(f.Values["rule"])
	}
	return in
}

// createGroup handles the New group form.
func (c *console) createGroup(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	in := groupInput(r, &f)
	in.Kind = ptr(f.Values["kind"])
	roles := r.PostForm["roles"]
	in.Roles = &roles
	g, err := c.Accounts.CreateGroup(r.Context(), in)
	if err != nil {
		status, ok := f.setError(err, groupFields...)
		if !ok {
			return err
		}
		p := mdm.PrincipalFrom(r.Context())
		return c.renderGroups(w, r, status, 0, "", &groupForm{Form: f,
			Roles: newRolePicker(p, "group-roles", "Roles members inherit", roles, f.Error("roles"))})
	}
	http.Redirect(w, r, "/console/groups/"+strconv.FormatInt(int64(g.ID), 10)+"?done=gcreated", http.StatusSeeOther)
	return nil
}

type groupView struct {
	Group   *mdm.UserGroup
	Edit    form
	Roles   rolePicker
	Members form
	Lines   []string // refused member lines
	List    memberList
	// Registration is the group's own registration setting, nil when it has none.
	Registration *mdm.GroupRegistrationSettings
	// Distributed is what is distributed to the group (apps, content, configurations).
	Distributed []mdm.Distribution
	Manage      bool
}

func groupID(r *http.Request) (mdm.GroupID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.GroupID(id), err
}

// groupView loads a group page; edit and members, when set, are refused forms to show again.
func (c *console) groupView(r *http.Request, id mdm.GroupID, edit *form, roles []string) (*groupView, error) {
	g, err := c.Accounts.GetGroup(r.Context(), id)
	if err != nil {
		return nil, err
	}
	p := mdm.PrincipalFrom(r.Context())
	v := &groupView{Group: g, Manage: can(p, string(authz.UserManage)), Members: newForm()}
	if edit != nil {
		v.Edit = *edit
	} else {
		v.Edit = newForm()
		v.Edit.Values["name"], v.Edit.Values["description"], v.Edit.Values["rule"] = g.Name, g.Description, g.Rule
		roles = g.Roles
	}
	v.Roles = newRolePicker(p, "group-roles", "Roles members inherit", roles, v.Edit.Error("roles"))
	if v.List, err = c.memberList(r, g, v.Manage); err != nil {
		return nil, err
	}
	if c.Assign != nil {
		if v.Distributed, err = c.Assign.UserGroupDistributions(r.Context(), id); err != nil {
			return nil, err
		}
	}
	if g.Kind != mdm.AllUsersGroup {
		v.Registration, err = c.Accounts.GroupRegistrationSettings(r.Context(), id)
		if mdm.IsCode(err, mdm.NotFound) {
			err = nil
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (c *console) renderGroup(w http.ResponseWriter, r *http.Request, status int, v *groupView, fl *flash) error {
	if fl == nil {
		fl = doneFlash(r.URL.Query())
	}
	return render(w, r, status, "group", page{Title: v.Group.Name, Nav: "groups", Flash: fl, Data: v})
}

// groupPage shows one group with its member list, edit, members and delete actions. The member
// search and pager swap only the list (HX-Target member-list).
func (c *console) groupPage(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	v, err := c.groupView(r, id, nil, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Vary", "HX-Request, HX-Target")
	if hxTarget(r) == "member-list" {
		return fragment(w, http.StatusOK, "group", "member_list", v.List)
	}
	return c.renderGroup(w, r, http.StatusOK, v, nil)
}

// updateGroup saves the edit form. All Users keeps its name; a role the caller may not grant stays.
func (c *console) updateGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	g, err := c.Accounts.GetGroup(r.Context(), id)
	if err != nil {
		return err
	}
	f := newForm()
	in := groupInput(r, &f)
	if g.Kind == mdm.AllUsersGroup {
		in.Name = nil
	}
	if g.Kind != mdm.DynamicGroup {
		in.Rule = nil
	}
	roles := keptRoles(mdm.PrincipalFrom(r.Context()), r.PostForm["roles"], g.Roles)
	if !sameRoles(roles, g.Roles) {
		in.Roles = &roles
	}
	if _, err := c.Accounts.UpdateGroup(r.Context(), id, in); err != nil {
		status, ok := f.setError(err, groupFields...)
		if !ok {
			return err
		}
		v, verr := c.groupView(r, id, &f, roles)
		if verr != nil {
			return verr
		}
		return c.renderGroup(w, r, status, v, nil)
	}
	http.Redirect(w, r, "/console/groups/"+strconv.FormatInt(int64(id), 10)+"?done=updated", http.StatusSeeOther)
	return nil
}

// changeMembers adds or removes static members named by email address, one per line: all or none.
func (c *console) changeMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	add := r.PostForm.Get("action") != "remove"
	text := r.PostForm.Get("emails")
	lines := bulkLines(text)
	var ids []mdm.AccountID
	var refused []string
	for _, l := range lines {
		a, err := c.accountByEmail(r, l.Email)
		if mdm.IsCode(err, mdm.NotFound) || mdm.IsCode(err, mdm.Invalid) {
			refused = append(refused, "Line "+strconv.Itoa(l.No)+" ("+l.Email+"): "+messageOf(err))
			continue
		}
		if err != nil {
			return err
		}
		ids = append(ids, a.ID)
	}
	if len(refused) == 0 {
		err = c.Accounts.ChangeMembers(r.Context(), id, ids, add)
		if err == nil {
			http.Redirect(w, r, "/console/groups/"+strconv.FormatInt(int64(id), 10)+"?done=members", http.StatusSeeOther)
			return nil
		}
		if !mdm.IsCode(err, mdm.Invalid) && !mdm.IsCode(err, mdm.Conflict) && !mdm.IsCode(err, mdm.NotFound) {
			return err
		}
	}
	v, verr := c.groupView(r, id, nil, nil)
	if verr != nil {
		return verr
	}
	v.Members.Values["emails"] = text
	v.Lines = refused
	status := http.StatusBadRequest
	if len(refused) == 0 {
		v.Members.Errors["emails"] = messageOf(err)
		status = statusOf(err)
	} else {
		v.Members.Global = "Nobody was added or removed. Correct these lines and try again."
	}
	return c.renderGroup(w, r, status, v, nil)
}

// accountByEmail finds the caller's tenant's user with this email address.
func (c *console) accountByEmail(r *http.Request, email string) (*mdm.Account, error) {
	addr, err := mdm.ParseEmail(email)
	if err != nil {
		return nil, mdm.Wrap(mdm.Invalid, err, "not a valid email address")
	}
	pg, err := c.Accounts.ListAccounts(r.Context(), mdm.ListOptions{Rows: 1,
		Filter: mdm.Compare{Field: "emailAddress", Op: mdm.Eq, Value: addr}})
	if err != nil {
		return nil, err
	}
	if len(pg.Items) == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "no user of this tenant has this address")
	}
	return &pg.Items[0], nil
}

// deleteGroupPage asks for confirmation before deleting a group.
func (c *console) deleteGroupPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	id, err := groupID(r)
	if err != nil {
		return err
	}
	g, err := c.Accounts.GetGroup(r.Context(), id)
	if err != nil {
		return err
	}
	if g.Kind == mdm.AllUsersGroup {
		return mdm.Errorf(mdm.Conflict, "the All Users group always exists")
	}
	path := "/console/groups/" + strconv.FormatInt(int64(id), 10)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + g.Name, Nav: "groups", Data: confirmView{
		Heading: "Delete the group " + g.Name + "?",
		Text:    "Its members keep their accounts and lose the roles they had through this group.",
		Action:  path + "/delete", Button: "Delete group", Back: path}})
}

// deleteGroup removes a group after confirmation.
func (c *console) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	if err := c.Accounts.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/groups?done=gdeleted", http.StatusSeeOther)
	return nil
}
