-- +goose Up
-- Content: a tenant's business documents. The file lives in the blob store under blob_key; the row
-- describes it. Times are epoch ms. AUTOINCREMENT: a deleted item's id is never reused (a device that
-- cached it must not get another document under the same id). Its distributions and categories live
-- in the foundation's tables, keyed by item kind CONTENT and this id.
CREATE TABLE content (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    modified_at  INTEGER NOT NULL
);
CREATE INDEX content_tenant ON content (tenant_id, id);
