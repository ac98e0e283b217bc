package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

type userView struct {
	Account *mdm.Account
	PIN     *accounts.PINState
	// Effective is the registration setting that applies to the user and where it comes from.
	Effective *accounts.EffectiveRegistration
	NewPIN    *accounts.IssuedPIN // shown once, right after it was generated
	Edit      form
	Roles     rolePicker
	Manage    bool
	Self      bool
	// Devices are the user's devices, shown when the caller may read devices (ShowDevices).
	Devices     []mdm.Device
	ShowDevices bool
}

// userView loads what the user page shows; edit, when set, is a refused edit form to show again.
func (c *console) userView(r *http.Request, id mdm.AccountID, edit *form, roles []string) (*userView, error) {
	a, err := c.Accounts.GetAccount(r.Context(), id)
	if err != nil {
		return nil, err
	}
	pin, err := c.Accounts.PINStatus(r.Context(), id)
	if err != nil {
		return nil, err
	}
	eff, err := c.Accounts.EffectiveRegistrationSettings(r.Context(), id)
	if err != nil {
		return nil, err
	}
	p := mdm.PrincipalFrom(r.Context())
	v := &userView{Account: a, PIN: pin, Effective: eff, Manage: can(p, string(authz.UserManage)), Self: int64(a.ID) == p.ID}
	if v.Devices, v.ShowDevices, err = c.userDevices(r, id); err != nil {
		return nil, err
	}
	if edit != nil {
		v.Edit = *edit
	} else {
		v.Edit = newForm()
		v.Edit.Values["firstName"], v.Edit.Values["lastName"] = a.FirstName, a.LastName
		roles = a.Roles
		if a.Enabled {
			v.Edit.Values["enabled"] = "on"
		}
		if a.APIUser {
			v.Edit.Values["apiUser"] = "on"
		}
	}
	v.Roles = newRolePicker(p, "edit-roles", "Own roles", roles, v.Edit.Error("roles"))
	return v, nil
}

func (c *console) renderUser(w http.ResponseWriter, r *http.Request, status int, v *userView, fl *flash) error {
	return render(w, r, status, "user", page{Title: v.Account.Username, Nav: "users", Flash: fl, Data: v})
}

func accountID(r *http.Request) (mdm.AccountID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.AccountID(id), err
}

// userPage shows one user: details, the edit form, PIN status and the actions.
func (c *console) userPage(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	v, err := c.userView(r, id, nil, nil)
	if err != nil {
		return err
	}
	return c.renderUser(w, r, http.StatusOK, v, doneFlash(r.URL.Query()))
}

// updateUser saves names, roles and the enabled and API user flags. One's own roles and enabled flag
// are not sent: the service refuses to change them. The API user flag is sent only when it changes, so
// that the service's refusal (one's own flag; an API user without a password) is what the form shows.
func (c *console) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	a, err := c.Accounts.GetAccount(r.Context(), id)
	if err != nil {
		return err
	}
	p := mdm.PrincipalFrom(r.Context())
	f := newForm()
	f.Values["firstName"] = strings.TrimSpace(r.PostForm.Get("firstName"))
	f.Values["lastName"] = strings.TrimSpace(r.PostForm.Get("lastName"))
	f.Values["enabled"] = r.PostForm.Get("enabled")
	f.Values["apiUser"] = r.PostForm.Get("apiUser")
	in := accounts.AccountUpdate{FirstName: ptr(f.Values["firstName"]), LastName: ptr(f.Values["lastName"])}
	if apiUser := f.Values["apiUser"] == "on"; apiUser != a.APIUser {
		in.APIUser = &apiUser
	}
	roles := keptRoles(p, r.PostForm["roles"], a.Roles)
	if int64(id) != p.ID {
		if !sameRoles(roles, a.Roles) {
			in.Roles = &roles
		}
		in.Enabled = ptr(f.Values["enabled"] == "on")
	}
	if _, err := c.Accounts.UpdateAccount(r.Context(), id, in); err != nil {
		known := []string{"firstName", "lastName", "roles", "enabled", "apiUser"}
		if int64(id) == p.ID {
			known = known[:2] // one's own page shows no roles, enabled or API user box: say it on top
		}
		status, ok := f.setError(err, known...)
		if !ok {
			return err
		}
		v, verr := c.userView(r, id, &f, roles)
		if verr != nil {
			return verr
		}
		return c.renderUser(w, r, status, v, nil)
	}
	http.Redirect(w, r, "/console/users/"+strconv.FormatInt(int64(id), 10)+"?done=updated", http.StatusSeeOther)
	return nil
}

func ptr[T any](v T) *T { return &v }

// generatePIN issues a registration PIN and shows it once, on this answer only.
func (c *console) generatePIN(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	issued, err := c.Accounts.IssueRegistrationPIN(r.Context(), id)
	if err != nil && !mdm.IsCode(err, mdm.Invalid) {
		return err
	}
	v, verr := c.userView(r, id, nil, nil)
	if verr != nil {
		return verr
	}
	if err != nil {
		return c.renderUser(w, r, http.StatusBadRequest, v, &flash{Kind: "error", Text: messageOf(err)})
	}
	v.NewPIN = issued
	return c.renderUser(w, r, http.StatusOK, v, nil)
}

// deleteUserPage asks for confirmation before deleting.
func (c *console) deleteUserPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err
	}
	id, err := accountID(r)
	if err != nil {
		return err
	}
	a, err := c.Accounts.GetAccount(r.Context(), id)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + a.Username, Nav: "users", Data: confirmView{
		Heading: "Delete " + a.Username + "?",
		Text:    "The account and its roles are removed; it can be added again later as a new user.",
		Action:  "/console/users/" + strconv.FormatInt(int64(id), 10) + "/delete", Button: "Delete user",
		Back: "/console/users/" + strconv.FormatInt(int64(id), 10)}})
}

// deleteUser removes one user after confirmation.
func (c *console) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	if err := c.Accounts.DeleteAccounts(r.Context(), []mdm.AccountID{id}); err != nil {
		if !mdm.IsCode(err, mdm.Invalid) {
			return err
		}
		v, verr := c.userView(r, id, nil, nil)
		if verr != nil {
			return verr
		}
		return c.renderUser(w, r, http.StatusBadRequest, v, &flash{Kind: "error", Text: messageOf(err)})
	}
	http.Redirect(w, r, "/console/users?done=deleted", http.StatusSeeOther)
	return nil
}

// confirmView is the confirmation page of a destructive action.
type confirmView struct {
	Heading, Text, Action, Button, Back string
}
