-- +goose Up
-- A tenant's own versions of the system emails (absent means the built-in default). Sources are Go
-- templates, sanitized on save; the key leads with tenant_id like every tenant-scoped table.
CREATE TABLE email_templates (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    html        TEXT NOT NULL,
    text        TEXT NOT NULL,
    modified_at BIGINT NOT NULL,
    modified_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
