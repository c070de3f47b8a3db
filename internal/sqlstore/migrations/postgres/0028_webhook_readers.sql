-- A delivery about a message names who was in the message's thread when
-- it was enqueued, in the write of the change: its first attempt is logged
-- in their access logs, as a realtime event is logged for those in the
-- thread at the change, not for whoever is in it when the attempt is made.
-- The IDs are separated by spaces; deliveries made before this migration
-- have none, and are logged for those in the thread at the attempt.

-- +goose Up
ALTER TABLE webhook_deliveries ADD COLUMN readers TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN readers;
