-- +goose Up
-- The OAuth token server. Signing keys are platform-wide (every tenant's tokens are signed by the current
-- key); generation is unique so that replicas rotating at once end with one key. The private key is
-- sealed with the server key, never stored in clear. Revoked access tokens are kept until they expire
-- (few rows: pruning scans them, so no index leads with anything but tenant_id).
-- Times are epoch ms.
CREATE TABLE oauth_signing_keys (
    kid            TEXT PRIMARY KEY,
    generation     INTEGER NOT NULL,
    algorithm      TEXT NOT NULL,
    private_sealed BLOB NOT NULL,
    public_der     BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    sign_until     INTEGER NOT NULL,
    verify_until   INTEGER NOT NULL
);
CREATE UNIQUE INDEX oauth_signing_keys_generation ON oauth_signing_keys (generation);

CREATE TABLE oauth_revoked_tokens (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    jti        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);
