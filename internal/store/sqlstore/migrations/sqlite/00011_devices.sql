-- +goose Up
-- Devices get their identity, credential, reported facts and state. The table has had no writer so
-- far, so every new column takes a plain default. last_checkin is 0 until the first check-in, so that
-- it sorts and filters the same way on both databases.
ALTER TABLE devices ADD COLUMN guid TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN credential_hash BLOB;
ALTER TABLE devices ADD COLUMN device_name TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pretty_model TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN manufacturer TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN os_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN os_build TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN serial_number TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN imei TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN wifi_mac TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN form_factor TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN jailbroken INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN passcode_compliant INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN roaming INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN total_capacity_mb INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN available_capacity_mb INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN client_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN compliance_state INTEGER NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN policy_violation_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN violated_policies TEXT NOT NULL DEFAULT '[]';
ALTER TABLE devices ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE devices ADD COLUMN app_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN push_token TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN facts_hash BLOB;
ALTER TABLE devices ADD COLUMN apps_hash BLOB;
ALTER TABLE devices ADD COLUMN last_checkin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN registered_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN modified_at INTEGER NOT NULL DEFAULT 0;

-- A device presents only its credential, so the lookup is global, like a token's. Every registered
-- device has a GUID; rows from before this migration have none.
CREATE UNIQUE INDEX devices_credential ON devices (credential_hash);
CREATE UNIQUE INDEX devices_guid ON devices (tenant_id, guid) WHERE guid <> '';
-- The list's common look-ups: by serial or Wi-Fi MAC (compared lower-cased), and by last check-in.
CREATE INDEX devices_serial ON devices (tenant_id, lower(serial_number));
CREATE INDEX devices_wifi_mac ON devices (tenant_id, lower(wifi_mac));
CREATE INDEX devices_last_checkin ON devices (tenant_id, last_checkin);

CREATE TABLE device_apps (
    tenant_id TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    app_id    TEXT NOT NULL,
    name      TEXT NOT NULL,
    version   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, device_id, app_id)
);

-- The per-device FIFO queue. Due reads a device's open commands in id order; Prune finds finished
-- ones by age across tenants.
CREATE TABLE device_commands (
    id           INTEGER PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    device_id    INTEGER NOT NULL,
    type         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    completed_at INTEGER,
    result       TEXT NOT NULL,
    error        TEXT NOT NULL
);
CREATE INDEX device_commands_device ON device_commands (tenant_id, device_id, status, id);
CREATE INDEX device_commands_done ON device_commands (status, completed_at);
