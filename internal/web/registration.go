package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// registrationFields are the setting form's inputs, named as the service names its field errors.
var registrationFields = []string{"authType", "pinLifetimeDays", "pinLength", "allowPinRequest", "devicesPerUser"}

type registrationView struct {
	Form       form
	Manage     bool
	ModifiedAt string // "" while the defaults apply
	// Overrides are the groups' own settings, highest priority first; CanAdd says a group without one is left.
	Overrides []mdm.GroupRegistrationSettings
	CanAdd    bool
}

func settingForm(s *mdm.RegistrationSettings) form {
	f := newForm()
	f.Values["authType"] = string(s.AuthType)
	f.Values["pinLifetimeDays"] = strconv.Itoa(s.PINLifetimeDays)
	f.Values["pinLength"] = strconv.Itoa(s.PINLength)
	f.Values["devicesPerUser"] = strconv.Itoa(s.DevicesPerUser)
	if s.AllowPINRequest {
		f.Values["allowPinRequest"] = "on"
	}
	return f
}

// registrationPage shows the tenant's default device registration setting (for All Users) and below it
// the groups' overrides in priority order.
func (c *console) registrationPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.registrationView(r, nil)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, "registration", page{Title: "Device registration", Nav: "registration",
		Flash: doneFlash(r.URL.Query()), Data: v})
}

// registrationView loads the page; refused, when set, is a refused default form to show again.
func (c *console) registrationView(r *http.Request, refused *form) (*registrationView, error) {
	ov, err := c.Accounts.RegistrationSettingsList(r.Context())
	if err != nil {
		return nil, err
	}
	v := &registrationView{Form: settingForm(&ov.Default), Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.UserManage)),
		ModifiedAt: modifiedAt(&ov.Default), Overrides: ov.Overrides}
	if refused != nil {
		v.Form = *refused
	}
	if v.Manage {
		free, err := c.groupsWithoutOverride(r, ov.Overrides)
		if err != nil {
			return nil, err
		}
		v.CanAdd = len(free) > 0
	}
	return v, nil
}

// registrationInput reads the setting form into f and the service input; a number that is not a
// number is refused here, as a field error on f.
func registrationInput(r *http.Request, f *form) accounts.RegistrationInput {
	for _, name := range registrationFields {
		f.Values[name] = strings.TrimSpace(r.PostForm.Get(name))
	}
	allow := f.Values["allowPinRequest"] == "on"
	in := accounts.RegistrationInput{AuthType: ptr(f.Values["authType"]), AllowPINRequest: &allow}
	for name, dst := range map[string]**int{"pinLifetimeDays": &in.PINLifetimeDays, "pinLength": &in.PINLength,
		"devicesPerUser": &in.DevicesPerUser} {
		n, err := strconv.Atoi(f.Values[name])
		if err != nil {
			f.Errors[name] = "Enter a whole number."
			continue
		}
		*dst = &n
	}
	return in
}

// saveRegistration changes the tenant's default setting.
func (c *console) saveRegistration(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.UserManage); err != nil {
		return err // a read-only caller learns nothing about the form
	}
	f := newForm()
	in := registrationInput(r, &f)
	status := http.StatusBadRequest
	if len(f.Errors) == 0 {
		_, err := c.Accounts.SetRegistrationSettings(r.Context(), in)
		if err == nil {
			http.Redirect(w, r, "/console/registration?done=saved", http.StatusSeeOther)
			return nil
		}
		var ok bool
		if status, ok = f.setError(err, registrationFields...); !ok {
			return err
		}
	}
	v, err := c.registrationView(r, &f)
	if err != nil {
		return err
	}
	return render(w, r, status, "registration", page{Title: "Device registration", Nav: "registration", Data: v})
}

func modifiedAt(s *mdm.RegistrationSettings) string {
	if s.ModifiedAt.IsZero() {
		return ""
	}
	return formatTime(s.ModifiedAt)
}
