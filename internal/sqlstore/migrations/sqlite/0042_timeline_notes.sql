-- A group's timeline notes: what its members did to the group itself,
-- shown between its messages where it happened: who started it, added
-- whom, left, removed whom, and renamed it. after_seq is the thread's
-- last_seq when it happened, read with the thread's row held, so a note
-- sits after that message. Written in the write that made the change.

-- +goose Up
CREATE TABLE timeline_notes (
    id              TEXT PRIMARY KEY,
    thread_id       TEXT NOT NULL REFERENCES threads (id),
    after_seq       BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL, -- started | added | left | removed | renamed
    by_user_id      TEXT NOT NULL REFERENCES users (id),
    subject_user_id TEXT REFERENCES users (id), -- added and removed only
    title           TEXT                        -- started and renamed; empty otherwise
);

CREATE INDEX timeline_notes_thread ON timeline_notes (thread_id, after_seq, at);

-- +goose Down
DROP TABLE timeline_notes;
