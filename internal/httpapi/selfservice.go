package httpapi

import (
	"net/http"
	"strings"

	"steward/internal/authz"
	"steward/internal/mdm"
)

type emailInput struct {
	EmailAddress string `json:"emailAddress"`
}

type supportInput struct {
	Message string `json:"message"`
}

type supportJSON struct {
	Recipients int `json:"recipients"`
}

type deviceJSON struct {
	ID                mdm.DeviceID `json:"id"`
	Platform          string       `json:"platform"`
	RegistrationState string       `json:"registrationState"`
	CreatedAt         int64        `json:"createdAt"`
}

type supportAdminsInput struct {
	AccountIDs *[]int64 `json:"accountIds"`
}

type supportAdminsJSON struct {
	AccountIDs []mdm.AccountID `json:"accountIds"`
}

// neutralText is the one answer to a signed-out request by email address, sent or not.
const neutralText = "If the address belongs to an account that may have one, an email is on its way."

// selfServiceRoutes are the device app's calls for the user's own devices and requests: signed out by
// email address (always the same 202, so nobody can probe for accounts), or signed in (Basic with the
// user's own password, or a /go portal session).
func (a *API) selfServiceRoutes() {
	byEmail := func(send func(r *http.Request, email string) error) func(w http.ResponseWriter, r *http.Request) error {
		return func(w http.ResponseWriter, r *http.Request) error {
			var in emailInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			if strings.TrimSpace(in.EmailAddress) == "" {
				return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "emailAddress", Message: "is required"})
			}
			if err := send(r, in.EmailAddress); err != nil {
				return err
			}
			return writeJSON(w, http.StatusAccepted, neutralText)
		}
	}
	a.add(Route{Method: "POST", Path: "/api/v1/selfservice/pin", Tag: "Self-service",
		Summary: "Email a new device registration PIN to a user",
		Description: "Anonymous. Body: emailAddress. Sends the PIN request email when the address is a user's whose " +
			"registration setting uses a PIN and allows PIN requests, at most once in 5 minutes, and never within 24 " +
			"hours of the 10th wrong PIN (until an administrator issues one). The answer is the " +
			"same 202 in every case; 429 when this client made too many requests.",
		Body: emailInput{}, Result: ""},
		byEmail(func(r *http.Request, email string) error { return a.accounts.RequestPINByEmail(r.Context(), email) }))
	a.add(Route{Method: "POST", Path: "/api/v1/selfservice/password", Tag: "Self-service",
		Summary: "Email a password reset link to a user",
		Description: "Anonymous. Body: emailAddress. Sends a one-time link (valid 1 hour) to a user with a password (a half, " +
			"PIN-only account gets none: its administrator gives it a password), at " +
			"most once in 15 minutes. The answer is the same 202 in every case; 429 when this client made too many requests.",
		Body: emailInput{}, Result: ""},
		byEmail(func(r *http.Request, email string) error {
			return a.accounts.RequestPasswordResetByEmail(r.Context(), email)
		}))

	a.add(Route{Method: "GET", Path: "/api/v1/selfservice/devices", Tag: "Self-service", Needs: authz.SelfService,
		Summary:     "The signed-in user's own devices",
		Description: "Any tenant user, with or without roles, by HTTP Basic with their password or a /go portal session.",
		Result:      []deviceJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			ds, err := a.accounts.MyDevices(r.Context())
			if err != nil {
				return err
			}
			out := make([]deviceJSON, 0, len(ds))
			for _, d := range ds {
				out = append(out, deviceJSON{ID: d.ID, Platform: d.Platform, RegistrationState: d.RegistrationState,
					CreatedAt: millis(d.CreatedAt)})
			}
			return ok(w, out)
		})
	a.add(Route{Method: "POST", Path: "/api/v1/selfservice/support", Tag: "Self-service", Needs: authz.SelfService,
		Summary: "Ask the tenant's support administrators for help",
		Description: "Body: message (1 to 2000 characters). Emails each designated support administrator, or the " +
			"tenant's Tenant Admins when none is designated. At most 5 requests an hour per user (429 beyond).",
		Body: supportInput{}, Result: supportJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in supportInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			n, err := a.accounts.ContactSupport(r.Context(), in.Message)
			if err != nil {
				return err
			}
			return ok(w, supportJSON{Recipients: n})
		})

	a.add(Route{Method: "GET", Path: "/api/v1/supportadmins", Tag: "Self-service", Needs: authz.SystemRead,
		Summary:     "The tenant's support administrators",
		Description: "The accounts that receive users' support requests. Empty: the tenant's Tenant Admins receive them.",
		Result:      supportAdminsJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			ids, err := a.accounts.SupportAdmins(r.Context())
			if err != nil {
				return err
			}
			return ok(w, supportAdminsJSON{AccountIDs: ids})
		})
	a.add(Route{Method: "PUT", Path: "/api/v1/supportadmins", Tag: "Self-service", Needs: authz.SystemManage,
		Summary: "Designate the tenant's support administrators",
		Description: "Body: accountIds (required; [] clears the list, after which the Tenant Admins receive requests). " +
			"Every id must be an account of the tenant, else 400 and nothing changes. At most 50.",
		Body: supportAdminsInput{}, Result: supportAdminsJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in supportAdminsInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			if in.AccountIDs == nil {
				return mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "accountIds", Message: "is required ([] clears the list)"})
			}
			ids := make([]mdm.AccountID, 0, len(*in.AccountIDs))
			for _, n := range *in.AccountIDs {
				ids = append(ids, mdm.AccountID(n))
			}
			out, err := a.accounts.SetSupportAdmins(r.Context(), ids)
			if err != nil {
				return err
			}
			return ok(w, supportAdminsJSON{AccountIDs: out})
		})
}
