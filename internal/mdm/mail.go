package mdm

import (
	"context"
	"time"
)

// MailStatus is where an outbox message stands.
type MailStatus string

const (
	MailQueued  MailStatus = "QUEUED"
	MailSending MailStatus = "SENDING"
	MailSent    MailStatus = "SENT"
	MailFailed  MailStatus = "FAILED" // gave up after the last retry
)

// MailMessage is one email in the durable outbox. Bodies can carry one-time secrets (activation links,
// PINs), so the store only ever sees them sealed; Subject and addresses stay readable for the console.
type MailMessage struct {
	ID            int64
	TenantID      TenantID // empty for platform mail
	Template      string
	To            string
	Subject       string
	SealedBody    []byte // the rendered message, encrypted and authenticated by the mail package
	Status        MailStatus
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// MailFields are the outbox fields that lists filter and sort on.
var MailFields = FieldSet{
	"id": IntField, "tenantId": StringField, "template": StringField, "to": StringField,
	"status": StringField, "createdAt": TimeField,
}

// OutboxStore is the durable mail queue. Get and List take a tenant id, or AllTenants for the System
// Admin's view; an empty tenant id is an internal error.
//
// Claim leases up to limit due messages (queued and due, or sending with an expired lease) to one
// worker until leaseUntil, so that two workers never send the same message at once.
type OutboxStore interface {
	Enqueue(ctx context.Context, m *MailMessage) error
	Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]MailMessage, error)
	MarkSent(ctx context.Context, id int64, now time.Time) error
	MarkRetry(ctx context.Context, id int64, next time.Time, lastErr string, failed bool) error
	Get(ctx context.Context, tenantID TenantID, id int64) (*MailMessage, error)
	List(ctx context.Context, tenantID TenantID, opts ListOptions) (Page[MailMessage], error)
}
