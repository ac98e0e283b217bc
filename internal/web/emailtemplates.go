package web

import (
	"net/http"

	"steward/internal/authz"
	"steward/internal/mail"
	"steward/internal/mdm"
)

// maxTemplateFormBytes bounds the email template form: subject plus two 64 KiB bodies, form-encoded.
const maxTemplateFormBytes = 512 << 10

type emailTemplatesView struct {
	Items []mail.TemplateState
}

type emailTemplateView struct {
	Template  mail.TemplateState
	Form      form
	CanManage bool
	Preview   *mail.Rendered
	Saved     bool
}

// emailTemplatesPage lists the nine system emails, each marked when the tenant customized it.
func (c *console) emailTemplatesPage(w http.ResponseWriter, r *http.Request) error {
	items, err := c.EmailTemplates.List(r.Context())
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, "emailtemplates", page{Title: "Email templates", Nav: "emailtemplates",
		Data: emailTemplatesView{Items: items}})
}

// templateForm fills the edit form with a template's current source.
func templateForm(s *mail.TemplateState) form {
	f := newForm()
	f.Values["subject"], f.Values["html"], f.Values["text"] = s.Source.Subject, s.Source.HTML, s.Source.Text
	return f
}

func (c *console) renderTemplate(w http.ResponseWriter, r *http.Request, status int, v emailTemplateView) error {
	v.CanManage = authz.Allowed(mdm.PrincipalFrom(r.Context()), authz.SystemManage)
	if v.Preview != nil {
		// The preview frame shows the mail's inline styles; it is sandboxed, so nothing in it runs.
		w.Header().Set("Content-Security-Policy", cspMail)
	}
	return render(w, r, status, "emailtemplate", page{Title: v.Template.Name + " · Email templates", Nav: "emailtemplates", Data: v})
}

// emailTemplatePage is the edit page of one email.
func (c *console) emailTemplatePage(w http.ResponseWriter, r *http.Request) error {
	s, err := c.EmailTemplates.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return c.renderTemplate(w, r, http.StatusOK, emailTemplateView{Template: *s, Form: templateForm(s), Saved: r.URL.Query().Get("saved") != ""})
}

// emailTemplateAction saves or previews the submitted source (the button pressed says which).
func (c *console) emailTemplateAction(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxTemplateFormBytes)
	if err := r.ParseForm(); err != nil {
		return mdm.Wrap(mdm.Invalid, err, "the form could not be read")
	}
	name := r.PathValue("name")
	cur, err := c.EmailTemplates.Get(r.Context(), name)
	if err != nil {
		return err
	}
	src := mail.Source{Subject: r.PostForm.Get("subject"), HTML: r.PostForm.Get("html"), Text: r.PostForm.Get("text")}
	f := newForm()
	f.Values["subject"], f.Values["html"], f.Values["text"] = src.Subject, src.HTML, src.Text
	v := emailTemplateView{Template: *cur, Form: f}
	if r.PostForm.Get("action") == "preview" {
		out, err := c.EmailTemplates.Preview(r.Context(), name, &src)
		if err != nil {
			status, ok := v.Form.setError(err, "subject", "html", "text")
			if !ok {
				return err
			}
			return c.renderTemplate(w, r, status, v)
		}
		v.Preview = &out
		return c.renderTemplate(w, r, http.StatusOK, v)
	}
	if _, err := c.EmailTemplates.Save(r.Context(), name, src); err != nil {
		status, ok := v.Form.setError(err, "subject", "html", "text")
		if !ok {
			return err
		}
		return c.renderTemplate(w, r, status, v)
	}
	http.Redirect(w, r, "/console/emailtemplates/"+name+"?saved=1", http.StatusSeeOther)
	return nil
}

// resetEmailTemplate goes back to the default once the administrator ticked the confirmation.
func (c *console) resetEmailTemplate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	name := r.PathValue("name")
	if r.PostForm.Get("confirm") != "yes" {
		cur, err := c.EmailTemplates.Get(r.Context(), name)
		if err != nil {
			return err
		}
		v := emailTemplateView{Template: *cur, Form: templateForm(cur)}
		v.Form.Errors["confirm"] = "Tick the box to confirm that your version should be discarded."
		return c.renderTemplate(w, r, http.StatusBadRequest, v)
	}
	if _, err := c.EmailTemplates.Reset(r.Context(), name); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/emailtemplates/"+name, http.StatusSeeOther)
	return nil
}
