package mail

import (
	"reflect"
	"strings"
)

// Source is an email's editable text: Go templates over the email's data fields. HTML and Text are
// the email's own body (its "content" block) that the shared layout wraps; Subject is one line.
type Source struct {
	Subject string
	HTML    string
	Text    string
}

// Field is one data field a template may use, e.g. {{.PIN}}.
type Field struct {
	Name    string
	Type    string
	Meaning string
	Secret  bool // the email exists to deliver it: an override must keep it in both parts, in HTML only as text or through the layout's helpers
}

// fieldMeanings explain data fields; "template.Field" wins over "Field" where one name means
// different things in different emails.
var fieldMeanings = map[string]string{
	"TenantName":                 "the tenant's display name",
	"FirstName":                  "the recipient's first name (may be empty)",
	"Email":                      "the address the user signs in with on the registration page",
	"Username":                   "the name the user signs in with",
	"PIN":                        "one-time registration PIN",
	"RegisterURL":                "the device registration page (self-service portal)",
	"ExpiresAt":                  "when the PIN or link stops working; show it with {{date .ExpiresAt}}",
	"Link":                       "one-time link",
	"InvitedBy":                  "display name of the inviting administrator (may be empty)",
	"Roles":                      "names of the roles the invitee holds; show them with {{join .Roles \", \"}}",
	"DeviceName":                 "the device's name",
	"PolicyName":                 "the policy's name",
	"Compliant":                  "true when the device meets the policy again",
	"Title":                      "the policy's own subject line (may be empty)",
	"Message":                    "the administrator's message, plain text (may be empty)",
	"PortalURL":                  "the self-service portal (may be empty)",
	"SenderName":                 "the sending administrator's display name (may be empty)",
	"Subject":                    "the administrator's subject line (may be empty)",
	"UserName":                   "the requesting user's display name (may be empty)",
	"UserEmail":                  "the requesting user's email address",
	"ConsoleURL":                 "a console page about the user or device (may be empty)",
	"admin_activation.Link":      "one-time activation link where the administrator chooses a password",
	"password_request.Link":      "one-time password reset link",
	"admin_invitation.Link":      "one-time link to choose a password, or the console sign-in page",
	"admin_invitation.FirstName": "the invitee's first name (may be empty)",
	"admin_invitation.ExpiresAt": "when Link stops working; zero (test with {{if .ExpiresAt.IsZero}}) when Link is the sign-in page",
	"support_admins.Message":     "the user's message, plain text",
}

// Fields lists the data fields of the named email, in declaration order; nil for an unknown name.
func Fields(name string) []Field {
	s, ok := defaults[name]
	if !ok {
		return nil
	}
	var out []Field
	for i := range s.dataType.NumField() {
		f := s.dataType.Field(i)
		meaning, ok := fieldMeanings[name+"."+f.Name]
		if !ok {
			meaning = fieldMeanings[f.Name]
		}
		out = append(out, Field{Name: f.Name, Type: typeName(f.Type), Meaning: meaning, Secret: f.Name == s.secret})
	}
	return out
}

func typeName(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	case t.Name() == "Time":
		return "time"
	}
	return t.Kind().String()
}

// DefaultSource returns the built-in source of the named email.
func DefaultSource(name string) (Source, bool) {
	s, ok := defaults[name]
	if !ok {
		return Source{}, false
	}
	return s.source, true
}

// mustSource reads the editable part of an embedded email: the subject and the "content" block of
// each body, which is the last definition in its file.
func mustSource(dir string) Source {
	read := func(file string) string {
		b, err := templateFS.ReadFile(dir + file)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	content := func(file string) string {
		body := read(file)
		const open = `{{define "content"}}`
		i := strings.Index(body, open)
		if i < 0 {
			panic("mail: " + dir + file + " has no content block")
		}
		rest := strings.TrimRight(body[i+len(open):], " \t\r\n")
		if !strings.HasSuffix(rest, "{{end}}") {
			panic("mail: " + dir + file + " does not end with its content block")
		}
		return strings.TrimSuffix(rest, "{{end}}")
	}
	return Source{Subject: strings.TrimSpace(read("subject.txt")), HTML: content("body.html"), Text: content("body.txt")}
}
