-- The keys of access records logged lately (parley.AccessRecord.Key): a
-- record whose key is here is not logged again, so that an access that
-- several processes or nodes log, such as an event an app's streams on
-- two nodes deliver, is one entry. A key is kept parley.AccessKeyKept
-- after logged_at, the time of its record, and the append that finds it
-- older deletes it.

-- +goose Up
CREATE TABLE access_keys (
    key       BLOB PRIMARY KEY,
    logged_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_keys_logged_at ON access_keys (logged_at);

-- +goose Down
DROP TABLE access_keys;
