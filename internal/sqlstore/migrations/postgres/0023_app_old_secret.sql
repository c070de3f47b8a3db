-- A confidential app's rotated client secret keeps authenticating it
-- beside the new one until old_secret_until (parley.AppSecretRotation),
-- so a running deployment can change over in its own time. A second
-- rotation replaces old_secret_hash; the owner may end it at once.

-- +goose Up
ALTER TABLE apps ADD COLUMN old_secret_hash BYTEA; -- SHA-256 of the replaced secret
ALTER TABLE apps ADD COLUMN old_secret_until BIGINT;

-- +goose Down
ALTER TABLE apps DROP COLUMN old_secret_until;
ALTER TABLE apps DROP COLUMN old_secret_hash;
