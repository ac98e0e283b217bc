package web

import (
	"net/http"
	"strconv"
	"strings"

	"steward/internal/accounts"
	"steward/internal/content"
	"steward/internal/httpapi"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

// The /go self-service portal: end users (any account, with or without roles) sign in with their
// password or PIN, see their devices, get a new PIN, reset their password and write to support. Its
// session is its own cookie (httpx.PortalCookie) and a portal principal, which opens no console page
// and no API call but the user's own self-service ones.

func (c *console) portalRoutes() {
	c.handle("GET /go", c.portalHome)
	c.handle("GET /go/{$}", c.portalHome)
	c.handle("POST /go/login", c.portalLogin)
	c.handle("POST /go/logout", c.portalLogout)
	c.portal("POST /go/pin", c.portalRequestPIN)
	c.portal("POST /go/password", c.portalRequestPassword)
	c.portal("POST /go/support", c.portalSupport)
	c.portal("GET /go/content/{id}", c.portalDownload)
	c.handle("GET /go/forgot", c.portalForgotPage)
	c.handle("POST /go/forgot", c.portalForgot)
	c.handle("GET /go/reset", c.portalResetPage)
	c.handle("POST /go/reset", c.portalReset)
}

// portalUser is the request's portal sign-in, or nil. It reads the portal cookie itself, so that a
// console session in the same browser neither stands in for it nor hides it.
func (c *console) portalUser(r *http.Request) *mdm.Principal {
	if p := mdm.PrincipalFrom(r.Context()); p != nil && p.Kind == mdm.PortalPrincipal {
		return p
	}
	ck, err := r.Cookie(httpx.PortalCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	p, err := c.Accounts.PortalPrincipal(r.Context(), ck.Value)
	if err != nil {
		return nil
	}
	return p
}

// portal serves a page for a signed-in portal user, with that user as the request's principal; anyone
// else is sent to the portal's sign-in page.
func (c *console) portal(pattern string, h httpx.HandlerFunc) {
	c.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		p := c.portalUser(r)
		if p == nil {
			http.Redirect(w, r, "/go", http.StatusSeeOther)
			return nil
		}
		return h(w, r.WithContext(mdm.WithPrincipal(r.Context(), p)))
	})
}

// renderPortal writes a portal page in the bare layout: the console's navigation never shows here.
func renderPortal(w http.ResponseWriter, status int, tmpl string, p page) error {
	p.User = nil
	return execute(w, status, tmpl, "layout", p)
}

type portalSignInView struct {
	Form    form
	WithPIN bool
}

type portalHomeView struct {
	Name    string
	Email   string
	Devices []mdm.Device
	Support form
	Max     int
	// The content catalog (nil without the content service): the documents distributed to the user,
	// optionally of one category.
	Content    []content.CatalogEntry
	Categories []mdm.Category
	Category   mdm.CategoryID
	HasContent bool
}

func (c *console) portalHome(w http.ResponseWriter, r *http.Request) error {
	p := c.portalUser(r)
	if p == nil {
		f := newForm()
		f.Values["email"] = r.URL.Query().Get("email")
		return renderPortal(w, http.StatusOK, "go_signin", page{Title: "Self-service sign in",
			Data: portalSignInView{Form: f, WithPIN: r.URL.Query().Get("with") == "pin"}})
	}
	return c.renderHome(w, r.WithContext(mdm.WithPrincipal(r.Context(), p)), http.StatusOK, nil, newForm())
}

func (c *console) renderHome(w http.ResponseWriter, r *http.Request, status int, fl *flash, support form) error {
	a, err := c.Accounts.Me(r.Context())
	if err != nil {
		return err
	}
	devices, err := c.Accounts.MyDevices(r.Context())
	if err != nil {
		return err
	}
	name := strings.TrimSpace(a.FirstName + " " + a.LastName)
	if name == "" {
		name = a.Email
	}
	v := portalHomeView{Name: name, Email: a.Email, Devices: devices, Support: support, Max: accounts.MaxSupportMessage}
	if c.Content != nil {
		v.HasContent = true
		if id, err := strconv.ParseInt(r.URL.Query().Get("category"), 10, 64); err == nil && id > 0 {
			v.Category = mdm.CategoryID(id)
		}
		if v.Content, err = c.Content.UserCatalog(r.Context(), v.Category); err != nil {
			return err
		}
		if v.Categories, err = c.Content.Categories(r.Context(), a.TenantID); err != nil {
			return err
		}
	}
	return renderPortal(w, status, "go_home", page{Title: "My devices", Flash: fl, Data: v})
}

// portalDownload sends a document of the user's content catalog; anything else is not found.
func (c *console) portalDownload(w http.ResponseWriter, r *http.Request) error {
	if c.Content == nil {
		return mdm.Errorf(mdm.NotFound, "content not found")
	}
	id, err := pathID(r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := c.Content.UserOpen(r.Context(), mdm.ContentID(id))
	if err != nil {
		return err
	}
	httpapi.ServeDownload(w, r, d)
	return nil
}

// portalLogin signs in with email and password, or email and PIN (method=pin). Wrong credentials answer
// 401 with the form again, saying nothing about which part was wrong.
func (c *console) portalLogin(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	withPIN := r.PostForm.Get("method") == "pin"
	var token string
	var err error
	if withPIN {
		token, _, err = c.Accounts.PortalLoginPIN(r.Context(), email, r.PostForm.Get("pin"))
	} else {
		token, _, err = c.Accounts.PortalLogin(r.Context(), email, r.PostForm.Get("password"))
	}
	if err != nil {
		f := newForm()
		f.Values["email"] = email
		switch mdm.ErrorCode(err) {
		case mdm.Unauthenticated:
			f.Global = "Wrong email address or password."
			if withPIN {
				f.Global = "Wrong email address or PIN, or the PIN has expired or was used already."
			}
		case mdm.RateLimited, mdm.Forbidden:
			f.Global = sentence(mdm.Message(err)) + "."
		default:
			return err
		}
		// A refused PIN sign-in (the account signs in with its password) comes back as the password form.
		return renderPortal(w, statusOf(err), "go_signin", page{Title: "Self-service sign in",
			Data: portalSignInView{Form: f, WithPIN: withPIN && mdm.ErrorCode(err) != mdm.Forbidden}})
	}
	http.SetCookie(w, &http.Cookie{Name: httpx.PortalCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: c.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(accounts.PortalSessionLifetime.Seconds())})
	http.Redirect(w, r, "/go", http.StatusSeeOther)
	return nil
}

func (c *console) portalLogout(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(httpx.PortalCookie); err == nil && ck.Value != "" {
		if err := c.Accounts.Logout(r.Context(), ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: httpx.PortalCookie, Value: "", Path: "/", HttpOnly: true, Secure: c.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/go", http.StatusSeeOther)
	return nil
}

// requestOutcome turns a self-service request's answer into the home page's message. Refusals the
// user can act on (no PIN under this setting, requests off, too soon) are told as they are.
func (c *console) requestOutcome(w http.ResponseWriter, r *http.Request, err error, sent string) error {
	switch mdm.ErrorCode(err) {
	case "":
		return c.renderHome(w, r, http.StatusOK, &flash{Kind: "success", Text: sent}, newForm())
	case mdm.Invalid, mdm.Forbidden, mdm.RateLimited, mdm.Unavailable:
		return c.renderHome(w, r, statusOf(err), &flash{Kind: "error", Text: sentence(mdm.Message(err)) + "."}, newForm())
	}
	return err
}

func (c *console) portalRequestPIN(w http.ResponseWriter, r *http.Request) error {
	return c.requestOutcome(w, r, c.Accounts.RequestPIN(r.Context()), "A new PIN is on its way to your email address.")
}

func (c *console) portalRequestPassword(w http.ResponseWriter, r *http.Request) error {
	return c.requestOutcome(w, r, c.Accounts.RequestPasswordReset(r.Context()),
		"A link to set a new password is on its way to your email address. It works once, for one hour.")
}

func (c *console) portalSupport(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	message := r.PostForm.Get("message")
	_, err := c.Accounts.ContactSupport(r.Context(), message)
	if mdm.IsCode(err, mdm.Invalid) {
		f := newForm()
		f.Values["message"] = message
		status, _ := f.setError(err, "message")
		return c.renderHome(w, r, status, nil, f)
	}
	return c.requestOutcome(w, r, err, "Your message was sent to your support team. They will write to you by email.")
}
