-- PostgreSQL's migration 0030 creates its journal of reads, a table. SQLite's
-- journal of reads is a series of files beside the database (journal.go),
-- created with migration 0006.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
