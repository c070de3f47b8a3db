-- SQLite's migration 0047 stores a message's ID as its 16 bytes.
-- PostgreSQL keeps the text (messageids.go).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
