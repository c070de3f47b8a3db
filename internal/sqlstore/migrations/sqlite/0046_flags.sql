-- A member's report of a message of a thread they are in to the
-- operators (parley.Flag): why, and the message as it was then (kind,
-- body, share_url, share_title), kept until an operator resolves the flag,
-- then erased.
-- A member flags a message once. resolution is NULL while the flag waits
-- for the operators, whose page reads the open flags oldest first.

-- +goose Up
CREATE TABLE flags (
    id          TEXT PRIMARY KEY,
    thread_no   BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    reporter_no BIGINT NOT NULL REFERENCES users (no),
    reason      TEXT NOT NULL,
    note        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT,
    body        TEXT,
    share_url   TEXT,
    share_title TEXT,
    resolution  TEXT,
    resolved_at BIGINT,
    UNIQUE (reporter_no, thread_no, seq),
    FOREIGN KEY (thread_no, seq) REFERENCES messages (thread_no, seq)
);
CREATE INDEX flags_open ON flags (at, id) WHERE resolution IS NULL;
CREATE INDEX flags_message ON flags (thread_no, seq) WHERE resolution IS NULL;
CREATE INDEX flags_reporter ON flags (reporter_no, at, id);

-- +goose Down
DROP TABLE flags;
