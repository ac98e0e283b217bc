package mdm

import (
	"context"
	"time"
)

// EmailTemplate is a tenant's own version of one system email: Go template sources over that email's
// data fields. HTML and Text replace the email's body inside the shared layout; Subject its subject.
type EmailTemplate struct {
	Name       string // the system email, e.g. "invitation_pin"
	Subject    string
	HTML       string
	Text       string
	ModifiedAt time.Time
	ModifiedBy string
}

// EmailTemplateStore keeps tenants' email template overrides. Get and Delete return not_found when the
// tenant has no override of that name; Put replaces any earlier one and returns not_found for an
// unknown tenant. List returns the tenant's overrides ordered by name.
type EmailTemplateStore interface {
	Get(ctx context.Context, tenantID TenantID, name string) (*EmailTemplate, error)
	List(ctx context.Context, tenantID TenantID) ([]EmailTemplate, error)
	Put(ctx context.Context, tenantID TenantID, t EmailTemplate) error
	Delete(ctx context.Context, tenantID TenantID, name string) error
}
