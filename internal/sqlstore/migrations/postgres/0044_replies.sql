-- A message may answer an earlier one of its thread: the seq of that
-- message, NULL if it answers none. The answer keeps it when the message
-- it answers is edited or deleted.

-- +goose Up
ALTER TABLE messages ADD COLUMN reply_to_seq BIGINT;

-- +goose Down
ALTER TABLE messages DROP COLUMN reply_to_seq;
