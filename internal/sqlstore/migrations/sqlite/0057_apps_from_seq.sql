-- A thread's apps_from_seq is the first of its messages any app may see:
-- 0 until a participant closes it to apps; once the last closing of it
-- ends, the message after its last then. Words said while a thread was
-- closed to apps, and before, are thus never an app's to read, whoever
-- reopens it, or leaves it closed and goes.

-- +goose Up
ALTER TABLE threads ADD COLUMN apps_from_seq BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE threads DROP COLUMN apps_from_seq;
