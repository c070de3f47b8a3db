-- PostgreSQL's journal of reads (pgjournal.go): an app's read is logged by
-- one row here, in one round trip, and chained into the access log later,
-- by a fold that appends many rows' records at once. Appending each read
-- to the log itself took three round trips, and held the heads of its
-- members' logs locked over two of them: one member's reads through an
-- app, however many at once, were logged one after the other.

-- +goose Up
CREATE TABLE access_journal_lines (
    no       BIGSERIAL PRIMARY KEY,
    line     BYTEA NOT NULL,
    -- The members whose logs the line's records go to: a write settles
    -- only the rows of the members it appends for.
    user_ids TEXT[] NOT NULL
);

-- +goose Down
DROP TABLE access_journal_lines;
