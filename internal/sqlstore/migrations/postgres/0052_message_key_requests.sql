-- What a keyed send through an app asked for (its kind, text, the message
-- it answers, a share's card), hashed and kept with its idempotency key,
-- so that a retry is told from another send by what each asked for, not by
-- what became of the message since: the answer to a key reused for other
-- words tells no app whether the message was deleted or edited meanwhile.
-- NULL for a member's own sends, and for keys kept before, which are told
-- as they were.

-- +goose Up
ALTER TABLE message_keys ADD COLUMN request_hash BYTEA;

-- +goose Down
ALTER TABLE message_keys DROP COLUMN request_hash;
