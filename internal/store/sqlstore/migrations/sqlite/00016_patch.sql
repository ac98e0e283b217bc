-- +goose Up
-- Patch Management: the global catalog of mobile OS updates (patches) and the CVEs they fix, and each
-- tenant's patch groups with their history. Times are epoch ms. A group keeps its patch and CVE ids as
-- JSON arrays (a group is read and written whole); patch_cves answers "which patches fix this CVE".
CREATE TABLE cves (
    id          TEXT PRIMARY KEY,
    description TEXT NOT NULL
);
CREATE TABLE patches (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    operating_system TEXT NOT NULL,
    os_version       TEXT NOT NULL,
    published_at     INTEGER NOT NULL,
    kb_number        TEXT NOT NULL,
    description      TEXT NOT NULL,
    cve_ids          TEXT NOT NULL
);
CREATE TABLE patch_cves (
    cve_id   TEXT NOT NULL REFERENCES cves(id),
    patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
    PRIMARY KEY (cve_id, patch_id)
);
CREATE INDEX patch_cves_patch ON patch_cves (patch_id);
CREATE TABLE patch_groups (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    patch_ids   TEXT NOT NULL,
    cve_ids     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX patch_groups_name ON patch_groups (tenant_id, name_key);
CREATE TABLE patch_group_audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    edited_by     TEXT NOT NULL,
    action        TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    group_name    TEXT NOT NULL,
    group_version INTEGER NOT NULL,
    patch_id      TEXT NOT NULL,
    patch_name    TEXT NOT NULL
);
CREATE INDEX patch_group_audit_tenant ON patch_group_audit (tenant_id, id);
CREATE INDEX patch_group_audit_group ON patch_group_audit (tenant_id, group_id, id);
