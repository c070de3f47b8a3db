-- messages_deleted holds a thread's deleted messages alone, by their
-- number, for a member's unread count, which leaves out the messages
-- deleted after their read marker: counted through it, they cost the
-- count one look in an index that holds nothing of a thread none of whose
-- messages were deleted.

-- +goose Up
CREATE INDEX messages_deleted ON messages (thread_no, seq) WHERE deleted_at IS NOT NULL;

-- +goose Down
DROP INDEX messages_deleted;
