-- +goose Up
-- A tenant's app list: public store apps (by bundle id or package name) and in-house apps (uploaded
-- .ipa/.apk, whose binary lives in the blob store under file_key). One app per tenant, platform and
-- bundle id. Times are epoch ms. AUTOINCREMENT: a deleted app's id is never reused (distributions and
-- categories name apps by id).
CREATE TABLE apps (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    platform     TEXT NOT NULL,
    source       TEXT NOT NULL,
    bundle_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    build_number TEXT NOT NULL,
    icon_url     TEXT NOT NULL,
    description  TEXT NOT NULL,
    store_id     TEXT NOT NULL,
    file_key     TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    file_size    INTEGER NOT NULL,
    file_sha256  TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    modified_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX apps_bundle ON apps (tenant_id, platform, bundle_id);
CREATE INDEX apps_tenant ON apps (tenant_id, id);

-- The App Inventory groups installed apps by app id and version over a tenant's devices, and drills down
-- from an app id to its devices: both read this index, which covers them, instead of the rows.
CREATE INDEX device_apps_app ON device_apps (tenant_id, app_id, version, device_id, name);

-- The devices Steward queued an app's install for (its managed installs): removing the app's
-- distribution or the app queues the removal from these devices only, never from devices where the user
-- installed the app themselves.
CREATE TABLE app_installs (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id     INTEGER NOT NULL,
    device_id  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, app_id, device_id)
);

-- The App Inventory: installed apps counted by platform, app id and version over a tenant's ACTIVE
-- devices, recomputed from device_apps with one grouped statement (RefreshInventory) when the devices
-- changed, so that paging through it reads a few hundred rows instead of grouping every installed app
-- of the tenant (3,000,000 rows at 100,000 devices) on each request. app_inventory_state remembers what
-- the devices looked like at the last refresh.
CREATE TABLE app_inventory (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    platform     TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    version      TEXT NOT NULL,
    name         TEXT NOT NULL,
    device_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, platform, app_id, version)
);
CREATE TABLE app_inventory_state (
    tenant_id    TEXT NOT NULL PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    source_key   TEXT NOT NULL,
    refreshed_at INTEGER NOT NULL
);
