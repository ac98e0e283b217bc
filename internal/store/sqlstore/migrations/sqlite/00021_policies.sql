-- +goose Up
-- Compliance policies. params, platforms, device_groups, user_groups and actions are JSON (the
-- service validates them). Times are epoch ms.
CREATE TABLE policies (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    description   TEXT NOT NULL,
    type          TEXT NOT NULL,
    params        TEXT NOT NULL,
    rule          TEXT NOT NULL,
    platforms     TEXT NOT NULL,
    device_groups TEXT NOT NULL,
    user_groups   TEXT NOT NULL,
    priority      INTEGER NOT NULL,
    enabled       INTEGER NOT NULL,
    actions       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX policies_name ON policies (tenant_id, name_key);
CREATE INDEX policies_priority ON policies (tenant_id, priority, id);

-- One row per (device, policy) while the device violates the policy: when it began and which actions
-- (indexes into the policy's actions, a JSON list) have run.
CREATE TABLE policy_violations (
    tenant_id   TEXT NOT NULL,
    device_id   INTEGER NOT NULL,
    policy_id   INTEGER NOT NULL,
    since       INTEGER NOT NULL,
    done        TEXT NOT NULL,
    quarantined INTEGER NOT NULL,
    checked_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, device_id, policy_id)
);
CREATE INDEX policy_violations_policy ON policy_violations (tenant_id, policy_id);

-- Leases of background jobs that run once across replicas (the compliance sweep), and when each
-- last completed. Not tenant-scoped: one row per job.
CREATE TABLE job_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    last_run   INTEGER NOT NULL
);

-- +goose Down
DROP TABLE job_leases;
DROP TABLE policy_violations;
DROP TABLE policies;
