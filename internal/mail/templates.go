package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"steward/internal/mdm"
)

// Template names of Steward's system emails.
const (
	TemplateAdminActivation    = "admin_activation"
	TemplateInvitationPIN      = "invitation_pin"      // end-user invitation, half account (PIN)
	TemplateInvitationPassword = "invitation_password" // end-user invitation, full account
	TemplatePINRequest         = "pin_request"
	TemplatePasswordRequest    = "password_request"
	TemplateAdminInvitation    = "admin_invitation"
	TemplatePolicyCompliance   = "policy_compliance"
	TemplateAdminMessage       = "admin_message"
	TemplateSupportAdmins      = "support_admins"
)

// Subjects are stored readable in the outbox (the console lists them), so no template puts a secret
// (link, PIN, token) into its subject. Links and PINs only ever appear in the sealed bodies.

// AdminActivationData is the data of TemplateAdminActivation: a tenant was created with an activation
// email, and its first administrator chooses a password through Link.
//
//	Field       Type       Meaning
//	TenantName  string     the tenant's display name
//	FirstName   string     the administrator's first name ("Hello," when empty)
//	Link        string     one-time activation URL (secret)
//	ExpiresAt   time.Time  when Link stops working
type AdminActivationData struct {
	TenantName string
	FirstName  string
	Link       string
	ExpiresAt  time.Time
}

// InvitationPINData is the data of TemplateInvitationPIN: an administrator added a user without a
// password (a half account) and invited them to register a device with a one-time PIN.
//
//	Field        Type       Meaning
//	TenantName   string     the tenant's display name
//	FirstName    string     the user's first name ("Hello," when empty)
//	Email        string     the address the user signs in with on the registration page
//	PIN          string     one-time registration PIN (secret)
//	RegisterURL  string     the device registration page (self-service portal)
//	ExpiresAt    time.Time  when PIN stops working
type InvitationPINData struct {
	TenantName  string
	FirstName   string
	Email       string
	PIN         string
	RegisterURL string
	ExpiresAt   time.Time
}

// InvitationPasswordData is the data of TemplateInvitationPassword: an administrator added a user
// with a password (a full account) and invited them to register a device. The password itself is
// never mailed.
//
//	Field        Type    Meaning
//	TenantName   string  the tenant's display name
//	FirstName    string  the user's first name ("Hello," when empty)
//	Username     string  the name the user signs in with
//	RegisterURL  string  the device registration page (self-service portal)
type InvitationPasswordData struct {
	TenantName  string
	FirstName   string
	Username    string
	RegisterURL string
}

// PINRequestData is the data of TemplatePINRequest: the user asked for a new registration PIN from
// the self-service portal or the Steward app.
//
//	Field        Type       Meaning
//	TenantName   string     the tenant's display name
//	FirstName    string     the user's first name ("Hello," when empty)
//	Email        string     the address the user signs in with on the registration page
//	PIN          string     one-time registration PIN (secret)
//	RegisterURL  string     the device registration page (self-service portal)
//	ExpiresAt    time.Time  when PIN stops working
type PINRequestData struct {
	TenantName  string
	FirstName   string
	Email       string
	PIN         string
	RegisterURL string
	ExpiresAt   time.Time
}

// PasswordRequestData is the data of TemplatePasswordRequest: the user asked to reset their password
// from the self-service portal or the Steward app.
//
//	Field       Type       Meaning
//	TenantName  string     the tenant's display name
//	FirstName   string     the user's first name ("Hello," when empty)
//	Username    string     the account whose password is reset
//	Link        string     one-time password reset URL (secret)
//	ExpiresAt   time.Time  when Link stops working
type PasswordRequestData struct {
	TenantName string
	FirstName  string
	Username   string
	Link       string
	ExpiresAt  time.Time
}

// AdminInvitationData is the data of TemplateAdminInvitation: an administrator invited someone to
// help administer the tenant in the console.
//
//	Field       Type       Meaning
//	TenantName  string     the tenant's display name
//	FirstName   string     the invitee's first name ("Hello," when empty)
//	InvitedBy   string     display name of the inviting administrator (optional)
//	Roles       []string   names of the roles the invitee will hold (optional)
//	Link        string     one-time URL to accept and choose a password (secret), or the console
//	                       sign-in page for an account that already has a password
//	ExpiresAt   time.Time  when Link stops working; zero when Link is the sign-in page
type AdminInvitationData struct {
	TenantName string
	FirstName  string
	InvitedBy  string
	Roles      []string
	Link       string
	ExpiresAt  time.Time
}

// PolicyComplianceData is the data of TemplatePolicyCompliance: a policy's send-email action found the
// user's device out of compliance, or (Compliant) back in compliance. Title and Message are what the
// administrator entered in the policy's email action; they are plain text.
//
//	Field       Type    Meaning
//	TenantName  string  the tenant's display name
//	FirstName   string  the device user's first name ("Hello," when empty)
//	DeviceName  string  the device's display name
//	PolicyName  string  the policy that triggered the email
//	Compliant   bool    true when the device is compliant again
//	Title       string  the administrator's subject line (optional; a default is used)
//	Message     string  the administrator's message, plain text (optional)
//	PortalURL   string  the self-service portal (optional)
type PolicyComplianceData struct {
	TenantName string
	FirstName  string
	DeviceName string
	PolicyName string
	Compliant  bool
	Title      string
	Message    string
	PortalURL  string
}

// AdminMessageData is the data of TemplateAdminMessage: the "Send message" device action, a message
// from an administrator to the device's user. Subject and Message are plain text.
//
//	Field       Type    Meaning
//	TenantName  string  the tenant's display name
//	FirstName   string  the recipient's first name ("Hello," when empty)
//	SenderName  string  the sending administrator's display name (optional)
//	Subject     string  the administrator's subject line (optional; a default is used)
//	Message     string  the message, plain text
type AdminMessageData struct {
	TenantName string
	FirstName  string
	SenderName string
	Subject    string
	Message    string
}

// SupportAdminsData is the data of TemplateSupportAdmins: a user asked the tenant's support
// administrators for help from the self-service portal. One message goes to each support
// administrator. Message is plain text written by the user.
//
//	Field       Type    Meaning
//	TenantName  string  the tenant's display name
//	UserName    string  the requesting user's display name (optional)
//	UserEmail   string  the requesting user's email address
//	DeviceName  string  the device the request is about (optional)
//	Message     string  the user's message, plain text
//	ConsoleURL  string  a console page about the user or device (optional)
type SupportAdminsData struct {
	TenantName string
	UserName   string
	UserEmail  string
	DeviceName string
	Message    string
	ConsoleURL string
}

// TemplateInfo describes one system email, for the console.
type TemplateInfo struct {
	Name        string
	Description string
}

// spec is one system email: its description and sample data (for previews and tests). The sample's
// type is the data type Enqueue requires.
type spec struct {
	name        string
	description string
	sample      any
	secret      string // the data field that carries the email's one-time secret, "" for none
}

var sampleTime = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// specs lists the system emails in the order the console shows them.
var specs = []spec{
	{TemplateAdminActivation, "Sent to a new tenant's first administrator to activate the account and choose a password.",
		AdminActivationData{TenantName: "Example Corp", FirstName: "Alex", Link: "https://steward.example.com/activate?token=sample", ExpiresAt: sampleTime}, "Link"},
	{TemplateInvitationPIN, "Invites a user without a password (half account) to register a device with a one-time PIN.",
		InvitationPINData{TenantName: "Example Corp", FirstName: "Sam", Email: "sam@example.com", PIN: "482913", RegisterURL: "https://steward.example.com/go", ExpiresAt: sampleTime}, "PIN"},
	{TemplateInvitationPassword, "Invites a user with a password (full account) to register a device.",
		InvitationPasswordData{TenantName: "Example Corp", FirstName: "Sam", Username: "sam@example.com", RegisterURL: "https://steward.example.com/go"}, ""},
	{TemplatePINRequest, "Sends a new registration PIN that the user asked for.",
		PINRequestData{TenantName: "Example Corp", FirstName: "Sam", Email: "sam@example.com", PIN: "771204", RegisterURL: "https://steward.example.com/go", ExpiresAt: sampleTime}, "PIN"},
	{TemplatePasswordRequest, "Sends a password reset link that the user asked for.",
		PasswordRequestData{TenantName: "Example Corp", FirstName: "Sam", Username: "sam@example.com", Link: "https://steward.example.com/reset?token=sample", ExpiresAt: sampleTime}, "Link"},
	{TemplateAdminInvitation, "Invites someone to administer the tenant in the console.",
		AdminInvitationData{TenantName: "Example Corp", FirstName: "Robin", InvitedBy: "Alex Kim", Roles: []string{"Device Admin", "App Admin"}, Link: "https://steward.example.com/invite?token=sample", ExpiresAt: sampleTime}, "Link"},
	{TemplatePolicyCompliance, "Tells a user that a policy found their device out of compliance, or compliant again.",
		PolicyComplianceData{TenantName: "Example Corp", FirstName: "Sam", DeviceName: "Sam's iPhone", PolicyName: "Minimum OS version",
			Message: "Please update your iPhone to iOS 18.3 or later.\nSettings > General > Software Update.", PortalURL: "https://steward.example.com/go"}, ""},
	{TemplateAdminMessage, "A message from an administrator to a device's user (the Send message action).",
		AdminMessageData{TenantName: "Example Corp", FirstName: "Sam", SenderName: "IT Service Desk", Subject: "Office Wi-Fi changes on Monday",
			Message: "Hello team,\n\nThe office Wi-Fi moves to a new network on Monday. Your device receives the settings automatically.\n\nThanks,\nIT"}, ""},
	{TemplateSupportAdmins, "Forwards a user's help request from the self-service portal to the support administrators.",
		SupportAdminsData{TenantName: "Example Corp", UserName: "Sam Lee", UserEmail: "sam@example.com", DeviceName: "Sam's iPhone",
			Message: "My phone says it is not compliant, but I installed every update.", ConsoleURL: "https://steward.example.com/console/devices/42"}, ""},
}

// Templates lists the system emails with a short description each.
func Templates() []TemplateInfo {
	out := make([]TemplateInfo, len(specs))
	for i, s := range specs {
		out[i] = TemplateInfo{Name: s.name, Description: s.description}
	}
	return out
}

//go:embed templates
var templateFS embed.FS

// set is the parsed templates of one email.
type set struct {
	spec
	dataType reflect.Type
	subject  *texttemplate.Template
	html     *htmltemplate.Template
	text     *texttemplate.Template
	// htmlProto is an unexecuted copy of html: html/template clones only unexecuted sets, and a
	// tenant's override is parsed into a clone.
	htmlProto *htmltemplate.Template
	// htmlSlot is the layout with contentSlot for content: an override's sanitized content replaces it.
	htmlSlot *htmltemplate.Template
	source   Source // the editable default sources
}

// defaults are the embedded templates, parsed once; a broken embedded template is a build defect, so
// parsing panics (every template is rendered by the tests).
var defaults = mustParse()

// funcs are the functions every template, default or override, may call.
var funcs = map[string]any{
	"date":   formatDate,
	"lines":  lines,
	"button": func(url, label string) button { return button{URL: url, Label: label} },
	"join":   strings.Join,
}

func mustParse() map[string]*set {
	htmlLayout := htmltemplate.Must(htmltemplate.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	textLayout := texttemplate.Must(texttemplate.New("layout.txt").Funcs(funcs).ParseFS(templateFS, "templates/layout.txt"))
	out := make(map[string]*set, len(specs))
	for _, s := range specs {
		dir := "templates/" + s.name + "/"
		h := htmltemplate.Must(htmltemplate.Must(htmlLayout.Clone()).ParseFS(templateFS, dir+"body.html"))
		t := texttemplate.Must(texttemplate.Must(textLayout.Clone()).ParseFS(templateFS, dir+"body.txt"))
		subj := texttemplate.Must(texttemplate.New("subject.txt").Funcs(funcs).Option("missingkey=error").ParseFS(templateFS, dir+"subject.txt"))
		out[s.name] = &set{spec: s, dataType: reflect.TypeOf(s.sample), subject: subj, html: h, text: t,
			htmlProto: htmltemplate.Must(h.Clone()), source: mustSource(dir),
			htmlSlot: htmltemplate.Must(htmltemplate.Must(h.Clone()).New("content").Parse(contentSlot))}
	}
	return out
}

// page is what the shared layouts render: the email's own template renders Data.
type page struct {
	Subject string
	Tenant  string
	Data    any
}

type button struct{ URL, Label string }

// Rendered is the readable content of one email.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
}

// render renders the named template with data, which must be the template's data type or a pointer
// to one.
func render(name string, data any) (Rendered, error) {
	s, data, err := lookup(name, data)
	if err != nil {
		return Rendered{}, err
	}
	return s.render(data)
}

// lookup finds the named email and checks that data is its data type (or a pointer to one), which it
// returns as a value.
func lookup(name string, data any) (*set, any, error) {
	s, ok := defaults[name]
	if !ok {
		return nil, nil, mdm.Errorf(mdm.Invalid, "unknown email template %q", name)
	}
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != s.dataType {
		return nil, nil, mdm.Wrap(mdm.Internal, fmt.Errorf("template %s wants data of type %s, got %T", name, s.dataType, data), "cannot render email")
	}
	return s, v.Interface(), nil
}

// render renders the built-in templates of s with data of its type.
func (s *set) render(data any) (Rendered, error) {
	name := s.name
	v := reflect.ValueOf(data)
	var b bytes.Buffer
	if err := s.subject.Execute(&b, data); err != nil {
		return Rendered{}, mdm.Wrap(mdm.Internal, fmt.Errorf("render %s subject: %w", name, err), "cannot render email")
	}
	subject := oneLine(b.String(), 200)
	p := page{Subject: subject, Tenant: v.FieldByName("TenantName").String(), Data: data}

	b.Reset()
	if err := s.html.ExecuteTemplate(&b, "layout", p); err != nil {
		return Rendered{}, mdm.Wrap(mdm.Internal, fmt.Errorf("render %s html: %w", name, err), "cannot render email")
	}
	html := b.String()

	b.Reset()
	if err := s.text.ExecuteTemplate(&b, "layout", p); err != nil {
		return Rendered{}, mdm.Wrap(mdm.Internal, fmt.Errorf("render %s text: %w", name, err), "cannot render email")
	}
	return Rendered{Subject: subject, HTML: html, Text: tidyText(b.String())}, nil
}

// formatDate is how emails show a moment: unambiguous across locales, always in UTC.
func formatDate(t time.Time) string {
	return t.UTC().Format("2 January 2006 at 15:04 UTC")
}

// lines splits plain text into lines, so that the HTML part can show its line breaks while
// html/template escapes each line.
func lines(s string) []string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// oneLine makes s fit a header: control characters and runs of spaces become one space, and the
// result is cut to at most max runes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > max {
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

var blankLines = regexp.MustCompile(`\n[ \t]*\n(?:[ \t]*\n)+`)

// tidyText trims the plain-text part and collapses runs of blank lines that template actions leave.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return blankLines.ReplaceAllString(strings.TrimSpace(s), "\n\n") + "\n"
}
