-- Deleted accounts. A deleted member's row stays, so that the messages
-- they sent stay in their threads as tombstones and other members'
-- histories and access logs that name them stay intact; it keeps only the
-- ID, the username (reserved: no one else may take it) and when the
-- account was made and deleted.
--
-- A member's export and the deletion of their messages read the messages
-- they sent, through messages_sender.

-- +goose Up
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
CREATE INDEX messages_sender ON messages (sender_id, id);

-- +goose Down
DROP INDEX messages_sender;
ALTER TABLE users DROP COLUMN deleted_at;
