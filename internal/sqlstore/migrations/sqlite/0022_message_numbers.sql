-- Messages take less room: about 300 bytes a message where they took 580.
--
-- Messages name their thread and sender by number, not by ID. Each member
-- and each thread gets a number of its own, unique, given in the order
-- they were made (the next after the highest, under SQLite's one writer).
-- A message's row holds its thread's and sender's numbers, a byte or a
-- few each, where their 26-character IDs took 27 bytes each, in the row
-- and in every index of the messages. The index of a sender's messages
-- holds only the sender's number, and the primary key its rows carry in
-- any case (thread, seq): the export and the deletion of a member's
-- messages read them in that order.
--
-- A message's kind is a number: 0 text, 1 share (a number 0 or 1 takes
-- no byte of a row). Its change number is stored as its offset from its
-- seq, change_offset, and indexed as seq + change_offset: the offset is
-- the number of deletions in the thread before the message was posted,
-- or before it was deleted, 0 in a thread without any, which takes no
-- byte either, where the number took up to 3. Idempotency keys move to a table of their own,
-- message_keys, keyed by sender and key, where the row of every message
-- held its key and an index held it again.
--
-- SQLite cannot change a table's columns in place: the table is made
-- anew, its rows copied, the old one dropped and the new one renamed.
-- share_links refers to messages (id), and a table that rows of another
-- refer to cannot be dropped while foreign keys are enforced, as they are
-- in this transaction: share_links' rows are held in a temporary table
-- meanwhile, and share_links made anew as migration 0011 made it.

-- +goose Up
ALTER TABLE users ADD COLUMN no INTEGER NOT NULL DEFAULT 0;
UPDATE users SET no = rowid;
CREATE UNIQUE INDEX users_no ON users (no);
ALTER TABLE threads ADD COLUMN no INTEGER NOT NULL DEFAULT 0;
UPDATE threads SET no = rowid;
CREATE UNIQUE INDEX threads_no ON threads (no);

CREATE TABLE messages_new (
    thread_no       INTEGER NOT NULL REFERENCES threads (no),
    seq             BIGINT NOT NULL,
    id              TEXT NOT NULL UNIQUE,
    sender_no       INTEGER NOT NULL REFERENCES users (no),
    kind            INTEGER NOT NULL, -- 0 text, 1 share
    body            TEXT, -- NULL once deleted
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT,
    via_client_id   TEXT,
    via_name        TEXT,
    share_url       TEXT,
    share_title     TEXT,
    change_offset   BIGINT NOT NULL, -- its change number minus its seq
    PRIMARY KEY (thread_no, seq)
) WITHOUT ROWID;
INSERT INTO messages_new (thread_no, seq, id, sender_no, kind, body, created_at, deleted_at,
    via_client_id, via_name, share_url, share_title, change_offset)
SELECT t.no, m.seq, m.id, u.no, CASE m.kind WHEN 'share' THEN 1 ELSE 0 END, m.body, m.created_at, m.deleted_at,
    m.via_client_id, m.via_name, m.share_url, m.share_title, m.change_seq - m.seq
FROM messages m JOIN threads t ON t.id = m.thread_id JOIN users u ON u.id = m.sender_id
ORDER BY t.no, m.seq;

-- A key names its message by thread_no and seq, and is written with it.
CREATE TABLE message_keys (
    sender_no       INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    thread_no       INTEGER NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (sender_no, idempotency_key)
) WITHOUT ROWID;
INSERT INTO message_keys (sender_no, idempotency_key, thread_no, seq)
SELECT u.no, m.idempotency_key, t.no, m.seq
FROM messages m JOIN threads t ON t.id = m.thread_id JOIN users u ON u.id = m.sender_id
WHERE m.idempotency_key IS NOT NULL;

CREATE TEMP TABLE share_links_held AS SELECT * FROM share_links;
DROP TABLE share_links;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE UNIQUE INDEX messages_change ON messages (thread_no, seq + change_offset);
CREATE INDEX messages_sender ON messages (sender_no, thread_no, seq);

CREATE TABLE share_links (
    token_hash   BLOB PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages (id),
    client_id    TEXT REFERENCES apps (client_id), -- NULL for a card a member sent themself
    sender_id    TEXT NOT NULL REFERENCES users (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    sent_at      BIGINT NOT NULL,
    clicked_at   BIGINT,
    UNIQUE (message_id, user_id)
);
INSERT INTO share_links SELECT * FROM share_links_held;
DROP TABLE share_links_held;
CREATE INDEX share_links_report ON share_links (client_id, sent_at);

-- +goose Down
CREATE TABLE messages_old (
    thread_id       TEXT NOT NULL REFERENCES threads (id),
    seq             BIGINT NOT NULL,
    id              TEXT NOT NULL UNIQUE,
    sender_id       TEXT NOT NULL REFERENCES users (id),
    kind            TEXT NOT NULL,
    body            TEXT, -- NULL once deleted
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT,
    via_client_id   TEXT,
    via_name        TEXT,
    share_url       TEXT,
    share_title     TEXT,
    change_seq      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;
INSERT INTO messages_old (thread_id, seq, id, sender_id, kind, body, idempotency_key, created_at, deleted_at,
    via_client_id, via_name, share_url, share_title, change_seq)
SELECT t.id, m.seq, m.id, u.id, CASE m.kind WHEN 1 THEN 'share' ELSE 'text' END, m.body, k.idempotency_key,
    m.created_at, m.deleted_at, m.via_client_id, m.via_name, m.share_url, m.share_title, m.seq + m.change_offset
FROM messages m JOIN threads t ON t.no = m.thread_no JOIN users u ON u.no = m.sender_no
    LEFT JOIN message_keys k ON k.thread_no = m.thread_no AND k.seq = m.seq;
DROP TABLE message_keys;

CREATE TEMP TABLE share_links_held AS SELECT * FROM share_links;
DROP TABLE share_links;
DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;
CREATE UNIQUE INDEX messages_idempotency ON messages (sender_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX messages_change ON messages (thread_id, change_seq);
CREATE INDEX messages_sender ON messages (sender_id, id);

CREATE TABLE share_links (
    token_hash   BLOB PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages (id),
    client_id    TEXT REFERENCES apps (client_id), -- NULL for a card a member sent themself
    sender_id    TEXT NOT NULL REFERENCES users (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    sent_at      BIGINT NOT NULL,
    clicked_at   BIGINT,
    UNIQUE (message_id, user_id)
);
INSERT INTO share_links SELECT * FROM share_links_held;
DROP TABLE share_links_held;
CREATE INDEX share_links_report ON share_links (client_id, sent_at);

DROP INDEX threads_no;
ALTER TABLE threads DROP COLUMN no;
DROP INDEX users_no;
ALTER TABLE users DROP COLUMN no;
