-- Sign in with Parley: grants, the threads they reach, OAuth requests and
-- tokens, messages written through apps, share cards, server keys.

-- +goose Up
ALTER TABLE messages ADD COLUMN via_client_id TEXT;
ALTER TABLE messages ADD COLUMN via_name TEXT;
ALTER TABLE messages ADD COLUMN share_url TEXT;
ALTER TABLE messages ADD COLUMN share_title TEXT;

CREATE TABLE grants (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    client_id    TEXT NOT NULL REFERENCES apps (client_id),
    scopes       TEXT NOT NULL, -- space-separated
    thread_scope TEXT NOT NULL, -- app | selected | all
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    expires_at   BIGINT, -- NULL: until revoked
    revoked_at   BIGINT
);
-- At most one grant per member and app is current.
CREATE UNIQUE INDEX grants_current ON grants (user_id, client_id) WHERE revoked_at IS NULL;

CREATE TABLE grant_threads (
    grant_id         TEXT NOT NULL REFERENCES grants (id),
    thread_id        TEXT NOT NULL REFERENCES threads (id),
    visible_from_seq BIGINT NOT NULL,
    PRIMARY KEY (grant_id, thread_id)
);

CREATE TABLE auth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES apps (client_id),
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    response_mode  TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    user_id        TEXT REFERENCES users (id),
    grant_id       TEXT REFERENCES grants (id),
    auth_time      BIGINT,
    code_hash      BYTEA UNIQUE, -- SHA-256 of the code
    code_used_at   BIGINT
);
CREATE INDEX auth_requests_created ON auth_requests (created_at);

CREATE TABLE oauth_tokens (
    token_hash BYTEA PRIMARY KEY, -- SHA-256 of the token's secret part
    kind       TEXT NOT NULL,    -- access | refresh
    family_id  TEXT NOT NULL,    -- the auth request the token descends from
    grant_id   TEXT NOT NULL REFERENCES grants (id),
    client_id  TEXT NOT NULL REFERENCES apps (client_id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);

CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- +goose Down
DROP TABLE server_keys;
DROP TABLE oauth_tokens;
DROP TABLE auth_requests;
DROP TABLE grant_threads;
DROP TABLE grants;
ALTER TABLE messages DROP COLUMN share_title;
ALTER TABLE messages DROP COLUMN share_url;
ALTER TABLE messages DROP COLUMN via_name;
ALTER TABLE messages DROP COLUMN via_client_id;
