-- A thread started with an idempotency key is started once: a retry with
-- the key finds the thread the first request started. A key names its
-- thread and the hash of the request that started it (its kind, title and
-- members), so that the key given again with another request is refused.

-- +goose Up
CREATE TABLE thread_keys (
    user_id         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    thread_id       TEXT NOT NULL,
    request_hash    BYTEA NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);

-- +goose Down
DROP TABLE thread_keys;
