-- The messaging core: members, sessions, friendships, threads, messages.
-- Times are microseconds since the Unix epoch, UTC.

-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE, -- normalized to lowercase
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY, -- SHA-256 of the token
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE friendships (
    requester_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    addressee_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state        TEXT NOT NULL, -- pending | accepted
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (requester_id, addressee_id)
);
CREATE INDEX friendships_addressee ON friendships (addressee_id);

CREATE TABLE threads (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL, -- direct | group
    title            TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_via_app  TEXT,
    direct_key       TEXT UNIQUE, -- "a:b" for a direct thread, NULL for a group
    last_seq         BIGINT NOT NULL DEFAULT 0,
    last_activity_at BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE participants (
    thread_id     TEXT NOT NULL REFERENCES threads (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    joined_at     BIGINT NOT NULL,
    left_at       BIGINT,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id, thread_id);

-- History pages are range scans of the primary key (thread_id, seq).
CREATE TABLE messages (
    thread_id       TEXT NOT NULL REFERENCES threads (id),
    seq             BIGINT NOT NULL,
    id              TEXT NOT NULL UNIQUE,
    sender_id       TEXT NOT NULL REFERENCES users (id),
    kind            TEXT NOT NULL,
    body            TEXT, -- NULL once deleted
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT,
    PRIMARY KEY (thread_id, seq)
);
CREATE UNIQUE INDEX messages_idempotency ON messages (sender_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP TABLE messages;
DROP TABLE participants;
DROP TABLE threads;
DROP TABLE friendships;
DROP TABLE sessions;
DROP TABLE users;
