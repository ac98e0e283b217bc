package httpapi

import (
	"mime"
	"net/http"
	"strconv"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/mdm"
)

type pinJSON struct {
	AccountID mdm.AccountID `json:"accountId"`
	PIN       string        `json:"pin"`
	ExpiresAt int64         `json:"expiresAt"`
}

type regpinInput struct {
	AccountID int64 `json:"accountId"`
}

// registrationJSON is the tenant default or, with groupId, a group's override.
type registrationJSON struct {
	GroupID         mdm.GroupID `json:"groupId,omitempty"`
	GroupName       string      `json:"groupName,omitempty"`
	Priority        int         `json:"priority,omitempty"` // 1 is the highest
	AuthType        string      `json:"authType"`
	PINLifetimeDays int         `json:"pinLifetimeDays"`
	PINLength       int         `json:"pinLength"`
	AllowPINRequest bool        `json:"allowPinRequest"`
	DevicesPerUser  int         `json:"devicesPerUser"`
	ModifiedAt      int64       `json:"modifiedAt"`
}

func registrationOut(s *mdm.RegistrationSettings) registrationJSON {
	return registrationJSON{AuthType: string(s.AuthType), PINLifetimeDays: s.PINLifetimeDays, PINLength: s.PINLength,
		AllowPINRequest: s.AllowPINRequest, DevicesPerUser: s.DevicesPerUser, ModifiedAt: millis(s.ModifiedAt)}
}

func overrideOut(o *mdm.GroupRegistrationSettings) registrationJSON {
	j := registrationOut(&o.Settings)
	j.GroupID, j.GroupName, j.Priority = o.GroupID, o.GroupName, o.Priority
	return j
}

type registrationListJSON struct {
	Default   registrationJSON   `json:"default"`
	Overrides []registrationJSON `json:"overrides"` // by priority, 1 first
}

type effectiveRegistrationJSON struct {
	AccountID mdm.AccountID    `json:"accountId"`
	Source    string           `json:"source"` // DEFAULT or GROUP
	Setting   registrationJSON `json:"setting"`
}

type priorityInput struct {
	GroupIDs []int64 `json:"groupIds"`
}

var groupIDParam = Param{"groupId", "integer", "a user group's override (any group but All Users); absent for the tenant default"}

// optionalGroupID reads groupId=N from the query; nil when absent.
func optionalGroupID(r *http.Request) (*mdm.GroupID, error) {
	s := r.URL.Query().Get("groupId")
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "groupId", Message: "must be a group id (a whole number)"})
	}
	id := mdm.GroupID(n)
	return &id, nil
}

func requiredGroupID(r *http.Request) (mdm.GroupID, error) {
	id, err := optionalGroupID(r)
	if err != nil {
		return 0, err
	}
	if id == nil {
		return 0, mdm.FieldErrors(mdm.FieldError{Code: "NotAllowed", Field: "groupId",
			Message: "the tenant default cannot be deleted: give the groupId of a group's own setting"})
	}
	return *id, nil
}

func (a *API) registrationRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/account/regpin", Tag: "Accounts", Needs: authz.UserManage,
		Summary: "Generate a device registration PIN for an account",
		Description: "Only when the account's effective registration setting asks for a PIN (PIN_ONLY or PIN_AND_PASSWORD); " +
			"otherwise 400 says why. The PIN replaces any earlier one, is shown only in this answer, works once and expires " +
			"after the setting's PIN lifetime.",
		Body: regpinInput{}, Result: pinJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in regpinInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			if in.AccountID <= 0 {
				return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "accountId", Message: "is required"})
			}
			pin, err := a.accounts.IssueRegistrationPIN(r.Context(), mdm.AccountID(in.AccountID))
			if err != nil {
				return err
			}
			return ok(w, pinJSON{AccountID: pin.AccountID, PIN: pin.PIN, ExpiresAt: millis(pin.ExpiresAt)})
		})

	a.add(Route{Method: "GET", Path: "/api/v1/registrationsettings", Tag: "Registration settings", Needs: authz.UserRead,
		Summary: "The tenant's default device registration setting, or a group's override",
		Description: "authType (PASSWORD_ONLY, PIN_ONLY, PIN_AND_PASSWORD) applies to registrations after the first, " +
			"which always takes the invitation PIN. Defaults: PIN_ONLY, PIN lifetime 7 days, PIN length 6. With groupId, " +
			"that group's override (404 when it has none). A user gets the override of the highest-priority group they " +
			"belong to, else the default.",
		Query: []Param{groupIDParam}, Result: registrationJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			groupID, err := optionalGroupID(r)
			if err != nil {
				return err
			}
			if groupID != nil {
				o, err := a.accounts.GroupRegistrationSettings(r.Context(), *groupID)
				if err != nil {
					return err
				}
				return ok(w, overrideOut(o))
			}
			s, err := a.accounts.RegistrationSettings(r.Context())
			if err != nil {
				return err
			}
			return ok(w, registrationOut(s))
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/registrationsettings", Tag: "Registration settings", Needs: authz.UserManage,
		Summary: "Change the tenant's default device registration setting, or a group's override",
		Description: "pinLifetimeDays 1-30, pinLength 4-12, devicesPerUser 1-100; absent fields keep their value. With " +
			"groupId (query or body), that group's override, created when absent (starting from the default, at the lowest " +
			"priority).",
		Query: []Param{groupIDParam}, Body: accounts.RegistrationInput{}, Result: registrationJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			groupID, err := optionalGroupID(r)
			if err != nil {
				return err
			}
			var in accounts.RegistrationInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			switch {
			case in.GroupID != nil && *in.GroupID <= 0:
				return mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "groupId", Message: "must be a group id (a whole number)"})
			case in.GroupID != nil && groupID != nil && *in.GroupID != *groupID:
				return mdm.FieldErrors(mdm.FieldError{Code: "Mismatch", Field: "groupId", Message: "the query and the body name different groups"})
			case groupID != nil:
				in.GroupID = groupID
			}
			s, err := a.accounts.SetRegistrationSettings(r.Context(), in)
			if err != nil {
				return err
			}
			if in.GroupID != nil {
				o, err := a.accounts.GroupRegistrationSettings(r.Context(), *in.GroupID)
				if err != nil {
					return err
				}
				return ok(w, overrideOut(o))
			}
			return ok(w, registrationOut(s))
		})

	a.add(Route{Method: "DELETE", Path: "/api/v1/registrationsettings", Tag: "Registration settings", Needs: authz.UserManage,
		Summary: "Remove a group's registration setting override",
		Description: "groupId is required: the tenant default cannot be deleted (400). The overrides below move up one " +
			"priority; the group's members fall back to their next group's override or the default.",
		Query: []Param{groupIDParam}},
		func(w http.ResponseWriter, r *http.Request) error {
			groupID, err := requiredGroupID(r)
			if err != nil {
				return err
			}
			if err := a.accounts.DeleteGroupRegistrationSettings(r.Context(), groupID); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/registrationsettings/all", Tag: "Registration settings", Needs: authz.UserRead,
		Summary:     "The default setting and every group override, by priority",
		Description: "overrides are in priority order, 1 (the highest) first, each with groupId, groupName and priority.",
		Result:      registrationListJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			l, err := a.accounts.RegistrationSettingsList(r.Context())
			if err != nil {
				return err
			}
			out := registrationListJSON{Default: registrationOut(&l.Default), Overrides: []registrationJSON{}}
			for i := range l.Overrides {
				out.Overrides = append(out.Overrides, overrideOut(&l.Overrides[i]))
			}
			return ok(w, out)
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/registrationsettings/priority", Tag: "Registration settings", Needs: authz.UserManage,
		Summary: "Reorder the group overrides",
		Description: "groupIds (query or form: repeated or comma-separated; or JSON {\"groupIds\":[…]}) names every group " +
			"with an override exactly once, highest priority first. A partial list, a repeated or an unknown id is a 400 " +
			"and changes nothing.",
		Query: []Param{{"groupIds", "integer", "group id (repeatable), highest priority first"}}, Body: priorityInput{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in priorityInput
			var err error
			if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" ||
				r.URL.Query().Has("groupIds") {
				in.GroupIDs, err = int64s(r, "groupIds")
			} else {
				err = decode(w, r, &in)
			}
			if err != nil {
				return err
			}
			ids := make([]mdm.GroupID, 0, len(in.GroupIDs))
			for _, n := range in.GroupIDs {
				if n <= 0 {
					return mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "groupIds", Message: "must be group ids (whole numbers)"})
				}
				ids = append(ids, mdm.GroupID(n))
			}
			if err := a.accounts.SetRegistrationPriority(r.Context(), ids); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/account/{id}/registrationsettings", Tag: "Registration settings", Needs: authz.UserRead,
		Summary:     "The registration setting that applies to one account, and where it comes from",
		Description: "source is DEFAULT (the tenant default) or GROUP (setting names the group and its priority).",
		Result:      effectiveRegistrationJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.AccountID](r, "account")
			if err != nil {
				return err
			}
			e, err := a.accounts.EffectiveRegistrationSettings(r.Context(), id)
			if err != nil {
				return err
			}
			out := effectiveRegistrationJSON{AccountID: e.AccountID, Source: "DEFAULT", Setting: registrationOut(&e.Settings)}
			if e.Group != nil {
				out.Source, out.Setting = "GROUP", overrideOut(e.Group)
			}
			return ok(w, out)
		})
}
