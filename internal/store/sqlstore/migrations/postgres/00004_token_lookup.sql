-- +goose Up
-- An account's tokens of one purpose are looked up together: revoking old PINs, a PIN's status, the age
-- of the last password reset link.
CREATE INDEX one_time_tokens_account ON one_time_tokens (tenant_id, account_id, purpose, created_at);
