package httpapi

import (
	"net/http"

	"steward/internal/authz"
	"steward/internal/mail"
)

type emailTemplateJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Customized  bool   `json:"customized"`
	ModifiedAt  int64  `json:"modifiedAt"`
	ModifiedBy  string `json:"modifiedBy"`
}

type emailFieldJSON struct {
	Name        string `json:"name"`
	Placeholder string `json:"placeholder"`
	Type        string `json:"type"`
	Meaning     string `json:"meaning"`
	Required    bool   `json:"required"`
}

type emailTemplateDetailJSON struct {
	emailTemplateJSON
	Subject string           `json:"subject"`
	HTML    string           `json:"html"`
	Text    string           `json:"text"`
	Fields  []emailFieldJSON `json:"fields"`
}

// emailTemplateInput is a template's source; a preview may leave parts empty to use the current ones.
type emailTemplateInput struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}

type emailPreviewJSON struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}

func emailTemplateOut(s mail.TemplateState) emailTemplateJSON {
	return emailTemplateJSON{Name: s.Name, Description: s.Description, Customized: s.Customized,
		ModifiedAt: millis(s.ModifiedAt), ModifiedBy: s.ModifiedBy}
}

func emailTemplateDetailOut(s mail.TemplateState) emailTemplateDetailJSON {
	out := emailTemplateDetailJSON{emailTemplateJSON: emailTemplateOut(s), Subject: s.Source.Subject, HTML: s.Source.HTML,
		Text: s.Source.Text, Fields: []emailFieldJSON{}}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, emailFieldJSON{Name: f.Name, Placeholder: "{{." + f.Name + "}}", Type: f.Type,
			Meaning: f.Meaning, Required: f.Secret})
	}
	return out
}

const emailTemplateRules = "Sources are Go templates over the email's fields (e.g. {{.FirstName}}); html and text " +
	"replace the email's body inside the shared layout, and may call {{date .ExpiresAt}}, {{join .Roles \", \"}} and " +
	"the layout's {{template \"button\" (button .Link \"Label\")}}. Each must parse and render with the sample data " +
	"(else 400 with a fieldError on subject, html or text); subject at most 1 KiB, html and text at most 64 KiB each. " +
	"An email that delivers a PIN or a link must show it ({{.PIN}} or {{.Link}}) in both html and text. In html that " +
	"secret may appear only as a lone {{.PIN}}/{{.Link}} where the markup is text, or through the layout's " +
	"{{template \"code\" .PIN}}, {{template \"button\" (button .Link \"Label\")}} and {{template \"fallback\" .Link}}; " +
	"never inside a tag or attribute, in {{with}}, a variable or a function such as printf, nor through the whole data " +
	"({{.}}, {{$}}); it may never appear in the subject (stored readable), and these emails may show no images " +
	"(400 with a fieldError on html or subject). HTML goes " +
	"through an allowlist (ordinary email markup; no script, event handlers, javascript: URLs, forms or iframes): " +
	"disallowed markup is stripped from the saved source and again from every rendered mail."

func (a *API) emailTemplateRoutes() {
	a.add(Route{Method: "GET", Path: "/api/v1/emailtemplates", Tag: "Email templates", Needs: authz.SystemRead,
		Summary:     "List the system emails and which of them the tenant customized",
		Description: "The nine system emails in console order, each with customized and, for a customized one, modifiedAt.",
		Result:      emailTemplateJSON{}, List: true},
		func(w http.ResponseWriter, r *http.Request) error {
			list, err := a.emailTemplates.List(r.Context())
			if err != nil {
				return err
			}
			out := make([]emailTemplateJSON, 0, len(list))
			for _, s := range list {
				out = append(out, emailTemplateOut(s))
			}
			return ok(w, searchResult{SearchResults: out, TotalCount: len(out), Limit: len(out)})
		})

	a.add(Route{Method: "GET", Path: "/api/v1/emailtemplates/{name}", Tag: "Email templates", Needs: authz.SystemRead,
		Summary: "Get a system email's current source and its fields",
		Description: "subject, html and text are the tenant's version when customized, else the default. fields lists the " +
			"placeholders the sources may use; required marks the PIN or link the email exists to deliver. Unknown name: 404.",
		Result: emailTemplateDetailJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			s, err := a.emailTemplates.Get(r.Context(), r.PathValue("name"))
			if err != nil {
				return err
			}
			return ok(w, emailTemplateDetailOut(*s))
		})

	a.add(Route{Method: "PUT", Path: "/api/v1/emailtemplates/{name}", Tag: "Email templates", Needs: authz.SystemManage,
		Summary:     "Save the tenant's version of a system email",
		Description: "Body: subject, html, text (all required). " + emailTemplateRules + " The answer shows the source as saved.",
		Body:        emailTemplateInput{}, Result: emailTemplateDetailJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in emailTemplateInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			s, err := a.emailTemplates.Save(r.Context(), r.PathValue("name"), mail.Source{Subject: in.Subject, HTML: in.HTML, Text: in.Text})
			if err != nil {
				return err
			}
			return ok(w, emailTemplateDetailOut(*s))
		})

	a.add(Route{Method: "DELETE", Path: "/api/v1/emailtemplates/{name}", Tag: "Email templates", Needs: authz.SystemManage,
		Summary:     "Reset a system email to the default",
		Description: "Removes the tenant's version; mail from now on uses the default. Succeeds when nothing was customized too.",
		Result:      emailTemplateDetailJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			s, err := a.emailTemplates.Reset(r.Context(), r.PathValue("name"))
			if err != nil {
				return err
			}
			return ok(w, emailTemplateDetailOut(*s))
		})

	a.add(Route{Method: "POST", Path: "/api/v1/emailtemplates/{name}/preview", Tag: "Email templates", Needs: authz.SystemRead,
		Summary: "Render a system email with sample data, without saving",
		Description: "Body (optional): subject, html, text; parts left empty use the current source. Renders with the " +
			"email's sample data and returns subject, html (the whole mail, sanitized) and text. " + emailTemplateRules,
		Body: emailTemplateInput{}, Result: emailPreviewJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in emailTemplateInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			out, err := a.emailTemplates.Preview(r.Context(), r.PathValue("name"), &mail.Source{Subject: in.Subject, HTML: in.HTML, Text: in.Text})
			if err != nil {
				return err
			}
			return ok(w, emailPreviewJSON{Subject: out.Subject, HTML: out.HTML, Text: out.Text})
		})
}
