-- PostgreSQL's migration 0025 drops messages' foreign keys to their thread
-- and sender, which cost each send a lock written into its sender's row.
-- SQLite keeps them: it checks a key by a lookup in the parent's index,
-- which writes nothing.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
