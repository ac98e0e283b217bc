-- +goose Up
-- A user group's override of the tenant's default device registration setting. Priority 1 wins when a
-- user belongs to several groups with overrides; the numbers of a tenant are unique.
CREATE TABLE group_registration_settings (
    tenant_id         TEXT NOT NULL,
    group_id          BIGINT NOT NULL,
    priority          INTEGER NOT NULL,
    auth_type         TEXT NOT NULL,
    pin_lifetime_days INTEGER NOT NULL,
    pin_length        INTEGER NOT NULL,
    allow_pin_request BOOLEAN NOT NULL,
    devices_per_user  INTEGER NOT NULL,
    modified_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES user_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX group_registration_settings_priority ON group_registration_settings (tenant_id, priority);

-- API users call the API with HTTP Basic but never sign in to the console.
ALTER TABLE accounts ADD COLUMN api_user BOOLEAN NOT NULL DEFAULT FALSE;
