-- +goose Up
-- A tenant's default device registration setting (for All Users); absent means the defaults.
CREATE TABLE registration_settings (
    tenant_id         TEXT PRIMARY KEY REFERENCES tenants(id),
    auth_type         TEXT NOT NULL,
    pin_lifetime_days INTEGER NOT NULL,
    pin_length        INTEGER NOT NULL,
    allow_pin_request BOOLEAN NOT NULL,
    devices_per_user  INTEGER NOT NULL,
    modified_at       BIGINT NOT NULL
);
