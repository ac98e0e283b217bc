package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"steward/internal/mdm"
)

type emailTemplateStore stores

var _ mdm.EmailTemplateStore = emailTemplateStore{}

const emailTemplateColumns = `name, subject, html, text, modified_at, modified_by`

func scanEmailTemplate(row interface{ Scan(...any) error }) (mdm.EmailTemplate, error) {
	var t mdm.EmailTemplate
	var modified int64
	err := row.Scan(&t.Name, &t.Subject, &t.HTML, &t.Text, &modified, &t.ModifiedBy)
	t.ModifiedAt = fromMS(modified)
	return t, err
}

func (s emailTemplateStore) Get(ctx context.Context, tenantID mdm.TenantID, name string) (*mdm.EmailTemplate, error) {
	t, err := scanEmailTemplate(s.q.QueryRowContext(ctx, `SELECT `+emailTemplateColumns+` FROM email_templates
		WHERE tenant_id=$1 AND name=$2`, tenantID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mdm.Errorf(mdm.NotFound, "email template %q has no override", name)
	}
	if err != nil {
		return nil, dbError(err)
	}
	return &t, nil
}

func (s emailTemplateStore) List(ctx context.Context, tenantID mdm.TenantID) ([]mdm.EmailTemplate, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+emailTemplateColumns+` FROM email_templates
		WHERE tenant_id=$1 ORDER BY name`, tenantID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []mdm.EmailTemplate
	for rows.Next() {
		t, err := scanEmailTemplate(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, t)
	}
	return out, dbError(rows.Err())
}

func (s emailTemplateStore) Put(ctx context.Context, tenantID mdm.TenantID, t mdm.EmailTemplate) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO email_templates (tenant_id, name, subject, html, text, modified_at, modified_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (tenant_id, name) DO UPDATE SET subject=excluded.subject, html=excluded.html, text=excluded.text,
		modified_at=excluded.modified_at, modified_by=excluded.modified_by`,
		tenantID, t.Name, t.Subject, t.HTML, t.Text, ms(t.ModifiedAt), t.ModifiedBy)
	if isForeignKeyViolation(err) {
		return mdm.Errorf(mdm.NotFound, "tenant not found")
	}
	return dbError(err)
}

func (s emailTemplateStore) Delete(ctx context.Context, tenantID mdm.TenantID, name string) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM email_templates WHERE tenant_id=$1 AND name=$2`, tenantID, name)
	if err != nil {
		return dbError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		return mdm.Errorf(mdm.NotFound, "email template %q has no override", name)
	}
	return nil
}
