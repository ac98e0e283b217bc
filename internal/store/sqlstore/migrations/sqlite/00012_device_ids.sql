-- +goose Up
-- SQLite hands out max(id)+1, so deleting the newest device (or pruning the newest command) would let
-- the next one take its id, and a stale console action or a late device answer would reach the
-- newcomer. AUTOINCREMENT never reuses an id; it can only be set by rebuilding the tables.
-- (PostgreSQL identity columns never reuse ids, so its 00012 changes nothing.)
CREATE TABLE devices_new (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id              TEXT NOT NULL REFERENCES tenants(id),
    account_id             INTEGER,
    platform               TEXT NOT NULL,
    registration_state     TEXT NOT NULL,
    created_at             INTEGER NOT NULL,
    guid                   TEXT NOT NULL DEFAULT '',
    kind                   TEXT NOT NULL DEFAULT '',
    credential_hash        BLOB,
    device_name            TEXT NOT NULL DEFAULT '',
    model                  TEXT NOT NULL DEFAULT '',
    pretty_model           TEXT NOT NULL DEFAULT '',
    manufacturer           TEXT NOT NULL DEFAULT '',
    os_version             TEXT NOT NULL DEFAULT '',
    os_build               TEXT NOT NULL DEFAULT '',
    serial_number          TEXT NOT NULL DEFAULT '',
    imei                   TEXT NOT NULL DEFAULT '',
    wifi_mac               TEXT NOT NULL DEFAULT '',
    form_factor            TEXT NOT NULL DEFAULT '',
    jailbroken             INTEGER NOT NULL DEFAULT 0,
    passcode_compliant     INTEGER NOT NULL DEFAULT 0,
    encrypted              INTEGER NOT NULL DEFAULT 0,
    roaming                INTEGER NOT NULL DEFAULT 0,
    total_capacity_mb      INTEGER NOT NULL DEFAULT 0,
    available_capacity_mb  INTEGER NOT NULL DEFAULT 0,
    client_version         TEXT NOT NULL DEFAULT '',
    compliance_state       INTEGER NOT NULL DEFAULT 1,
    quarantined            INTEGER NOT NULL DEFAULT 0,
    policy_violation_count INTEGER NOT NULL DEFAULT 0,
    violated_policies      TEXT NOT NULL DEFAULT '[]',
    custom_attributes      TEXT NOT NULL DEFAULT '{}',
    app_count              INTEGER NOT NULL DEFAULT 0,
    push_token             TEXT NOT NULL DEFAULT '',
    facts_hash             BLOB,
    apps_hash              BLOB,
    last_checkin           INTEGER NOT NULL DEFAULT 0,
    registered_at          INTEGER NOT NULL DEFAULT 0,
    modified_at            INTEGER NOT NULL DEFAULT 0
);
INSERT INTO devices_new SELECT id, tenant_id, account_id, platform, registration_state, created_at, guid, kind,
    credential_hash, device_name, model, pretty_model, manufacturer, os_version, os_build, serial_number, imei,
    wifi_mac, form_factor, jailbroken, passcode_compliant, encrypted, roaming, total_capacity_mb,
    available_capacity_mb, client_version, compliance_state, quarantined, policy_violation_count,
    violated_policies, custom_attributes, app_count, push_token, facts_hash, apps_hash, last_checkin,
    registered_at, modified_at FROM devices;
DROP TABLE devices;
ALTER TABLE devices_new RENAME TO devices;
CREATE INDEX devices_tenant ON devices (tenant_id, platform, registration_state);
CREATE INDEX devices_account ON devices (tenant_id, account_id);
CREATE UNIQUE INDEX devices_credential ON devices (credential_hash);
CREATE UNIQUE INDEX devices_guid ON devices (tenant_id, guid) WHERE guid <> '';
CREATE INDEX devices_serial ON devices (tenant_id, lower(serial_number));
CREATE INDEX devices_wifi_mac ON devices (tenant_id, lower(wifi_mac));
CREATE INDEX devices_last_checkin ON devices (tenant_id, last_checkin);

CREATE TABLE device_commands_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO device_commands_new SELECT id, tenant_id, device_id, type, payload, status, created_by, created_at,
    sent_at, completed_at, result, error FROM device_commands;
DROP TABLE device_commands;
ALTER TABLE device_commands_new RENAME TO device_commands;
CREATE INDEX device_commands_device ON device_commands (tenant_id, device_id, status, id);
CREATE INDEX device_commands_done ON device_commands (status, completed_at);
