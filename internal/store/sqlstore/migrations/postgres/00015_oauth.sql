-- +goose Up
-- The OAuth token server. Signing keys are platform-wide (every tenant's tokens are signed by the current
-- key); generation is unique so that replicas rotating at once end with one key. The private key is
-- sealed with the server key, never stored in clear. Revoked access tokens are kept until they expire
-- (few rows: pruning scans them, so no index leads with anything but tenant_id).
-- Times are epoch ms.
CREATE TABLE oauth_signing_keys (
    kid            TEXT PRIMARY KEY,
    generation     BIGINT NOT NULL,
    algorithm      TEXT NOT NULL,
    private_sealed BYTEA NOT NULL,
    public_der     BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    sign_until     BIGINT NOT NULL,
    verify_until   BIGINT NOT NULL
);
CREATE UNIQUE INDEX oauth_signing_keys_generation ON oauth_signing_keys (generation);

CREATE TABLE oauth_revoked_tokens (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    jti        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, jti)
);
