-- A thread's apps_from_seq is the first of its messages any app may see:
-- 0 until a participant closes it to apps; once the last closing of it
-- ends, the message after its last then. Words said while a thread was
-- closed to apps, and before, are thus never an app's to read, whoever
-- reopens it, or leaves it closed and goes. A thread open again now, which
-- was reopened before this column, is seen from the first message after
-- its last reopening's notice.

-- +goose Up
ALTER TABLE threads ADD COLUMN apps_from_seq BIGINT NOT NULL DEFAULT 0;

UPDATE threads SET apps_from_seq = 1 + COALESCE((
        SELECT max(m.seq) FROM messages m
        WHERE m.thread_no = threads.no AND m.created_at <= (
            SELECT max(n.at) FROM thread_notices n WHERE n.thread_id = threads.id AND n.kind = 'apps.reopened')
    ), 0)
WHERE EXISTS (SELECT 1 FROM thread_notices n WHERE n.thread_id = threads.id AND n.kind = 'apps.reopened')
  AND NOT EXISTS (SELECT 1 FROM thread_app_closures c WHERE c.thread_id = threads.id);

-- +goose Down
ALTER TABLE threads DROP COLUMN apps_from_seq;
