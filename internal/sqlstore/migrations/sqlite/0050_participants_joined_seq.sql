-- Where a member joined a thread, apart from how far they read it: a
-- member added to a group, or added back after leaving, has nothing of
-- what came before to read, though they read none of it (their unread
-- count starts after joined_seq), and no one is told they saw it (read
-- receipts come from last_read_seq alone). joined_seq is the thread's
-- last_seq when they were added, read with the thread's row held; 0 for
-- those in the thread from its start.
-- Existing rows: a member with a note of their adding (timeline_notes,
-- since 0042) takes the after_seq of the last one, which is that same
-- last_seq; every other row takes 0, the unread count as it was before.

-- +goose Up
ALTER TABLE participants ADD COLUMN joined_seq BIGINT NOT NULL DEFAULT 0;

UPDATE participants SET joined_seq = (
    SELECT MAX(n.after_seq) FROM timeline_notes n
    WHERE n.thread_id = participants.thread_id AND n.kind = 'added' AND n.subject_user_id = participants.user_id)
WHERE EXISTS (
    SELECT 1 FROM timeline_notes n
    WHERE n.thread_id = participants.thread_id AND n.kind = 'added' AND n.subject_user_id = participants.user_id);

-- +goose Down
ALTER TABLE participants DROP COLUMN joined_seq;
