-- A member's reaction to a message: one emoji of parley.ReactionEmoji,
-- at most one per member and message, replaced by their next. The
-- message's reacted_at is when a reaction to it was last given or taken
-- back (microseconds since 1970, as created_at), NULL if never: a page of
-- messages reads reactions only for messages that have it, and the
-- changes feed tells a reaction from an edit by it. A deletion clears
-- both, as it clears the text.

-- +goose Up
CREATE TABLE reactions (
    thread_no BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    user_no   BIGINT NOT NULL REFERENCES users (no),
    emoji     TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (thread_no, seq, user_no),
    FOREIGN KEY (thread_no, seq) REFERENCES messages (thread_no, seq)
);
CREATE INDEX reactions_user ON reactions (user_no, thread_no, seq);
ALTER TABLE messages ADD COLUMN reacted_at BIGINT;

-- +goose Down
ALTER TABLE messages DROP COLUMN reacted_at;
DROP TABLE reactions;
