-- A member mutes a thread: its messages are counted and shown to them as
-- before, but their clients tell them of none as it comes. The member's
-- own choice, on their row of the thread; coming back after leaving
-- starts unmuted.

-- +goose Up
ALTER TABLE participants ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE participants DROP COLUMN muted;
