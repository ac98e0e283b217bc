-- +goose Up
-- When the last wrong guess at a registration PIN was made. A PIN locked at the guess limit stays in
-- place (expired) and blocks self-service PIN requests for a day after that guess; a PIN the user
-- requests within that day carries the count on, so the limit is per account per day, not per PIN.
ALTER TABLE one_time_tokens ADD COLUMN last_failed_at BIGINT;
