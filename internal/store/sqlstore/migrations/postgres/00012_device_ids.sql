-- +goose Up
-- SQLite's 00012 rebuilds devices and device_commands so that ids are never reused; PostgreSQL
-- identity columns never reuse ids, so here nothing changes.
SELECT 1;
