-- A thread's version counts every change that thread.updated tells of: who
-- is in it (members_changed counted these alone), its title, and whether
-- a block closes it. Each event carries the version of the thread as it
-- tells it, so that a client that gets two of one thread out of order
-- keeps the newer. A post on PostgreSQL compares it as it did
-- members_changed: a change at once makes the post run again.

-- +goose Up
ALTER TABLE threads RENAME COLUMN members_changed TO version;

-- +goose Down
ALTER TABLE threads RENAME COLUMN version TO members_changed;
