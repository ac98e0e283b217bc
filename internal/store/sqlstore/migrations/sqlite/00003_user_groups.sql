-- +goose Up
CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL,
    kind        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    roles       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX user_groups_name ON user_groups (tenant_id, name_key);

CREATE TABLE user_group_members (
    tenant_id  TEXT NOT NULL,
    group_id   INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, group_id, account_id)
);
CREATE INDEX user_group_members_account ON user_group_members (tenant_id, account_id);

-- Every tenant has its "All Users" group.
INSERT INTO user_groups (tenant_id, name, name_key, description, kind, rule, roles, created_at, modified_at)
SELECT id, 'All Users', 'all users', 'Every user of the tenant.', 'ALL_USERS', '', '[]', created_at, created_at FROM tenants;
