-- +goose Up
-- Wrong guesses at a registration PIN, counted in the database so that every replica shares one limit
-- and a restart does not reset it. The PIN is revoked when the count reaches the limit.
ALTER TABLE one_time_tokens ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
