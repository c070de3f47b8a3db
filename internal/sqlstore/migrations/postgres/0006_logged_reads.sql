-- How an app's reads are logged.
--
-- A read of more messages than an entry lists by ID is logged with the
-- span of the thread it covered: first_seq to last_seq (0 for none).
--
-- (SQLite's version of this migration also creates access_journal, the
-- state of its journal of reads; PostgreSQL appends reads to the access
-- log directly.)

-- +goose Up
ALTER TABLE access_log ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE access_log ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE access_log DROP COLUMN last_seq;
ALTER TABLE access_log DROP COLUMN first_seq;
