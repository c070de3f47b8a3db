-- PostgreSQL's migration 0054 has usernames and apps' names compared
-- byte by byte, as SQLite compares every text.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
