-- +goose Up
-- The device list filtered on an owner (emailAddress=x) finds the owner's account first, by address.
CREATE INDEX accounts_email ON accounts (tenant_id, lower(email));
-- List filters compare text case-insensitively (lower(column) = value), and the planner keeps no
-- statistics on such expressions: it guessed 10 rows for platformType=IOS and platformVersion=18.5
-- where 130,000 of 1,000,000 matched, and sorted them all instead of walking the ids in order.
-- Statistics on the expressions (no index, so nothing to keep up on writes) make the guess right.
CREATE STATISTICS devices_list_filters ON lower(platform), lower(os_version), lower(registration_state), lower(kind) FROM devices;
