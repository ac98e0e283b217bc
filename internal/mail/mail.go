// Package mail is Steward's system email: templates (embedded defaults, an HTML and a plain-text part
// and a subject each), the Mailer that renders a message and writes it, sealed, to the durable outbox
// in the caller's transaction, and the Worker that sends due outbox messages over SMTP with retries.
//
// Bodies carry one-time secrets (activation links, PINs), so they are rendered once, at Enqueue, and
// stored only sealed with the server key. Subjects and addresses stay readable for the console and
// therefore never carry a secret. Nothing in this package logs a body, a link or a PIN.
package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// Mailer renders templates and writes sealed messages to an outbox.
type Mailer struct {
	keys      *secret.Keys
	now       func() time.Time
	overrides mdm.EmailTemplateStore
}

// MailerOption configures a Mailer.
type MailerOption func(*Mailer)

// WithOverrides makes the Mailer render a tenant's mail with the tenant's own email templates where it
// has saved one. overrides is read outside the caller's transaction (the pool's store).
func WithOverrides(overrides mdm.EmailTemplateStore) MailerOption {
	return func(m *Mailer) { m.overrides = overrides }
}

// NewMailer returns a Mailer that seals bodies with keys. now is the clock (time.Now when nil).
// keys must not be nil.
func NewMailer(keys *secret.Keys, now func() time.Time, opts ...MailerOption) *Mailer {
	if keys == nil {
		panic("mail: NewMailer needs keys")
	}
	if now == nil {
		now = time.Now
	}
	m := &Mailer{keys: keys, now: now}
	for _, o := range opts {
		o(m)
	}
	return m
}

// envelope is the sealed body of an outbox message. It repeats the recipient, template and tenant so
// that Open can refuse a body that was moved to another row or whose row was redirected to another
// address: whoever can write to the database still cannot make Steward mail a link to someone else.
type envelope struct {
	V        int          `json:"v"`
	TenantID mdm.TenantID `json:"tenant"`
	Template string       `json:"template"`
	To       string       `json:"to"`
	Subject  string       `json:"subject"`
	HTML     string       `json:"html"`
	Text     string       `json:"text"`
}

// Enqueue renders the named template with data (the tenant's own version of it when the Mailer was
// built WithOverrides and the tenant saved one, see renderFor) and writes the message (sealed body, status QUEUED,
// NextAttemptAt = now) through outbox, which is usually the transaction's OutboxStore, so the mail
// commits or rolls back with the change that caused it. Unknown template or bad address -> mdm.Invalid.
// data must be the template's data type (AdminActivationData for TemplateAdminActivation, …) or a
// pointer to one. Call the Worker's Wake after the transaction commits so that it is sent at once.
func (m *Mailer) Enqueue(ctx context.Context, outbox mdm.OutboxStore, tenantID mdm.TenantID, template, to string, data any) (*mdm.MailMessage, error) {
	addr, err := mdm.ParseEmail(to)
	if err != nil {
		return nil, &mdm.Error{Code: mdm.Invalid, Message: "recipient address " + err.Error(), Err: err,
			Fields: []mdm.FieldError{{Code: "invalid", Message: err.Error(), Field: "to"}}}
	}
	r, err := m.renderFor(ctx, tenantID, template, data)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(envelope{V: 1, TenantID: tenantID, Template: template, To: addr, Subject: r.Subject, HTML: r.HTML, Text: r.Text})
	if err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "cannot encode email")
	}
	now := m.now().UTC()
	msg := &mdm.MailMessage{
		TenantID:      tenantID,
		Template:      template,
		To:            addr,
		Subject:       r.Subject,
		SealedBody:    m.keys.Seal(body),
		Status:        mdm.MailQueued,
		NextAttemptAt: now,
		CreatedAt:     now,
	}
	if err := outbox.Enqueue(ctx, msg); err != nil {
		return nil, fmt.Errorf("enqueue %s mail: %w", template, err)
	}
	return msg, nil
}

// renderFor renders a tenant's mail with the tenant's override of the template when it has one, else
// (and for platform mail, which has no tenant) with the built-in template. An override was checked
// with sample data when saved; if real data still breaks it, or it would drop the PIN or link the
// email exists to deliver, the built-in template is used so that the mail still does its job.
func (m *Mailer) renderFor(ctx context.Context, tenantID mdm.TenantID, name string, data any) (Rendered, error) {
	s, data, err := lookup(name, data)
	if err != nil {
		return Rendered{}, err
	}
	if m.overrides == nil || tenantID == "" {
		return s.render(data)
	}
	o, err := m.overrides.Get(ctx, tenantID, name)
	if mdm.IsCode(err, mdm.NotFound) {
		return s.render(data)
	}
	if err != nil {
		return Rendered{}, fmt.Errorf("read %s override: %w", name, err)
	}
	r, err := s.renderOverride(Source{Subject: o.Subject, HTML: o.HTML, Text: o.Text}, data)
	if html, text := s.keepsSecret(r, data); err != nil || !html || !text {
		return s.render(data)
	}
	return r, nil
}

// errMismatch is why Open refuses a body sealed for another message.
var errMismatch = errors.New("sealed body does not belong to this message")

// Open returns the readable parts of a stored message (for the console's outbox view and for the
// worker). It fails when the body cannot be unsealed (another server key) or was sealed for another
// recipient, template or tenant.
func (m *Mailer) Open(msg *mdm.MailMessage) (Rendered, error) {
	plain, err := m.keys.Open(msg.SealedBody)
	if err != nil {
		return Rendered{}, mdm.Wrap(mdm.Internal, fmt.Errorf("unseal mail %d: %w", msg.ID, err), "cannot read email")
	}
	var e envelope
	if err := json.Unmarshal(plain, &e); err != nil {
		return Rendered{}, mdm.Wrap(mdm.Internal, fmt.Errorf("decode mail %d: %w", msg.ID, err), "cannot read email")
	}
	if e.To != msg.To || e.Template != msg.Template || e.TenantID != msg.TenantID {
		return Rendered{}, mdm.Wrap(mdm.Internal, fmt.Errorf("mail %d: %w", msg.ID, errMismatch), "cannot read email")
	}
	return Rendered{Subject: e.Subject, HTML: e.HTML, Text: e.Text}, nil
}

// Render renders the named template with data without enqueueing anything (the console's preview).
func (m *Mailer) Render(template string, data any) (Rendered, error) {
	return render(template, data)
}

// Preview renders the named template with built-in sample data.
func (m *Mailer) Preview(template string) (Rendered, error) {
	s, ok := defaults[template]
	if !ok {
		return Rendered{}, mdm.Errorf(mdm.Invalid, "unknown email template %q", template)
	}
	return render(template, s.sample)
}
