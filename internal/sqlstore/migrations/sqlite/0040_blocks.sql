-- Members a member blocked. A block stands until its blocker lifts it;
-- while a block stands either way, the two members' direct thread takes no
-- message (threads.blocked), which the send's own update of the thread's
-- row checks at no extra cost. blocks_blocked finds a member's rows from
-- the other side, as erasing an account needs.

-- +goose Up
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id),
    blocked_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);
ALTER TABLE threads ADD COLUMN blocked BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE threads DROP COLUMN blocked;
DROP TABLE blocks;
