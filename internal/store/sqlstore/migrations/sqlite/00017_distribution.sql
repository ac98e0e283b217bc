-- +goose Up
-- Device groups, the distribution of apps, content and configurations to users and groups, the app
-- and content categories, and the per-tenant assignment generation. AUTOINCREMENT: a deleted group's
-- or category's id is never reused, so a stale distribution or link can never reach a newcomer.
CREATE TABLE device_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL,
    kind        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    built_in    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX device_groups_name ON device_groups (tenant_id, name_key);
CREATE INDEX device_groups_tenant ON device_groups (tenant_id, id);

CREATE TABLE device_group_members (
    tenant_id TEXT NOT NULL,
    group_id  INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, group_id, device_id)
);
CREATE INDEX device_group_members_device ON device_group_members (tenant_id, device_id);

-- One row per item and target. target_id is 0 for ALL_USERS.
CREATE TABLE distributions (
    tenant_id   TEXT NOT NULL,
    item_kind   TEXT NOT NULL,
    item_id     INTEGER NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   INTEGER NOT NULL,
    required    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, item_kind, item_id, target_kind, target_id)
);
CREATE INDEX distributions_target ON distributions (tenant_id, target_kind, target_id, item_kind);

CREATE TABLE assignment_generations (
    tenant_id  TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
);

CREATE TABLE categories (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX categories_name ON categories (tenant_id, kind, name_key);
CREATE INDEX categories_tenant ON categories (tenant_id, id);

CREATE TABLE item_categories (
    tenant_id   TEXT NOT NULL,
    item_kind   TEXT NOT NULL,
    item_id     INTEGER NOT NULL,
    category_id INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, item_kind, item_id, category_id)
);
CREATE INDEX item_categories_category ON item_categories (tenant_id, category_id, item_id);

-- Every tenant of the day gets the built-in device groups (mdm.BuiltInDeviceGroups); new tenants get
-- them when they are created.
INSERT INTO device_groups (tenant_id, name, name_key, description, kind, rule, built_in, created_at, modified_at)
SELECT id, 'All Devices', 'all devices', 'Every device of the tenant.', 'ALL_DEVICES', '', 1, created_at, created_at FROM tenants;
INSERT INTO device_groups (tenant_id, name, name_key, description, kind, rule, built_in, created_at, modified_at)
SELECT id, 'iOS Devices', 'ios devices', 'Every Apple iOS, iPadOS and tvOS device.', 'DYNAMIC', 'platformType=IOS', 1, created_at, created_at FROM tenants;
INSERT INTO device_groups (tenant_id, name, name_key, description, kind, rule, built_in, created_at, modified_at)
SELECT id, 'Android Devices', 'android devices', 'Every Android device.', 'DYNAMIC', 'platformType=ANDROID', 1, created_at, created_at FROM tenants;
INSERT INTO device_groups (tenant_id, name, name_key, description, kind, rule, built_in, created_at, modified_at)
SELECT id, 'tvOS Devices', 'tvos devices', 'Every Apple TV.', 'DYNAMIC', 'deviceKind=APPLE_TV', 1, created_at, created_at FROM tenants;
