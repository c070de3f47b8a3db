-- Notices in a thread's timeline about apps: an app came to reach the
-- thread through a participant's grant (a share into it, a thread ticked
-- on consent, a grant reaching all conversations), or a participant closed
-- the thread to apps or reopened it. Written in the transaction that made
-- the change, so every node shows them, after a reload too.

-- +goose Up
CREATE TABLE thread_notices (
    id         TEXT PRIMARY KEY,
    thread_id  TEXT NOT NULL REFERENCES threads (id),
    kind       TEXT NOT NULL, -- app.added | apps.closed | apps.reopened
    at         BIGINT NOT NULL,
    by_user_id TEXT NOT NULL REFERENCES users (id), -- whose grant, or who closed or reopened
    client_id  TEXT REFERENCES apps (client_id),    -- app.added only
    grant_id   TEXT REFERENCES grants (id)          -- app.added only
);

CREATE INDEX thread_notices_thread ON thread_notices (thread_id, at);

-- +goose Down
DROP TABLE thread_notices;
