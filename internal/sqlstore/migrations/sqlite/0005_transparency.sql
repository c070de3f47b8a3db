-- Access transparency: who closed a thread to apps, entries that name the
-- participant who did, and grants found by when they expire.
--
-- The access log is rebuilt WITHOUT ROWID: clustered by (user_id, seq), an
-- append writes one b-tree instead of a table and its primary key index,
-- and an app's every read appends to it.

-- +goose Up
CREATE TABLE access_log_new (
    user_id       TEXT NOT NULL REFERENCES users (id),
    seq           BIGINT NOT NULL, -- 1, 2, 3 … per member
    at            BIGINT NOT NULL,
    client_id     TEXT NOT NULL,
    app_name      TEXT NOT NULL,
    grant_id      TEXT NOT NULL,
    action        TEXT NOT NULL,
    thread_id     TEXT NOT NULL DEFAULT '',
    by_user_id    TEXT NOT NULL DEFAULT '', -- who closed or reopened a thread to apps
    message_ids   TEXT NOT NULL DEFAULT '', -- space-separated, at most 50
    message_count BIGINT NOT NULL DEFAULT 0,
    prev_hash     BLOB NOT NULL,
    hash          BLOB NOT NULL,
    PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;
INSERT INTO access_log_new (user_id, seq, at, client_id, app_name, grant_id, action, thread_id, message_ids,
    message_count, prev_hash, hash)
SELECT user_id, seq, at, client_id, app_name, grant_id, action, thread_id, message_ids, message_count, prev_hash, hash
FROM access_log;
DROP TABLE access_log;
ALTER TABLE access_log_new RENAME TO access_log;
CREATE INDEX access_log_app ON access_log (user_id, client_id, seq);

CREATE TABLE access_log_heads_new (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    seq     BIGINT NOT NULL,
    hash    BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO access_log_heads_new (user_id, seq, hash) SELECT user_id, seq, hash FROM access_log_heads;
DROP TABLE access_log_heads;
ALTER TABLE access_log_heads_new RENAME TO access_log_heads;

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
