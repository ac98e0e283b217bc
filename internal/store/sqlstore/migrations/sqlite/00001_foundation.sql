-- +goose Up
CREATE TABLE tenants (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    name_key                TEXT NOT NULL UNIQUE,
    state                   TEXT NOT NULL,
    license_devices         INTEGER NOT NULL,
    default_dm_partition_id INTEGER NOT NULL,
    default_cm_partition_id INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    modified_at             INTEGER NOT NULL
);

-- Device and content spaces. SQLite can only auto-number a lone INTEGER PRIMARY KEY, so here the id
-- leads and tenant_id leads the index; PostgreSQL leads the key with tenant_id.
CREATE TABLE spaces (
    id         INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    is_default INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX spaces_tenant ON spaces (tenant_id, kind);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    username      TEXT NOT NULL,
    email         TEXT NOT NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL
);
CREATE INDEX accounts_tenant ON accounts (tenant_id, id);

-- Usernames are unique across the whole system, so they live in one global table.
CREATE TABLE usernames (
    username_key TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    account_id   INTEGER NOT NULL
);

CREATE TABLE system_admins (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE one_time_tokens (
    hash       BLOB PRIMARY KEY,
    purpose    TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    hash       BLOB PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    tenant_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    INTEGER NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    details     TEXT NOT NULL,
    request_id  TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    template        TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    sealed_body     BLOB NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX mail_outbox_tenant ON mail_outbox (tenant_id, id);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

-- Devices arrive with the device capability; the site report already counts them.
CREATE TABLE devices (
    id                 INTEGER PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    account_id         INTEGER,
    platform           TEXT NOT NULL,
    registration_state TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id, platform, registration_state);
