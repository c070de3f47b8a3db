-- A thread's members_changed counts the changes of who is in it (a member
-- added, added back, leaving or taken out), each in the write that makes
-- it. A post on PostgreSQL reads the participants, whom it tells of the
-- message, as its statement began; it posts only if the count is the same
-- once it holds the thread's row, else runs again, so that a member who
-- left meanwhile is not told, nor one added meanwhile left out.

-- +goose Up
ALTER TABLE threads ADD COLUMN members_changed BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE threads DROP COLUMN members_changed;
