-- Partner apps: OAuth 2.0 clients registered by members or operators.

-- +goose Up
CREATE TABLE apps (
    client_id            TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    owner_id             TEXT REFERENCES users (id),
    redirect_uris        TEXT NOT NULL, -- one URI a line
    homepage             TEXT NOT NULL DEFAULT '',
    purpose              TEXT NOT NULL DEFAULT '',
    client_type          TEXT NOT NULL, -- confidential | public
    secret_hash          BYTEA,          -- SHA-256 of the secret; NULL for public clients
    state                TEXT NOT NULL, -- active | suspended
    all_threads_approved BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT NOT NULL
);
CREATE INDEX apps_owner ON apps (owner_id);

-- +goose Down
DROP TABLE apps;
