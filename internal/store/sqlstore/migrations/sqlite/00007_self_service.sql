-- +goose Up
-- The accounts a tenant designates to receive its users' support requests from the /go portal.
CREATE TABLE support_admins (
    tenant_id  TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, account_id)
);

-- The portal lists a user's own devices.
CREATE INDEX devices_account ON devices (tenant_id, account_id);

-- At most one unused password reset link per account, so that two concurrent requests (on any
-- replica) cannot both send one.
CREATE UNIQUE INDEX one_time_tokens_one_reset ON one_time_tokens (tenant_id, account_id)
    WHERE purpose = 'pwreset' AND used_at IS NULL;
