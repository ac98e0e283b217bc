-- +goose Up
-- The device list filtered on an owner (emailAddress=x) finds the owner's account first, by address.
CREATE INDEX accounts_email ON accounts (tenant_id, lower(email));
