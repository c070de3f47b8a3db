-- A thread's idempotency key is kept also when its request found the
-- direct thread there already, and says so: a retry is answered as the
-- request was (200, not 201), and another request with the key is refused
-- rather than answered, or run, as new.

-- +goose Up
ALTER TABLE thread_keys ADD COLUMN existed BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE thread_keys DROP COLUMN existed;
