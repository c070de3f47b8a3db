-- A notice that an app came to reach a conversation says what it could do
-- there then: the grant's scopes as they were when the notice was written,
-- kept with it, so that a later widening or narrowing of the grant does
-- not rewrite a notice already read. A widening that lets the app do more
-- there writes a notice of its own. Notices written before take the
-- grant's scopes as they are now, which is what they showed.

-- +goose Up
ALTER TABLE thread_notices ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
UPDATE thread_notices SET scopes = (SELECT g.scopes FROM grants g WHERE g.id = thread_notices.grant_id)
WHERE grant_id IS NOT NULL;

-- +goose Down
ALTER TABLE thread_notices DROP COLUMN scopes;
