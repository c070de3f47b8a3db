-- How an app's reads are logged.
--
-- The journal of reads (sqlstore/journal.go) holds them in files until the
-- writer folds them into the access log. access_journal.folded is the
-- number of the last line folded, set in the fold's own transaction, so
-- that a crash before the folded lines' files are removed folds nothing
-- twice.
--
-- A read of more messages than an entry lists by ID is logged with the
-- span of the thread it covered: first_seq to last_seq (0 for none).

-- +goose Up
CREATE TABLE access_journal (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    folded BIGINT NOT NULL
);
INSERT INTO access_journal (id, folded) VALUES (1, 0);

ALTER TABLE access_log ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE access_log ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE access_log DROP COLUMN last_seq;
ALTER TABLE access_log DROP COLUMN first_seq;
DROP TABLE access_journal;
