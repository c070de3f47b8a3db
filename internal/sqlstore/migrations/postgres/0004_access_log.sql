-- Access transparency: each member's hash-chained log of what apps did with
-- their data, and the head of each chain.

-- +goose Up
CREATE TABLE access_log (
    user_id       TEXT NOT NULL REFERENCES users (id),
    seq           BIGINT NOT NULL, -- 1, 2, 3 … per member
    at            BIGINT NOT NULL,
    client_id     TEXT NOT NULL,
    app_name      TEXT NOT NULL,
    grant_id      TEXT NOT NULL,
    action        TEXT NOT NULL,
    thread_id     TEXT NOT NULL DEFAULT '',
    message_ids   TEXT NOT NULL DEFAULT '', -- space-separated, at most 50
    message_count BIGINT NOT NULL DEFAULT 0,
    prev_hash     BYTEA NOT NULL,
    hash          BYTEA NOT NULL,
    PRIMARY KEY (user_id, seq)
);
CREATE INDEX access_log_app ON access_log (user_id, client_id, seq);

CREATE TABLE access_log_heads (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    seq     BIGINT NOT NULL,
    hash    BYTEA NOT NULL
);

-- +goose Down
DROP TABLE access_log_heads;
DROP TABLE access_log;
