-- +goose Up
-- The Apple MDM protocol's records. Times are epoch milliseconds; 0 means "not yet" where a column is
-- NOT NULL; secrets (challenges, unlock tokens, private keys) are stored hashed or sealed, never clear.

-- An enrollment is found by its id (the identity certificate's common name) or by its challenge hash,
-- neither of which names a tenant, so both lookups are global, like a one-time token's. It goes with
-- its account (and tenant). device_id is NULL until a device authenticates with its certificate.
-- (accounts and devices are keyed by id alone here, so the foreign keys name id; the store checks
-- that the account or device is the tenant's.)
CREATE TABLE apple_enrollments (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    challenge_hash BLOB NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    cert_issued_at INTEGER,
    device_id      INTEGER
);
CREATE INDEX apple_enrollments_account ON apple_enrollments (tenant_id, account_id);
CREATE INDEX apple_enrollments_account_fk ON apple_enrollments (account_id); -- the foreign key's lookup
-- PruneEnrollments finds unbound ones by age across tenants.
CREATE INDEX apple_enrollments_expires ON apple_enrollments (expires_at) WHERE device_id IS NULL;

-- The protocol state of an enrolled device, beside (and going with) its devices row. A re-enrolled
-- device gets a new devices row, so one UDID may have several, of which at most the newest is live.
CREATE TABLE apple_devices (
    tenant_id     TEXT NOT NULL,
    device_id     INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    udid          TEXT NOT NULL,
    enrollment_id TEXT NOT NULL,
    topic         TEXT NOT NULL,
    push_magic    TEXT NOT NULL,
    unlock_token  BLOB,
    enrolled_at   INTEGER NOT NULL,
    token_at      INTEGER NOT NULL,
    inventory_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, device_id)
);
CREATE INDEX apple_devices_udid ON apple_devices (tenant_id, udid);
-- The inventory job finds, across tenants, the devices whose inventory is oldest (counting from enrollment
-- when they never answered); InventoryDue spells the expression exactly so.
CREATE INDEX apple_devices_inventory_due ON apple_devices ((CASE WHEN inventory_at = 0 THEN enrolled_at ELSE inventory_at END), tenant_id, device_id);
-- SQLite looks up a deleted device's (or account's) rows by the child column alone, so each foreign key
-- gets an index that leads with it; without one every device or account delete scans the table.
-- (PostgreSQL's keys name (tenant_id, id), which the primary key and apple_enrollments_account cover.)
CREATE INDEX apple_devices_device ON apple_devices (device_id);

-- One APNs push certificate per tenant; the renewal reminder scans by expiry across tenants.
CREATE TABLE apple_push_certificates (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    cert_pem    BLOB NOT NULL,
    key_sealed  BLOB NOT NULL,
    topic       TEXT NOT NULL,
    not_after   INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL
);
CREATE INDEX apple_push_certificates_not_after ON apple_push_certificates (not_after);

-- The deployment's one device CA (a platform table): the CHECK keeps it to a single row, so replicas
-- starting together insert with ON CONFLICT DO NOTHING and all read back the same one.
CREATE TABLE apple_ca (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cert_der   BLOB NOT NULL,
    key_sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
