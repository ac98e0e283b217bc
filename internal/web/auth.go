package web

import (
	"net/http"
	"strings"

	"steward/internal/accounts"
	"steward/internal/httpx"
	"steward/internal/mdm"
)

type loginView struct {
	Form form
	Next string
}

func (c *console) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if consoleUser(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	f := newForm()
	f.Values["username"] = r.URL.Query().Get("username")
	return render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginView{Form: f, Next: next}})
}

// login checks the credentials, opens a session and sends the browser on. Wrong credentials answer 401
// with the form again, saying nothing about which part was wrong.
func (c *console) login(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	next := safeNext(r.PostForm.Get("next"))
	token, _, err := c.Accounts.Login(r.Context(), username, r.PostForm.Get("password"))
	if err != nil {
		f := newForm()
		f.Values["username"] = username
		status := statusOf(err)
		switch mdm.ErrorCode(err) {
		case mdm.Unauthenticated:
			f.Global = "Wrong username or password."
		case mdm.RateLimited, mdm.Forbidden: // too many failures; a suspended tenant
			f.Global = sentence(mdm.Message(err)) + "."
		default:
			return err
		}
		return render(w, r, status, "login", page{Title: "Sign in", Data: loginView{Form: f, Next: next}})
	}
	http.SetCookie(w, &http.Cookie{Name: httpx.SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: c.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(accounts.SessionLifetime.Seconds())})
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// logout ends the session and forgets the cookie.
func (c *console) logout(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(httpx.SessionCookie); err == nil && ck.Value != "" {
		if err := c.Accounts.Logout(r.Context(), ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, expiredSessionCookie(c.SecureCookies))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func expiredSessionCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: httpx.SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1}
}

// activateView is the activation page in one of its states.
type activateView struct {
	State    string // form, done, used, invalid
	Heading  string // used, invalid
	Token    string
	Username string
	Tenant   string
	Message  string
	Form     form
}

func activationHeaders(w http.ResponseWriter) {
	// The token is in the URL: never send it on in a Referer.
	w.Header().Set("Referrer-Policy", "no-referrer")
}

func (c *console) activatePage(w http.ResponseWriter, r *http.Request) error {
	activationHeaders(w)
	token := r.URL.Query().Get("token")
	a, err := c.Accounts.CheckActivation(r.Context(), token)
	if err != nil {
		return c.activationRefused(w, r, err)
	}
	return render(w, r, http.StatusOK, "activate", page{Title: "Set your password", Data: activateView{State: "form",
		Token: token, Username: a.Username, Tenant: a.TenantName, Form: newForm()}})
}

func (c *console) activate(w http.ResponseWriter, r *http.Request) error {
	activationHeaders(w)
	if err := parseForm(w, r); err != nil {
		return err
	}
	token, password := r.PostForm.Get("token"), r.PostForm.Get("password")
	f := newForm()
	if password != r.PostForm.Get("confirm") {
		f.Errors["confirm"] = "The two passwords differ."
	}
	var a *accounts.Activation
	var err error
	if len(f.Errors) == 0 {
		a, err = c.Accounts.Activate(r.Context(), token, password)
	} else {
		a, err = c.Accounts.CheckActivation(r.Context(), token)
	}
	switch {
	case mdm.IsCode(err, mdm.Invalid):
		status, _ := f.setError(err, "password")
		check, cerr := c.Accounts.CheckActivation(r.Context(), token)
		if cerr != nil {
			return c.activationRefused(w, r, cerr)
		}
		return render(w, r, status, "activate", page{Title: "Set your password", Data: activateView{State: "form",
			Token: token, Username: check.Username, Tenant: check.TenantName, Form: f}})
	case err != nil:
		return c.activationRefused(w, r, err)
	case len(f.Errors) > 0:
		return render(w, r, http.StatusBadRequest, "activate", page{Title: "Set your password", Data: activateView{
			State: "form", Token: token, Username: a.Username, Tenant: a.TenantName, Form: f}})
	}
	return render(w, r, http.StatusOK, "activate", page{Title: "Password set", Data: activateView{State: "done",
		Username: a.Username, Tenant: a.TenantName}})
}

// activationRefused explains a used, expired or unknown link.
func (c *console) activationRefused(w http.ResponseWriter, r *http.Request, err error) error {
	// The service says "what happened: what to do"; the page shows the first part as its heading.
	heading, advice, ok := strings.Cut(mdm.Message(err), ": ")
	if !ok {
		heading, advice = "This activation link does not work", heading
	}
	v := activateView{State: "invalid", Heading: sentence(heading), Message: sentence(advice) + "."}
	switch mdm.ErrorCode(err) {
	case mdm.Conflict:
		v.State = "used"
	case mdm.NotFound:
	default:
		return err
	}
	return render(w, r, statusOf(err), "activate", page{Title: "Activation link", Data: v})
}
