-- The title of the thread as the member knew it when they left
-- (threads_left in their export): written as they leave, in the write
-- that records it, not worked out later from the clocks of the nodes
-- that recorded the leave and a rename. Rows left before this are given
-- the title the notes recorded last before the leave.

-- +goose Up
ALTER TABLE participants ADD COLUMN left_title TEXT;
UPDATE participants SET left_title = (
	SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM timeline_notes n
		WHERE n.thread_id = t.id AND n.kind = 'renamed' AND n.at > participants.left_at) THEN t.title
	ELSE COALESCE((SELECT n.title FROM timeline_notes n
		WHERE n.thread_id = t.id AND n.kind IN ('renamed', 'started') AND n.at <= participants.left_at
		ORDER BY n.at DESC, n.id DESC LIMIT 1), '') END
	FROM threads t WHERE t.id = participants.thread_id)
WHERE left_at IS NOT NULL;

-- +goose Down
ALTER TABLE participants DROP COLUMN left_title;
