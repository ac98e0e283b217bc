package web

import (
	"net/http"
	"strings"

	"steward/internal/accounts"
	"steward/internal/mdm"
)

// Signed-out requests from the portal's sign-in page ("Get a new PIN", "Forgot password") and the
// password reset link they lead to.

type portalForgotView struct {
	Kind string // pin or password
	Form form
	Sent bool
}

func forgotKind(s string) string {
	if s == "pin" {
		return "pin"
	}
	return "password"
}

func (c *console) portalForgotPage(w http.ResponseWriter, r *http.Request) error {
	return renderPortal(w, http.StatusOK, "go_forgot", page{Title: "Request by email",
		Data: portalForgotView{Kind: forgotKind(r.URL.Query().Get("kind")), Form: newForm()}})
}

// portalForgot answers the same whether or not the address belongs to anyone and whether or not
// anything was sent; only a malformed address and a client over its limit are told so.
func (c *console) portalForgot(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	v := portalForgotView{Kind: forgotKind(r.PostForm.Get("kind")), Form: newForm()}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	var err error
	if v.Kind == "pin" {
		err = c.Accounts.RequestPINByEmail(r.Context(), email)
	} else {
		err = c.Accounts.RequestPasswordResetByEmail(r.Context(), email)
	}
	switch mdm.ErrorCode(err) {
	case "":
	case mdm.Invalid:
		v.Form.Values["email"] = email
		v.Form.Errors["email"] = "Enter your email address, like name@example.com."
		return renderPortal(w, statusOf(err), "go_forgot", page{Title: "Request by email", Data: v})
	case mdm.RateLimited:
		v.Form.Values["email"] = email
		v.Form.Global = sentence(mdm.Message(err)) + "."
		return renderPortal(w, statusOf(err), "go_forgot", page{Title: "Request by email", Data: v})
	default:
		return err
	}
	v.Sent = true
	return renderPortal(w, http.StatusOK, "go_forgot", page{Title: "Request by email", Data: v})
}

type portalResetView struct {
	State    string // form, done, invalid
	Token    string
	Username string
	Tenant   string
	Message  string
	Form     form
}

func (c *console) portalResetPage(w http.ResponseWriter, r *http.Request) error {
	activationHeaders(w)
	token := r.URL.Query().Get("token")
	a, err := c.Accounts.CheckPasswordReset(r.Context(), token)
	if err != nil {
		return c.resetRefused(w, err)
	}
	return renderPortal(w, http.StatusOK, "go_reset", page{Title: "Set a new password", Data: portalResetView{State: "form",
		Token: token, Username: a.Username, Tenant: a.TenantName, Form: newForm()}})
}

func (c *console) portalReset(w http.ResponseWriter, r *http.Request) error {
	activationHeaders(w)
	if err := parseForm(w, r); err != nil {
		return err
	}
	token, password := r.PostForm.Get("token"), r.PostForm.Get("password")
	check, err := c.Accounts.CheckPasswordReset(r.Context(), token)
	if err != nil {
		return c.resetRefused(w, err)
	}
	v := portalResetView{State: "form", Token: token, Username: check.Username, Tenant: check.TenantName, Form: newForm()}
	if password != r.PostForm.Get("confirm") {
		v.Form.Errors["confirm"] = "The two passwords differ."
		return renderPortal(w, http.StatusBadRequest, "go_reset", page{Title: "Set a new password", Data: v})
	}
	var a *accounts.Activation
	a, err = c.Accounts.ResetPassword(r.Context(), token, password)
	if mdm.IsCode(err, mdm.Invalid) {
		status, _ := v.Form.setError(err, "password")
		return renderPortal(w, status, "go_reset", page{Title: "Set a new password", Data: v})
	}
	if err != nil {
		return c.resetRefused(w, err)
	}
	return renderPortal(w, http.StatusOK, "go_reset", page{Title: "Password set", Data: portalResetView{State: "done",
		Username: a.Username, Tenant: a.TenantName}})
}

func (c *console) resetRefused(w http.ResponseWriter, err error) error {
	switch mdm.ErrorCode(err) {
	case mdm.NotFound, mdm.Conflict, mdm.Forbidden:
	default:
		return err
	}
	return renderPortal(w, statusOf(err), "go_reset", page{Title: "Password link", Data: portalResetView{State: "invalid",
		Message: sentence(mdm.Message(err)) + "."}})
}
