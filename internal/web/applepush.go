package web

import (
	"io"
	"net/http"

	"steward/internal/applemdm"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// maxPushUploadBytes bounds the push certificate upload form: the file (at most
// applemdm.MaxPushCertificateBytes) with its password and multipart framing. A larger file is still
// read up to one byte past the limit, so that the service refuses it with its own message.
const maxPushUploadBytes = applemdm.MaxPushCertificateBytes + 16<<10

func init() {
	doneMessages["pushcert"] = "The push certificate was uploaded."
	doneMessages["pushcertdeleted"] = "The push certificate was deleted: iOS devices are no longer woken."
}

// pushView is the Apple push certificate page.
type pushView struct {
	Cert   *applemdm.PushCertificateInfo // nil: none uploaded
	Manage bool
	Form   form
}

// pushBanner is the expiry warning shown on the push certificate page and the overview.
type pushBanner struct {
	Expired  bool
	DaysLeft int
	Topic    string
	Link     bool // link to the push certificate page
}

func bannerFor(info *applemdm.PushCertificateInfo, link bool) *pushBanner {
	if info == nil || !info.Expired && !info.ExpiringSoon {
		return nil
	}
	return &pushBanner{Expired: info.Expired, DaysLeft: info.DaysLeft, Topic: info.Topic, Link: link}
}

// Banner is the page's expiry warning, nil when there is nothing to warn about.
func (v pushView) Banner() *pushBanner { return bannerFor(v.Cert, false) }

// pushWarning is the overview's expiry warning for those who may read tenant settings; nil when there
// is none, or no certificate, or the Apple service is not wired.
func (c *console) pushWarning(r *http.Request) *pushBanner {
	if c.Apple == nil || !can(mdm.PrincipalFrom(r.Context()), string(authz.SystemRead)) {
		return nil
	}
	info, err := c.Apple.PushCertificate(r.Context())
	if err != nil {
		if !mdm.IsCode(err, mdm.NotFound) {
			c.Log.WarnContext(r.Context(), "reading the push certificate for the overview", "err", err.Error())
		}
		return nil
	}
	return bannerFor(info, true)
}

func (c *console) applePushRoutes() {
	if c.Apple == nil {
		return
	}
	c.signedIn("GET /console/apple/push", c.pushPage)
	c.signedIn("POST /console/apple/push", c.uploadPush)
	c.signedIn("GET /console/apple/push/delete", c.deletePushPage)
	c.signedIn("POST /console/apple/push/delete", c.deletePush)
}

func (c *console) pushView(r *http.Request, f form) (*pushView, error) {
	v := &pushView{Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.SystemManage)), Form: f}
	info, err := c.Apple.PushCertificate(r.Context())
	switch {
	case err == nil:
		v.Cert = info
	case !mdm.IsCode(err, mdm.NotFound):
		return nil, err
	}
	return v, nil
}

func (c *console) renderPush(w http.ResponseWriter, r *http.Request, status int, v *pushView, fl *flash) error {
	return render(w, r, status, "applepush", page{Title: "Apple push certificate", Nav: "applepush", Flash: fl, Data: v})
}

// pushPage shows the tenant's push certificate and, to managers, the upload form.
func (c *console) pushPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.pushView(r, newForm())
	if err != nil {
		return err
	}
	return c.renderPush(w, r, http.StatusOK, v, doneFlash(r.URL.Query()))
}

// uploadPush stores an uploaded push certificate (multipart: certificate file, password,
// allowTopicChange).
func (c *console) uploadPush(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.SystemManage); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPushUploadBytes)
	if err := r.ParseMultipartForm(maxPushUploadBytes); err != nil {
		return mdm.Wrap(mdm.Invalid, err, "the upload could not be read: choose a push certificate file of at most 64 KiB")
	}
	defer r.MultipartForm.RemoveAll()
	f := newForm()
	allow := r.PostForm.Get("allowTopicChange") == "on"
	if allow {
		f.Values["allowTopicChange"] = "on"
	}
	var data []byte
	file, _, err := r.FormFile("certificate")
	switch {
	case err == http.ErrMissingFile:
	case err != nil:
		return mdm.Wrap(mdm.Invalid, err, "the uploaded file could not be read")
	default:
		data, err = io.ReadAll(io.LimitReader(file, applemdm.MaxPushCertificateBytes+1))
		file.Close()
		if err != nil {
			return mdm.Wrap(mdm.Invalid, err, "the uploaded file could not be read")
		}
	}
	_, err = c.Apple.UploadPushCertificate(r.Context(), data, r.PostForm.Get("password"), allow)
	if err == nil {
		http.Redirect(w, r, "/console/apple/push?done=pushcert", http.StatusSeeOther)
		return nil
	}
	status, ok := f.setError(err, "certificate", "password")
	if !ok {
		return err
	}
	v, verr := c.pushView(r, f)
	if verr != nil {
		return verr
	}
	return c.renderPush(w, r, status, v, nil)
}

func (c *console) deletePushPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.SystemManage); err != nil {
		return err
	}
	info, err := c.Apple.PushCertificate(r.Context())
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete the push certificate", Nav: "applepush", Data: confirmView{
		Heading: "Delete the push certificate " + info.Topic + "?",
		Text: "Enrolled iOS devices are no longer woken: they only pick up commands when they check in by themselves. " +
			"Upload the renewed certificate with the same topic to wake them again.",
		Action: "/console/apple/push/delete", Button: "Delete certificate", Back: "/console/apple/push"}})
}

func (c *console) deletePush(w http.ResponseWriter, r *http.Request) error {
	if err := c.Apple.DeletePushCertificate(r.Context()); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/apple/push?done=pushcertdeleted", http.StatusSeeOther)
	return nil
}

// homeView is the overview: the tenant and, for those who read its settings, the push certificate's
// expiry warning.
type homeView struct {
	*mdm.Tenant
	Push *pushBanner
}
