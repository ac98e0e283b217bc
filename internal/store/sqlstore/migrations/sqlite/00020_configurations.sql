-- +goose Up
-- Configurations: typed sets of settings delivered to devices. attributes is a JSON object of the
-- settings that are not secret; secrets the sealed JSON object of those that are (never returned).
-- priority orders the configurations of one type in a tenant, 1 first. Times are epoch ms.
-- AUTOINCREMENT: a deleted configuration's id is never reused (its profile identifier names it).
CREATE TABLE configurations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL,
    type        TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    attributes  TEXT NOT NULL,
    secrets     BLOB,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX configurations_name ON configurations (tenant_id, name_key);
CREATE INDEX configurations_type ON configurations (tenant_id, type, priority);

-- What Steward asked each device to do with each configuration and how the device answered. A row
-- outlives its configuration until the device has removed it. removing: a removal is under way.
CREATE TABLE config_deliveries (
    tenant_id        TEXT NOT NULL,
    device_id        INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    configuration_id INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    identifier       TEXT NOT NULL,
    removing         INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    error            TEXT NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, device_id, configuration_id)
);
CREATE INDEX config_deliveries_configuration ON config_deliveries (tenant_id, configuration_id, device_id);
CREATE INDEX config_deliveries_device_fk ON config_deliveries (device_id);

-- The assignment generation each device last converged at.
CREATE TABLE config_device_state (
    tenant_id    TEXT NOT NULL,
    device_id    INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    generation   INTEGER NOT NULL,
    converged_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, device_id)
);
CREATE INDEX config_device_state_device_fk ON config_device_state (device_id);
