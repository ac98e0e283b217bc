package mail

import (
	"context"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// Outbox lets admins see outgoing mail: a System Admin every message, a Tenant Admin their tenant's.
type Outbox struct {
	store  mdm.Stores
	mailer *Mailer
}

// NewOutbox returns the outbox view.
func NewOutbox(store mdm.Stores, mailer *Mailer) *Outbox {
	return &Outbox{store: store, mailer: mailer}
}

// List pages through the messages the caller may see.
func (o *Outbox) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.MailMessage], error) {
	tenantID, err := authz.Scope(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return mdm.Page[mdm.MailMessage]{}, err
	}
	return o.store.Outbox().List(ctx, tenantID, opts)
}

// Read opens one message for a System Admin. Bodies can hold one-time links and PINs, so only the
// platform operator reads them, and the console offers it only where no SMTP server is set (demo and
// development), where the outbox is the only place mail arrives.
func (o *Outbox) Read(ctx context.Context, id int64) (*mdm.MailMessage, Rendered, error) {
	if err := authz.RequireSystemAdmin(mdm.PrincipalFrom(ctx)); err != nil {
		return nil, Rendered{}, err
	}
	m, err := o.store.Outbox().Get(ctx, mdm.AllTenants, id)
	if err != nil {
		return nil, Rendered{}, err
	}
	r, err := o.mailer.Open(m)
	return m, r, err
}
