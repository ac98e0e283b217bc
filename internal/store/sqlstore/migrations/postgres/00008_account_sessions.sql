-- +goose Up
-- A password reset ends every session of the account: find them without a scan.
CREATE INDEX sessions_account ON sessions (tenant_id, subject_id);
