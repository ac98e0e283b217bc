-- +goose Up
-- The Apple MDM protocol's records. Times are epoch milliseconds; 0 means "not yet" where a column is
-- NOT NULL; secrets (challenges, unlock tokens, private keys) are stored hashed or sealed, never clear.

-- An enrollment is found by its id (the identity certificate's common name) or by its challenge hash,
-- neither of which names a tenant, so both lookups are global, like a one-time token's. It goes with
-- its account (and tenant). device_id is NULL until a device authenticates with its certificate.
CREATE TABLE apple_enrollments (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    account_id     BIGINT NOT NULL,
    challenge_hash BYTEA NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    cert_issued_at BIGINT,
    device_id      BIGINT,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX apple_enrollments_account ON apple_enrollments (tenant_id, account_id);
-- PruneEnrollments finds unbound ones by age across tenants.
CREATE INDEX apple_enrollments_expires ON apple_enrollments (expires_at) WHERE device_id IS NULL;

-- The protocol state of an enrolled device, beside (and going with) its devices row. A re-enrolled
-- device gets a new devices row, so one UDID may have several, of which at most the newest is live.
CREATE TABLE apple_devices (
    tenant_id     TEXT NOT NULL,
    device_id     BIGINT NOT NULL,
    udid          TEXT NOT NULL,
    enrollment_id TEXT NOT NULL,
    topic         TEXT NOT NULL,
    push_magic    TEXT NOT NULL,
    unlock_token  BYTEA,
    enrolled_at   BIGINT NOT NULL,
    token_at      BIGINT NOT NULL,
    inventory_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX apple_devices_udid ON apple_devices (tenant_id, udid);
-- The inventory job finds, across tenants, the devices whose inventory is oldest (counting from enrollment
-- when they never answered); InventoryDue spells the expression exactly so.
CREATE INDEX apple_devices_inventory_due ON apple_devices ((CASE WHEN inventory_at = 0 THEN enrolled_at ELSE inventory_at END), tenant_id, device_id);

-- One APNs push certificate per tenant; the renewal reminder scans by expiry across tenants.
CREATE TABLE apple_push_certificates (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    cert_pem    BYTEA NOT NULL,
    key_sealed  BYTEA NOT NULL,
    topic       TEXT NOT NULL,
    not_after   BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX apple_push_certificates_not_after ON apple_push_certificates (not_after);

-- The deployment's one device CA (a platform table): the CHECK keeps it to a single row, so replicas
-- starting together insert with ON CONFLICT DO NOTHING and all read back the same one.
CREATE TABLE apple_ca (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cert_der   BYTEA NOT NULL,
    key_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
