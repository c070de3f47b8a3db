-- Access transparency: who closed a thread to apps, entries that name the
-- participant who did, and grants found by when they expire.
--
-- (SQLite's version of this migration also rebuilds the access log
-- WITHOUT ROWID, which PostgreSQL has no use for.)

-- +goose Up
ALTER TABLE access_log ADD COLUMN by_user_id TEXT NOT NULL DEFAULT ''; -- who closed or reopened a thread to apps

-- A thread is closed to every app while any participant's row is here.
CREATE TABLE thread_app_closures (
    thread_id TEXT NOT NULL REFERENCES threads (id),
    user_id   TEXT NOT NULL REFERENCES users (id),
    closed_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);

CREATE INDEX grants_expiry ON grants (expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;

-- +goose Down
DROP INDEX grants_expiry;
DROP TABLE thread_app_closures;
ALTER TABLE access_log DROP COLUMN by_user_id;
