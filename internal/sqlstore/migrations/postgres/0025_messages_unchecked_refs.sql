-- On PostgreSQL, messages no longer declare foreign keys to their thread
-- and sender. PostgreSQL checks a foreign key of each row inserted by a
-- query that locks the row it refers to (FOR KEY SHARE): every send locked
-- its sender's row in users, which writes the lock into the row, and
-- PostgreSQL's WAL, as an update would. Without the keys PostgreSQL
-- spends 14-24% less CPU on a send in W1 (bench/README.md, "Messages
-- without foreign keys").
--
-- What the keys guarded holds without them: a message's thread number is
-- read from the thread's row, locked by the same statement; its sender's
-- is looked up by ID into a NOT NULL column, so a sender that does not
-- exist stores nothing; and neither threads nor users are ever deleted (a
-- deleted account keeps its row). SQLite keeps its keys: it checks them
-- by a lookup in the parent's index, which writes nothing.

-- +goose Up
ALTER TABLE messages DROP CONSTRAINT messages_thread_no_fkey, DROP CONSTRAINT messages_sender_no_fkey;

-- +goose Down
ALTER TABLE messages
    ADD CONSTRAINT messages_thread_no_fkey FOREIGN KEY (thread_no) REFERENCES threads (no),
    ADD CONSTRAINT messages_sender_no_fkey FOREIGN KEY (sender_no) REFERENCES users (no);
