-- The changes feed of a thread (GET /api/v1/threads/{id}/changes): each
-- change to a thread's messages, a message posted or deleted, takes the
-- thread's next change number, under the same hold of the thread's row
-- that numbers its messages, so that change numbers are dense per thread
-- and a transaction that commits took the one after the last committed,
-- however many servers write the thread. A message keeps the number of its
-- latest change: a deletion gives it a new one, so that a reader of the
-- changes after a number finds every deletion since.
--
-- Existing messages are numbered by their seq, which is dense already;
-- a message deleted before this migration keeps its seq as its change
-- number and reads as a tombstone from there.

-- +goose Up
ALTER TABLE threads ADD COLUMN last_change BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE threads SET last_change = last_seq;
UPDATE messages SET change_seq = seq;
CREATE UNIQUE INDEX messages_change ON messages (thread_id, change_seq);

-- +goose Down
DROP INDEX messages_change;
ALTER TABLE messages DROP COLUMN change_seq;
ALTER TABLE threads DROP COLUMN last_change;
