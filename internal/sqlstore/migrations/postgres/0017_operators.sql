-- Operator accounts, and the record of what operators decide: who, what,
-- about what and when. The record is append-only; actor_id is NULL for a
-- decision made at the server's console (the parley command), and actor
-- and subject_name keep the names as they were when it was made.

-- +goose Up
ALTER TABLE users ADD COLUMN operator BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE operator_actions (
    id           TEXT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor_id     TEXT REFERENCES users (id),
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    subject_name TEXT NOT NULL
);
CREATE INDEX operator_actions_at ON operator_actions (at, id);

-- +goose Down
DROP TABLE operator_actions;
ALTER TABLE users DROP COLUMN operator;
