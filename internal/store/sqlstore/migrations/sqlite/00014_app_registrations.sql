-- +goose Up
-- App Registrations: a tenant's OAuth 2.0 clients. The client id names no tenant, so its unique index is
-- global (like a device credential's); the secret is kept only as a keyed hash. Times are epoch ms,
-- last_authenticated_at 0 meaning never. AUTOINCREMENT: a deleted registration's id is never reused.
CREATE TABLE app_registrations (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id             TEXT NOT NULL,
    secret_hash           BLOB NOT NULL,
    app_type              TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    description           TEXT NOT NULL,
    created_by            TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    last_authenticated_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX app_registrations_client ON app_registrations (client_id);
CREATE INDEX app_registrations_tenant ON app_registrations (tenant_id, id);

