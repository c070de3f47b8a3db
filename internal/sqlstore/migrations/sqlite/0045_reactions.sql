-- A member's reaction to a message: one emoji of parley.ReactionEmoji,
-- at most one per member and message, replaced by their next. The
-- message's reaction_change is the number of the thread's change that
-- last gave or took back a reaction to it (seq + change_offset numbers
-- its latest change), NULL if none did: a page of messages reads
-- reactions only for messages that have it, and the changes feed tells a
-- reaction from an edit by it, in the order the changes were made, not by
-- any clock. A deletion clears both, as it clears the text.

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
ALTER TABLE messages ADD COLUMN reaction_change BIGINT;

-- +goose Down
ALTER TABLE messages DROP COLUMN reaction_change;
DROP TABLE reactions;
